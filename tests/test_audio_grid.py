"""A long release is heard on the original's window grid (meetguard.audio.grid, #23): only
the windows its bleeps touch are decoded again, the others count as the verification
decode's hearing of the original, and a repair re-hears only what it changed. On fakes:
an ear that hears a line only where the audio under it is still the source's."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from meetguard import VerificationError
from meetguard._model import AudioInput, Finding
from meetguard.audio.grid import grid_of, heard_release, touched
from meetguard.audio.second import Hearing
from meetguard.release import AudioCheck, build_redacted_audio
from meetguard.testing import FakeTranscriber, lines_still_heard, script_cues, tone_wav


def _wav(path: Path, seconds: float = 75.0) -> np.ndarray:
    """A tone with a pause every 10 s (the windows' quiet points)."""
    return tone_wav(path, seconds, quiet_every=10.0)


class _Ears(FakeTranscriber):
    """Hears a line only where the audio under it is still the source's (unbleeped)."""

    def __init__(self, source: np.ndarray, heard: list[tuple[float, float, str]]) -> None:
        super().__init__(heard, verify_script=heard)
        self.source, self.heard = source, heard

    def transcribe(self, samples: np.ndarray, **kw: object) -> list:  # type: ignore[override]
        offset = float(kw.get("offset", 0.0))  # type: ignore[arg-type]
        self.calls.append((offset, int(np.asarray(samples).size), None))
        lines = lines_still_heard(self.source, samples, offset, self.heard)
        return script_cues(lines)


MAIN = script_cues([(40.0, 41.5, "call me on 555")])
PER_CUE = [[Finding(11, 14, "PHONE_NUMBER", 0.9, "5550143")]]
HEARD = [(10.0, 11.0, "thanks a lot"), (44.0, 44.6, "zero one four three"), (70.0, 71.0, "see you")]


def test_the_grid_is_the_originals_quiet_points() -> None:
    grid = [(0, 480000), (480000, 950000), (950000, 1200000)]
    assert touched(grid, [(40.0, 41.5)]) == {1}
    assert touched(grid, [(29.9, 30.1), (70.0, 71.0)]) == {0, 1, 2}
    original = script_cues([(10.0, 11.0, "a"), (31.0, 32.0, "b"), (70.0, 71.0, "c")])
    again = script_cues([(40.0, 41.0, "B")])
    assert [c.text for c in heard_release(grid, {1: again}, original)] == ["a", "B", "c"]
    assert [c.text for c in heard_release(grid, {1: again}, None)] == ["B"]


def test_a_long_release_is_decoded_only_where_its_bleeps_are(tmp_path: Path) -> None:
    src = _wav(tmp_path / "rec.wav")
    rec = AudioInput(path=tmp_path / "rec.wav")
    grid = grid_of(rec.path)
    assert len(grid) == 3 and grid[0][0] == 0 and grid[-1][1] == len(src)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(grid))
    ears = _Ears(src, HEARD)
    # the verification decode heard the original: nothing the rules redact in windows 0 and 2
    second = Hearing(script_cues([HEARD[0], (40.0, 41.5, "call me on"), HEARD[2]]), [[], [], []], frozenset())
    out = bytes(build_redacted_audio(rec, MAIN, PER_CUE, "bleep",
                                     AudioCheck(ears, ["5550143"], lambda text: [], "Meeting."), second))
    # window 1 (the bleep) heard, "zero one four three" found outside the bleep and bleeped
    # too; then only window 1 heard again: two decodes of 30 s, not six
    (k,) = touched(grid, [(40.0, 41.5)])
    assert [c[0] for c in ears.calls] == [grid[k][0] / 16000] * 2
    got = np.frombuffer(out[44:], dtype=np.int16)
    changed = np.flatnonzero(got != src) / 16000
    assert changed.min() >= 40.0 - 0.16 and changed.max() <= 44.6 + 0.16


def test_what_the_original_hearing_holds_in_an_untouched_window_is_checked(tmp_path: Path) -> None:
    """A piece of a value in an unbleeped window's hearing (here planted in the original's
    hearing) fails the joined check: it is bleeped, and that window is decoded."""
    src = _wav(tmp_path / "rec.wav")
    rec = AudioInput(path=tmp_path / "rec.wav")
    grid = grid_of(rec.path)
    ears = _Ears(src, [HEARD[0], HEARD[2]])
    second = Hearing(script_cues([HEARD[0], (70.0, 71.0, "five five five")]), [[], []], frozenset())
    build_redacted_audio(rec, MAIN, PER_CUE, "bleep", AudioCheck(ears, ["5550143"], lambda text: [], "M."), second)
    assert [c[0] for c in ears.calls] == [grid[1][0] / 16000, grid[2][0] / 16000]
    # heard again after the repair (an ear that hears it in any audio): refused
    stuck = _Ears(src, [HEARD[0]])
    stuck.heard.append((70.0, 71.0, "five five five"))
    stuck.transcribe = lambda samples, **kw: script_cues([(70.0, 71.0, "five five five")])  # type: ignore[method-assign]
    with pytest.raises(VerificationError) as err:
        build_redacted_audio(rec, MAIN, PER_CUE, "bleep", AudioCheck(stuck, ["5550143"], lambda text: [], "M."),
                             second)
    assert err.value.reason == "value_heard_again"


def test_without_the_originals_hearing_every_window_is_heard(tmp_path: Path) -> None:
    src = _wav(tmp_path / "rec.wav")
    rec = AudioInput(path=tmp_path / "rec.wav")
    ears = _Ears(src, HEARD)
    build_redacted_audio(rec, MAIN, PER_CUE, "bleep", AudioCheck(ears, ["5550143"], lambda text: [], "M."), None)
    grid = grid_of(rec.path)
    assert [c[0] for c in ears.calls] == [s / 16000 for s, _e in grid] + [grid[1][0] / 16000]


class _Loops(FakeTranscriber):
    """Loops (the backend's repetition_loop refusal) on audio longer than ``longest`` s."""

    def __init__(self, longest: float) -> None:
        super().__init__()
        self.longest = longest

    def transcribe(self, samples: np.ndarray, **kw: object) -> list:  # type: ignore[override]
        offset = float(kw.get("offset", 0.0))  # type: ignore[arg-type]
        n = int(np.asarray(samples).size)
        self.calls.append((offset, n, None))
        if n > self.longest * 16000:
            raise VerificationError("loop", reason="repetition_loop")
        return script_cues([(offset, offset + n / 16000, "words")])


def test_a_window_whose_decode_loops_is_heard_in_halves(tmp_path: Path) -> None:
    from meetguard.audio.grid import MIN_PIECE, hear_on_grid

    _wav(tmp_path / "rec.wav", 30.0)
    grid = grid_of(tmp_path / "rec.wav")
    ears = _Loops(12.0)
    (cues,) = hear_on_grid(tmp_path / "rec.wav", ears, None, grid, [0]).values()
    # 30 s loops; its halves (cut at the pause near 19.5 s or the middle third's quietest
    # frame) are heard, down to pieces under 12 s, covering the window end to end
    assert ears.calls[0][1] == grid[0][1] and len(cues) >= 3
    assert cues[0].start == 0.0 and abs(cues[-1].end - grid[0][1] / 16000) < 1e-3
    assert all(abs(a.end - b.start) < 1e-3 for a, b in itertools.pairwise(cues))
    # a decode that loops at every length still refuses, once pieces reach MIN_PIECE
    with pytest.raises(VerificationError) as err:
        hear_on_grid(tmp_path / "rec.wav", _Loops(MIN_PIECE / 2), None, grid, [0])
    assert err.value.reason == "repetition_loop"


def test_a_window_the_original_hearing_looped_in_is_decoded_on_the_release(tmp_path: Path) -> None:
    """The verification decode's hearing of the original looped in window 2 ("time, time,
    ..."): it heard nothing there, so it cannot stand for the release's hearing. That
    window is decoded on the release though no bleep touches it; a card read out (a unit
    said under eight times) is a hearing like any other."""
    from meetguard.audio.grid import looped

    grid = [(0, 480000), (480000, 950000), (950000, 1200000)]
    loop = script_cues([(10.0, 11.0, "thanks"), (70.0, 74.0, "Time, " * 12)])
    assert looped(grid, loop) == {2}
    card = script_cues([(70.0, 74.0, "five five five five, five five five, four four four four")])
    assert looped(grid, card) == set() and looped(grid, None) == set()
    src = _wav(tmp_path / "rec.wav")
    rec = AudioInput(path=tmp_path / "rec.wav")
    grid = grid_of(rec.path)
    ears = _Ears(src, HEARD)
    second = Hearing(script_cues([HEARD[0], (40.0, 41.5, "call me on"), (70.0, 72.0, "fine " * 9)]),
                     [[], [], []], frozenset())
    build_redacted_audio(rec, MAIN, PER_CUE, "bleep", AudioCheck(ears, ["5550143"], lambda text: [], "M."), second)
    assert {c[0] for c in ears.calls} == {grid[1][0] / 16000, grid[2][0] / 16000}
