"""The pseudonym token form (#26): ``[PERSON_1]`` by default, ``<PERSON_1>`` on request,
one form per run, read back by the report and reidentify in either form."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from meetguard._errors import UsageError
from meetguard.redaction import PseudonymBook, make_operator
from meetguard.redaction.tokens import check_form, is_token, unwrap, wrap
from meetguard.reidentify import Restorer
from meetguard.report._tokens import count_tokens

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_forms_wrap_and_unwrap() -> None:
    assert wrap("PERSON_1") == "[PERSON_1]"
    assert wrap("PERSON_1", "angle") == "<PERSON_1>"
    assert [unwrap(t) for t in ("[PERSON_1]", "<EMAIL_ADDRESS_2>", "[NA]", "x")] == \
        ["PERSON_1", "EMAIL_ADDRESS_2", "NA", "x"]
    assert is_token("[PERSON_1]") and is_token("<PERSON>") and not is_token("[PERSON_1")
    with pytest.raises(UsageError, match="square, angle"):
        check_form("curly")


def test_operators_and_book_follow_the_form() -> None:
    for form, (a, b) in (("square", "[]"), ("angle", "<>")):
        assert make_operator("pseudonymize", None, form).replace("US_SSN", "x", "x", 2) == f"{a}US_SSN_2{b}"
        assert make_operator("redact", None, form).replace("US_SSN", "x", "x", 0) == f"{a}US_SSN{b}"
        hashed = make_operator("hash", b"k", form).replace("EMAIL_ADDRESS", "x", "x", 0)
        assert re.fullmatch(re.escape(a) + r"EMAIL_ADDRESS_[0-9a-f]{16}" + re.escape(b), hashed)
        assert PseudonymBook(form).person_token("p-alice") == f"{a}PERSON_1{b}"


def test_readers_take_both_forms() -> None:
    assert count_tokens(["[PERSON_1] and <PERSON_2> and &lt;EMAIL_ADDRESS_1&gt; and [excluded]"]) == \
        {"PERSON": 2, "EMAIL_ADDRESS": 1, "EXCLUDED": 1}
    for key in ("[PERSON_1]", "<PERSON_1>"):
        text, n = Restorer({key: "Alice Martin"}).restore("ask [PERSON_1] or <PERSON_1>")
        assert (text, n) == ("ask Alice Martin or Alice Martin", 2)


def _guard(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    from meetguard.cli import main
    from meetguard.testing import FakeDetector, guard_factory

    meeting = tmp_path / "meeting"
    shutil.copytree(EXAMPLES / "meeting", meeting)
    out = tmp_path / ("out" + "".join(extra).replace("-", ""))
    code = main(["guard", "--policy", str(EXAMPLES / "policy.yaml"), "--purpose", "summarization",
                 "--recipient", "summarizer", "--chat", str(meeting / "meeting_saved_chat.txt"),
                 "--transcript", str(meeting / "transcript.vtt"), "--out", str(out), "--report",
                 "--audit", str(tmp_path / "audit.jsonl"), *extra],
                guard_factory=guard_factory(detector=FakeDetector()))
    return code, out


def test_guard_writes_square_tokens_unescaped_by_default(tmp_path: Path) -> None:
    code, out = _guard(tmp_path)
    assert code == 0
    vtt = next(out.glob("*.vtt")).read_text()
    chat = next(out.glob("*.txt")).read_text()
    assert "[PERSON_1]" in vtt and "&lt;" not in vtt and "Alice" not in vtt
    assert "[PERSON_1]" in chat and "<PERSON" not in chat
    assert 'class="tok t-PERSON"' in (out / "report.html").read_text()


def test_guard_token_form_angle_is_one_form_for_the_run(tmp_path: Path) -> None:
    code, out = _guard(tmp_path, "--token-form", "angle")
    assert code == 0
    vtt = next(out.glob("*.vtt")).read_text()
    chat = next(out.glob("*.txt")).read_text()
    assert "&lt;PERSON_1&gt;" in vtt and "[PERSON_" not in vtt
    assert "<PERSON_1>" in chat and "[PERSON_" not in chat
    assert 'class="tok t-PERSON"' in (out / "report.html").read_text()


def test_sidecar_config_token_form(tmp_path: Path) -> None:
    from meetguard._errors import ConfigError
    from meetguard.sidecar.config import load_config

    env = {"MEETGUARD_POLICY": str(EXAMPLES / "policy.yaml")}
    assert load_config(None, env=env).token_form == "square"
    assert load_config(None, env={**env, "MEETGUARD_TOKEN_FORM": "angle"}).token_form == "angle"
    cfg = tmp_path / "sidecar.yaml"
    cfg.write_text(f"policy: {EXAMPLES / 'policy.yaml'}\ntoken_form: curly\n")
    with pytest.raises(ConfigError, match="token_form"):
        load_config(cfg, env={})
