"""The README, followed as a new user would (#26): every shell line and Python block in it
runs, in a scratch copy of examples/, against the sidecar `make run` serves.

The sidecar runs from examples/sidecar.yaml (its one change: the port, and the
`llm-summarizer` upstream pointed at a stand-in OpenAI server, as a user points it at
theirs). The README's answer to the curl line must have the keys the sidecar answers
with; the official `openai` client's models, chat, responses and embeddings calls run
as written.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.sidecar_upstream import Recorder, build_upstream
from tests.serving import free_port

pytestmark = pytest.mark.models

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
SKIP = ("make ", "meetguard transcribe")         # set-up lines, and a recording the README does not ship


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.DOTALL)


def shell_lines(block: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", block)
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")]


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[Recorder, int]]:
    """An OpenAI-compatible model server (tests/fakes/sidecar_upstream.py) on a free port."""
    rec, port = Recorder(), free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(build_upstream(rec))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield rec, port
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory, stand_in: tuple[Recorder, int]) -> Iterator[tuple[Path, int]]:
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "examples", work / "examples")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "MEETGUARD_UPSTREAMS_LLM_SUMMARIZER_URL": f"http://127.0.0.1:{stand_in[1]}/v1"}
    proc = subprocess.Popen([str(BIN / "meetguard"), "serve", "--config", "examples/sidecar.yaml",
                             "--port", str(port)], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the sidecar did not get ready"
        time.sleep(1)
    yield work, port
    proc.terminate()
    proc.wait(60)


def _run(cmd: str, work: Path, port: int) -> subprocess.CompletedProcess[str]:
    cmd = re.sub(r"(?<![\w/.])\.venv/bin/", f"{BIN}/", cmd).replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run(cmd, shell=True, cwd=work, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def _check_shell(line: str, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
    if "/v1/guard" in line:
        answer = json.loads(done.stdout)
        shown = json.loads(blocks("json")[0])
        assert set(shown) == set(answer), "README's answer and the sidecar's differ in keys"
        assert {"vault", "language", "languages"} <= set(answer)
        assert answer["decision"] == shown["decision"] == "release"
        assert "Alice" not in json.dumps(answer["content"])
    if "/v1/redact" in line:
        assert "alice.martin" not in done.stdout and json.loads(done.stdout).get("decision") == "release", \
            done.stdout


def test_the_readme_runs_top_to_bottom(sidecar: tuple[Path, int], stand_in: tuple[Recorder, int]) -> None:
    """Every sh line and Python block, in the README's order (a withdrawal near the end
    changes what later requests may do, as it would for the reader)."""
    work, port = sidecar
    ran = {"sh": 0, "python": 0}
    for n, (lang, body) in enumerate(re.findall(r"```(sh|python)\n(.*?)```", README, flags=re.DOTALL)):
        if lang == "python":
            path = work / f"readme_{n}.py"
            path.write_text(body.replace("127.0.0.1:8080", f"127.0.0.1:{port}"), encoding="utf-8")
            done = subprocess.run([sys.executable, str(path)], cwd=work, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600, check=False)
            assert done.returncode == 0, f"python block {n}:\n{done.stderr[-2000:]}"
            ran["python"] += 1
            continue
        for line in shell_lines(body):
            if not line.startswith(SKIP):
                _check_shell(line, _run(line, work, port))
                ran["sh"] += 1
    assert ran["python"] >= 2 and ran["sh"] >= 8
    assert (work / "var" / "meetguard-audit.jsonl").is_file()        # where the README says it is
    sent = stand_in[0].everything()
    assert {r.path for r in stand_in[0].received} >= {"/v1/chat/completions", "/v1/responses", "/v1/embeddings"}
    assert "Alice Martin" not in sent and "bob.li@northwind.example" not in sent
