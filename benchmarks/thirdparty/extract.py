"""Build the third-party extracts in tests/fixtures/thirdparty/ from local mirrors (run by hand).

    python benchmarks/thirdparty/extract.py PRESIDIO_GIT_DIR RESEARCH_GIT_DIR SLURP_GIT_DIR

Each argument is a git directory (bare is fine); files are read at HEAD with ``git show``.
- presidio_tables.jsonl: every row of the parametrized tables in microsoft/presidio's
  presidio-analyzer/tests/test_*_recognizer.py whose parameters start ``text, expected_len``
  and carry positions: the text, the recognizer's entity type, and the expected spans
  (an empty list where Presidio's own test expects nothing).
- presidio_research.jsonl: a seeded sample of microsoft/presidio-research
  data/synth_dataset_v2.json (full_text and spans).
- slurp_devel.jsonl, slurp_test.jsonl: seeded samples of SLURP's devel and test splits
  (dataset/slurp/*.jsonl): the sentence and its entities as character spans.
- slurp_devel_rest.jsonl: the devel rows slurp_devel.jsonl left, a second tuning set
  (``--devel-rest SLURP_GIT_DIR`` writes it alone; the train split is too large for the mirror).
- slurp_devel_more.jsonl: every devel row the two above left (``--devel-more SLURP_GIT_DIR``),
  a third tuning set of ordinary words.
- voxpopuli_dev.jsonl: a seeded sample of SLUE-VoxPopuli's dev split (``--voxpopuli GIT_DIR``,
  a git directory holding ``slue-voxpopuli_dev.tsv``): ``normalized_text`` and its
  ``normalized_ner`` spans. The second held-out corpus: this script prints counts only, never
  a row, so that it was not read while rules were tuned.
- voxpopuli_tune.jsonl: a seeded sample of SLUE-VoxPopuli's fine-tune split, same form
  (``--voxpopuli-tune GIT_DIR``, a git directory holding ``slue-voxpopuli_fine-tune.tsv``):
  a tuning set for lower-case places and names in speech, read while rules were tuned
  (round 8); the dev extract stays held out.
Every file is MIT (Presidio, presidio-research), CC BY 4.0 (SLURP's text) or CC0 (SLUE-VoxPopuli);
see README.md there.
"""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "thirdparty"


def _git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True, text=True).stdout


def _entity(src: str) -> str | None:
    from presidio_analyzer import predefined_recognizers as pr

    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "entities":
            for sub in ast.walk(node):
                if isinstance(sub, ast.Return) and sub.value is not None:
                    val = ast.literal_eval(sub.value)
                    return str(val[0]) if isinstance(val, list) and len(val) == 1 else None
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and "predefined_recognizers" in node.module:
            for alias in node.names:
                cls = getattr(pr, alias.name, None)
                if cls is not None:
                    ents = cls().supported_entities
                    return str(ents[0]) if len(ents) == 1 else None
    return None


def _rows(src: str) -> list[tuple[str, list[list[int]]]]:
    out: list[tuple[str, list[list[int]]]] = []
    for node in ast.walk(ast.parse(src)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize" and len(node.args) >= 2):
            continue
        try:
            names = [n.strip() for n in ast.literal_eval(node.args[0]).split(",")]
            table = ast.literal_eval(node.args[1])
        except (ValueError, SyntaxError, AttributeError):
            continue
        if names[:2] != ["text", "expected_len"]:
            continue
        pos = next((i for i, n in enumerate(names) if n in ("expected_positions", "expected_position")), None)
        for row in table:
            text, n = row[0], row[1]
            if not isinstance(text, str):
                continue
            if n == 0:
                out.append((text, []))
            elif pos is not None:
                spans = row[pos]
                spans = [spans] if spans and isinstance(spans[0], int) else list(spans)
                if len(spans) == n:
                    out.append((text, [[int(s), int(e)] for s, e in spans]))
    return out


def presidio_tables(repo: str) -> list[dict[str, Any]]:
    out = []
    files = [f for f in _git(repo, "ls-tree", "-r", "--name-only", "HEAD", "presidio-analyzer/tests/").split()
             if f.rsplit("/", 1)[-1].startswith("test_") and f.endswith("_recognizer.py")]
    for f in sorted(files):
        src = _git(repo, "show", f"HEAD:{f}")
        try:
            etype = _entity(src)
        except Exception:  # noqa: BLE001, S112  (a recognizer needing extras: skip its table)
            continue
        if etype is None:
            continue
        for text, spans in _rows(src):
            out.append({"source": f.rsplit("/", 1)[-1], "text": text,
                        "spans": [{"start": s, "end": e, "type": etype} for s, e in spans]})
    return out


def research(repo: str, n: int) -> list[dict[str, Any]]:
    data = json.loads(_git(repo, "show", "HEAD:data/synth_dataset_v2.json"))
    rows = [{"text": d["full_text"], "spans": [
        {"start": s["start_position"], "end": s["end_position"], "type": s["entity_type"]} for s in d["spans"]]}
        for d in data]
    return random.Random(24).sample(rows, n)


def _slurp_row(d: dict[str, Any]) -> dict[str, Any] | None:
    text = d["sentence"]
    starts, pos = [], 0
    for tok in d["tokens"]:
        at = text.find(tok["surface"], pos)
        if at < 0:
            return None
        starts.append((at, at + len(tok["surface"])))
        pos = at + len(tok["surface"])
    spans = [{"start": starts[e["span"][0]][0], "end": starts[e["span"][-1]][1], "type": e["type"]}
             for e in d["entities"]]
    return {"text": text, "spans": spans}


def slurp(repo: str, split: str, n_named: int, n_other: int) -> list[dict[str, Any]]:
    rows = [r for line in _git(repo, "show", f"HEAD:dataset/slurp/{split}.jsonl").splitlines()
            if (r := _slurp_row(json.loads(line))) is not None]
    named = [r for r in rows if any(s["type"] in ("person", "place_name") for s in r["spans"])]
    other = [r for r in rows if r not in named]
    rng = random.Random(24)
    return rng.sample(named, min(n_named, len(named))) + rng.sample(other, n_other)


def devel_rest(repo: str) -> list[dict[str, Any]]:
    """SLURP devel rows outside slurp_devel.jsonl: every one with a person or place (few: the
    extract took most), and 600 others (ordinary words, for false positives)."""
    taken = {json.loads(line)["text"] for line in (OUT / "slurp_devel.jsonl").read_text(encoding="utf-8").splitlines()}
    rows = [r for line in _git(repo, "show", "HEAD:dataset/slurp/devel.jsonl").splitlines()
            if (r := _slurp_row(json.loads(line))) is not None and r["text"] not in taken]
    named = [r for r in rows if any(s["type"] in ("person", "place_name") for s in r["spans"])]
    other = [r for r in rows if r not in named]
    return named + random.Random(24).sample(other, min(600, len(other)))


VOX_PLACES = ("GPE", "LOC", "FAC")


def _vox_row(line: str) -> dict[str, Any] | None:
    cols = line.split("\t")
    text, ner = cols[2], cols[6]
    spans = [] if ner == "None" else [
        {"start": int(s), "end": int(s) + int(n), "type": str(t)} for t, s, n in ast.literal_eval(ner)]
    for sp in spans:   # a span must cover whole words of the text
        if not (0 <= sp["start"] < sp["end"] <= len(text)) or text[sp["start"]:sp["end"]] != text[sp["start"]:sp["end"]].strip() \
                or (sp["start"] > 0 and text[sp["start"] - 1].isalnum()) or (sp["end"] < len(text) and text[sp["end"]].isalnum()):
            return None
    return {"text": text, "spans": spans}


def voxpopuli(repo: str, n_named: int, n_other: int) -> list[dict[str, Any]]:
    """Every dev row with a PERSON, then rows with a place (GPE, LOC, FAC) up to ``n_named``,
    and ``n_other`` rows with neither (seed 24). Prints counts only."""
    lines = _git(repo, "show", "HEAD:slue-voxpopuli_dev.tsv").splitlines()[1:]
    rows = [r for line in lines if (r := _vox_row(line)) is not None]
    person = [r for r in rows if any(s["type"] == "PERSON" for s in r["spans"])]
    place = [r for r in rows if r not in person and any(s["type"] in VOX_PLACES for s in r["spans"])]
    other = [r for r in rows if r not in person and r not in place]
    rng = random.Random(24)
    out = person + rng.sample(place, max(0, n_named - len(person))) + rng.sample(other, n_other)
    print(f"voxpopuli dev: {len(lines)} rows, {len(lines) - len(rows)} skipped (span off a word), "
          f"{len(person)} with a person, {len(place)} with a place only, {len(other)} others; wrote {len(out)}")
    return out


def voxpopuli_tune(repo: str, n_person: int, n_place: int, n_other: int) -> list[dict[str, Any]]:
    """Up to ``n_person`` fine-tune rows with a PERSON, ``n_place`` with a place only and
    ``n_other`` with neither (seed 24): a tuning set weighted to names and places."""
    lines = _git(repo, "show", "HEAD:slue-voxpopuli_fine-tune.tsv").splitlines()[1:]
    rows = [r for line in lines if (r := _vox_row(line)) is not None]
    person = [r for r in rows if any(s["type"] == "PERSON" for s in r["spans"])]
    place = [r for r in rows if r not in person and any(s["type"] in VOX_PLACES for s in r["spans"])]
    other = [r for r in rows if r not in person and r not in place]
    rng = random.Random(24)
    out = rng.sample(person, min(n_person, len(person))) + rng.sample(place, min(n_place, len(place))) \
        + rng.sample(other, min(n_other, len(other)))
    print(f"voxpopuli fine-tune: {len(lines)} rows, {len(lines) - len(rows)} skipped (span off a word), "
          f"{len(person)} with a person, {len(place)} with a place only, {len(other)} others; wrote {len(out)}")
    return out


def devel_more(repo: str) -> list[dict[str, Any]]:
    """Every SLURP devel row that neither slurp_devel.jsonl nor slurp_devel_rest.jsonl took
    (ordinary words only: the two took every sentence with a person or place)."""
    taken = {json.loads(line)["text"] for f in ("slurp_devel.jsonl", "slurp_devel_rest.jsonl")
             for line in (OUT / f).read_text(encoding="utf-8").splitlines()}
    return [r for line in _git(repo, "show", "HEAD:dataset/slurp/devel.jsonl").splitlines()
            if (r := _slurp_row(json.loads(line))) is not None and r["text"] not in taken]


def _write(name: str, rows: list[dict[str, Any]]) -> None:
    with (OUT / name).open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--devel-rest"]:   # a further tuning set, added after the first three
        _write("slurp_devel_rest.jsonl", devel_rest(argv[1]))
        return
    if argv[:1] == ["--devel-more"]:   # a third tuning set (round 7): the devel rows left
        _write("slurp_devel_more.jsonl", devel_more(argv[1]))
        return
    if argv[:1] == ["--voxpopuli"]:   # the second held-out corpus, added in round 7
        _write("voxpopuli_dev.jsonl", voxpopuli(argv[1], 300, 150))
        return
    if argv[:1] == ["--voxpopuli-tune"]:   # a tuning set from the fine-tune split (round 8)
        _write("voxpopuli_tune.jsonl", voxpopuli_tune(argv[1], 200, 450, 200))
        return
    presidio, research_repo, slurp_repo = argv
    OUT.mkdir(parents=True, exist_ok=True)
    _write("presidio_tables.jsonl", presidio_tables(presidio))
    _write("presidio_research.jsonl", research(research_repo, 600))
    _write("slurp_devel.jsonl", slurp(slurp_repo, "devel", 300, 150))
    _write("slurp_test.jsonl", slurp(slurp_repo, "test", 300, 150))


if __name__ == "__main__":
    main(sys.argv[1:])
