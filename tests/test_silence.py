"""Silencing a refusing speaker in a mixed recording (#28): timeline and transcript readers,
the decision, overlap and unattributed speech (scripted transcriber, real Silero VAD), the
verification that fails closed, and the two-voice acceptance run with the real models."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from meetguard import Guard, GuardOptions, InputError, Meeting
from meetguard._model import Speaker, SpeakerTurn
from meetguard.audio.speakers import parse_timeline, read_speakers
from meetguard.policy import decide, load_policy
from meetguard.redaction.silence import PAD, plan_silence
from meetguard.testing import FakeDetector, FakeTranscriber, MemoryAuditSink

from . import silence_support as s2

AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(s2.POLICY, "utf-8")
    return p


# -- reading who spoke when ------------------------------------------------------------------

def test_zoom_timeline_gives_turns_until_the_next_entry() -> None:
    doc = {"timeline": [
        {"ts": "00:00:01.500", "users": [{"username": "Alice Martin", "user_id": "1",
                                          "email_address": "Alice@Example.com"}]},
        {"ts": "00:00:04.000", "users": [{"username": "Alice Martin", "user_id": "1",
                                          "email_address": "Alice@Example.com"}]},
        {"ts": "00:00:06.250", "users": [{"username": "Bob Stone", "user_id": "2"},
                                         {"username": "Alice Martin", "user_id": "1",
                                          "email_address": "alice@example.com"}]},
        {"ts": "00:01:00.000", "users": []},
        {"ts": "01:00:02.000", "users": [{"username": "Guest"}]},
    ]}
    turns = parse_timeline(doc)
    got = [(t.speaker.label, t.start, t.end, t.email) for t in turns]
    assert got == [("Alice Martin", 1.5, 60.0, "alice@example.com"),   # consecutive entries merged
                   ("Bob Stone", 6.25, 60.0, None),                    # at once with Alice
                   ("Guest", 3602.0, math.inf, None)]                  # the last: until the end
    assert turns[1].speaker.platform_id == "2"


@pytest.mark.parametrize("bad", [{"timeline": {}}, {"timeline": [{"ts": "soon", "users": []}]},
                                 {"timeline": [{"ts": "00:00:01.000", "users": ["Carla Nunes"]}]}])
def test_a_malformed_timeline_is_refused_in_one_line_without_its_values(bad: dict[str, Any]) -> None:
    with pytest.raises(InputError) as err:
        parse_timeline(bad, "timeline.json")
    assert "speakers:" in str(err.value) and "Carla" not in str(err.value) and "\n" not in str(err.value)


def test_speaker_labelled_transcripts_give_turns(tmp_path: Path) -> None:
    turns = [s2.Turn("alice", 0.5, 2.0, "The forecast moved."), s2.Turn("bob", 2.5, 4.0, "Marketing wants it.")]
    vtt = read_speakers(s2.zoom_vtt(turns, tmp_path / "t.vtt"))
    assert [(t.speaker.label, t.start, t.end, t.text) for t in vtt] == [
        ("Alice Martin", 0.5, 2.0, "The forecast moved."), ("Bob Stone", 2.5, 4.0, "Marketing wants it.")]
    teams = tmp_path / "teams.vtt"
    teams.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Stone, Bob>Hello there.</v>\n\n"
                     "00:00:02.500 --> 00:00:03.000\nno speaker here\n", "utf-8")
    assert [(t.speaker.label, t.start) for t in read_speakers(teams)] == [("Stone, Bob", 1.0)]
    srt = tmp_path / "named.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\n[Bob Stone] Hello there.\n", "utf-8")
    assert [t.speaker.label for t in read_speakers(srt)] == ["Bob Stone"]
    (tmp_path / "x.json").write_text('{"timeline": 3}', "utf-8")
    with pytest.raises(InputError):
        read_speakers(tmp_path / "x.json")


# -- the decision ----------------------------------------------------------------------------

def _meeting(tmp_path: Path, turns: tuple[SpeakerTurn, ...]) -> Meeting:
    rec = tmp_path / "rec.wav"
    s2.build(rec, [("alice", "mixed", 0.2)])
    plain = Meeting.from_files(audio=rec)
    from dataclasses import replace

    return replace(plain, audio=(replace(plain.audio[0], turns=turns),))


def test_a_refusing_speaker_makes_the_mixed_recording_partial_not_withheld(tmp_path: Path, policy: Path) -> None:
    alice = SpeakerTurn(0.0, 1.0, Speaker("Alice M.", "1"), "alice@example.com")     # by email
    bob = SpeakerTurn(1.0, 2.0, Speaker("Robert", "2"), "BOB@example.com")              # by email
    guest = SpeakerTurn(2.0, 3.0, Speaker("Carla Nunes", "3"), "carla@elsewhere.org")  # unknown email
    p = load_policy(policy)
    d = decide(p, _meeting(tmp_path, (alice, bob, guest)), "summarization", None, AT)
    assert d.outcome == "partial" and not d.dropped_audio
    assert [d.attribution[t.speaker] for t in (alice, bob, guest)] == ["p-alice", "p-bob", "unknown-1"]
    assert d.excluded_participants == ("p-bob", "unknown-1")
    # every speaker excluded: nothing of the recording is left to release
    only_bob = decide(p, _meeting(tmp_path, (bob,)), "summarization", None, AT)
    assert only_bob.dropped_audio == frozenset({0}) and only_bob.outcome == "deny"
    # no turns: as before, the mixed recording of a meeting with a refusal is withheld
    assert decide(p, Meeting.from_files(audio=tmp_path / "rec.wav", attendees=["p-bob", "p-alice"]),
                  "summarization", None, AT).dropped_audio == frozenset({0})


def test_the_plan_pads_merges_and_clamps() -> None:
    a, b = Speaker("A"), Speaker("B")
    turns = [SpeakerTurn(1.0, 2.0, a), SpeakerTurn(2.2, 3.0, a), SpeakerTurn(5.0, 6.0, b),
             SpeakerTurn(9.8, math.inf, a)]
    plan = plan_silence(turns, {a: "p-a", b: "p-b"}, ["p-a"], [(7.0, 8.0), (5.5, 6.2)], False, 10.0)
    assert [(x.participant, round(x.start, 2), round(x.end, 2)) for x in plan] == [
        ("p-a", 1.0 - PAD, 3.0 + PAD), ("unknown", 7.0 - PAD, 8.0 + PAD), ("p-a", 9.8 - PAD, 10.0)]
    assert [x.participant for x in plan_silence(turns, {a: "p-a", b: "p-b"}, ["p-a"], [(7.0, 8.0)],
                                                True, 10.0)] == ["p-a", "p-a"]
    # an active-speaker turn that holds on after its speaker stopped ends PAD after their speech
    held = [SpeakerTurn(1.0, 6.0, a), SpeakerTurn(6.0, 9.0, b)]
    quiet_end = plan_silence(held, {a: "p-a", b: "p-b"}, ["p-a"], [(1.1, 3.0), (5.9, 8.5)], True, 10.0)
    assert [(x.start, x.end) for x in quiet_end] == [(1.0 - PAD, 3.0 + PAD)]
    talking = plan_silence(held, {a: "p-a", b: "p-b"}, ["p-a"], [(1.1, 7.0)], True, 10.0)
    assert [(x.start, x.end) for x in talking] == [(1.0 - PAD, 6.0 + PAD)]      # up to the switch: padded


# -- overlap and unattributed speech (scripted decode, real VAD) ------------------------------

def _fake_guard(policy: Path, script: list[tuple[float, float, str]],
                verify: list[tuple[float, float, str]] | None = None) -> tuple[Guard, MemoryAuditSink]:
    audit = MemoryAuditSink()
    return Guard(policy, GuardOptions(), detector=FakeDetector(roster=False), audit=audit,
                 transcriber=FakeTranscriber(script, verify_script=verify)), audit


def test_overlapping_speech_is_silenced_for_both(tmp_path: Path, policy: Path) -> None:
    rec = tmp_path / "rec.wav"
    turns = s2.build(rec, [("alice", "alice_track", 0.3), ("bob", "voice2_a", 3.0),
                           ("alice", "train", 5.5), ("alice", "mixed", 9.0)])
    bob = turns[1]
    assert turns[2].start < bob.end            # Alice speaks while Bob does
    timeline = s2.zoom_timeline(turns, tmp_path / "timeline.json")
    assert any(len(e["users"]) == 2 for e in json.loads(timeline.read_text())["timeline"])
    guard, audit = _fake_guard(policy, [(t.start, t.end, t.text) for t in turns if t.who == "alice"])
    result = guard.process_sync(Meeting.from_files(audio=rec, speakers=timeline), "summarization", None, AT)
    assert result.decision == "partial"
    x, rate = s2.samples(result.outputs["rec.redacted.wav"])
    assert s2.peak(x, rate, bob.start - PAD, bob.end + PAD) == 0            # Alice's overlapping words too
    assert s2.peak(x, rate, turns[0].start, turns[0].end) > 1000             # Alice alone stays
    assert s2.peak(x, rate, turns[3].start, turns[3].end) > 1000
    assert [(s["participant"], round(s["start"], 2)) for s in result.silenced or ()] == [
        ("p-bob", round(bob.start - PAD, 2))]
    record = audit.records[-1]
    assert record["silenced"] == list(result.silenced or ()) and record["silenced_seconds"] == pytest.approx(
        bob.end - bob.start + 2 * PAD, abs=0.01)
    assert "Bob" not in json.dumps(record)
    # the review report draws the silenced stretch on the audio picture
    from meetguard.report import from_result
    from meetguard.report._html import render

    html = render(from_result(result.decision_json(), result.outputs, None, policy))
    assert "grey: silenced speakers (1 stretch(es)" in html


@pytest.mark.parametrize("unknown", ["non_consenting", "consenting", "deny"])
def test_speech_no_turn_covers_follows_the_unknown_speakers_rule(tmp_path: Path, unknown: str) -> None:
    policy = tmp_path / "policy.yaml"
    text = s2.POLICY.replace("participants:", f"unknown_speakers: {unknown}\nparticipants:")
    if unknown == "deny":       # a purpose that needs everyone's consent: refused, not silenced
        text = text.replace("unknown_speakers: deny", "unknown_speakers: non_consenting").replace(
            "missing_consent: exclude", "missing_consent: deny").replace(
            "        - {status: refused, at: \"2026-01-01T00:00:00Z\"}", "        - {status: granted, at: \"2026-01-01T00:00:00Z\"}")
    policy.write_text(text)
    rec = tmp_path / "rec.wav"
    turns = s2.alternating(rec)
    alice = [t for t in turns if t.who == "alice"]
    stray = turns[1]                                     # Bob's first line: in no turn
    timeline = s2.zoom_timeline([t for t in turns if t is not stray], tmp_path / "timeline.json")
    guard, _ = _fake_guard(policy, [(t.start, t.end, t.text) for t in alice])
    result = guard.process_sync(Meeting.from_files(audio=rec, speakers=timeline), "summarization", None, AT)
    if unknown == "deny":
        assert result.decision == "deny" and not result.outputs
        assert any("no platform speaker covers" in r for r in result.reasons)
        return
    x, rate = s2.samples(result.outputs["rec.redacted.wav"])
    who = {s["participant"] for s in result.silenced or ()}
    mid = (stray.start + stray.end) / 2
    if unknown == "consenting":
        assert who == {"p-bob"} and s2.peak(x, rate, mid - 0.5, mid + 0.5) > 1000
    else:
        assert who == {"p-bob", "unknown"} and s2.peak(x, rate, stray.start, stray.end) == 0
        assert any("no platform speaker covers" in r for r in result.reasons)
    assert all(s2.peak(x, rate, t.start, t.end) > 1000 for t in alice)


def test_the_refusing_speakers_words_heard_again_fail_the_release_closed(tmp_path: Path, policy: Path) -> None:
    rec = tmp_path / "rec.wav"
    turns = s2.alternating(rec)
    script = [(t.start, t.end, t.text) for t in turns if t.who == "alice"]
    leak = [*script, (turns[1].start, turns[1].end, "the warehouse needs new forklifts")]
    guard, audit = _fake_guard(policy, script, verify=leak)
    vtt = s2.zoom_vtt(turns, tmp_path / "transcript.vtt")
    with pytest.raises(Exception) as err:
        guard.process_sync(Meeting.from_files(audio=rec, speakers=vtt), "summarization", None, AT)
    assert getattr(err.value, "code", "") == "verification_failed"
    assert "silenced speaker" in str(err.value) and "warehouse" not in str(err.value)
    assert audit.records[-1]["decision"] == "error" and not audit.records[-1]["output_sha256"]
    # the same recording heard clean is released, partial
    clean, _ = _fake_guard(policy, script)
    assert clean.process_sync(Meeting.from_files(audio=rec, speakers=vtt), "summarization", None,
                              AT).decision == "partial"


# -- acceptance: two real voices, the real models ---------------------------------------------

@pytest.fixture(scope="module")
def real_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    from .conftest import warm_guard

    work = tmp_path_factory.mktemp("silence-real")
    (work / "policy.yaml").write_text(s2.POLICY, "utf-8")
    yield from warm_guard(work / "policy.yaml", work)


@pytest.mark.models
def test_two_voices_the_refusing_one_is_silenced_and_not_heard(real_guard: Guard, tmp_path: Path) -> None:
    from meetguard.audio.decode import iter_chunks
    from meetguard.audio.transcribe import windows

    rec = tmp_path / "meeting.wav"
    turns = s2.alternating(rec)
    # as an active-speaker timeline: each speaker holds until the next one talks
    timeline = s2.zoom_timeline(turns, tmp_path / "timeline.json", gaps=False)
    result = real_guard.process_sync(Meeting.from_files(audio=rec, speakers=timeline), "summarization", None, AT)
    assert result.decision == "partial"
    released = tmp_path / "released.wav"
    released.write_bytes(bytes(result.outputs["meeting.redacted.wav"]))
    x, rate = s2.samples(released)
    bob = [t for t in turns if t.who == "bob"]
    for t in bob:                                        # no energy at all inside the padded turns
        assert s2.peak(x, rate, t.start - PAD, t.end + PAD) == 0
    # an independent re-transcription (the main greedy decode, not the verify beam search)
    transcriber = real_guard.backends.transcriber(("en",))
    heard = " ".join(c.text for off, w in windows(iter_chunks(released)) for c in transcriber.transcribe(w, offset=off))
    got = set(s2.words(heard))
    theirs = {w for t in bob for w in s2.words(t.text) if len(w) >= 4} - {"seven", "before", "every"}
    assert not theirs & got, "a silenced speaker's word was heard"
    mine = [w for t in turns if t.who == "alice" for w in s2.words(t.text)]
    assert sum(w in got for w in mine) >= 0.9 * len(mine), heard
    assert {s["participant"] for s in result.silenced or ()} == {"p-bob"}
    assert result.decision_json()["silenced_seconds"] >= sum(t.end - t.start for t in bob)


def test_a_tone_can_replace_the_silence(tmp_path: Path, policy: Path) -> None:
    import numpy as np

    rec = tmp_path / "rec.wav"
    turns = s2.alternating(rec)
    alice = [t for t in turns if t.who == "alice"]
    guard = Guard(policy, GuardOptions(speaker_fill="tone"), detector=FakeDetector(roster=False),
                  audit=MemoryAuditSink(), transcriber=FakeTranscriber([(t.start, t.end, t.text) for t in alice]))
    timeline = s2.zoom_timeline(turns, tmp_path / "timeline.json")
    result = guard.process_sync(Meeting.from_files(audio=rec, speakers=timeline), "summarization", None, AT)
    x, rate = s2.samples(result.outputs["rec.redacted.wav"])
    bob = turns[1]
    part = x[int(bob.start * rate):int(bob.end * rate)].astype(float)
    spectrum = np.abs(np.fft.rfft(part))
    assert abs(np.argmax(spectrum) * rate / len(part) - 1000) < 5     # Bob's voice is a 1 kHz tone now
    with pytest.raises(Exception, match="speaker_fill"):
        Guard(policy, GuardOptions(speaker_fill="hum"), detector=FakeDetector(roster=False),
              audit=MemoryAuditSink(), transcriber=FakeTranscriber([])).process_sync(
            Meeting.from_files(audio=rec, speakers=timeline), "summarization", None, AT)


def test_the_cli_speakers_flag(tmp_path: Path, policy: Path) -> None:
    from meetguard.cli import main
    from meetguard.testing import guard_factory

    rec = tmp_path / "rec.wav"
    turns = s2.alternating(rec)
    alice = [(t.start, t.end, t.text) for t in turns if t.who == "alice"]
    out = tmp_path / "out"
    argv = ["guard", "--policy", str(policy), "--purpose", "summarization", "--audio", str(rec),
            "--speakers", str(s2.zoom_timeline(turns, tmp_path / "timeline.json")), "--out", str(out),
            "--audit", str(tmp_path / "audit.jsonl")]
    assert main(argv, guard_factory=guard_factory(transcriber=FakeTranscriber(alice))) == 0
    decision = json.loads((out / "decision.json").read_text())
    assert decision["decision"] == "partial" and decision["silenced_seconds"] > 8
    assert [s["participant"] for s in decision["silenced"]] == ["p-bob", "p-bob"]
    record = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert record["silenced"] == decision["silenced"]
    [wav] = out.glob("*.redacted.wav")
    x, rate = s2.samples(wav)
    assert all(s2.peak(x, rate, t.start, t.end) == 0 for t in turns if t.who == "bob")
