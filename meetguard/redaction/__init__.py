"""Redaction: operators, pseudonyms, text (findings -> redacted documents) and
audio (findings -> time windows -> bleeps)."""

from .operators import OPERATORS, Operator, make_operator
from .pseudonyms import PseudonymBook

__all__ = ["OPERATORS", "Operator", "PseudonymBook", "make_operator"]
