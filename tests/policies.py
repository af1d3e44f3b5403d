"""Policy texts that several test modules share."""

from __future__ import annotations


def llm_policy(entities: str, *, purpose: str = "", carla: str = "", tail: str = "") -> str:
    """Policy ``t-1``: ``summarization`` goes to ``llm`` (opt-out, ``entities`` pseudonymized,
    then the ``purpose`` lines); Carla Nunes is a participant (then the ``carla`` lines: her
    consent, more participants); then ``tail``."""
    return ("version: 1\n"
            "policy_id: t-1\n"
            "account: {id: acct, ai_features: {summarization: true}}\n"
            "purposes:\n"
            "  summarization:\n"
            "    consent: opt_out\n"
            "    missing_consent: exclude\n"
            "    recipients: [llm]\n"
            f"    redact: {{entities: [{entities}], operator: pseudonymize}}\n"
            "    audio: bleep\n"
            f"{purpose}"
            "participants:\n"
            "  - id: p-carla\n"
            "    names: [Carla Nunes]\n"
            f"{carla}{tail}")
