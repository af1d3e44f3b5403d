"""The written form of a pseudonym token: ``[PERSON_1]`` (default) or ``<PERSON_1>``.

One form per run (``GuardOptions.token_form``, ``meetguard guard --token-form``,
the sidecar's ``token_form``). The default ``square`` form needs no escaping in
WebVTT, SRT, JSON or HTML, so an AI service reads ``[PERSON_1]`` rather than
``&lt;PERSON_1&gt;``. Readers (reidentify, the report) accept both forms.
"""

from __future__ import annotations

import re

from .._errors import UsageError

__all__ = ["DEFAULT_TOKEN_FORM", "TOKEN_FORMS", "check_form", "is_token", "unwrap", "wrap"]

TOKEN_FORMS: dict[str, tuple[str, str]] = {"square": ("[", "]"), "angle": ("<", ">")}
DEFAULT_TOKEN_FORM = "square"
_WRAPPED = re.compile(r"^(?:<(?P<a>[A-Z][A-Z0-9_]*)>|\[(?P<s>[A-Z][A-Z0-9_]*)\])$")


def check_form(form: str) -> str:
    """``form`` if it is a token form, else a usage error naming the forms."""
    if form not in TOKEN_FORMS:
        raise UsageError(f"unknown token form {form!r}: use one of {', '.join(TOKEN_FORMS)} "
                         f"([PERSON_1] or <PERSON_1>)")
    return form


def wrap(inner: str, form: str = DEFAULT_TOKEN_FORM) -> str:
    """``PERSON_1`` written as a token of ``form``."""
    opened, closed = TOKEN_FORMS[check_form(form)]
    return f"{opened}{inner}{closed}"


def is_token(text: str) -> bool:
    """Whether ``text`` is exactly one token of either form (``[PERSON_1]``, ``<EMAIL_ADDRESS>``)."""
    return _WRAPPED.match(text) is not None


def unwrap(text: str) -> str:
    """``PERSON_1`` from a token of either form; any other text as is."""
    m = _WRAPPED.match(text)
    return (m.group("a") or m.group("s")) if m else text
