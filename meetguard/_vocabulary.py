"""The policy's vocabulary shared by policy, detection and redaction (a leaf module):
the built-in entity types and the operator names."""

from __future__ import annotations

__all__ = ["ENTITY_TYPES", "GUARDED_LANGUAGES", "OPERATORS"]

# Every type the built-in detector finds; plugins add theirs (meetguard.recognizers).
ENTITY_TYPES: frozenset[str] = frozenset({
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
    "IP_ADDRESS", "LOCATION", "URL", "DATE_TIME", "MEETING_ID", "MEETING_PASSCODE", "JOIN_URL",
    # the rest of plain Presidio's default registry (issue #10: Presidio is the floor)
    "AGE", "CRYPTO", "MAC_ADDRESS", "MEDICAL_LICENSE", "NRP", "UK_NHS", "US_BANK_NUMBER",
    "US_DRIVER_LICENSE", "US_ITIN", "US_PASSPORT",
    # French documents (detection/_fr.py): social security number, company ids, identity documents
    "FR_NIR", "FR_SIREN", "FR_SIRET", "ID_NUMBER",
})

# Languages meetguard guards documents in (a NER model and recognizers each; ISO 639-1).
GUARDED_LANGUAGES: tuple[str, ...] = ("en", "fr")

# The redaction operators a purpose may name (meetguard.redaction.operators implements them).
OPERATORS: tuple[str, ...] = ("pseudonymize", "redact", "mask", "hash")
