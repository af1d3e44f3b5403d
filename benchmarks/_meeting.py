"""The set-up the benchmarks (and tests/test_detection_floor.py) share: one
summarization policy and a Zoom local chat export written from corpus messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

# Chat senders, each a participant of the policy below.
SENDERS = ("Ana Souza", "Ben Okafor", "Chen Wei")
_SENDER_IDS = {"p-ana": "Ana Souza", "p-ben": "Ben Okafor", "p-chen": "Chen Wei"}


def policy_yaml(policy_id: str, *, account: str = "bench", operator: str = "pseudonymize",
                participants: Mapping[str, str] = _SENDER_IDS, extra: str = "unknown_speakers: consenting\n"
                ) -> str:
    """A policy of ``account`` releasing ``summarization`` to ``summarizer`` (opt-out, every
    entity type redacted with ``operator``); ``participants`` maps ids to names; ``extra`` is
    appended."""
    people = "".join(f'  - {{id: {pid}, names: ["{name}"]}}\n' for pid, name in participants.items())
    return (
        "version: 1\n"
        f"policy_id: {policy_id}\n"
        f"account: {{id: {account}, ai_features: {{summarization: true}}}}\n"
        "purposes:\n"
        "  summarization:\n"
        "    consent: opt_out\n"
        "    missing_consent: exclude\n"
        "    recipients: [summarizer]\n"
        f"    redact: {{entities: all, operator: {operator}, speakers: pseudonymize}}\n"
        "    audio: bleep\n"
        "participants:\n"
        f"{people}{extra}"
    )


def write_zoom_chat(texts: Iterable[str], path: Path, first_hour: int = 9) -> None:
    """A Zoom local chat export (current layout): one message a second from ``first_hour``,
    the senders in turn."""
    lines = []
    for k, text in enumerate(texts):
        hh, mm, ss = first_hour + k // 3600 % 12, k // 60 % 60, k % 60
        lines.append(f"{hh:02d}:{mm:02d}:{ss:02d} From {SENDERS[k % 3]} to Everyone:")
        lines.append("\t" + text.replace("\n", " "))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
