"""The #31 CLI sweep: every real (and built) export through ``meetguard guard``
with its first sender or speaker refusing consent, with the real models.

For each file of ``tests/fixtures/realworld/SOURCES.tsv`` and
``../shared/data/realworld/SOURCES.tsv`` (where present): the CLI's exit code
(0 released, 3 nothing left to release), the released file re-parsed in its
own format, its item count against the items not sent by (nor privately to)
the refuser, and the refuser's name forms left in the output: the full name,
each name part of three letters or more, ``@part`` and the joined
``@firstlast`` handle (the forms of docs/policy.md). One detector is loaded
once and shared by every run. Prints one line per file and a summary; writes
nothing from the files anywhere but a temporary folder.

    nice .venv/bin/python benchmarks/sweep_formats.py [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meetguard import ChatMessage, Document, Guard, GuardOptions, MessageKind
from meetguard.cli import main
from meetguard.formats import load_source, parse, source_from_bytes
from tests.conftest import SHARED
from tests.policies import corpus_policy

CORPORA = [ROOT / "tests" / "fixtures" / "realworld", SHARED / "data" / "realworld"]


def _files() -> list[Path]:
    seen: set[Path] = set()
    out: list[Path] = []
    for base in CORPORA:
        index = base / "SOURCES.tsv"
        if not index.is_file():
            continue
        with index.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                path = (base / row["local_file"]).resolve()
                if path not in seen and path.exists():
                    seen.add(path)
                    out.append(path)
    return out


def _who(item: object) -> str | None:
    sp = item.sender if isinstance(item, ChatMessage) else getattr(item, "speaker", None)
    return sp.label if sp is not None else None


def _involves(item: object, person: str) -> bool:
    to = [r.label for r in item.recipients] if isinstance(item, ChatMessage) and item.private else []
    return _who(item) == person or person in to or (_who(item) is None and not isinstance(item, ChatMessage))


def _forms(name: str) -> list[str]:
    """The label, and the person's name before any qualifier ("(she/her)", "/ Org", "| Team")."""
    person = re.split(r"[(\[/|]| - ", name, maxsplit=1)[0]
    parts = [p for p in re.findall(r"[^\W\d_]+", person) if len(p) >= 3]
    forms = {name} | set(parts) | {"@" + p for p in parts}
    if len(parts) >= 2:
        forms.add("@" + "".join(parts).lower())
    return sorted(forms, key=len, reverse=True)


def _left(text: str, forms: list[str]) -> list[str]:
    return [f for f in forms if re.search(rf"(?<![\w@]){re.escape(f)}(?!\w)", text, re.IGNORECASE)]


def _text(doc: Document) -> str:
    parts: list[str] = []
    for item in doc.items:
        parts += [item.text, _who(item) or ""]
        if isinstance(item, ChatMessage):
            parts += [r.label for r in item.recipients] + ([item.quote.text] if item.quote else [])
    return "\n".join(parts)


def sweep(files: list[Path], work: Path) -> list[dict[str, Any]]:
    shared_policy = work / "warm.yaml"
    shared_policy.write_text(corpus_policy("sweep-warm"), encoding="utf-8")
    warm = Guard(shared_policy, GuardOptions(audit_path=work / "warm.jsonl"))
    detector = warm.backends.detector()
    detector.warm()

    class _Kept:
        """The shared detector, left open when a run's Guard closes."""

        def __getattr__(self, name: str) -> Any:
            return getattr(detector, name)

        def close(self) -> None:
            return None

    def factory(policy: str | Path, options: GuardOptions) -> Guard:
        return Guard(policy, options, detector=_Kept())  # type: ignore[arg-type]

    rows: list[dict[str, Any]] = []
    for n, path in enumerate(files):
        doc = parse(load_source(path))
        refuser = next((w for w in (_who(i) for i in doc.items) if w), None)
        row: dict[str, Any] = {"file": path.name, "format": doc.format, "items": len(doc.items)}
        if refuser is None:
            rows.append({**row, "status": "n/a (no named speaker to refuse)"})
            continue
        case = work / f"c{n}"
        case.mkdir()
        policy = case / "policy.yaml"
        policy.write_text(corpus_policy("sweep-31", '"' + refuser.replace('"', '\\"') + '"'), encoding="utf-8")
        flag = "--chat" if doc.kind == "chat" else "--transcript"
        kept = [i for i in doc.items if not _involves(i, refuser)]
        expected = len(kept)
        # a system line alone (a join notice, an empty event) is nothing to release
        content = [i for i in kept if not (isinstance(i, ChatMessage) and i.kind is MessageKind.SYSTEM)]
        started = time.perf_counter()
        code = main(["guard", "--policy", str(policy), "--purpose", "summarization", "--recipient", "summarizer",
                     flag, str(path), "--out", str(case / "out"), "--audit", str(case / "audit.jsonl"),
                     "--language", "en"], guard_factory=factory)
        row.update(code=code, expected=expected, seconds=round(time.perf_counter() - started, 1))
        released = [p for p in (case / "out").iterdir() if p.name != "decision.json"] if (case / "out").exists() else []
        if not content:
            row["status"] = "ok (nothing left)" if code == 3 and not released else "FAIL"
            rows.append(row)
            continue
        if code != 0 or len(released) != 1:
            rows.append({**row, "status": "FAIL (not released)"})
            continue
        out = released[0]
        back = parse(load_source(out) if out.is_dir() else source_from_bytes(doc.name, out.read_bytes()))
        left = _left(_text(back), _forms(refuser))
        ok = back.format == doc.format and len(back.items) == expected and not left
        rows.append({**row, "back": len(back.items), "left": len(left), "status": "ok" if ok else "FAIL"})
    warm.close()
    return rows


def run(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N files")
    args = ap.parse_args(argv)
    files = _files()[: args.limit or None]
    with tempfile.TemporaryDirectory() as tmp:
        rows = sweep(files, Path(tmp))
    for r in rows:
        print("\t".join(f"{k}={v}" for k, v in r.items()), flush=True)
    bad = [r for r in rows if str(r["status"]).startswith("FAIL")]
    na = [r for r in rows if str(r["status"]).startswith("n/a")]
    print(f"files={len(rows)} ok={len(rows) - len(bad) - len(na)} n/a={len(na)} failed={len(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(run())
