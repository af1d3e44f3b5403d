"""Fakes of the Guard's backends, for tests: no models, exact and fast.

    from meetguard import Guard
    from meetguard.testing import FakeDetector, FakeTranscriber, MemoryAuditSink

    audit = MemoryAuditSink()
    guard = Guard("policy.yaml", detector=FakeDetector({"alice@example.com": "EMAIL_ADDRESS"}),
                  transcriber=FakeTranscriber([(0.0, 2.0, "hello all")]), audit=audit)

:func:`guard_factory` gives the same for ``meetguard.cli.main(argv, guard_factory=...)``.
Each fake takes ``fail=`` an exception to raise on use, to test failing stages.
"""

from __future__ import annotations

import re
import wave
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._guard import Guard, GuardOptions
from ._model import Cue, Finding, Word
from .audit import MemoryAuditSink

if TYPE_CHECKING:
    from .audio.backend import DecodeVariant
    from .backends import Anonymizer
    from .detection import Roster, TextUnit

__all__ = ["FakeDetector", "FakeTranscriber", "MemoryAuditSink", "StillHeardEars", "guard_factory", "lines_still_heard",
           "script_cues", "tone_wav"]

SAMPLE_RATE = 16000


def script_cues(script: Sequence[tuple[float, float, str]]) -> list[Cue]:
    """The cues a script describes (text = words joined by single spaces)."""
    cues: list[Cue] = []
    for start, end, text in script:
        tokens = text.split()
        step = (end - start) / max(1, len(tokens))
        words = tuple(
            Word(tok, round(start + i * step, 3), round(start + (i + 1) * step, 3), 1.0)
            for i, tok in enumerate(tokens)
        )
        cues.append(Cue(index=len(cues), start=start, end=end, speaker=None,
                        text=" ".join(tokens), words=words))
    return cues


def tone_wav(path: Path, seconds: float, quiet_every: float | None = None) -> np.ndarray:
    """Write a 220 Hz tone of ``seconds`` to ``path`` (16 kHz mono 16-bit WAV), the stand-in
    speech of the audio fakes, and return its int16 samples. With ``quiet_every`` the last
    0.5 s of every ``quiet_every`` s is silent (the quiet points where windows are cut)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 220 * t) * 8000
    if quiet_every is not None:
        tone[(t % quiet_every) > quiet_every - 0.5] = 0.0
    samples = tone.astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())
    return samples


ALICE = '  - id: p-alice\n    names: ["Alice Martin"]\n'


def bleep_policy(policy_id: str, entities: Sequence[str], operator: str = "pseudonymize",
                 speakers: str = "pseudonymize", participants: str = ALICE) -> str:
    """The consent policy of the audio fake tests: one ``summarization`` purpose (opt-out,
    exclude) that redacts ``entities`` with ``operator``, treats speakers as ``speakers`` and
    bleeps the audio; ``participants`` is the YAML of its ``participants:`` list."""
    return ("version: 1\n"
            f"policy_id: {policy_id}\n"
            "account: {id: acme, ai_features: {summarization: true}}\n"
            "purposes:\n"
            "  summarization:\n"
            "    consent: opt_out\n"
            "    missing_consent: exclude\n"
            "    recipients: [summarizer]\n"
            f"    redact: {{entities: [{', '.join(entities)}], operator: {operator}, speakers: {speakers}}}\n"
            "    audio: bleep\n"
            "participants:\n" + participants)


def lines_still_heard(source: np.ndarray, samples: np.ndarray, offset: float,
                      lines: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The script ``lines`` an ear still hears in ``samples`` (16 kHz float audio taken at
    ``offset`` s from the int16 ``source``): those whose span lies inside ``samples`` and is
    still the source's, sample for sample. A fake verification decode built on it no
    longer hears a line once a bleep or silence replaced its audio."""
    ref = source.astype(np.float32) / 32768.0
    got = np.asarray(samples, dtype=np.float32)
    kept = []
    for start, end, text in lines:
        a, b = int((start - offset) * SAMPLE_RATE), int((end - offset) * SAMPLE_RATE)
        same = ref[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        if 0 <= a < b <= got.size and np.allclose(got[a:b], same, atol=1e-3):
            kept.append((start, end, text))
    return kept


class FakeTranscriber:
    """A scripted transcriber: ``FakeTranscriber([(start, end, "text"), ...])`` gives one
    cue per script line, its words sharing the line's time span evenly. Times are
    absolute; a call with ``offset`` and ``samples`` returns the lines whose midpoint
    falls inside ``[offset, offset + len(samples) / 16000)`` (all lines when ``samples``
    is empty), so chunked transcription works too. ``verify_script`` is what the
    independent verification decode (``variant="verify"``) hears, by default the same
    script. ``calls`` records ``(offset, samples, prompt)``, ``variants`` each call's
    ``variant``."""

    def __init__(self, script: Sequence[tuple[float, float, str]] = (), *,
                 fail: BaseException | None = None,
                 verify_script: Sequence[tuple[float, float, str]] | None = None) -> None:
        self.script = list(script)
        self.verify_script = None if verify_script is None else list(verify_script)
        self.fail = fail
        self.calls: list[tuple[float, int, str | None]] = []
        self.variants: list[str] = []
        self.closed = False

    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0,
        variant: DecodeVariant = "main",
    ) -> list[Cue]:
        if self.fail is not None:
            raise self.fail
        if self.closed:
            raise RuntimeError("closed")
        n = int(np.asarray(samples).size)
        self.calls.append((offset, n, prompt))
        self.variants.append(variant)
        end = offset + n / SAMPLE_RATE
        script = self.script
        if variant == "verify" and self.verify_script is not None:
            script = self.verify_script
        chosen = [line for line in script if n == 0 or offset <= (line[0] + line[1]) / 2 < end]
        return script_cues(chosen)

    def close(self) -> None:
        self.closed = True


class StillHeardEars(FakeTranscriber):
    """The main decode reads its script (``main``); the verification decode hears the lines
    of ``heard`` only where the audio under them is still ``source``'s
    (:func:`lines_still_heard`), so a bleeped value is no longer heard."""

    def __init__(self, source: np.ndarray, main: Sequence[tuple[float, float, str]],
                 heard: Sequence[tuple[float, float, str]]) -> None:
        super().__init__(main)
        self.source, self.heard = source, list(heard)

    def transcribe(
        self, samples: np.ndarray, *, prompt: str | None = None, offset: float = 0.0,
        variant: DecodeVariant = "main",
    ) -> list[Cue]:
        if variant != "verify":
            return super().transcribe(samples, prompt=prompt, offset=offset, variant=variant)
        self.variants.append(variant)
        return script_cues(lines_still_heard(self.source, samples, offset, self.heard))


class FakeDetector:
    """Finds fixed values, and (``roster=True``) the roster's names as given, as whole
    words, exactly: ``FakeDetector({"4111 1111 1111 1111": "CREDIT_CARD"})``. A roster
    name is a ``PERSON`` finding of its member. Longer matches win overlaps; nothing
    touches a unit's ``skip`` spans. ``units`` records every unit scanned."""

    def __init__(self, values: Mapping[str, str] | None = None, *, roster: bool = True,
                 fail: BaseException | None = None) -> None:
        self.values = dict(values or {})
        self.use_roster = roster
        self.fail = fail
        self.units: list[TextUnit] = []
        self.warmed = False
        self.closed = False

    def warm(self) -> None:
        self.warmed = True

    def close(self) -> None:
        self.closed = True

    def detect(self, units: Sequence[TextUnit], roster: Roster) -> list[list[Finding]]:
        if self.fail is not None:
            raise self.fail
        wanted: list[tuple[str, str, str | None]] = [(v, t, None) for v, t in self.values.items()]
        if self.use_roster:
            wanted += [(n, "PERSON", m.key) for m in roster.members for n in m.names]
        self.units.extend(units)
        return [self._scan(u, wanted) for u in units]

    @staticmethod
    def _scan(unit: TextUnit, wanted: Sequence[tuple[str, str, str | None]]) -> list[Finding]:
        found: list[Finding] = []
        taken = list(unit.skip)
        for value, etype, pid in sorted(wanted, key=lambda w: -len(w[0])):
            for m in re.finditer(rf"(?<!\w){re.escape(value)}(?!\w)", unit.text):
                if any(m.start() < b and m.end() > a for a, b in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append(Finding(m.start(), m.end(), etype, 1.0, value.casefold(), pid))
        return sorted(found, key=lambda f: f.start)


def guard_factory(*, detector: FakeDetector | None = None, transcriber: FakeTranscriber | None = None,
                  anonymizer: Anonymizer | None = None) -> Callable[[str | Path, GuardOptions], Guard]:
    """A ``guard_factory`` for ``meetguard.cli.main``: the CLI's Guard with these fakes
    (a detector that finds nothing when none is given); its audit log is the real one."""
    def build(policy: str | Path, options: GuardOptions) -> Guard:
        return Guard(policy, options, detector=detector or FakeDetector(roster=False),
                     transcriber=transcriber, anonymizer=anonymizer)

    return build
