"""The review report: self-contained (no script, no external reference), the expected
sections and banner fields, tokens highlighted, the waveform with its bleeps, no value."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import wave
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from meetguard.audit import AuditLog
from meetguard.cli import main

from .conftest import needs_shared

AT = "2026-11-28T12:00:00Z"
NAMES = ("Alice Martin", "Bob Li", "Carla Nunes")
POLICY: dict[str, Any] = {
    "version": 1, "policy_id": "report-test-1",
    "account": {"id": "acme", "ai_features": {"summarization": True}},
    "purposes": {"summarization": {
        "consent": "opt_out", "missing_consent": "exclude", "recipients": ["summarizer"],
        "redact": {"entities": ["PERSON", "EMAIL_ADDRESS"], "operator": "pseudonymize"},
        "audio": "bleep"}},
    "participants": [
        {"id": "p-alice", "names": [NAMES[0]],
         "consent": {"summarization": {"status": "granted", "at": "2026-11-01T09:00:00Z"}}},
        {"id": "p-bob", "names": [NAMES[1]]},
        {"id": "p-carla", "names": [NAMES[2]],
         "consent": {"summarization": {"status": "refused", "at": "2026-11-02T09:00:00Z"}}},
    ],
}
CHAT = ("10:02:11 From [PERSON_1] to Everyone:\n\tmail me at [EMAIL_ADDRESS_1] please\n"
        "10:02:45 From [PERSON_2] to Everyone:\n\tthanks [PERSON_1], and [excluded]\n")
VTT = ("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v PERSON_1>call [PERSON_3] now</v>\n")


def _wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.sin(2 * np.pi * 220 * t) * 9000).astype("<i2").tobytes())
    return buf.getvalue()


def _transcript() -> bytes:
    words = [{"text": "call", "start": 0.1, "end": 0.4, "probability": 0.9},
             {"text": "[PERSON_3]", "start": 0.5, "end": 1.1, "probability": 0.9},
             {"text": "now", "start": 1.2, "end": 1.5, "probability": 0.9}]
    body = {"format": "meetguard-json", "version": 1, "kind": "transcript", "items": [
        {"type": "cue", "index": 0, "start": 0.0, "end": 2.0, "speaker": None,
         "text": "call [PERSON_3] now", "words": words, "ident": None, "settings": ""}]}
    return json.dumps(body).encode()


def _out_dir(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A guard output folder with chat, an audio transcript and a redacted WAV, and the
    audit record that released it."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    outputs = {"meeting_saved_chat.txt": CHAT.encode(), "rec.transcript.vtt": VTT.encode(),
               "rec.transcript.json": _transcript(), "rec.redacted.wav": _wav()}
    kinds = {"meeting_saved_chat.txt": "chat", "rec.redacted.wav": "audio"}
    shas = {n: hashlib.sha256(b).hexdigest() for n, b in sorted(outputs.items())}
    audit = tmp_path / "audit.jsonl"
    arts = [{"kind": kinds.get(n, "transcript"), "sha256": h}
            | ({"verified": True} if n.endswith(".wav") else {}) for n, h in shas.items()]
    rec = AuditLog(audit).append({
        "policy_id": "report-test-1", "policy_sha256": "ab" * 32, "purpose": "summarization",
        "recipient": "summarizer", "meeting_id": "m-7", "decision": "partial",
        "reasons": ["p-carla does not consent to 'summarization' (consent refused)"],
        "excluded_participants": ["p-carla"], "entity_counts": {"EMAIL_ADDRESS": 1, "PERSON": 3},
        "output_sha256": shas, "participants": ["p-alice", "p-bob"], "artefacts": arts})
    out = tmp_path / "out"
    out.mkdir()
    for name, data in outputs.items():
        (out / name).write_bytes(data)
    decision = {"decision": "partial", "purpose": "summarization", "recipient": "summarizer",
                "meeting_id": "m-7", "policy_id": "report-test-1", "policy_sha256": "ab" * 32,
                "at": AT, "reasons": rec["reasons"], "excluded_participants": ["p-carla"],
                "entity_counts": {"EMAIL_ADDRESS": 1, "PERSON": 3}, "outputs": sorted(outputs),
                "audit_id": rec["hash"]}
    (out / "decision.json").write_text(json.dumps(decision))
    return out, audit, policy


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.ids: set[str] = set()
        self.marks: list[tuple[str, str]] = []
        self._mark: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        for key in ("src", "href", "xlink:href", "action", "data"):
            if a.get(key) is not None:
                self.refs.append(str(a[key]))
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "mark":
            self._mark = str(a.get("class"))

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._mark is not None:
            self.marks.append((self._mark, data))
            self._mark = None


def _render(tmp_path: Path) -> tuple[str, _Page, Path]:
    out, audit, policy = _out_dir(tmp_path)
    assert main(["report", str(out), "--audit", str(audit), "--policy", str(policy)]) == 0
    html = (out / "report.html").read_text()
    page = _Page()
    page.feed(html)
    return html, page, out


def test_report_is_self_contained_and_has_every_section(tmp_path: Path) -> None:
    _html, page, out = _render(tmp_path)
    assert "script" not in page.tags and "iframe" not in page.tags and "link" not in page.tags
    assert all(r.startswith("#") for r in page.refs), page.refs
    assert {"verdict", "consent", "entities", "audio", "released"} <= page.ids
    text = " ".join(page.text)
    decision = json.loads((out / "decision.json").read_text())
    for value in ("partial", "summarization", "summarizer", AT, "report-test-1",
                  decision["policy_sha256"], decision["audit_id"], "verified"):
        assert value in text, value
    assert "match" in text                           # released files = the audit record
    assert "passed" in text                          # the audio's verification
    assert "bleeped window(s)" in text and "(1)" in text


def test_report_highlights_tokens_by_type_and_shows_no_name(tmp_path: Path) -> None:
    html, page, _ = _render(tmp_path)
    marks = {(cls, data) for cls, data in page.marks}
    assert ("tok t-EMAIL_ADDRESS", "[EMAIL_ADDRESS_1]") in marks
    assert ("tok t-PERSON", "[PERSON_3]") in marks   # the VTT as released, escaped
    assert ("tok t-PERSON", "<v PERSON_1>") in marks
    assert ("tok t-EXCLUDED", "[excluded]") in marks
    for name in NAMES:
        assert name not in html
    for pid, state in (("p-alice", "included"), ("p-bob", "included"), ("p-carla", "excluded")):
        assert pid in html and state in html
    assert "refused at 2026-11-02" in html


def test_report_says_when_the_chain_is_broken_or_the_files_changed(tmp_path: Path) -> None:
    out, audit, policy = _out_dir(tmp_path)
    (out / "meeting_saved_chat.txt").write_text(CHAT + "tampered\n")
    lines = audit.read_text().splitlines()
    audit.write_text(lines[0].replace('"m-7"', '"m-8"') + "\n")
    assert main(["report", str(out), "--audit", str(audit), "--policy", str(policy),
                 "--html", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "BROKEN" in html and "DIFFER" in html


def test_report_of_a_folder_without_decision_is_exit_2(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium package is not installed (apt-get install chromium)")
def test_report_loads_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    _, _, out = _render(tmp_path)
    page = (out / "report.html").resolve()
    run = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    for section in ('id="verdict"', 'id="consent"', 'id="entities"', 'id="audio"',
                    'id="released"', "<svg"):
        assert section in run.stdout


@needs_shared
@pytest.mark.models
def test_guard_report_on_a_sample_meeting_with_audio(tmp_path: Path) -> None:
    from .conftest import JFK, SAMPLES

    expected = json.loads((SAMPLES / "expected.json").read_text())["teams_transcript.vtt"]
    out = tmp_path / "out"
    code = main(["guard", "--policy", str(SAMPLES / "policy.yaml"), "--purpose", "summarization",
                 "--recipient", "summarizer", "--at", AT, "--out", str(out), "--report",
                 "--transcript", str(SAMPLES / "teams_transcript.vtt"), "--audio", str(JFK),
                 "--attendee", "p-alice", "--audit", str(tmp_path / "audit.jsonl")])
    assert code == 0
    decision = json.loads((out / "decision.json").read_text())
    assert "report.html" not in decision["outputs"] and "audio.redacted.wav" in decision["outputs"]   # #25
    html = (out / "report.html").read_text()
    page = _Page()
    page.feed(html)
    assert {"verdict", "consent", "entities", "audio", "released"} <= page.ids
    assert "script" not in page.tags and all(r.startswith("#") for r in page.refs)
    policy = yaml.safe_load((SAMPLES / "policy.yaml").read_text())
    names = [n for p in policy["participants"] for n in p["names"]]
    for pid in (p["id"] for p in policy["participants"]):
        html = html.replace(pid, "")                # policy ids are shown, by design
    for value in [*expected["pii"], *names]:
        assert not re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", html), value


def test_guard_report_refuses_an_input_named_like_the_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chat = tmp_path / "report.html"
    chat.write_text("10:00:00 From Alice Martin to Everyone:\n\thello\n")
    code = main(["guard", "--policy", str(tmp_path / "policy.yaml"), "--purpose", "summarization",
                 "--out", str(tmp_path / "out"), "--chat", str(chat), "--report"])
    assert code == 2
    assert "report.html" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
