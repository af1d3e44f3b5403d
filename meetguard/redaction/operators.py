"""Redaction operators: one small interface, four implementations.

An operator turns one detected value into the string released in its place.
The pseudonym number ``n`` is assigned by :mod:`.pseudonyms`; operators that
do not number (``redact``, ``mask``) ignore it. Presidio's anonymizer applies
the strings to the text (see :mod:`.text`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import ClassVar, Protocol

from .. import _vocabulary
from .._errors import UsageError
from .tokens import DEFAULT_TOKEN_FORM, wrap

__all__ = [
    "OPERATORS",
    "HashOperator",
    "MaskOperator",
    "Operator",
    "PseudonymizeOperator",
    "RedactOperator",
    "make_operator",
]


class Operator(Protocol):
    name: ClassVar[str]
    numbered: ClassVar[bool]

    def replace(self, entity_type: str, value: str, normalized: str, number: int) -> str: ...


@dataclass(frozen=True)
class PseudonymizeOperator:
    form: str = DEFAULT_TOKEN_FORM           # square: [TYPE_n]; angle: <TYPE_n>
    name: ClassVar[str] = "pseudonymize"
    numbered: ClassVar[bool] = True

    def replace(self, entity_type: str, value: str, normalized: str, number: int) -> str:
        return wrap(f"{entity_type}_{number}", self.form)


@dataclass(frozen=True)
class RedactOperator:
    form: str = DEFAULT_TOKEN_FORM
    name: ClassVar[str] = "redact"
    numbered: ClassVar[bool] = False

    def replace(self, entity_type: str, value: str, normalized: str, number: int) -> str:
        return wrap(entity_type, self.form)


@dataclass(frozen=True)
class MaskOperator:
    """Every letter and digit becomes ``*``; separators stay (``***-**-****``)."""

    name: ClassVar[str] = "mask"
    numbered: ClassVar[bool] = False

    def replace(self, entity_type: str, value: str, normalized: str, number: int) -> str:
        return "".join("*" if ch.isalnum() else ch for ch in value)


@dataclass(frozen=True)
class HashOperator:
    """Keyed HMAC-SHA256 of the normalised value: linkable, not dictionary-attackable."""

    key: bytes
    form: str = DEFAULT_TOKEN_FORM
    name: ClassVar[str] = "hash"
    numbered: ClassVar[bool] = False

    def replace(self, entity_type: str, value: str, normalized: str, number: int) -> str:
        digest = hmac.new(self.key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()
        return wrap(f"{entity_type}_{digest[:16]}", self.form)


OPERATORS = _vocabulary.OPERATORS


def make_operator(name: str, hash_key: bytes | None, form: str = DEFAULT_TOKEN_FORM) -> Operator:
    """The operator ``name``; its tokens written in ``form`` (``square``: ``[PERSON_1]``)."""
    if name == "pseudonymize":
        return PseudonymizeOperator(form)
    if name == "redact":
        return RedactOperator(form)
    if name == "mask":
        return MaskOperator()
    if name == "hash":
        if not hash_key:
            raise UsageError("the hash operator needs a key: set MEETGUARD_HASH_KEY "
                             "(or the variable the config's hash_key_env names)")
        return HashOperator(hash_key, form)
    raise UsageError(f"unknown operator {name!r}")
