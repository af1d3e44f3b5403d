"""The released audio as a picture: its waveform with the bleeped windows marked (and the
stretches where a refusing speaker was silenced, ``silenced`` in decision.json).

Drawn with matplotlib (Agg, SVG output, inlined): no script, no external
reference. The waveform is the *released* (redacted) WAV; the windows are
where the released transcript carries a token, i.e. where a value was removed.
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Sequence

import numpy as np

__all__ = ["envelope", "waveform_svg"]

BUCKETS = 1200


def envelope(wav: bytes, buckets: int = BUCKETS) -> tuple[np.ndarray, np.ndarray, float]:
    """(min, max) per time bucket in [-1, 1], and the duration in seconds, of a PCM16 WAV.
    Read one bucket at a time, so an hour of audio is never decoded into memory at once."""
    with wave.open(io.BytesIO(wav)) as w:
        if w.getsampwidth() != 2:
            raise ValueError("only PCM16 WAV is drawn")
        channels, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
        if n == 0:
            return np.zeros(1), np.zeros(1), 0.0
        per_bucket = max(1, -(-n // buckets))
        lo: list[float] = []
        hi: list[float] = []
        while block := w.readframes(per_bucket):
            samples = np.frombuffer(block, dtype="<i2")
            mono = samples[: samples.size - samples.size % channels].reshape(-1, channels)
            mean = mono.mean(axis=1) / 32768.0
            if mean.size:
                lo.append(float(mean.min()))
                hi.append(float(mean.max()))
    return np.array(lo), np.array(hi), n / float(rate)


def waveform_svg(wav: bytes, windows: Sequence[tuple[float, float]], title: str,
                 silenced: Sequence[tuple[float, float]] = ()) -> str:
    """An inline ``<svg>`` element (no XML prolog, no DOCTYPE, no metadata); ``silenced``:
    the stretches where a speaker was silenced (grey, hatched)."""
    try:
        import matplotlib
    except ImportError:     # the container's runtime target leaves it out (deploy/lean-venv.sh)
        from .._errors import UsageError

        raise UsageError("report: the audio waveform needs matplotlib, which this installation "
                         "lacks (the image's `full` target has it; or `make setup`)") from None

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    lo, hi, duration = envelope(wav)
    fig = Figure(figsize=(10, 2.4), dpi=96)
    ax = fig.add_subplot(1, 1, 1)
    t = np.linspace(0.0, duration, lo.size) if lo.size > 1 else np.zeros(1)
    ax.fill_between(t, lo, hi, color="#3b6ea5", linewidth=0.4)
    for start, end in silenced:
        ax.axvspan(start, end, facecolor="#777777", alpha=0.3, hatch="//", edgecolor="#555555", linewidth=0)
    for start, end in windows:
        ax.axvspan(start, end, color="#d94f3d", alpha=0.35, linewidth=0)
    ax.set_xlim(0.0, max(duration, 0.001))
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("seconds")
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buf = io.StringIO()
    # text as <text>, not glyph paths; ids salted by the title, so two pictures on one page differ
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": title}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                 "Type": None})
    svg = buf.getvalue()
    svg = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>", "", svg,
                 flags=re.DOTALL)
    return svg.strip()
