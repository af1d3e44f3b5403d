"""A plain-text summary of a policy for ``meetguard policy check``.

Only participant ids are printed (never names, even the policy's own).
"""

from __future__ import annotations

from datetime import datetime

from .._time import require_aware
from .decide import consent_state
from .model import ENTITY_TYPES, Policy

__all__ = ["summarize"]


def summarize(policy: Policy, now: datetime) -> str:
    """Purposes (enabled?, consent mode, recipients, redaction) and who consents now."""
    require_aware(now)
    lines = [
        f"policy {policy.policy_id} (version {policy.version}, account {policy.account_id})",
        f"sha256 {policy.sha256}",
        f"consent evaluated at {now.isoformat()}",
        f"unknown speakers: {policy.unknown_speakers.replace('_', '-')}",
        f"audit log: {policy.audit_path or '(default)'}",
        "",
        "purposes:",
    ]
    for name, p in policy.purposes.items():
        enabled = policy.ai_features.get(name) is True
        ents = p.redact.entities
        if ents >= ENTITY_TYPES:
            shown = "all"
        else:
            shown = ", ".join(sorted(ents)) or "none"
        lines += [
            f"  {name}: {'enabled' if enabled else 'DISABLED by the account'}",
            f"    consent {p.consent}, missing consent -> {p.missing_consent}",
            f"    recipients: {', '.join(p.recipients)}",
            f"    redact: {shown}; operator {p.redact.operator}; speakers {p.redact.speakers}",
            f"    audio {p.audio}; private messages {p.private_messages}; retention "
            + (f"{p.retention_days} days" if p.retention_days is not None else "not set"),
        ]
    for name in sorted(set(policy.ai_features) - set(policy.purposes)):
        state = "enabled" if policy.ai_features[name] else "disabled"
        lines.append(f"  {name}: {state} by the account but not defined (denied)")
    lines += ["", "participants (consent now):"]
    if not policy.participants:
        lines.append("  (none)")
    for part in policy.participants:
        cells = []
        for name, p in policy.purposes.items():
            ok, why = consent_state(policy, part.id, p, now)
            cells.append(f"{name}={'yes' if ok else 'no'} ({why})")
        lines.append(f"  {part.id}: " + ("; ".join(cells) if cells else "(no purposes)"))
    return "\n".join(lines) + "\n"
