"""Detection on the real spaCy model: roster names, spoken forms, meeting
links and ids, ordinary text left alone, skip spans, no network, plugins."""

from __future__ import annotations

import itertools
import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from meetguard import DetectionError, PluginLoadError
from meetguard._model import Finding
from meetguard.detection import BASE_ENTITY_TYPES, Detector, Roster, RosterMember, TextUnit

pytestmark = pytest.mark.models

ROSTER = Roster(
    (
        RosterMember("p-alice", ("Alice Martin", "Martin, Alice [NW]")),
        RosterMember("p-bob", ("Li, Bob (Guest)",)),
        RosterMember("p-carla", ("Carla Nunes",)),
        RosterMember("p-deepak", ("Deepak Rao",)),
        RosterMember("p-henrik", ("Henrik Larsen",)),
        RosterMember("p-mk", ("Mary Kate O'Brien",)),
        RosterMember("p-will", ("Will Turner",)),
    )
)


@pytest.fixture(scope="session")
def detector() -> Iterator[Detector]:
    det = Detector()
    det.warm()
    yield det
    det.close()


def run(det: Detector, text: str, *, spoken: bool = False,
        skip: tuple[tuple[int, int], ...] = (), roster: Roster = ROSTER) -> list[tuple[str, str, str, str | None]]:
    [found] = det.detect([TextUnit(text, spoken, skip)], roster)
    return [(f.entity_type, text[f.start:f.end], f.normalized, f.participant_id) for f in found]


def typed(det: Detector, text: str, **kw: bool) -> set[tuple[str, str]]:
    return {(t, v) for t, v, _, _ in run(det, text, **kw)}  # type: ignore[arg-type]


# --- roster -------------------------------------------------------------------
def test_roster_names_in_chat_any_case_unless_an_everyday_word(detector: Detector) -> None:
    found = run(detector, "thanks Alice, and carla nunes agreed; I will ping Will and henrik")
    assert ("PERSON", "Alice", "alice", "p-alice") in found
    assert ("PERSON", "carla nunes", "carla nunes", "p-carla") in found
    assert ("PERSON", "Will", "will", "p-will") in found
    values = [v for _, v, _, _ in found]
    assert "will" not in values  # the verb: an everyday word needs its capital
    assert "henrik" in values  # a lower-case given name that is no English word still names him


def test_roster_names_in_spoken_text_match_any_case(detector: Detector) -> None:
    found = run(detector, "I'll follow up with deepak and henrik, then mary kate", spoken=True)
    assert {(v, pid) for _, v, _, pid in found} >= {("deepak", "p-deepak"), ("henrik", "p-henrik"),
                                                      ("mary kate", "p-mk")}
    # an everyday word that is also a given name still needs its capital
    assert not any(v == "will" for _, v, _, _ in run(detector, "I will send it", spoken=True))


def test_possessives_match_the_name_part(detector: Detector) -> None:
    found = run(detector, "Carla's number and Nunes’s laptop", spoken=True)
    assert ("PERSON", "Carla", "carla", "p-carla") in found
    assert ("PERSON", "Nunes", "nunes", "p-carla") in found


def test_last_first_tag_and_guest_forms(detector: Detector) -> None:
    found = run(detector, "Martin, Alice [NW] asked Li, Bob (Guest) and Bob to join Martin")
    pids = [(v, pid) for _, v, _, pid in found]
    assert ("Martin, Alice", "p-alice") in pids
    assert ("Li, Bob", "p-bob") in pids
    assert ("Bob", "p-bob") in pids
    assert ("Martin", "p-alice") in pids
    assert not any("[NW]" in v or "Guest" in v for v, _ in pids)


def test_a_roster_name_inside_a_longer_name_leaves_no_remainder(detector: Detector) -> None:
    found = run(detector, "I had lunch with Alice Cooper and Carla Nunes-Smith yesterday")
    people = [(v, pid) for t, v, _, pid in found if t == "PERSON"]
    covered = " ".join(v for v, _ in people)
    assert "Cooper" in covered and "Smith" in covered
    assert ("Alice", "p-alice") in people


def test_non_roster_people_from_ner_and_cues(detector: Detector) -> None:
    text = "Their contact is Pat Kowalski; I spoke with Yvonne and our new hire Alison Ward"
    people = {v for t, v, _, pid in run(detector, text) if t == "PERSON" and pid is None}
    assert people == {"Pat Kowalski", "Yvonne", "Alison Ward"}


@pytest.mark.parametrize(("text", "name"), [
    ("barack obama was president", "barack obama"), ("president juncker made clear", "juncker"),
    ("guns supplied by colonel gaddafi and his regime", "gaddafi"), ("what mr van rompuy should be doing", "van rompuy"),
    ("quick reply to jack", "jack"), ("dorothy needs to talk to me", "dorothy"),
    ("show john's contact information", "john"), ("send invite bill malinda", "bill malinda"),
])
def test_lower_case_names_with_the_real_models(detector: Detector, text: str, name: str) -> None:
    """Issue #24: lower-case names, titled surnames ("president juncker": spaCy's PERSON, which
    rule uncased-unknown kept out before a title counted), "barack obama"."""
    assert name in {v for t, v, _, _ in run(detector, text, roster=Roster()) if t == "PERSON"}


@pytest.mark.parametrize("text", [
    "how much wood could a woodchuck chuck if a woodchuck could chuck wood", "thank you mr president",
    "madam president commissioner ladies and gentlemen", "i have been busy lately",
    "please add it to my contact list", "i will talk to my friend about the account",
])
def test_lower_case_chatter_names_no_one_with_the_real_models(detector: Detector, text: str) -> None:
    """Rule modal-verb ("could chuck wood" is a verb and its object), role-title, ordinary words."""
    assert [v for t, v, _, _ in run(detector, text, roster=Roster()) if t == "PERSON"] == []


# --- spoken forms ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "etype", "value", "normalized"),
    [
        ("Also, Carla's number is five five five, zero one four two if anyone needs her.",
         "PHONE_NUMBER", "five five five, zero one four two", "5550142"),
        ("The customer's email is jordan dot price at contoso dot example, he wants a callback.",
         "EMAIL_ADDRESS", "jordan dot price at contoso dot example", "jordan.price@contoso.example"),
        ("call me on 3-1-2-5-5-5-0-1-9-9 tomorrow", "PHONE_NUMBER", "3-1-2-5-5-5-0-1-9-9", "3125550199"),
        ("it's double five oh, one two three four", "PHONE_NUMBER", "double five oh, one two three four", "5501234"),
        ("card four one one one, one one one one, one one one one, one one one one thanks", "CREDIT_CARD",
         "four one one one, one one one one, one one one one, one one one one", "4111111111111111"),
        ("write to sam underscore okafor at fabrikam dot co dot uk", "EMAIL_ADDRESS",
         "sam underscore okafor at fabrikam dot co dot uk", "sam_okafor@fabrikam.co.uk"),
    ],
)
def test_spoken_values_map_to_exact_spans(detector: Detector, text: str, etype: str, value: str,
                                          normalized: str) -> None:
    found = run(detector, text, spoken=True)
    assert (etype, value, normalized) in [(t, v, n) for t, v, n, _ in found]


def test_plain_numerals_in_prose_do_not_fuse_into_a_phone(detector: Detector) -> None:
    assert typed(detector, "room 204, port 8080, then one of the five options", spoken=True) == set()


# --- written values ---------------------------------------------------------------
@pytest.mark.parametrize("tld", ["example", "internal", "local", "corp", "com", "co.uk"])
def test_emails_at_any_tld(detector: Detector, tld: str) -> None:
    email = f"Jo.Price+x@mail.contoso.{tld}"
    found = run(detector, f"mail me at {email}.")
    assert ("EMAIL_ADDRESS", email, email.lower(), None) in found


@pytest.mark.parametrize(
    "url",
    [
        "https://us02web.zoom.us/j/81234567890?pwd=Zk9xT3dqR2FhbHk1",
        "zoommtg://zoom.us/join?confno=81234567890&pwd=abc123",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjA1%40thread.v2/0?context=%7b%22Tid%22%7d",
        "https://meet.google.com/abc-defg-hij",
        "meet.google.com/xyz-abcd-efg",
        "https://acme.webex.com/meet/jdoe",
    ],
)
def test_join_urls_are_one_finding(detector: Detector, url: str) -> None:
    found = run(detector, f"next sync: {url} (see you there)")
    assert [(t, v) for t, v, _, _ in found] == [("JOIN_URL", url)]


def test_meeting_ids_and_passcodes(detector: Detector) -> None:
    text = "Meeting ID 812 3456 7890, passcode 4kT9zQ. Webinar ID: 987-6543-2101 password: tulip77"
    assert typed(detector, text) == {
        ("MEETING_ID", "812 3456 7890"), ("MEETING_PASSCODE", "4kT9zQ"),
        ("MEETING_ID", "987-6543-2101"), ("MEETING_PASSCODE", "tulip77"),
    }
    assert typed(detector, "join the zoom meeting 81234567890 now") == {("MEETING_ID", "81234567890")}
    assert typed(detector, "the password is below") == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my cell is (415) 555-0142, text me", {("PHONE_NUMBER", "(415) 555-0142")}),
        ("office +44 20 7946 0958 or +1-212-555-0199", {("PHONE_NUMBER", "+44 20 7946 0958"),
                                                        ("PHONE_NUMBER", "+1-212-555-0199")}),
        ("card 4111 1111 1111 1111, exp soon", {("CREDIT_CARD", "4111 1111 1111 1111")}),
        ("card 4111 1111 1111 1112 is a typo", set()),
        ("SSN 536-22-8471 for HR", {("US_SSN", "536-22-8471")}),
        ("wire to GB82 WEST 1234 5698 7654 32 now", {("IBAN_CODE", "GB82 WEST 1234 5698 7654 32")}),
        ("box 203.0.113.42 and 2001:db8::8a2e:370:7334", {("IP_ADDRESS", "203.0.113.42"),
                                                          ("IP_ADDRESS", "2001:db8::8a2e:370:7334")}),
        ("see https://wiki.contoso.example/page?id=3).", {("URL", "https://wiki.contoso.example/page?id=3")}),
    ],
)
def test_structured_values(detector: Detector, text: str, expected: set[tuple[str, str]]) -> None:
    assert typed(detector, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the C4 cluster and the S3 bucket are fine",
        "Q3 targets are final",
        "JIRA-4521 is still blocked",
        "port 8080 is open on staging",
        "we shipped version 2.4.1",
        "2.4.1",
        "room 204 is booked",
        "standup moved to 10:30",
        "conversion is up 15% and the budget is $300",
        "Agenda is in the doc, sounds good",
    ],
)
def test_no_harm_to_ordinary_text(detector: Detector, text: str) -> None:
    assert run(detector, text) == []


# --- shape of the result ----------------------------------------------------------
def test_skip_spans_are_never_touched(detector: Detector) -> None:
    text = "<@U02BOBLI> Carla Nunes call 415-555-0142 or mail bob@contoso.example"
    skip = ((0, 11), (52, 55))  # the mention, and "bob" inside the email
    [found] = detector.detect([TextUnit(text, False, skip)], ROSTER)
    assert found and all(not (f.start < e and s < f.end) for f in found for s, e in skip)
    assert ("PERSON", "Carla Nunes") in [(f.entity_type, text[f.start:f.end]) for f in found]
    assert ("PHONE_NUMBER", "415-555-0142") in [(f.entity_type, text[f.start:f.end]) for f in found]


def test_findings_sorted_non_overlapping_and_aligned(detector: Detector) -> None:
    texts = [
        "Alice Martin sent https://us02web.zoom.us/j/81234567890?pwd=Zk9x (meeting ID 812 3456 7890)",
        "Deepak Rao: card 4111-1111-1111-1111 and 415.555.0142 on March 3, 2026 in Berlin",
        "nothing here",
        "Alice Martin sent https://us02web.zoom.us/j/81234567890?pwd=Zk9x (meeting ID 812 3456 7890)",
    ]
    results = detector.detect([TextUnit(t) for t in texts], ROSTER)
    assert len(results) == 4 and results[2] == [] and results[0] == results[3]
    for text, found in zip(texts, results):
        for a, b in itertools.pairwise(found):
            assert a.end <= b.start
        for f in found:
            assert isinstance(f, Finding) and 0 <= f.start < f.end <= len(text)
            assert f.entity_type in detector.entity_types
    # the meeting id inside the join URL belongs to the URL, not a second finding
    assert [f.entity_type for f in results[0]] == ["PERSON", "JOIN_URL", "MEETING_ID"]


def test_long_text_beyond_spacy_chunk(detector: Detector) -> None:
    filler = "the quarterly report looks fine overall. " * 3000
    text = filler + "Call Hannah Weiss on (212) 555-0199."
    found = typed(detector, text)
    assert ("PERSON", "Hannah Weiss") in found and ("PHONE_NUMBER", "(212) 555-0199") in found


def test_bad_skip_span_is_a_detection_error(detector: Detector) -> None:
    with pytest.raises(DetectionError, match="skip span"):
        detector.detect([TextUnit("short", False, ((2, 99),))], ROSTER)


class _Boom:
    """A finder that fails, naming the text it was given."""

    name = "boom"
    entity_types = frozenset({"PHONE_NUMBER"})

    def find_batch(self, texts: object, ctx: object) -> list[object]:
        raise ValueError(f"cannot parse {texts}")


def test_internal_failure_fails_closed_without_content() -> None:
    with Detector(finders=[_Boom()]) as det, pytest.raises(DetectionError) as info:
        det.detect([TextUnit("secret 555-0142 for Carla")], ROSTER)
    assert "secret" not in str(info.value) and "Carla" not in str(info.value)
    assert "\n" not in str(info.value) and info.value.__cause__ is None


# --- offline -----------------------------------------------------------------------
def test_no_network_socket_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError("network connection attempted")
        real_connect(self, address)  # type: ignore[arg-type]

    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError("DNS lookup attempted")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with Detector(plugins=False) as det:
        found = run(det, "mail pat.kowalski@globex.example or see https://contoso.com/x and www.fabrikam.co.uk")
    assert {t for t, *_ in found} == {"EMAIL_ADDRESS", "URL"}


# --- plugins --------------------------------------------------------------------
def _fake_plugin(tmp_path: Path, body: str, target: str) -> None:
    (tmp_path / "fake_ticket_rec.py").write_text(textwrap.dedent(body))
    info = tmp_path / "fake_ticket_rec-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-ticket-rec\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[meetguard.recognizers]\nticket = fake_ticket_rec:{target}\n")


def test_plugin_recognizer_from_a_dist_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_plugin(tmp_path, """
        from presidio_analyzer import Pattern, PatternRecognizer

        def make():
            return PatternRecognizer(supported_entity="TICKET_ID",
                                     patterns=[Pattern("ticket", r"\\bTCK-\\d{5}\\b", 0.8)])
    """, "make")
    monkeypatch.syspath_prepend(str(tmp_path))
    with Detector() as det:
        assert "TICKET_ID" in det.entity_types and BASE_ENTITY_TYPES <= det.entity_types
        found = run(det, "see TCK-12345 from Alice Martin")
    assert ("TICKET_ID", "TCK-12345", "TCK12345", None) in found
    assert ("PERSON", "Alice Martin", "alice martin", "p-alice") in found
    sys.modules.pop("fake_ticket_rec", None)


def test_plugin_that_reads_nlp_artifacts_gets_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pattern recognizers get no artifacts (Presidio's analyze never reads them); any other gets spaCy's.
    _fake_plugin(tmp_path, """
        from presidio_analyzer import EntityRecognizer, RecognizerResult

        class Tokens(EntityRecognizer):
            def __init__(self):
                super().__init__(supported_entities=["BADGE_TOKEN"])

            def load(self):
                pass

            def analyze(self, text, entities, nlp_artifacts=None):
                return [RecognizerResult("BADGE_TOKEN", t.idx, t.idx + len(t.text), 0.9)
                        for t in nlp_artifacts.tokens if t.text.startswith("BDG")]
    """, "Tokens")
    monkeypatch.syspath_prepend(str(tmp_path))
    with Detector() as det:
        found = run(det, "my badge is BDG7781 today")
    assert ("BADGE_TOKEN", "BDG7781", "BDG7781", None) in found
    sys.modules.pop("fake_ticket_rec", None)


def test_broken_plugin_refuses_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_plugin(tmp_path, "def make():\n    return 42\n", "make")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginLoadError, match="ticket"):
        Detector().warm()
    sys.modules.pop("fake_ticket_rec", None)


def test_worker_pool_gives_the_same_findings(detector: Detector) -> None:
    texts = [f"ping Alice Martin at alice{i}@northwind.example or (415) 555-{i:04d}" for i in range(70)]
    units = [TextUnit(t) for t in texts]
    with Detector(workers=1) as pooled:
        assert pooled.detect(units, ROSTER) == detector.detect(units, ROSTER)


def test_entity_types_include_installed_plugins(detector: Detector) -> None:
    from meetguard import detection

    assert BASE_ENTITY_TYPES <= detection.ENTITY_TYPES
    assert detection.ENTITY_TYPES == detection.entity_types() == detector.entity_types
    assert "EMPLOYEE_ID" in detection.ENTITY_TYPES  # the example plugin, installed by `make setup`
    found = run(detector, "badge EMP-123456 belongs to Alice Martin")
    assert ("EMPLOYEE_ID", "EMP-123456", "EMP123456", None) in found
