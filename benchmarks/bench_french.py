"""Over-redaction on real French and Spanish subtitles (#18): ordinary words that become tokens.

    python benchmarks/bench_french.py

Reads ../shared/data (or ../../shared from a worktree)/realworld/srt/byroot__pysrt__windows-1252.srt (French film
subtitles) and runs the English detector (the "before": every document read as
English) and the French one (``language="fr"``) over its cues. A replacement is
an *ordinary word* when every word of it also appears in lower case elsewhere in
the file ("Attendez", "Bonne"); the figure is those replacements over all words.
The same two figures on real Spanish subtitles
(realworld/webvtt/glut23__webvtt-py__netflix_chicas_del_cable.vtt, under ``spanish``):
Spanish is refused by language unless the operator names one (``--language``), so
these are what an operator forcing ``en`` or ``fr`` would get.
Throughput: cues per second of each detector over the same cues, best of two
interleaved rounds in this run, and French over English as a ratio.
Prints one JSON object.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from meetguard.detection import Detector, Roster, TextUnit
from meetguard.formats import load_source, parse

_REPO = Path(__file__).resolve().parent.parent
_REL = Path("data") / "realworld" / "srt" / "byroot__pysrt__windows-1252.srt"
_REL_ES = Path("data") / "realworld" / "webvtt" / "glut23__webvtt-py__netflix_chicas_del_cable.vtt"


def _shared(rel: Path) -> Path:
    # ../shared beside the checkout (../../shared from a worktree in wt/)
    return next((p / rel for p in (_REPO.parent / "shared", _REPO.parent.parent / "shared")
                 if (p / rel).exists()), _REPO.parent / "shared" / rel)


SUBTITLES = _shared(_REL)
SPANISH = _shared(_REL_ES)


def measure(det: Detector, texts: list[str], lower: set[str], words: int) -> dict[str, float]:
    found = det.detect([TextUnit(t, spoken=True) for t in texts], Roster())
    spans = [t[f.start:f.end] for t, fs in zip(texts, found, strict=True) for f in fs]
    ordinary = [s for s in spans if not any(c.isdigit() for c in s)
                and all(w.casefold() in lower for w in re.findall(r"\w+", s))]
    return {"replacements": len(spans), "ordinary_word_replacements": len(ordinary),
            "ordinary_share_of_words": round(len(ordinary) / words, 4)}


def over_redaction(path: Path, en: Detector, fr: Detector) -> tuple[list[str], dict[str, object]]:
    """The cues of ``path`` and both detectors' figures on them."""
    texts = [getattr(i, "text", "") for i in parse(load_source(path)).items]
    all_words = [w for t in texts for w in re.findall(r"\w+", t)]
    lower = {w.casefold() for w in all_words if w.islower()}
    return texts, {"words": len(all_words), "english_detector": measure(en, texts, lower, len(all_words)),
                   "french_detector": measure(fr, texts, lower, len(all_words))}


def main() -> None:
    en, fr = Detector(plugins=False), Detector("fr_core_news_sm", plugins=False, language="fr")
    texts, out = over_redaction(SUBTITLES, en, fr)
    out["spanish"] = over_redaction(SPANISH, en, fr)[1]
    best = {"en": float("inf"), "fr": float("inf")}
    for _ in range(2):
        for name, det in (("en", en), ("fr", fr)):
            # distinct texts each round: the detector scans identical texts once per call only
            batch = [TextUnit(f"{t} ", spoken=True) for t in texts]
            t0 = time.perf_counter()
            det.detect(batch, Roster())
            best[name] = min(best[name], time.perf_counter() - t0)
    out["throughput_cues_per_s"] = {k: round(len(texts) / v, 1) for k, v in best.items()}
    out["french_over_english"] = round(best["en"] / best["fr"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
