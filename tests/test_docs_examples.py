"""Every example in docs/ runs as a new user would run it (#26): each ```python block as
a script of its own, and each ```sh block with bash, in a scratch folder holding the
files the examples name (the bundled example policy and meeting). The README's own
examples are run by tests/test_readme.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted((REPO / "docs").glob("*.md"))
BLOCK = re.compile(r"^```(python|sh)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
VALUES = ("alice.martin@northwind.example",)


def _blocks() -> list[tuple[str, str, str]]:
    out = []
    for doc in DOCS:
        for i, m in enumerate(BLOCK.finditer(doc.read_text(encoding="utf-8"))):
            out.append((f"{doc.name}#{i}-{m.group(1)}", m.group(1), m.group(2)))
    return out


BLOCKS = _blocks()


def _scratch(tmp: Path) -> Path:
    """What the examples name: policy.yaml, meeting_saved_chat.txt, a.txt, b/chat.txt,
    examples/ and .venv (the sh lines call .venv/bin/meetguard)."""
    chat = REPO / "examples" / "meeting" / "meeting_saved_chat.txt"
    shutil.copy(REPO / "examples" / "policy.yaml", tmp / "policy.yaml")
    for name in ("meeting_saved_chat.txt", "a.txt", "b/chat.txt"):
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(chat, tmp / name)
    shutil.copytree(REPO / "examples", tmp / "examples")
    (tmp / ".venv").symlink_to(Path(sys.prefix))
    return tmp


def test_the_docs_have_examples_to_run() -> None:
    kinds = {kind for _, kind, _ in BLOCKS}
    assert {"python", "sh"} <= kinds and len(BLOCKS) >= 5


@pytest.mark.models
@pytest.mark.parametrize(("name", "kind", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_a_docs_example_runs(name: str, kind: str, code: str, tmp_path: Path) -> None:
    work = _scratch(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if kind == "python":
        (work / "example.py").write_text(code, encoding="utf-8")
        argv = [sys.executable, "example.py"]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", code]
    proc = subprocess.run(argv, check=False, cwd=work, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, (name, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    for value in VALUES:
        assert value not in proc.stdout, name
    if "process_many" in code:              # docs/batch.md: both meetings decided, none failed
        lines = [line.split() for line in proc.stdout.splitlines() if line.strip()]
        assert sorted(line[0] for line in lines) == ["a", "b"], proc.stdout
        assert all(line[1] in ("release", "partial") for line in lines), proc.stdout
