"""Structure outside the messages must not carry names either."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from meetguard.cli import main

from .conftest import SAMPLES, require_shared

require_shared()

pytestmark = pytest.mark.models


@pytest.mark.parametrize("speakers", ["pseudonymize", "keep"])
def test_slack_users_never_named_in_the_content_are_not_released(tmp_path: Path, speakers: str) -> None:
    export = tmp_path / "slack_export"
    shutil.copytree(SAMPLES / "slack_export", export)
    users = json.loads((export / "users.json").read_text())
    users.append({"id": "U09ZED", "name": "zquimby", "real_name": "Zed Quimby",
                  "profile": {"real_name": "Zed Quimby", "display_name": "zq", "email": "zed@q.example"}})
    (export / "users.json").write_text(json.dumps(users))
    policy = tmp_path / "policy.yaml"
    policy.write_text((SAMPLES / "policy.yaml").read_text().replace(
        "      speakers: pseudonymize\n    audio: bleep", f"      speakers: {speakers}\n    audio: bleep"))
    out = tmp_path / "out"
    code = main(["guard", "--policy", str(policy), "--purpose", "summarization", "--recipient", "summarizer",
                 "--at", "2026-11-28T12:00:00Z", "--chat", str(export), "--out", str(out)])
    assert code == 0
    released = "\n".join(p.read_text() for p in out.rglob("*.json"))
    for value in ("Zed Quimby", "zquimby", "zed@q.example", "U09ZED"):
        assert value not in released
    names = json.loads((out / "chat-1" / "users.json").read_text())   # kind and index (#25)
    if speakers == "keep":
        assert {u["real_name"] for u in names} == {"Alice Martin", "Bob Li"}
    else:
        assert all(u["real_name"].startswith("[PERSON_") for u in names)
