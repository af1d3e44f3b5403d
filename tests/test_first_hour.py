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
