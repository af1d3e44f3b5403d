"""The release's repair rounds (#23, the 10-minute recording): a value the verification
decode hears outside every bleep is bleeped from the original and the windows that changed
are heard again, up to ``release.REPAIRS`` rounds, because a new bleep changes what the
decode hears around it (a value said later in the same window may be heard only then).
Anything still heard after the last round refuses. On fakes: an ear that hears a script
line only where the audio under it is still the source's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from meetguard import VerificationError
from meetguard._model import AudioInput, Cue, Finding
from meetguard.release import REPAIRS, AudioCheck, build_redacted_audio
from meetguard.testing import FakeTranscriber, lines_still_heard, script_cues, tone_wav

Line = tuple[float, float, str]


def _wav(path: Path, seconds: float = 20.0) -> np.ndarray:
    return tone_wav(path, seconds)


class _Uncovering(FakeTranscriber):
    """Hears the lines of ``layers[k]`` only once every line of the layers before it is
    bleeped (no longer the source's audio): each bleep uncovers the next value."""

    def __init__(self, source: np.ndarray, layers: Sequence[Sequence[Line]]) -> None:
        super().__init__([])
        self.source, self.layers = source, [list(layer) for layer in layers]

    def transcribe(self, samples: np.ndarray, **kw: object) -> list[Cue]:  # type: ignore[override]
        offset = float(kw.get("offset", 0.0))  # type: ignore[arg-type]
        self.calls.append((offset, int(np.asarray(samples).size), None))
        heard: list[Line] = []
        for layer in self.layers:
            still = lines_still_heard(self.source, samples, offset, layer)
            heard.extend(still)
            if still:
                break
        return script_cues(sorted(heard))


MAIN = script_cues([(1.0, 2.0, "call me on 555")])
PER_CUE = [[Finding(11, 14, "PHONE_NUMBER", 0.9, "5550143")]]


def _changed(out: bytes, src: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.frombuffer(bytes(out)[44:], dtype=np.int16) != src) / 16000


def test_a_value_heard_only_after_a_repair_is_bleeped_in_another_round(tmp_path: Path) -> None:
    src = _wav(tmp_path / "rec.wav")
    ears = _Uncovering(src, [[(5.0, 5.6, "zero one four three")], [(9.0, 9.6, "five five five")]])
    out = build_redacted_audio(AudioInput(path=tmp_path / "rec.wav"), MAIN, PER_CUE, "bleep",
                               AudioCheck(ears, ["5550143"], lambda text: [], "M."), None)
    changed = _changed(out, src)
    # both values bleeped, each where it was heard, and nothing between them
    assert (abs(changed - 5.3) < 0.3).any() and (abs(changed - 9.3) < 0.3).any()
    assert not ((changed > 6.0) & (changed < 8.6)).any()
    assert len(ears.calls) == 3          # the release, then once after each repair


def test_repairs_are_bounded_and_a_value_still_heard_refuses(tmp_path: Path) -> None:
    src = _wav(tmp_path / "rec.wav")
    layers = [[(3.0 + 2 * k, 3.6 + 2 * k, "five five five")] for k in range(REPAIRS + 2)]
    ears = _Uncovering(src, layers)
    with pytest.raises(VerificationError) as err:
        build_redacted_audio(AudioInput(path=tmp_path / "rec.wav"), MAIN, PER_CUE, "bleep",
                             AudioCheck(ears, ["5550143"], lambda text: [], "M."), None)
    assert err.value.reason == "value_heard_again"
    assert len(ears.calls) == REPAIRS + 1


def test_a_value_heard_as_everyday_words_is_no_leak_by_itself() -> None:
    """A value as the verification heard it that is only everyday words ("for": a card's
    "four" heard as a homophone) is not found again in every "for" of the release, which
    no repair could place; a name and a number are still found."""
    from meetguard.audio.verify import heard_again

    assert not heard_again("thanks for the card number, see you for lunch", ["for", "it"])
    assert heard_again("send it to ingrid today", ["for", "Ingrid"])
    assert heard_again("call five five five zero one four three", ["for", "5550143"])


def test_a_repair_of_a_value_heard_again_is_handed_apart_for_the_transcript(tmp_path: Path) -> None:
    """The sound is bleeped where the release's decode heard a value again, as before; with
    ``spared`` given, that repair is handed there (with the words heard in it) and not in
    ``bleeped``, so the transcript can keep a plain word under it (redaction/bleeped.py)."""
    src = _wav(tmp_path / "rec.wav")
    found = (lambda text: ["Rick"] if "Rick" in text else [])
    bleeped: list[tuple[float, float]] = []
    spared: list = []
    out = build_redacted_audio(AudioInput(path=tmp_path / "rec.wav"), MAIN, PER_CUE, "bleep",
                               AudioCheck(_Uncovering(src, [[(5.0, 5.6, "bye Rick")]]), ["5550143"], found, "M."),
                               None, bleeped, spared=spared)
    changed = _changed(out, src)
    assert (abs(changed - 5.3) < 0.3).any()                      # the sound is bleeped there
    assert not any(a <= 5.3 <= b for a, b in bleeped)           # not as a bleep of the transcript
    (window, pieces), = spared
    assert window[0] <= 5.3 <= window[1] and "rick" in pieces
    # without ``spared`` the repair is one of the transcript's bleeps, as before
    again: list[tuple[float, float]] = []
    build_redacted_audio(AudioInput(path=tmp_path / "rec.wav"), MAIN, PER_CUE, "bleep",
                         AudioCheck(_Uncovering(src, [[(5.0, 5.6, "bye Rick")]]), ["5550143"], found, "M."),
                         None, again)
    assert any(a <= 5.3 <= b for a, b in again)


def test_a_name_heard_only_across_two_cues_is_placed_for_a_repair() -> None:
    """The release check reads the hearing's cues joined; a name found only there ("Auto" in
    one cue, "Remove the budget" in the next: base's hearing of the 10-minute recording) was
    placed on no word, so nothing was repaired and the recording refused. Now both words are
    placed, and a word of neither is not."""
    from meetguard.audio.verify import heard_windows

    def detector(text: str) -> list[str]:
        return ["Auto Remove"] if "Auto Remove" in text else []

    cues = script_cues([(10.0, 10.8, "Auto"), (12.0, 15.0, "Remove the budget")])
    got = heard_windows(cues, [], detector, 0.0)
    assert sorted(got) == [(10.0, 10.8), (12.0, 13.0)]
    assert heard_windows(cues[1:], [], detector, 0.0) == []


class _PerWindow(FakeTranscriber):
    """Hears, the n-th time it hears the window that starts at ``offset``, the lines of
    ``scripts[offset][n]`` (the last entry once n runs past it) still the source's: what a
    window's decode hears changes with each repair in or beside it."""

    def __init__(self, source: np.ndarray, scripts: dict[float, Sequence[Sequence[Line]]]) -> None:
        super().__init__([])
        self.source, self.scripts, self.times = source, scripts, dict.fromkeys(scripts, 0)

    def transcribe(self, samples: np.ndarray, **kw: object) -> list[Cue]:  # type: ignore[override]
        offset = float(kw.get("offset", 0.0))  # type: ignore[arg-type]
        self.calls.append((offset, int(np.asarray(samples).size), None))
        key = min(self.scripts, key=lambda o: abs(o - offset))
        lines = self.scripts[key][min(self.times[key], len(self.scripts[key]) - 1)]
        self.times[key] += 1
        return script_cues(sorted(lines_still_heard(self.source, samples, offset, lines)))


def _chain(first: float, n: int, at: float) -> list[list[Line]]:
    """``n`` hearings of a window, each hearing one more number a little further on from ``at``."""
    return [[(at + 1.5 * k, at + 1.5 * k + 0.6, "five five five")] for k in range(n)]


def test_the_repair_budget_is_per_window_so_a_long_recording_is_not_refused_for_its_length(tmp_path: Path) -> None:
    """The 10-minute recording ran out of repair rounds in its 20th window after repairs in
    other windows (docs/benchmarks.md): the budget of :data:`REPAIRS` rounds is one window's,
    as in a clip of one window. Two windows: the first is repaired twice, its second repair
    lies at its end and touches the second window, whose hearings then need REPAIRS repairs of
    their own: more rounds than REPAIRS in all, none of them past one window's budget, so the
    release is made, every number bleeped; one more number heard in the second window refuses."""
    from meetguard.audio.grid import grid_of

    src = tone_wav(tmp_path / "rec.wav", 40.0, quiet_every=20.0)
    (s0, _e0), (s1, _e1) = grid_of(tmp_path / "rec.wav")
    o1 = s1 / 16000
    first = [[(3.0, 3.6, "five five five")], [(o1 - 0.7, o1 - 0.1, "five five five")], []]

    def scripts(n: int) -> dict[float, Sequence[Sequence[Line]]]:
        # the second window hears nothing until the first's repair at its edge, then one more number a hearing
        return {s0 / 16000: first, o1: [[], *_chain(o1, n, o1 + 2.0), []]}

    ears = _PerWindow(src, scripts(REPAIRS))
    out = build_redacted_audio(AudioInput(path=tmp_path / "rec.wav"), MAIN, PER_CUE, "bleep",
                               AudioCheck(ears, ["5550143"], lambda text: [], "M."), None)
    changed = _changed(out, src)
    heard = [(3.0, 3.6), (o1 - 0.7, o1 - 0.1)] + [(a, b) for [(a, b, _t)] in _chain(o1, REPAIRS, o1 + 2.0)]
    assert all(((changed >= a) & (changed <= b)).any() for a, b in heard)
    assert len(ears.calls) > REPAIRS + 1           # more rounds than one window's budget, in all

    ears = _PerWindow(src, scripts(REPAIRS + 1))
    with pytest.raises(VerificationError) as err:
        build_redacted_audio(AudioInput(path=tmp_path / "rec.wav"), MAIN, PER_CUE, "bleep",
                             AudioCheck(ears, ["5550143"], lambda text: [], "M."), None)
    assert err.value.reason == "value_heard_again"
