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
}) | frozenset({
    # Presidio as the floor (issue #24): every other type its predefined recognizers report,
    # country ones included, and ORGANIZATION from its spaCy mapping (docs/detection.md)
    "ABA_ROUTING_NUMBER", "AU_ABN", "AU_ACN", "AU_MEDICARE", "AU_TFN", "CA_POSTAL_CODE", "CA_SIN",
    "DE_BSNR", "DE_FUEHRERSCHEIN", "DE_HANDELSREGISTER", "DE_HEALTH_INSURANCE", "DE_ID_CARD", "DE_KFZ",
    "DE_LANR", "DE_PASSPORT", "DE_PLZ", "DE_SOCIAL_SECURITY", "DE_TAX_ID", "DE_TAX_NUMBER", "DE_VAT_ID",
    "ES_NIE", "ES_NIF", "ES_PASSPORT", "FI_PERSONAL_IDENTITY_CODE", "IN_AADHAAR", "IN_GSTIN", "IN_PAN",
    "IN_PASSPORT", "IN_VEHICLE_REGISTRATION", "IN_VOTER", "IT_DRIVER_LICENSE", "IT_FISCAL_CODE",
    "IT_IDENTITY_CARD", "IT_PASSPORT", "IT_VAT_CODE", "KR_BRN", "KR_DRIVER_LICENSE", "KR_FRN",
    "KR_PASSPORT", "KR_RRN", "NG_NIN", "NG_VEHICLE_REGISTRATION", "ORGANIZATION", "PH_PASSPORT", "PH_TIN",
    "PH_UMID", "PL_PESEL", "SE_ORGANISATIONSNUMMER", "SE_PERSONNUMMER", "SG_NRIC_FIN", "SG_UEN", "TH_TNIN",
    "TR_LICENSE_PLATE", "TR_NATIONAL_ID", "UK_DRIVING_LICENCE", "UK_NINO", "UK_PASSPORT", "UK_POSTCODE",
    "UK_VEHICLE_REGISTRATION", "US_CLAIM_NUMBER", "US_HEALTH_INSURANCE_MEMBER_ID", "US_MBI", "US_NPI",
    "US_PRESCRIPTION_NUMBER", "US_PRIOR_AUTHORIZATION_NUMBER", "US_PROVIDER_TAX_ID", "US_REFERRAL_NUMBER",
    "UUID", "ZA_COMPANY_REGISTRATION", "ZA_DRIVER_LICENSE", "ZA_ID_NUMBER", "ZA_INCOME_TAX_NUMBER",
    "ZA_LICENSE_PLATE", "ZA_MOBILE_NUMBER", "ZA_PASSPORT", "ZA_TELEPHONE_NUMBER",
    "ZA_TRAFFIC_REGISTER_NUMBER", "ZA_VAT_NUMBER",
})

# Languages meetguard guards documents in (a NER model and recognizers each; ISO 639-1).
GUARDED_LANGUAGES: tuple[str, ...] = ("en", "fr")

# The redaction operators a purpose may name (meetguard.redaction.operators implements them).
OPERATORS: tuple[str, ...] = ("pseudonymize", "redact", "mask", "hash")
