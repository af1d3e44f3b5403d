"""Redaction without models: operators, pseudonym numbering, quotes, words."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from meetguard import (
    ChatMessage,
    Cue,
    Document,
    Finding,
    MessageKind,
    Quote,
    Speaker,
    UsageError,
    Word,
)
from meetguard.redaction import PseudonymBook, make_operator
from meetguard.redaction.text import (
    EXCLUDED_QUOTE,
    RedactionRules,
    plan_units,
    redact_documents,
    redact_plain,
    redact_words,
)

ALICE = Speaker("Alice Martin")
BOB = Speaker("Bob Li")
CARLA = Speaker("Carla Nunes")
ATTRIBUTION = {ALICE: "p-alice", BOB: "p-bob", CARLA: "p-carla"}
ALL = frozenset({"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN"})


def rules(operator: str = "pseudonymize", *, speakers: bool = True, excluded: frozenset[str] = frozenset(),
          entities: frozenset[str] = ALL, key: bytes | None = None) -> RedactionRules:
    return RedactionRules(entities, make_operator(operator, key), speakers, excluded, ATTRIBUTION)


def find(text: str, value: str, etype: str, normalized: str | None = None, pid: str | None = None,
         start: int = 0) -> Finding:
    at = text.index(value, start)
    return Finding(at, at + len(value), etype, 0.9, normalized or value.casefold(), pid)


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("pseudonymize", "SSN [US_SSN_1], again [US_SSN_1], other [US_SSN_2]"),
        ("redact", "SSN [US_SSN], again [US_SSN], other [US_SSN]"),
        ("mask", "SSN ***-**-****, again *********, other ***-**-****"),
    ],
)
def test_operators_replace_values(operator: str, expected: str) -> None:
    text = "SSN 536-22-8471, again 536228471, other 111-22-3333"
    fs = [find(text, "536-22-8471", "US_SSN", "536228471"), find(text, "536228471", "US_SSN"),
          find(text, "111-22-3333", "US_SSN", "111223333")]
    out, counts = redact_plain([text], [fs], rules(operator), PseudonymBook())
    assert out == [expected]
    assert counts["US_SSN"] == 3


def test_hash_operator_is_keyed_hmac_of_normalised_value() -> None:
    text = "mail a.b@x.example or A.B@X.EXAMPLE"
    fs = [find(text, "a.b@x.example", "EMAIL_ADDRESS"), find(text, "A.B@X.EXAMPLE", "EMAIL_ADDRESS",
                                                             "a.b@x.example")]
    out, _ = redact_plain([text], [fs], rules("hash", key=b"k1"), PseudonymBook())
    digest = hmac.new(b"k1", b"a.b@x.example", hashlib.sha256).hexdigest()[:16]
    assert out == [f"mail [EMAIL_ADDRESS_{digest}] or [EMAIL_ADDRESS_{digest}]"]
    other, _ = redact_plain([text], [fs], rules("hash", key=b"k2"), PseudonymBook())
    assert other != out


def test_hash_operator_without_key_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="MEETGUARD_HASH_KEY"):
        make_operator("hash", None)


def test_one_pseudonym_per_participant_across_names_and_labels() -> None:
    m0 = ChatMessage(0, "10:00", ALICE, "hi Bob Li and bob")
    m1 = ChatMessage(1, "10:01", BOB, "thanks Alice")
    doc = Document("chat.txt", "zoom-chat", "chat", (m0, m1))
    units = plan_units([doc], frozenset(), frozenset())
    fs = [[find(m0.text, "Bob Li", "PERSON", pid="p-bob"), find(m0.text, "bob", "PERSON", pid="p-bob")],
          [find(m1.text, "Alice", "PERSON", pid="p-alice")]]
    out = redact_documents([doc], frozenset(), frozenset(), frozenset(), units, fs, rules(), PseudonymBook())
    items = out.documents[0].items
    assert isinstance(items[0], ChatMessage) and isinstance(items[1], ChatMessage)
    # Alice's label appears first, so she is PERSON_1 everywhere; Bob is PERSON_2.
    assert items[0].sender == Speaker("[PERSON_1]")
    assert items[0].text == "hi [PERSON_2] and [PERSON_2]"
    assert items[1].sender == Speaker("[PERSON_2]")
    assert items[1].text == "thanks [PERSON_1]"
    assert out.documents[0].relabel[ALICE].label == "[PERSON_1]"


def test_speakers_keep_leaves_labels_but_removes_excluded_names() -> None:
    m0 = ChatMessage(0, "10:00", ALICE, "ask Carla Nunes")
    doc = Document("chat.txt", "zoom-chat", "chat", (m0,))
    units = plan_units([doc], frozenset(), frozenset())
    fs = [[find(m0.text, "Carla Nunes", "PERSON", pid="p-carla")]]
    r = rules("redact", speakers=False, excluded=frozenset({"p-carla"}), entities=frozenset())
    out = redact_documents([doc], frozenset(), frozenset(), frozenset(), units, fs, r, PseudonymBook())
    msg = out.documents[0].items[0]
    assert isinstance(msg, ChatMessage)
    assert msg.sender == ALICE
    assert msg.text == "ask [PERSON]"


def test_entities_outside_the_policy_list_are_kept() -> None:
    text = "call 555-0142 on Friday"
    fs = [find(text, "555-0142", "PHONE_NUMBER", "5550142"), find(text, "Friday", "DATE_TIME")]
    out, counts = redact_plain([text], [fs], rules(), PseudonymBook())
    assert out == ["call [PHONE_NUMBER_1] on Friday"]
    assert "DATE_TIME" not in counts


def test_dropped_items_and_quotes_of_them() -> None:
    m0 = ChatMessage(0, "00:01", CARLA, "my cell is 555 0142")
    m1 = ChatMessage(1, "00:02", BOB, "👍", kind=MessageKind.REACTION,
                     quote=Quote("my cell is 5", 0, True))
    m2 = ChatMessage(2, "00:03", ALICE, "the box is 203.0.113.42 ok")
    m3 = ChatMessage(3, "00:04", BOB, "thanks", kind=MessageKind.REPLY, quote=Quote("the box is 2", 2, True))
    doc = Document("c.txt", "zoom-cloud-chat", "chat", (m0, m1, m2, m3))
    dropped = frozenset({(0, 0)})
    units = plan_units([doc], dropped, frozenset())
    assert all(ref.item != 0 for ref, _ in units)
    fs = [[] for _ in units]
    for k, (ref, unit) in enumerate(units):
        if ref.item == 2:
            fs[k] = [find(unit.text, "203.0.113.42", "IP_ADDRESS")]
    r = rules(entities=ALL | {"IP_ADDRESS"})
    out = redact_documents([doc], dropped, frozenset(), frozenset({(0, 1)}), units, fs, r, PseudonymBook())
    items = out.documents[0].items
    assert len(items) == 3
    assert isinstance(items[0], ChatMessage) and items[0].quote == Quote(EXCLUDED_QUOTE, None, False)
    assert isinstance(items[2], ChatMessage) and items[2].quote is not None
    # the cut fell inside the IP address: the whole value is replaced, no fragment survives
    assert items[2].quote.text == "the box is [IP_ADDRESS_1]"


def test_cue_words_follow_redaction() -> None:
    words = (Word(" my", 0.0, 0.2), Word(" name", 0.2, 0.4), Word(" is", 0.4, 0.5),
             Word(" Carla's", 0.5, 1.0), Word(" phone", 1.0, 1.3), Word(" five", 1.3, 1.5),
             Word(" five", 1.5, 1.7), Word(" five", 1.7, 1.9), Word(" okay", 2.0, 2.2))
    text = "".join(w.text for w in words)
    cue = Cue(0, 0.0, 2.2, None, text, words)
    f1 = find(text, "Carla", "PERSON", pid="p-carla")
    f2 = find(text, "five five five", "PHONE_NUMBER", "555")
    new_text, new_words = redact_words(cue, [(f1, "[PERSON_1]"), (f2, "[PHONE_NUMBER_1]")])
    assert new_text == " my name is [PERSON_1]'s phone [PHONE_NUMBER_1] okay"
    assert "".join(w.text for w in new_words) == new_text
    merged = next(w for w in new_words if "PHONE" in w.text)
    assert (merged.start, merged.end) == (1.3, 1.9)
    assert [w.text.strip() for w in new_words][-1] == "okay"
