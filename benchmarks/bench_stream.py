"""The streaming hold-back's cost: latency added per SSE chunk and to the first token.

    python benchmarks/bench_stream.py [--quick] [--out FILE]

A stand-in upstream (in-process, no network) streams a redacted summary full of
pseudonyms (``<PERSON_n>``, ``PERSON_n``, ``Person n``) as chat-completion chunks
of 1 to 7 characters. Each chunk goes through :class:`meetguard.sidecar.sse.SSERestorer`
(what the pass-through does with ``X-Meetguard-Reidentify``); the baseline in the
same run is the plain relay of the same bytes (a copy). Prints one JSON object:
per-chunk p50/p99 of the hold-back in milliseconds, wall clock and thread CPU time
(on a loaded machine the wall p99 is the scheduler's time slice, not the hold-back;
the load average is recorded) (target: p99 under 1 ms), the
time to first token added (ms and chunks held before the first emission), and the
restore count as a check that the run restored what it should.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _output import emit

from meetguard.reidentify import Restorer
from meetguard.sidecar.sse import SSERestorer


def _summary(people: int, sentences: int, rng: random.Random) -> str:
    forms = ("<PERSON_{}>", "PERSON_{}", "Person {}", "[PERSON_{}]")
    words = ["will", "send", "the", "contract", "review", "budget", "before", "Friday", "and", "agreed", "to"]
    out = []
    for _ in range(sentences):
        n = rng.randint(1, people)
        out.append(f"{rng.choice(forms).format(n)} {' '.join(rng.sample(words, 5))}.")
    return " ".join(out)


def _chunks(text: str, rng: random.Random) -> list[bytes]:
    out, pos = [], 0
    while pos < len(text):
        step = rng.randint(1, 7)
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "stub",
                 "choices": [{"index": 0, "delta": {"content": text[pos:pos + step]}, "finish_reason": None}]}
        out.append(f"data: {json.dumps(chunk)}\n\n".encode())
        pos += step
    return [*out, b"data: [DONE]\n\n"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(streams: int, sentences: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    tokens = {f"<PERSON_{n}>": f"Person Name {n}" for n in range(1, 13)}
    restorer = Restorer(tokens)
    per_chunk: list[float] = []
    cpu_chunk: list[float] = []
    baseline: list[float] = []
    ttft_ms: list[float] = []
    ttft_chunks: list[int] = []
    restored = 0
    for _ in range(streams):
        chunks = _chunks(_summary(12, sentences, rng), rng)
        for c in chunks:                      # baseline: the relay copies the bytes on
            t0 = time.perf_counter()
            bytes(c)
            baseline.append(time.perf_counter() - t0)
        sse = SSERestorer(restorer)
        spent, first = 0.0, None
        for k, c in enumerate(chunks):
            c0, t0 = time.thread_time(), time.perf_counter()
            out = sse.feed(c)
            dt = time.perf_counter() - t0
            cpu_chunk.append(time.thread_time() - c0)
            per_chunk.append(dt)
            spent += dt
            if first is None and b'"content": "' in out and b'"content": ""' not in out:
                first = k
                ttft_ms.append(spent * 1000)
                ttft_chunks.append(k)
        restored += sse.restored
    return {
        "streams": streams, "chunks": len(per_chunk), "restored": restored,
        "holdback_p50_ms": round(statistics.median(per_chunk) * 1000, 4),
        "holdback_p99_ms": round(_pct(per_chunk, 0.99) * 1000, 4),
        "holdback_cpu_p99_ms": round(_pct(cpu_chunk, 0.99) * 1000, 4),   # without preemption
        "load_average_1m": round(os.getloadavg()[0], 2),
        "baseline_p99_ms": round(_pct(baseline, 0.99) * 1000, 5),
        "target_p99_ms": 1.0,
        "ttft_added_p50_ms": round(statistics.median(ttft_ms), 4) if ttft_ms else None,
        "ttft_chunks_held_p50": statistics.median(ttft_chunks) if ttft_chunks else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    result = run(20 if args.quick else 200, 40, args.seed)
    emit(result, args.out, indent=2)


if __name__ == "__main__":
    main()
