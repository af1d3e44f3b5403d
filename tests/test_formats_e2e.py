"""Every file of the suite's real-world corpus through the CLI (#31 acceptance).

``meetguard guard --chat/--transcript FILE`` with one participant refusing
(the file's first sender or speaker): the output holds exactly the items of
the others, re-parses in its own format, labels every person with a token,
and keeps nothing of the refusing participant's name, "@" mentions included
(in a reply's quote too). The fake detector (meetguard.testing) finds only
the roster's names: the model is not the point here; the real-model runs are
in test_handles.py and test_formats_corpus.py.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from meetguard import ChatMessage, Document
from meetguard.formats import load_source, parse, source_from_bytes

from .policies import corpus_policy

FIXTURES = Path(__file__).parent / "fixtures" / "realworld"
TOKEN = re.compile(r"[<\[]PERSON_\d+[>\]]")


def _rows() -> list[str]:
    with (FIXTURES / "SOURCES.tsv").open(encoding="utf-8", newline="") as fh:
        return [r["local_file"] for r in csv.DictReader(fh, delimiter="\t")]


def _who(item: object) -> str | None:
    speaker = item.sender if isinstance(item, ChatMessage) else getattr(item, "speaker", None)
    return speaker.label if speaker is not None else None


def _involves(item: object, person: str) -> bool:
    """Sent by ``person``, or a private message to them: both leave with them."""
    to = [r.label for r in item.recipients] if isinstance(item, ChatMessage) and item.private else []
    unattributed = _who(item) is None and not isinstance(item, ChatMessage)   # kept only if all consent
    return _who(item) == person or person in to or unattributed


def _labels(doc: Document) -> list[str]:
    out: list[str] = []
    for item in doc.items:
        who = _who(item)
        out += [who] if who else []
        if isinstance(item, ChatMessage):
            out += [r.label for r in item.recipients]
    return out


def _text_of(doc: Document) -> str:
    parts: list[str] = []
    for item in doc.items:
        parts.append(item.text)
        if isinstance(item, ChatMessage) and item.quote is not None:
            parts.append(item.quote.text)
    return "\n".join(parts)


@pytest.mark.parametrize("rel", _rows())
def test_cli_guards_each_real_file_with_a_refusing_participant(rel: str, tmp_path: Path) -> None:
    from meetguard.cli import main
    from meetguard.testing import FakeDetector, guard_factory

    doc = parse(load_source(FIXTURES / rel))
    refuser = next(w for w in (_who(i) for i in doc.items) if w)
    policy = tmp_path / "policy.yaml"
    policy.write_text(corpus_policy("e2e-31", '"' + refuser.replace('"', '\\"') + '"'), encoding="utf-8")
    flag = "--chat" if doc.kind == "chat" else "--transcript"
    out = tmp_path / "out"
    expected = sum(1 for i in doc.items if not _involves(i, refuser))
    code = main(["guard", "--policy", str(policy), "--purpose", "summarization", "--recipient", "summarizer",
                 flag, str(FIXTURES / rel), "--out", str(out), "--audit", str(tmp_path / "audit.jsonl"),
                 "--language", "en"],                 # the operator's model choice for every language
                guard_factory=guard_factory(detector=FakeDetector()))
    if expected == 0:                  # everything is the refusing participant's: nothing leaves
        assert code == 3 and [p.name for p in out.iterdir()] == ["decision.json"], rel
        return
    assert code == 0, rel
    (released,) = [p for p in out.iterdir() if p.name != "decision.json"]
    back = parse(source_from_bytes(doc.name, released.read_bytes()))
    assert back.format == doc.format, rel
    assert len(back.items) == expected, rel
    assert all(TOKEN.fullmatch(label) or label == "Unknown speaker" for label in _labels(back)), rel
    # the fake detector finds the full name only (first names alone: test_handles.py, real models)
    text = _text_of(back) + "\n" + "\n".join(_labels(back))
    assert refuser.casefold() not in text.casefold(), rel
