"""The cyclic collector paused around the guard's text pass (detection/_gcpause.py): off
inside, back on after (also after an error), shared by overlapping batches, and left off
for an application that runs without it. No models."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from meetguard import Guard, GuardOptions, Meeting
from meetguard.detection import Roster, TextUnit
from meetguard.detection._gcpause import paused
from meetguard.testing import FakeDetector

from .conftest import SAMPLES, require_shared

require_shared()


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_inside_on_after_and_after_an_error() -> None:
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), paused():
        raise ValueError("detector failed")
    assert gc.isenabled()
    assert gc.collect() >= 0   # an explicit collection still runs inside or out


def test_overlapping_batches_share_one_switch() -> None:
    first_in, second_done, release = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def long_batch() -> None:
        with paused():
            first_in.set()
            release.wait(10)
            seen.append(gc.isenabled())

    t = threading.Thread(target=long_batch)
    t.start()
    assert first_in.wait(10)
    with paused():
        pass
    second_done.set()
    seen.append(gc.isenabled())   # the first batch still runs: still off
    release.set()
    t.join(10)
    assert seen == [False, False]
    assert gc.isenabled()


def test_a_pass_ending_beside_another_frees_the_cycles_made_meanwhile() -> None:
    class Node:
        ref: object = None

    inside, release = threading.Event(), threading.Event()

    def long_batch() -> None:
        with paused():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=long_batch)
    t.start()
    assert inside.wait(10)
    try:
        with paused():
            a, b = Node(), Node()
            a.ref, b.ref = b, a   # a cycle only the collector frees
            gone = weakref.ref(a)
            del a, b
        assert gone() is None and not gc.isenabled()   # freed, while the other pass keeps it off
    finally:
        release.set()
        t.join(10)
    assert gc.isenabled()


def test_a_pass_nested_in_its_threads_own_collects_nothing() -> None:
    runs: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            runs.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        with paused():
            with paused():   # Detector.detect inside the guard's text pass
                pass
            assert runs == [] and not gc.isenabled()
    finally:
        gc.callbacks.remove(seen)
    assert gc.isenabled()


def test_an_application_without_the_collector_keeps_it_off() -> None:
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


class _Recording(FakeDetector):
    def __init__(self) -> None:
        super().__init__({"alice.martin@northwind.example": "EMAIL_ADDRESS"})
        self.collector: list[bool] = []

    def detect(self, units: Sequence[TextUnit], roster: Roster) -> list[list[object]]:  # type: ignore[override]
        self.collector.append(gc.isenabled())
        return super().detect(units, roster)  # type: ignore[return-value]


def test_guard_pauses_it_for_the_text_pass_only(tmp_path: Path) -> None:
    detector = _Recording()
    guard = Guard(str(SAMPLES / "policy.yaml"), GuardOptions(audit_path=tmp_path / "audit.jsonl"),
                  detector=detector)
    try:
        result = guard.process_sync(Meeting.from_files(chat=[SAMPLES / "zoom_chat_local.txt"]),
                                    "summarization", "summarizer")
    finally:
        guard.close()
    assert detector.collector and not any(detector.collector)
    assert gc.isenabled()
    released = b"".join(result.outputs.values())
    assert b"alice.martin@northwind.example" not in released
