"""Consent policy: the file (schema), matching people (names), the pure decision."""

from .decide import ConsentDecision, consent_state, decide, decide_passthrough, quotes_dropped
from .names import Attribution, NameIndex, attribute, normalize_name
from .schema import (
    ENTITY_TYPES,
    ConsentEvent,
    Participant,
    Policy,
    PolicyWatcher,
    Purpose,
    RedactRule,
    load_policy,
    parse_policy,
)
from .summary import summarize

__all__ = [
    "ENTITY_TYPES",
    "Attribution",
    "ConsentDecision",
    "ConsentEvent",
    "NameIndex",
    "Participant",
    "Policy",
    "PolicyWatcher",
    "Purpose",
    "RedactRule",
    "attribute",
    "consent_state",
    "decide",
    "decide_passthrough",
    "load_policy",
    "normalize_name",
    "parse_policy",
    "quotes_dropped",
    "summarize",
]
