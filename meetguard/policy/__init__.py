"""Consent policy: the model, the file (schema: parse and validate; watch: load and
reload), matching people (names), the pure decision (decide)."""

from .decide import ConsentDecision, consent_state, decide, decide_passthrough, quotes_dropped
from .model import ENTITY_TYPES, ConsentEvent, Participant, Policy, Purpose, RedactRule
from .names import Attribution, NameIndex, attribute, normalize_name
from .schema import parse_policy
from .summary import summarize
from .watch import PolicyWatcher, load_policy

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
