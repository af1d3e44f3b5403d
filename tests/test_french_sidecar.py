"""The `language` form field of POST /v1/guard with the real guard (#18 item 4).

French chat given ``language=fr`` is guarded with the French model and finders
(its NIR found, its everyday words kept); a language outside the policy's
``detection.languages`` is refused in one line with the contract's 422
``invalid_input`` and nothing released; the decision and the audit record carry
the language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from meetguard import Guard, GuardOptions
from meetguard.sidecar import SidecarConfig, init_app
from meetguard.sidecar.config import Limits
from tests.test_french import FR, KEPT, PII

TOKEN = "fr-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _form(language: str | None) -> FormData:
    form = FormData()
    form.add_field("purpose", "summarization")
    form.add_field("recipient", "summarizer")
    if language is not None:
        form.add_field("language", language)
    form.add_field("chat", (FR / "chat_fr.txt").read_bytes(), filename="chat_fr.txt")
    return form


@pytest.mark.models
async def test_language_form_field_on_v1_guard(aiohttp_client: Any, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    guard = Guard.from_policy(FR / "policy.yaml", GuardOptions(audit_path=audit))
    config = SidecarConfig(policy=FR / "policy.yaml", tokens=(TOKEN,), jobs_dir=tmp_path / "jobs",
                           limits=Limits(max_body_mb=2, max_jobs=1, queue=8), upstreams={})
    try:
        client = await aiohttp_client(init_app(config, guard))
        resp = await client.post("/v1/guard", data=_form("fr"), headers=AUTH)
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        released = "\n".join(body["content"].values())
        assert [v for v in PII if v in released] == []
        chat = (FR / "chat_fr.txt").read_text(encoding="utf-8")
        kept = [phrase for phrase in KEPT if phrase in chat]
        assert len(kept) >= 5 and [phrase for phrase in kept if phrase not in released] == []
        assert body["language"] == "fr" and body["languages"] == ["fr"]
        assert body["entity_counts"].get("FR_NIR", 0) >= 1      # the French finders ran
        assert json.loads(audit.read_text().splitlines()[-1])["languages"] == ["fr"]

        for language in ("de", "es"):   # outside the policy's [en, fr]: refused, never guarded
            resp = await client.post("/v1/guard", data=_form(language), headers=AUTH)
            assert resp.status == 422
            err = await resp.json()
            assert err["error"] == "invalid_input"
            message = err["message"]
            assert "\n" not in message and f"'{language}'" in message and "detection.languages" in message
            assert not any(v in message for v in PII)
            assert "content" not in err
    finally:
        guard.close()
