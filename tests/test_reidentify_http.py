"""POST /v1/reidentify: entitled tokens only, 404 once erased, audited without values (#15)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from meetguard.sidecar import SidecarConfig, init_app
from meetguard.sidecar.config import VaultConfig
from meetguard.vault import Vault
from tests.fakes.guard import FakeGuard, load_meeting

READER, PLAIN = "tok-reader-1", "tok-plain-2"
KEY = bytes(range(32))


async def _client(aiohttp_client: Any, tmp_path: Path) -> Any:
    (tmp_path / "policy.yaml").write_text("", encoding="utf-8")
    cfg = SidecarConfig(policy=tmp_path / "policy.yaml", audit=tmp_path / "audit.jsonl",
                        tokens=(READER, PLAIN), jobs_dir=tmp_path / "jobs")
    cfg = replace(cfg, reidentify_tokens=frozenset({READER}), vault=VaultConfig(tmp_path / "vault", "K", KEY))
    return await aiohttp_client(init_app(cfg, FakeGuard(), meeting_loader=load_meeting))


async def test_reidentify_route(aiohttp_client: Any, tmp_path: Path) -> None:
    vault = Vault(tmp_path / "vault", KEY)
    vault.store("m-1", "summarization", {"[PERSON_1]": "Alice Martin"}, 30)
    client = await _client(aiohttp_client, tmp_path)
    body = {"meeting_id": "m-1", "text": "Person 1 and PERSON_2 agreed."}
    resp = await client.post("/v1/reidentify", json=body, headers={"Authorization": f"Bearer {READER}"})
    assert resp.status == 200
    assert await resp.json() == {"text": "Alice Martin and PERSON_2 agreed.", "restored": 1}
    resp = await client.post("/v1/reidentify", json=body, headers={"Authorization": f"Bearer {PLAIN}"})
    assert resp.status == 403
    assert "Alice" not in await resp.text()
    assert vault.delete_key("m-1")
    resp = await client.post("/v1/reidentify", json=body, headers={"Authorization": f"Bearer {READER}"})
    assert resp.status == 404
    records = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["reidentify"]["outcome"] for r in records] == ["ok", "not_found"]
    assert records[0]["reidentify"]["restored"] == 1 and READER not in json.dumps(records)
    assert "Alice" not in json.dumps(records)
