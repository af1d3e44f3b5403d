"""The first hour (#26): commands answer before any model loads, and say what to do.

No timing is asserted here (benchmarks/bench_cli.py measures the commands); these
tests check the causes: what each command imports, and what it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
HEAVY = ("torch", "whisper", "spacy", "thinc", "presidio_analyzer", "presidio_anonymizer", "ray",
         "matplotlib", "faster_whisper", "ctranslate2")


def _python(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEETGUARD_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300, check=False)


def test_stop_words_are_spacys_without_importing_spacy() -> None:
    from spacy.lang.de.stop_words import STOP_WORDS as DE
    from spacy.lang.en.stop_words import STOP_WORDS as EN

    from meetguard.detection._stopwords import stop_words

    assert stop_words("en") == EN and stop_words("de") == DE
    assert "n’t" in stop_words("en")          # the words spaCy adds after its list


def test_policy_check_and_usage_errors_import_no_model_library(tmp_path: Path) -> None:
    code = (
        "import sys, json\n"
        "from meetguard.cli import main\n"
        "codes = [main(['policy', 'check', sys.argv[1]]),\n"
        "         main(['guard', '--policy', 'missing.yaml', '--purpose', 'x', '--out', 'o', '--chat', 'c.txt'])]\n"
        f"print(json.dumps([codes, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    # twice: the first run fills the plugin entity-type cache (it imports the plugins), the second reads it
    first = _python(code, tmp_path, str(EXAMPLES / "policy.yaml"))
    second = _python(code, tmp_path, str(EXAMPLES / "policy.yaml"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    codes, imported = json.loads(second.stdout.splitlines()[-1])
    assert codes == [0, 2]
    assert imported == []
    assert "missing.yaml" in second.stderr


def test_plugin_entity_types_come_from_the_cache_when_the_plugins_did_not_change(tmp_path: Path) -> None:
    code = ("import sys, json\nfrom meetguard.backends import plugin_entity_types\n"
            "print(json.dumps([sorted(plugin_entity_types()), 'presidio_analyzer' in sys.modules]))")
    cold = json.loads(_python(code, tmp_path).stdout)
    warm = json.loads(_python(code, tmp_path).stdout)
    assert cold[0] == warm[0]
    assert warm[1] is False
    cache = json.loads((tmp_path / "cache" / "plugin-entity-types.json").read_text())
    assert cache["types"] == cold[0]
    # a different install (here: the key no longer matches) is read afresh, never trusted
    (tmp_path / "cache" / "plugin-entity-types.json").write_text(json.dumps({"key": "other", "types": ["X_Y"]}))
    again = json.loads(_python(code, tmp_path).stdout)
    assert again[0] == cold[0] and "X_Y" not in again[0]


@pytest.mark.models
def test_an_english_only_policy_never_loads_french(tmp_path: Path) -> None:
    code = (
        "import sys, json\n"
        "from meetguard.cli import main\n"
        "code = main(['guard', '--policy', sys.argv[1], '--purpose', 'summarization', '--recipient',\n"
        "             'summarizer', '--chat', sys.argv[2], '--out', 'out', '--audit', 'audit.jsonl'])\n"
        "print(json.dumps([code, 'spacy.lang.fr' in sys.modules, 'spacy.lang.en' in sys.modules]))\n"
    )
    done = _python(code, tmp_path, str(EXAMPLES / "policy.yaml"),
                   str(EXAMPLES / "meeting" / "meeting_saved_chat.txt"))
    assert json.loads(done.stdout.splitlines()[-1]) == [0, False, True], done.stderr


# -- one-line errors that name the fix -------------------------------------------------
def _guard_argv(tmp_path: Path, *extra: str) -> list[str]:
    return ["guard", "--policy", str(EXAMPLES / "policy.yaml"), "--recipient", "summarizer",
            "--out", str(tmp_path / "out"), "--audit", str(tmp_path / "audit.jsonl"), *extra]


def test_unknown_purpose_is_exit_2_listing_the_policys_purposes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from meetguard.cli import main
    from meetguard.testing import guard_factory

    code = main(_guard_argv(tmp_path, "--purpose", "summarise", "--chat",
                            str(EXAMPLES / "meeting" / "meeting_saved_chat.txt")), guard_factory=guard_factory())
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "unknown purpose 'summarise'" in err and "summarization, training" in err and "--purpose" in err
    assert not (tmp_path / "audit.jsonl").exists() and not (tmp_path / "out").exists()


def test_no_inputs_is_exit_2_naming_the_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from meetguard.cli import main

    assert main(_guard_argv(tmp_path, "--purpose", "summarization")) == 2
    err = capsys.readouterr().err.strip()
    assert err == "meetguard: no inputs: give at least one --chat, --transcript, --audio, --video or --track FILE"
    assert not (tmp_path / "audit.jsonl").exists()


def test_guard_prints_where_the_audit_record_went(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from meetguard.cli import main
    from meetguard.testing import FakeDetector, guard_factory

    code = main(_guard_argv(tmp_path, "--purpose", "summarization", "--chat",
                            str(EXAMPLES / "meeting" / "meeting_saved_chat.txt")),
                guard_factory=guard_factory(detector=FakeDetector()))
    err = capsys.readouterr().err
    assert code == 0 and f"in {tmp_path / 'audit.jsonl'}" in err


def test_withheld_mixed_audio_says_what_would_release_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from meetguard.cli import main
    from meetguard.policy.decide import MIXED_AUDIO_FIX, MIXED_AUDIO_WITHHELD
    from meetguard.testing import FakeDetector, FakeTranscriber, guard_factory

    # Carla refused summarization and is present: the mixed recording cannot be split, so it goes.
    code = main(_guard_argv(tmp_path, "--purpose", "summarization", "--attendee", "p-alice",
                            "--attendee", "p-carla", "--audio", str(REPO / "tests/fixtures/speech/mixed.flac"),
                            "--chat", str(EXAMPLES / "meeting" / "meeting_saved_chat.txt"), "--report"),
                guard_factory=guard_factory(detector=FakeDetector(), transcriber=FakeTranscriber([(0, 1, "hi")])))
    err = capsys.readouterr().err
    assert code == 0
    lines = [ln for ln in err.splitlines() if MIXED_AUDIO_WITHHELD in ln]
    assert len(lines) == 1 and "--track PARTICIPANT_ID=FILE" in lines[0]
    decision = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert decision["decision"] == "partial"
    assert any(r.startswith(MIXED_AUDIO_WITHHELD) and r.endswith(MIXED_AUDIO_FIX) for r in decision["reasons"])
    assert "--track PARTICIPANT_ID=FILE" in (tmp_path / "out" / "report.html").read_text()


def test_port_in_use_names_the_port_and_the_flag_before_any_model_loads(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = ("import sys, json\nfrom meetguard.cli import main\n"
                "rc = main(['serve', '--config', sys.argv[1], '--port', sys.argv[2]])\n"
                f"print(json.dumps([rc, [m for m in {HEAVY!r} if m in sys.modules]]))\n")
        done = _python(code, tmp_path, str(EXAMPLES / "sidecar.yaml"), str(port))
    assert json.loads(done.stdout.splitlines()[-1]) == [2, []], done.stderr
    assert done.stderr.strip() == (f"meetguard: port {port} on 127.0.0.1 is in use: stop what listens there, "
                                   "or pick another port with --port (or listen.port in the config)")


# -- --version and --help -----------------------------------------------------------------
def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from meetguard import __version__
    from meetguard.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"meetguard {__version__}"


def test_every_flag_has_help_and_every_command_its_exit_codes_and_an_example() -> None:
    import argparse

    from meetguard._cli_help import _commands
    from meetguard.cli import _build_parser

    missing: list[str] = []
    for path, parser in _commands(_build_parser()):
        leaf = not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        missing += [f"{path} {a.option_strings or a.dest}" for a in parser._actions
                    if not a.help and not isinstance(a, argparse._SubParsersAction)]
        if path and leaf:
            text = parser.format_help()
            if "exit codes:" not in text or "example:" not in text:
                missing.append(f"{path}: epilog")
    assert missing == []
