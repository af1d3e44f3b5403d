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


def corpus_policy(policy_id: str, refuser: str = "") -> str:
    """The policy the real-world corpus tests guard with: ``summarization`` to ``summarizer``
    (opt-out, private messages in, names and speakers pseudonymized, English and French);
    ``refuser`` (a quoted YAML name), when given, is participant ``p-refuser`` who refused."""
    participants = (" []\n" if not refuser else
                    "\n  - id: p-refuser\n"
                    f"    names: [{refuser}]\n"
                    "    consent: {summarization: {status: refused, at: 2026-11-01T09:00:00Z}}\n")
    return ("version: 1\n"
            f"policy_id: {policy_id}\n"
            "account: {id: corpus, ai_features: {summarization: true}}\n"
            "purposes:\n"
            "  summarization:\n"
            "    consent: opt_out\n"
            "    missing_consent: exclude\n"
            "    private_messages: include\n"
            "    recipients: [summarizer]\n"
            "    redact: {entities: [PERSON], operator: pseudonymize, speakers: pseudonymize}\n"
            "    audio: drop\n"
            f"participants:{participants}"
            "unknown_speakers: consenting\n"
            "detection: {languages: [en, fr]}\n")
