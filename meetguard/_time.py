"""Time: the one home of the check that an evaluation time carries a timezone (a leaf
apart from the error tree)."""

from __future__ import annotations

from datetime import datetime

from ._errors import UsageError

__all__ = ["is_aware", "parse_at", "require_aware"]


def is_aware(value: object) -> bool:
    """True for a datetime that carries a timezone with a defined offset."""
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def require_aware(value: datetime, what: str = "the evaluation time") -> datetime:
    """``value`` itself, or UsageError when it has no timezone."""
    if not is_aware(value):
        raise UsageError(f"{what} must carry a timezone (e.g. 2026-11-28T12:00:00Z)")
    return value


def parse_at(value: str | None, what: str = "--at") -> datetime | None:
    """An ``--at`` argument: None when absent, else an aware ISO 8601 date-time."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what}: not an ISO 8601 date-time: {value!r}") from None
    return require_aware(at, what)
