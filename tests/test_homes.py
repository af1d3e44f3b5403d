"""One home per concept: the shared leaves every caller goes through."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest

from meetguard import UsageError
from meetguard._files import atomic_write, sha256_file, write_json_private
from meetguard._time import is_aware, parse_at, require_aware
from meetguard.policy import parse_policy

POLICY = b"""\
version: 1
policy_id: homes-1
account: {id: acme, ai_features: {summarization: true}}
purposes:
  summarization:
    consent: opt_out
    missing_consent: exclude
    recipients: [a, b]
    redact: {entities: all, operator: redact}
    audio: drop
  training:
    consent: opt_in
    missing_consent: deny
    recipients: [store]
    redact: {entities: all, operator: redact}
    audio: drop
"""


def test_atomic_write_is_private_and_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_private(target, {"k": "välue"})
    assert target.read_text(encoding="utf-8") == '{"k": "välue"}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    atomic_write(target, b"public", mode=0o644)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644

    def broken(fh: IO[bytes]) -> None:
        fh.write(b"half")
        raise OSError("disk on fire")

    with pytest.raises(OSError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"public"               # the old file, whole
    assert os.listdir(tmp_path) == ["state.json"]         # no temp file left
    assert sha256_file(target, chunk=2) == hashlib.sha256(b"public").hexdigest()


def test_the_aware_time_check_and_at_parsing() -> None:
    assert is_aware(datetime(2026, 1, 1, tzinfo=UTC))
    assert not is_aware(datetime(2026, 1, 1)) and not is_aware("2026-01-01T00:00:00Z")
    with pytest.raises(UsageError, match="--at must carry a timezone"):
        parse_at("2026-11-28T12:00:00")
    with pytest.raises(UsageError, match="not an ISO 8601"):
        parse_at("yesterday")
    assert parse_at(None) is None
    assert require_aware(datetime(2026, 1, 1, tzinfo=UTC)).year == 2026


def test_recipient_resolution_has_one_home() -> None:
    policy = parse_policy(POLICY, "homes.yaml")
    assert policy.recipient_for("training", None) == "store"         # the only one
    assert policy.recipient_for("summarization", "b") == "b"          # as named
    assert policy.recipient_for("nope", None) is None                 # decide denies it
    with pytest.raises(UsageError, match="recipient required"):
        policy.recipient_for("summarization", None)
