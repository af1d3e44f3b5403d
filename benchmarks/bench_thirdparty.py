"""Presidio as the floor on text others wrote (issue #24): meetguard against plain Presidio
with *every* recognizer Presidio predefines, on three third-party corpora.

    python benchmarks/bench_thirdparty.py [--corpus NAME ...] [--out FILE]

Corpora (tests/fixtures/thirdparty/, README.md there gives origin and licence):
- ``tables``: the rows of Presidio's own recognizer test tables (presidio-analyzer/tests);
- ``research``: presidio-research's synthetic sentences (synth_dataset_v2.json, a sample);
- ``slurp_devel``: SLURP's spoken commands, lower case, numbers as words (devel split);
- ``slurp_devel_rest``: the devel rows ``slurp_devel`` left (9 with a person or place, 600
  others): a second tuning set for false positives on ordinary words;
- ``slurp_devel_more``: every devel row those two left (ordinary words only): a third;
- ``slurp_test``: the same from SLURP's test split: held out, never tuned on (looked at twice);
- ``voxpopuli``: SLUE-VoxPopuli's dev split (European Parliament speech, normalized lower case,
  no punctuation; CC0): the second held-out corpus, committed before any tuning and run once, last
  (only when named with ``--corpus voxpopuli``);
- ``voxpopuli_tune``: the same from SLUE-VoxPopuli's fine-tune split (850 rows: 200 with a
  person, 450 with a place, 200 others, seed 24): a tuning set for lower-case places in speech.

The judge, ``presidio_all(language)``: ``AnalyzerEngine`` on the same spaCy model with its
default registry *plus* every other recognizer class in ``presidio_analyzer.predefined_recognizers``
that builds without extras (country ones included: UK postcode, NINO, SG UEN, TR plates, ES
passports, ...), each set to the language, score threshold 0.

Per gold value (``covered``: every letter and digit of it under some finding, any type):
``found`` per gold type for each side, ``floor_misses`` (values Presidio covers more of than
meetguard), and per side ``false_positives`` (findings that touch no gold span). For SLURP,
gold spans are every slot SLURP labels; recall is reported for ``person`` and ``place_name``;
its false positives are findings on ordinary words (no labelled slot). For VoxPopuli, gold
spans are every entity it labels (OntoNotes types); recall is reported for ``PERSON`` and the
places ``GPE``, ``LOC``, ``FAC``; false positives likewise touch no labelled entity.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _output import emit

DATA = HERE.parent / "tests" / "fixtures" / "thirdparty"
CORPORA = {"tables": "presidio_tables.jsonl", "research": "presidio_research.jsonl",
           "slurp_devel": "slurp_devel.jsonl", "slurp_devel_rest": "slurp_devel_rest.jsonl",
           "slurp_devel_more": "slurp_devel_more.jsonl",
           "slurp_test": "slurp_test.jsonl", "voxpopuli": "voxpopuli_dev.jsonl",
           "voxpopuli_tune": "voxpopuli_tune.jsonl"}
Spans = Sequence[tuple[int, int, str]]


@dataclass(frozen=True)
class Gold:
    start: int
    end: int
    entity_type: str


@dataclass(frozen=True)
class Row:
    text: str
    gold: tuple[Gold, ...]


def load(name: str) -> list[Row]:
    rows = []
    for line in (DATA / CORPORA[name]).read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        rows.append(Row(d["text"], tuple(Gold(s["start"], s["end"], s["type"]) for s in d["spans"])))
    return rows


def extra_recognizers(language: str) -> list[Any]:
    """Every predefined recognizer that is not in Presidio's default registry and builds
    without extras (no model download, no service), for ``language``."""
    import inspect

    from presidio_analyzer import LocalRecognizer, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer import predefined_recognizers as pr

    default = RecognizerRegistry()
    default.load_predefined_recognizers(languages=["en"])
    have = {type(r).__name__ for r in default.recognizers}
    out = []
    for name in sorted(dir(pr)):
        cls = getattr(pr, name)
        if not (inspect.isclass(cls) and issubclass(cls, LocalRecognizer)) or name in have:
            continue
        if not issubclass(cls, PatternRecognizer) and "Phone" not in name:
            continue  # NER wrappers (spaCy, Stanza, transformers, GLiNER): the spaCy one is in the default
        try:
            out.append(cls(supported_language=language))
        except Exception:  # noqa: BLE001, S112  (needs extras this install lacks)
            continue
    return out


def presidio_all(language: str = "en") -> Any:
    """Plain Presidio with every predefined recognizer for ``language`` (see the module doc)."""
    from bench_detection import plain_presidio

    analyzer = plain_presidio(language)
    have = {type(r).__name__ for r in analyzer.registry.recognizers}
    for rec in extra_recognizers(language):
        if type(rec).__name__ not in have:
            analyzer.registry.add_recognizer(rec)
    return analyzer


def run_presidio(analyzer: Any, rows: Sequence[Row], language: str = "en") -> list[list[tuple[int, int, str]]]:
    return [[(r.start, r.end, r.entity_type) for r in analyzer.analyze(row.text, language=language)]
            for row in rows]


def run_meetguard(detector: Any, rows: Sequence[Row], spoken: bool = False) -> list[list[tuple[int, int, str]]]:
    from meetguard.detection import Roster, TextUnit

    found = detector.detect([TextUnit(r.text, spoken=spoken) for r in rows], Roster())
    return [[(f.start, f.end, f.entity_type) for f in fs] for fs in found]


def _covered(found: Spans, text: str, start: int, end: int) -> set[int]:
    return {i for s, e, _ in found for i in range(max(s, start), min(e, end)) if text[i].isalnum()}


def compare(rows: Sequence[Row], mine: Sequence[Spans], theirs: Sequence[Spans],
            types: Sequence[str] | None = None) -> dict[str, Any]:
    """Per gold type: values, covered by each side, floor misses; false positives per side."""
    total: dict[str, int] = defaultdict(int)
    found: dict[str, dict[str, int]] = {"meetguard": defaultdict(int), "presidio": defaultdict(int)}
    fp: dict[str, dict[str, int]] = {"meetguard": defaultdict(int), "presidio": defaultdict(int)}
    misses: list[dict[str, str]] = []
    for row, a, b in zip(rows, mine, theirs, strict=True):
        for g in row.gold:
            if types is not None and g.entity_type not in types:
                continue
            want = {i for i in range(g.start, g.end) if row.text[i].isalnum()}
            got_m, got_p = _covered(a, row.text, g.start, g.end), _covered(b, row.text, g.start, g.end)
            total[g.entity_type] += 1
            found["meetguard"][g.entity_type] += got_m == want
            found["presidio"][g.entity_type] += got_p == want
            if not got_p <= got_m:
                misses.append({"type": g.entity_type, "text": row.text, "value": row.text[g.start:g.end]})
        for side, spans in (("meetguard", a), ("presidio", b)):
            for s, e, t in spans:
                if not any(s < g.end and g.start < e for g in row.gold):
                    fp[side][t] += 1
    return {"values": dict(sorted(total.items())),
            "found": {k: dict(sorted(v.items())) for k, v in found.items()},
            "false_positives": {k: sum(v.values()) for k, v in fp.items()},
            "false_positives_by_type": {k: dict(sorted(v.items())) for k, v in fp.items()},
            "floor_misses": misses}


def fp_examples(rows: Sequence[Row], found: Sequence[Spans], limit: int = 40) -> list[str]:
    out = []
    for row, spans in zip(rows, found, strict=True):
        for s, e, t in spans:
            if not any(s < g.end and g.start < e for g in row.gold) and len(out) < limit:
                out.append(f"{t}: {row.text[s:e]!r} in {row.text[:90]!r}")
    return out


def _unexplained_count(rows: Sequence[Row], mine: Sequence[Spans], raw: Sequence[Any]) -> tuple[int, dict[str, int]]:
    from collections import Counter

    sys.path.insert(0, str(HERE.parent / "tests"))
    from test_detection_thirdparty import _unexplained

    rules: Counter[str] = Counter()
    return len(_unexplained(rows, list(mine), list(raw), rules)), dict(sorted(rules.items()))


SLURP_TYPES = ("person", "place_name")
VOX_TYPES = ("PERSON", "GPE", "LOC", "FAC")


def _types(name: str) -> tuple[str, ...] | None:
    return SLURP_TYPES if name.startswith("slurp") else VOX_TYPES if name.startswith("voxpopuli") else None


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append", choices=sorted(CORPORA))
    ap.add_argument("--out")
    ap.add_argument("--examples", action="store_true", help="list false positives and floor misses")
    ap.add_argument("--unexplained", action="store_true",
                    help="also count raw misses no named rule explains (tests/test_detection_thirdparty.py's "
                         "_unexplained; counts only, no row printed)")
    ap.add_argument("--spoken", action="store_true",
                    help="SLURP and VoxPopuli as transcript text (default: as chat)")
    args = ap.parse_args(argv)
    from meetguard.detection import Detector

    detector = Detector(plugins=False)
    analyzer = presidio_all("en")
    report: dict[str, Any] = {"judge": "presidio_all('en'): default registry + "
                              f"{len(extra_recognizers('en'))} more predefined recognizers"}
    for name in args.corpus or sorted(set(CORPORA) - {"voxpopuli"}):   # held out: run only when named
        rows = load(name)
        spoken_corpus = _types(name) is not None
        mine = run_meetguard(detector, rows, spoken=spoken_corpus and args.spoken)
        raw = [analyzer.analyze(row.text, language="en") for row in rows]
        theirs = [[(r.start, r.end, r.entity_type) for r in res] for res in raw]
        res = compare(rows, mine, theirs, _types(name))
        if args.unexplained:
            res["unexplained"], res["explained_by_rule"] = _unexplained_count(rows, mine, raw)
        if args.examples:
            res["fp_examples_meetguard"] = fp_examples(rows, mine)
        else:
            res["floor_misses"] = len(res["floor_misses"])
        report[name] = res
    detector.close()
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
