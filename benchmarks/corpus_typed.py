"""A seeded corpus of values in the forms people type, from sources meetguard
did not choose: ``phonenumbers``' example numbers of every region (fixed line
and mobile, national and international format), Faker's names, cities and
IBANs in a dozen locales, and checksummed identifiers of every type in plain
Presidio's default registry. Each value sits next to other numbers and words
("... 12/25", "ref 7", "x2"); a share of messages is all lower or upper case;
a third of the corpus is meeting chatter whose numbers (times, amounts,
versions, tickets, PRs, ports, rooms, percentages, order numbers) must stay.

``generate(n, seed) -> list[Message]`` (same ``Message``/``Gold`` as corpus.py).
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import Gold, Message

__all__ = ["LOCALES", "TYPES", "generate"]

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "sv_SE", "pt_BR", "pl_PL",
           "en_AU", "en_IN", "da_DK", "fi_FI")
TYPES = ("PERSON", "LOCATION", "PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
         "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "US_BANK_NUMBER", "MEDICAL_LICENSE", "UK_NHS",
         "CRYPTO", "MAC_ADDRESS", "IP_ADDRESS", "URL", "DATE_TIME", "AGE")

CHATTER = [
    "standup moved to 09:45", "the budget is 12,500 for Q3", "we shipped 3.14.2 last night",
    "PR #4821 fixes the login bug", "JIRA-4521 is still blocked", "port 8080 is open on staging",
    "room 204 is booked until 11:30", "conversion is up 15% this week", "order 4417829 shipped today",
    "ticket 88213 was closed", "build 2024.11.3 passed", "latency is 40 ms at p99",
    "the deck has 24 slides", "we have 3 options and 2 weeks", "costs went from $1,200 to $1,450",
    "version 2.4.1 is on prod", "meet at 14:00 in room 3B", "sprint 42 ends on Friday",
    "let's take 5 minutes", "can everyone see my screen?", "I'll share the notes after the call",
    "the C4 cluster is back up", "S3 bucket policy needs review", "v2 of the API is live",
    "order number 772100 is delayed", "invoice 20931 is paid", "we're at 87.5% of target",
    "retro at 10:30, demo at 11", "upgrade to python 3.11.9", "node 18.19.0 breaks the build",
    "release 1.2.0-rc1 is tagged", "page 12 of the report", "tracking 1Z999 is in the doc",
    "grafana shows 2,345 rps", "we need 16 GB for the runner", "step 3 of 7 is done",
]
_NEAR = ["", "", " 12/25", " ref 7", " x2", " (2 of 3)", " at 10:30", ", room 204", " 42", " thanks", " asap"]
_BEFORE = ["", "", "2) ", "re #12: ", "ok 3 things: ", "fyi ", "at 09:15 "]


def _phone(r: random.Random) -> str:
    region = r.choice(sorted(phonenumbers.SUPPORTED_REGIONS))
    ntype = r.choice([PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE])
    num = phonenumbers.example_number_for_type(region, ntype) or phonenumbers.example_number(region)
    if num is None or len(str(num.national_number)) < 7:
        return _phone(r)  # people type 7 digits or more; 4-digit service numbers are not in scope
    # vary the last digits while the number stays valid
    for _ in range(5):
        nsn = str(num.national_number)
        cand = phonenumbers.parse("+" + str(num.country_code) + nsn[:-2] + f"{r.randint(0, 99):02d}")
        if phonenumbers.is_valid_number(cand):
            num = cand
            break
    fmt = r.choice([PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL])
    return str(phonenumbers.format_number(num, fmt))


def _b58check(payload: bytes) -> str:
    full = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n, out = int.from_bytes(full, "big"), ""
    while n:
        n, rem = divmod(n, 58)
        out = alphabet[rem] + out
    return "1" * (len(full) - len(full.lstrip(b"\0"))) + out


def _nhs(r: random.Random) -> str:
    while True:
        d = [r.randint(0, 9) for _ in range(9)]
        check = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
        if check == 11:
            check = 0
        if check != 10:
            s = "".join(map(str, d)) + str(check)
            return r.choice([s, f"{s[:3]} {s[3:6]} {s[6:]}", f"{s[:3]}-{s[3:6]}-{s[6:]}"])


def _dea(r: random.Random) -> str:
    d = [r.randint(0, 9) for _ in range(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return r.choice("ABFGM") + r.choice("ABCDEFGHJKLMNPRSTUWXYZ") + "".join(map(str, d)) + str(check)


def _card(f: Faker, r: random.Random) -> str:
    n = f.credit_card_number(card_type=r.choice(["visa16", "mastercard", "discover", "jcb16"]))
    if len(n) == 16 and r.random() < 0.6:
        return r.choice([" ", "-"]).join(n[i:i + 4] for i in range(0, 16, 4))
    return n


def _ssn(f: Faker, r: random.Random) -> str:
    s = f["en_US"].ssn().replace("-", "")
    return r.choice([f"{s[:3]}-{s[3:5]}-{s[5:]}", f"{s[:3]}.{s[3:5]}.{s[5:]}", f"{s[:3]} {s[3:5]} {s[5:]}"])


def _iban(f: Faker, r: random.Random, loc: str) -> str:
    v = f[loc].iban()
    return " ".join(v[i:i + 4] for i in range(0, len(v), 4)) if r.random() < 0.5 else v


def _date(f: Faker, r: random.Random) -> str:
    d = f.date_of_birth(minimum_age=18, maximum_age=80)
    return r.choice([d.strftime("%B %d, %Y"), d.isoformat(), d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%Y"),
                     d.strftime("%d %B %Y"), d.strftime("%b %d %Y"), d.strftime("%d-%b-%Y")])


def _values(f: Faker, r: random.Random, loc: str) -> dict[str, Callable[[], str]]:
    g = f[loc]
    return {
        "PERSON": lambda: g.first_name() + " " + g.last_name(),
        "LOCATION": g.city,
        "PHONE_NUMBER": lambda: _phone(r),
        "EMAIL_ADDRESS": lambda: f"{g.first_name()}.{g.last_name()}@{f.domain_name()}".lower().replace(" ", ""),
        "CREDIT_CARD": lambda: _card(f, r),
        "IBAN_CODE": lambda: _iban(f, r, r.choice(["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "en_GB"])),
        "US_SSN": lambda: _ssn(f, r),
        "US_ITIN": lambda: f["en_US"].itin(),
        "US_PASSPORT": lambda: str(r.randint(100000000, 999999999)),
        "US_DRIVER_LICENSE": lambda: r.choice("ABCDEFGHJKLMNPRSTWYZ") + str(r.randint(1000000, 99999999)),
        "US_BANK_NUMBER": lambda: str(r.randint(10**9, 10**12 - 1)),
        "MEDICAL_LICENSE": lambda: _dea(r),
        "UK_NHS": lambda: _nhs(r),
        "CRYPTO": lambda: _b58check(b"\0" + r.randbytes(20)),
        "MAC_ADDRESS": lambda: r.choice([f.mac_address(), f.mac_address().upper().replace(":", "-")]),
        "IP_ADDRESS": lambda: f.ipv4_public() if r.random() < 0.7 else f.ipv6(),
        "URL": lambda: r.choice([f.url(), "https://" + f.domain_name() + "/" + f.uri_path()]),
        "DATE_TIME": lambda: _date(f, r),
        "AGE": lambda: f"{r.randint(19, 90)} years old",
    }


_TEMPLATES: dict[str, list[str]] = {
    "PERSON": ["ping {v} about the contract", "I spoke with {v} yesterday", "{v} will join late",
               "please add {v} to the invite", "the report is from {v}", "ask {v} for the numbers"],
    "LOCATION": ["I'm flying to {v} next week", "the office in {v} is closed", "she lives in {v}"],
    "PHONE_NUMBER": ["call me on {v}", "my number is {v}", "mobile {v}", "reach me at {v}", "tel {v}"],
    "EMAIL_ADDRESS": ["mail me at {v}", "my email is {v}", "cc {v} please"],
    "CREDIT_CARD": ["my card {v}", "charge {v}", "card number {v}"],
    "IBAN_CODE": ["my iban is {v}", "wire it to {v}", "IBAN {v}"],
    "US_SSN": ["ssn {v}", "my social security number is {v}", "SSN: {v}"],
    "US_ITIN": ["my itin is {v}", "taxpayer id {v}", "ITIN {v}"],
    "US_PASSPORT": ["passport number {v}", "my passport is {v}", "US passport {v}"],
    "US_DRIVER_LICENSE": ["driver license {v}", "my driver's license is {v}", "DL {v}"],
    "US_BANK_NUMBER": ["bank account {v}", "account number {v}", "my checking account is {v}"],
    "MEDICAL_LICENSE": ["DEA number {v}", "medical license {v}", "my DEA is {v}"],
    "UK_NHS": ["nhs number {v}", "my NHS number is {v}", "NHS {v}"],
    "CRYPTO": ["send btc to {v}", "wallet {v}", "my bitcoin address is {v}"],
    "MAC_ADDRESS": ["mac {v}", "the laptop's MAC address is {v}", "whitelist {v}"],
    "IP_ADDRESS": ["my home ip is {v}", "connect from {v}", "ip {v}"],
    "URL": ["my profile is at {v}", "see {v}", "my site {v}"],
    "DATE_TIME": ["I was born on {v}", "my date of birth is {v}", "dob {v}"],
    "AGE": ["my son is {v}", "I am {v}", "she's {v} now"],
}


def _case(text: str, r: random.Random) -> str:
    roll = r.random()
    out = text.lower() if roll < 0.25 else text.upper() if roll < 0.3 else text
    return out if len(out) == len(text) else text


def _message(etype: str, f: Faker, r: random.Random) -> Message:
    loc = r.choice(LOCALES)
    value = _values(f, r, loc)[etype]()
    before, after = r.choice(_BEFORE), r.choice(_NEAR)
    template = r.choice(_TEMPLATES[etype])
    at = len(before) + template.index("{v}")
    text = before + template.replace("{v}", value) + after
    if etype != "CRYPTO":  # base58 is case-sensitive: a re-cased address is no address
        text = _case(text, r)
    return Message(text, False, (Gold(etype, text[at:at + len(value)], at, at + len(value)),))


def _stable_cities(f: Faker) -> None:
    """Sort city lists that a provider built from a set (it_IT's ``list({...})``): their order,
    and so the seeded pick, otherwise changes with PYTHONHASHSEED from one process to the next."""
    for loc in LOCALES:
        for provider in f[loc].providers:
            cities = getattr(provider, "cities", None)
            if isinstance(cities, list):
                provider.cities = sorted(cities)


def generate(n: int = 3000, seed: int = 10) -> list[Message]:
    r = random.Random(seed)
    f = Faker(list(LOCALES))
    f.seed_instance(seed)
    _stable_cities(f)
    return build(n, r, f, TYPES, CHATTER, _message)


def build(n: int, r: random.Random, f: Faker, types: Sequence[str], chatter: Sequence[str],
          message: Callable[[str, Faker, random.Random], Message]) -> list[Message]:
    """Every third message chatter, the others one typed value each, types in turn; gold checked."""
    out: list[Message] = []
    for i in range(n):
        if i % 3 == 2:
            out.append(Message(_case(r.choice(chatter), r), False, ()))
        else:
            out.append(message(types[(i - i // 3) % len(types)], f, r))
    for m in out:
        for g in m.gold:
            assert m.text[g.start:g.end] == g.value
    return out
