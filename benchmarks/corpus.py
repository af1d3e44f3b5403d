"""A seeded, Faker-based corpus of meeting chat messages with gold spans.

``generate(n, seed) -> list[Message]``: about 70% of messages hold one or two
personal values of every entity type (written and, for a share, spoken
forms as ASR would give them), 30% hold none but carry the tokens that must
survive untouched (C4, S3, Q3, JIRA-4521, port 8080, version 2.4.1, room
204, 10:30, percentages, money). Every gold value has its exact span.

Run it to print a few messages: ``python benchmarks/corpus.py 10``.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

from faker import Faker

__all__ = ["ENTITY_TYPES", "Gold", "Message", "generate"]


@dataclass(frozen=True)
class Gold:
    entity_type: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Message:
    text: str
    spoken: bool
    gold: tuple[Gold, ...]

    @property
    def pii_free(self) -> bool:
        return not self.gold


ENTITY_TYPES = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
    "LOCATION", "URL", "DATE_TIME", "MEETING_ID", "MEETING_PASSCODE", "JOIN_URL",
)

_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_CITIES = [
    "London", "Paris", "Berlin", "Madrid", "Rome", "Tokyo", "Toronto", "Chicago", "Boston", "Seattle",
    "Denver", "Austin", "Dublin", "Lisbon", "Vienna", "Prague", "Warsaw", "Sydney", "Melbourne", "Mumbai",
    "Singapore", "Amsterdam", "Brussels", "Zurich", "Oslo", "Stockholm", "Helsinki", "Atlanta", "Miami",
    "San Francisco", "New York", "Los Angeles", "Mexico City", "Buenos Aires", "Cape Town", "Nairobi",
]
_NO_HARM = [
    "the C4 cluster is back up", "S3 bucket policy needs review", "Q3 targets are final",
    "JIRA-4521 is still blocked", "port 8080 is open on staging", "we shipped version 2.4.1",
    "room 204 is booked", "standup moved to 10:30", "conversion is up 15%", "the budget is $300",
    "can everyone see my screen", "let's take five minutes", "I'll share the deck after",
    "build 2.4.1 passed on C4 and S3", "retro at 10:30 in room 204", "margin improved 3.5% in Q3",
    "that costs about $1,200 per seat", "please mute when not speaking", "agenda is in the doc",
    "the demo went well", "ticket JIRA-4521 is fixed in 2.4.1", "latency dropped to 40 ms on port 8080",
]


def _phone(r: random.Random) -> str:
    a, b, c = r.randint(201, 989), r.randint(200, 999), r.randint(0, 9999)
    return r.choice([
        f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}", f"+1 {a} {b} {c:04d}",
        f"+1-{a}-{b}-{c:04d}", f"+44 20 {r.randint(7000, 8999)} {c:04d}",
        f"+49 30 {r.randint(1000000, 9999999)}", f"{a} {b} {c:04d}",
    ])


def _spell(digits: str, r: random.Random) -> str:
    words = [("oh" if d == "0" and r.random() < 0.3 else _DIGIT_WORDS[int(d)]) for d in digits]
    return " ".join(words)


def _join_url(r: random.Random, f: Faker) -> str:
    mid = str(r.randint(10**9, 10**11 - 1))
    pwd = f.password(length=16, special_chars=False)
    g = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10))
    return r.choice([
        f"https://us0{r.randint(2, 6)}web.zoom.us/j/{mid}?pwd={pwd}",
        f"https://zoom.us/j/{mid}",
        f"zoommtg://zoom.us/join?confno={mid}&pwd={pwd}",
        f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{pwd}%40thread.v2/0?context=%7b%22Tid%22%3a%22{r.randint(1000, 9999)}%22%7d",
        f"https://meet.google.com/{g[:3]}-{g[3:7]}-{g[7:]}",
        f"https://{f.domain_word()}.webex.com/meet/{f.user_name()}",
    ])


def _meeting_id(r: random.Random) -> str:
    d = str(r.randint(10**9, 10**11 - 1))
    if len(d) == 11:
        return r.choice([f"{d[:3]} {d[3:7]} {d[7:]}", f"{d[:3]}-{d[3:7]}-{d[7:]}", d])
    return r.choice([f"{d[:3]} {d[3:6]} {d[6:]}", d])


def _country(f: Faker) -> str:
    # Faker's list carries qualifiers nobody types in chat: "Holy See (Vatican City State)".
    return f.country().split(" (")[0]


def _values(f: Faker, r: random.Random) -> dict[str, Callable[[], str]]:
    def email() -> str:
        tld = r.choice(["com", "org", "net", "example", "internal", "local", "corp", "io"])
        return f"{f.user_name()}@{f.domain_word()}.{tld}"

    def card() -> str:
        n = f.credit_card_number(card_type=r.choice(["visa16", "mastercard", "amex", "discover"]))
        if len(n) == 16 and r.random() < 0.6:
            sep = r.choice([" ", "-"])
            return sep.join(n[i:i + 4] for i in range(0, 16, 4))
        return n

    def iban() -> str:
        v = f.iban()
        return " ".join(v[i:i + 4] for i in range(0, len(v), 4)) if r.random() < 0.5 else v

    def ip() -> str:
        return f.ipv4_public() if r.random() < 0.7 else f.ipv6()

    def date() -> str:
        d = f.date_between("-1y", "+1y")
        return r.choice([d.strftime("%B %d, %Y"), d.isoformat(), d.strftime("%m/%d/%Y"), d.strftime("%d %B")])

    return {
        "PERSON": lambda: f.first_name() + " " + f.last_name() if r.random() < 0.8 else f.first_name(),
        "EMAIL_ADDRESS": email,
        "PHONE_NUMBER": lambda: _phone(r),
        "CREDIT_CARD": card,
        "US_SSN": f["en_US"].ssn,
        "IBAN_CODE": iban,
        "IP_ADDRESS": ip,
        "LOCATION": lambda: r.choice(_CITIES) if r.random() < 0.7 else _country(f),
        "URL": lambda: r.choice([f.url(), f.uri(), "https://" + f.domain_name() + "/" + f.uri_path()]),
        "DATE_TIME": date,
        "MEETING_ID": lambda: _meeting_id(r),
        "MEETING_PASSCODE": lambda: f.password(length=r.randint(6, 10), special_chars=False),
        "JOIN_URL": lambda: _join_url(r, f),
    }


_TEMPLATES: dict[str, list[str]] = {
    "PERSON": ["Can you loop in {v} on this?", "{v} will present the roadmap", "I spoke with {v} yesterday",
               "please add {v} to the invite", "{v} is out today, I'll cover", "notes are from {v}",
               "the contract was signed by {v} last week", "{v} asked about the budget",
               "forwarding this to {v} now", "our new hire {v} starts Monday"],
    "EMAIL_ADDRESS": ["mail me at {v}", "send it to {v} please", "{v} is the best contact",
                      "cc {v} on the thread", "my email changed to {v}"],
    "PHONE_NUMBER": ["call me on {v}", "my cell is {v}", "dial {v} if the link fails",
                     "reach the desk at {v}", "phone: {v}"],
    "CREDIT_CARD": ["charge card {v} please", "the card on file is {v}", "use {v} for the booking"],
    "US_SSN": ["his SSN is {v}", "SSN {v} for the HR form", "social security number {v}"],
    "IBAN_CODE": ["wire the refund to {v}", "IBAN: {v}", "our account is {v}"],
    "IP_ADDRESS": ["the staging box is {v}", "ssh to {v}", "blocked traffic from {v}"],
    "LOCATION": ["I'm flying to {v} next week", "the offsite is in {v}", "our team in {v} agrees",
                 "she moved to {v}"],
    "URL": ["the doc is at {v}", "see {v} for details", "dashboard: {v}"],
    "DATE_TIME": ["the deadline is {v}", "let's meet on {v}", "contract ends {v}"],
    "MEETING_ID": ["meeting ID {v}", "Meeting ID: {v}", "webinar ID {v}, see you there",
                   "join with meeting ID {v}"],
    "MEETING_PASSCODE": ["passcode {v}", "Passcode: {v}", "the password is {v}", "pwd {v}"],
    "JOIN_URL": ["join here: {v}", "link for today {v}", "{v}", "new link {v} (old one expired)"],
}
_SPOKEN: list[tuple[str, str]] = [
    ("PHONE_NUMBER", "my number is {v} if you need me"),
    ("PHONE_NUMBER", "call {v} after lunch"),
    ("EMAIL_ADDRESS", "the email is {v}, he wants a callback"),
    ("CREDIT_CARD", "the card number is {v}"),
]


def _fill(template: str, value: str, etype: str) -> Message:
    at = template.index("{v}")
    text = template.replace("{v}", value)
    return Message(text, False, (Gold(etype, value, at, at + len(value)),))


def _spoken(etype: str, template: str, f: Faker, r: random.Random) -> Message:
    if etype == "PHONE_NUMBER":
        d = f"{r.randint(201, 989)}{r.randint(200, 999)}{r.randint(0, 9999):04d}"
        value = _spell(d[:3], r) + ", " + _spell(d[3:6], r) + ", " + _spell(d[6:], r)
        if r.random() < 0.3:
            value = "-".join(d)
    elif etype == "EMAIL_ADDRESS":
        user = f.first_name().lower() + " dot " + f.last_name().lower()
        value = f"{user} at {f.domain_word()} dot {r.choice(['com', 'example', 'org'])}"
    else:
        n = f.credit_card_number(card_type="visa16")
        value = ", ".join(_spell(n[i:i + 4], r) for i in range(0, 16, 4))
    at = template.index("{v}")
    return Message(template.replace("{v}", value), True, (Gold(etype, value, at, at + len(value)),))


def generate(n: int = 2000, seed: int = 0) -> list[Message]:
    r = random.Random(seed)
    f = Faker(["en_US", "en_GB"])
    f.seed_instance(seed)
    values = _values(f, r)
    out: list[Message] = []
    types = list(ENTITY_TYPES)
    for i in range(n):
        roll = r.random()
        if roll < 0.3:
            text = r.choice(_NO_HARM) if r.random() < 0.6 else f["en_US"].sentence(nb_words=r.randint(5, 12))
            out.append(Message(text, False, ()))
        elif roll < 0.38:
            out.append(_spoken(*r.choice(_SPOKEN), f, r))
        else:
            etype = types[i % len(types)]
            msg = _fill(r.choice(_TEMPLATES[etype]), values[etype](), etype)
            if r.random() < 0.25:
                # a second value, joined with ordinary text
                other = r.choice(types)
                second = _fill(r.choice(_TEMPLATES[other]), values[other](), other)
                off = len(msg.text) + 7
                g = second.gold[0]
                msg = Message(msg.text + ", also " + second.text + ".", False,
                              msg.gold + (Gold(g.entity_type, g.value, g.start + off, g.end + off),))
            out.append(msg)
    for m in out:
        for g in m.gold:
            assert m.text[g.start:g.end] == g.value
    return out


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for m in generate(count, 0):
        print(json.dumps(asdict(m)))
