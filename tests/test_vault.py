"""The re-identification vault: guard with --vault, reidentify, erasure, expiry, bad input (#15)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meetguard._errors import ConfigError
from meetguard.cli import main
from meetguard.testing import FakeDetector, guard_factory
from meetguard.vault import Vault, VaultError, VaultNotFound, master_key_from_env

from .policies import llm_policy

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
POLICY = llm_policy("PERSON, EMAIL_ADDRESS", purpose="    retention_days: 30\n    reidentify: REID\n",
                    carla="  - id: p-bo\n    names: [Bo Li]\n")
CHAT = ("10:00:01 From Carla Nunes to Everyone:\n\tBo Li, mail carla@example.com please\n"
        "10:00:09 From Bo Li to Everyone:\n\tsure Carla Nunes\n")


def _guard(tmp_path: Path, reidentify: bool = True, *extra: str) -> tuple[int, dict[str, object]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "policy.yaml").write_text(POLICY.replace("REID", str(reidentify).lower()), encoding="utf-8")
    chat = tmp_path / "chat.txt"
    chat.write_text(CHAT, encoding="utf-8")
    code = main(["guard", "--policy", str(tmp_path / "policy.yaml"), "--purpose", "summarization",
                 "--chat", str(chat), "--out", str(tmp_path / "out"), "--audit", str(tmp_path / "audit.jsonl"),
                 "--vault", str(tmp_path / "vault"), *extra],
                guard_factory=guard_factory(detector=FakeDetector({"carla@example.com": "EMAIL_ADDRESS"})))
    return code, json.loads((tmp_path / "out" / "decision.json").read_text(encoding="utf-8"))


def _reidentify(tmp_path: Path, meeting: str, text: str, *extra: str) -> int:
    summary = tmp_path / "summary.txt"
    summary.write_text(text, encoding="utf-8")
    return main(["reidentify", "--vault", str(tmp_path / "vault"), "--meeting", meeting,
                 "--audit", str(tmp_path / "audit.jsonl"), "--out", str(tmp_path / "restored.txt"),
                 *extra, str(summary)])


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETGUARD_VAULT_KEY", KEY)


def test_guard_with_vault_then_reidentify_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, decision = _guard(tmp_path, True, "--meeting-id", "m-1")
    assert code == 0 and decision["vault"] is True
    released = (tmp_path / "out").glob("*.txt")
    redacted = "".join(p.read_text(encoding="utf-8") for p in released)
    assert "Carla" not in redacted and "carla@example.com" not in redacted
    for f in (tmp_path / "vault").iterdir():     # nothing in clear on disk
        data = f.read_bytes()
        assert b"Carla" not in data and b"carla@example" not in data and b"m-1" not in data
    summary = "person 1 will send [PERSON_2] the file at [EMAIL_ADDRESS_1]; PERSON_9 too."
    assert _reidentify(tmp_path, "m-1", summary) == 0
    restored = (tmp_path / "restored.txt").read_text(encoding="utf-8")
    assert restored == "Carla Nunes will send Bo Li the file at carla@example.com; PERSON_9 too."
    assert "3 token(s) restored" in capsys.readouterr().err
    last = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()][-1]
    assert last["event"] == "reidentify" and last["reidentify"]["restored"] == 3
    assert "Carla" not in json.dumps(last)


def test_meeting_id_defaults_to_the_audit_id_and_no_vault_without_reidentify(tmp_path: Path) -> None:
    code, decision = _guard(tmp_path / "a", True)
    assert code == 0
    assert decision["vault"] is True
    assert _reidentify(tmp_path / "a", str(decision["audit_id"]), "[PERSON_1]") == 0
    assert (tmp_path / "a" / "restored.txt").read_text(encoding="utf-8") == "Carla Nunes"
    _, plain = _guard(tmp_path / "b", False, "--meeting-id", "m-2")
    assert plain["vault"] is False
    assert not (tmp_path / "b" / "vault").exists()


def test_purge_and_withdrawal_erase_and_reidentify_then_fails(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    vault = Vault(tmp_path / "vault", master_key_from_env("MEETGUARD_VAULT_KEY"))
    past = datetime.now(UTC) - timedelta(days=31)
    vault.store("old", "summarization", {"[PERSON_1]": "Carla Nunes"}, 30, now=past)
    vault.store("new", "summarization", {"[PERSON_1]": "Bo Li"}, 30)
    with pytest.raises(VaultNotFound):              # expired before it is purged
        vault.load("old")
    assert main(["vault", "purge", "--vault", str(tmp_path / "vault")]) == 0
    assert "1 meeting(s) erased" in capsys.readouterr().err
    assert _reidentify(tmp_path, "old", "[PERSON_1]") == 2
    assert "no key for this meeting" in capsys.readouterr().err
    assert not (tmp_path / "restored.txt").exists()
    assert vault.load("new") == {"[PERSON_1]": "Bo Li"}
    assert vault.delete_key("new", "other-purpose") is False
    assert vault.delete_key("new", "summarization") is True      # the consent withdrawal seam
    assert _reidentify(tmp_path, "new", "[PERSON_1]") == 2


def test_tampered_files_wrong_key_and_missing_key_env_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    vault = Vault(tmp_path / "vault", base64.b64decode(KEY))
    vault.store("m", "summarization", {"[PERSON_1]": "Carla Nunes"}, None)
    map_file = next((tmp_path / "vault").glob("*.map"))
    good = map_file.read_bytes()
    map_file.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    assert _reidentify(tmp_path, "m", "[PERSON_1]") == 2
    err = capsys.readouterr().err
    assert "does not authenticate" in err and err.count("\n") == 1
    map_file.write_bytes(good)
    key_file = next((tmp_path / "vault").glob("*.key"))
    header = json.loads(key_file.read_text())
    key_file.write_text(json.dumps({**header, "expires_at": "2999-01-01T00:00:00Z"}))
    with pytest.raises(VaultError):                # a changed expiry breaks authentication
        vault.load("m")
    key_file.write_text(json.dumps(header))
    monkeypatch.setenv("MEETGUARD_VAULT_KEY", OTHER_KEY)
    assert _reidentify(tmp_path, "m", "[PERSON_1]") == 2
    assert "wrong master key" in capsys.readouterr().err
    assert _reidentify(tmp_path, "m", "[PERSON_1]", "--vault-key-env", "MG_UNSET_VAULT_KEY") == 2
    assert "MG_UNSET_VAULT_KEY is not set" in capsys.readouterr().err
    assert not (tmp_path / "restored.txt").exists()
    with pytest.raises(ConfigError, match="32 bytes"):
        master_key_from_env("K", {"K": base64.b64encode(b"short").decode()})


def test_sidecar_config_vault_section_and_reidentify_tokens(tmp_path: Path) -> None:
    from meetguard.sidecar.config import load_config
    from meetguard.sidecar.withdrawals import withdrawal_settings

    (tmp_path / "policy.yaml").write_text(POLICY.replace("REID", "true"), encoding="utf-8")
    cfg = tmp_path / "sidecar.yaml"
    cfg.write_text("policy: policy.yaml\nvault: {dir: vault, key_env: MG_VK}\n"
                   "tokens: [{token: reader, reidentify: true}, plain]\n", encoding="utf-8")
    config = load_config(cfg, {"MG_VK": KEY})
    assert config.vault is not None and config.vault.dir == tmp_path / "vault"
    assert config.reidentify_tokens == {"reader"} and config.tokens == ("reader", "plain")
    assert isinstance(withdrawal_settings(config).vault, Vault)    # withdrawal deletes meeting keys
    with pytest.raises(ConfigError, match="MG_VK is not set"):
        load_config(cfg, {})
