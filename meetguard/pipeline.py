"""The guard pipeline: one function per stage, called in order by :func:`run_meeting`.

    parse (formats, before the Guard) -> identify -> attribute and decide
    -> transcribe -> detect -> redact -> release -> audit

:func:`run_texts` (the OpenAI pass-through) is the same stages over a
synthetic meeting of one chat document whose messages are the texts: only the
decision differs (every named attendee must consent), and both flows build
their redaction rules with one :func:`redaction_rules`.

Every stage is synchronous and runs off the event loop; :class:`~meetguard.Guard`
awaits them and adds delivery. The audit stage (:func:`audit_result`,
:func:`audit_error`) writes one record per run, whatever happened.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import MeetguardError
from ._files import sha256_file
from ._model import AudioInput, ChatMessage, Cue, Document, Finding, Meeting, Speaker
from ._result import DecisionName, Delivery, GuardResult
from .backends import Backends

if TYPE_CHECKING:
    from .audio.backend import DecodeVariant, Transcriber
    from .audit import AuditSink
    from .detection import Roster, TextUnit
    from .policy import ConsentDecision, Policy, Purpose
    from .redaction import PseudonymBook
    from .redaction.bleeped import Spared
    from .redaction.operators import Operator
    from .redaction.silence import Silenced
    from .redaction.text import RedactionOutcome, RedactionRules, UnitRef

__all__ = ["Run", "Stages", "audit_error", "audit_result", "redaction_rules", "run_meeting",
           "run_texts", "verify_prompt"]

_PLAIN_NAME = re.compile(r"[^\W\d_]+(?:[ '-][^\W\d_]+)+")   # "Alice Martin", not "Martin, Alice [NW]"


@dataclass(frozen=True)
class Stages:
    """What the stages run on: the Guard's backends, audit sink and settings."""

    backends: Backends
    audit: AuditSink
    hash_key: bytes | None = None
    progress: bool = False
    digest_key: bytes = b""        # keys the audit's hashes of pass-through messages (guessable values)


@dataclass
class Run:
    """One guard run: its request, and what the stages learnt for its audit record."""

    policy: Policy
    meeting: Meeting
    purpose: str
    recipient: str | None
    at: datetime
    verify: bool | None = None
    replayed: bool = False                  # `at` came from the caller (a replay), not the clock
    input_sha256: list[str] = field(default_factory=list)
    excluded: tuple[str, ...] = ()
    roster: Roster | None = None
    participants: tuple[str, ...] = ()      # policy ids whose content is released
    kinds: dict[str, str] = field(default_factory=dict)      # output -> chat | transcript | audio
    language: str | None = None             # --language / the form's `language`: no detection
    languages: list[str] = field(default_factory=list)       # document index -> its language
    item_languages: dict[tuple[int, int], str] = field(default_factory=dict)  # (doc, item) -> its own
    language_dropped: dict[tuple[int, int], str] = field(default_factory=dict)  # excluded: -> its language
    verified: dict[str, bool] = field(default_factory=dict)  # released audio -> re-transcribed clean
    book: PseudonymBook | None = None       # the run's pseudonyms (given: kept across runs)
    # mixed recordings with speaker turns (--speakers): what was silenced (None: no turns given),
    # each recording's silenced speakers' distinctive words, and the scratch folder of the run
    silenced: list[Silenced] | None = None
    silenced_words: dict[str, frozenset[str]] = field(default_factory=dict)
    scratch: str | None = None


@dataclass(frozen=True)
class Heard:
    """The transcribe stage's answer: every document, the transcripts' places, the attribution."""

    documents: list[Document]
    audio_docs: dict[int, int]           # audio index -> document index
    attribution: dict[Speaker, str]
    languages: dict[int, str] = field(default_factory=dict)   # transcript document -> language heard


# -- the meeting flow ----------------------------------------------------------------------

def run_meeting(stages: Stages, run: Run) -> GuardResult:
    identify(run)
    decision = attribute_and_decide(run)
    if decision.outcome == "deny" or decision.purpose is None:
        return result(run, decision.outcome, decision.reasons)
    try:
        return _guard_meeting(stages, run, decision)
    finally:
        if run.scratch is not None:
            import shutil

            shutil.rmtree(run.scratch, ignore_errors=True)


def _guard_meeting(stages: Stages, run: Run, decision: ConsentDecision) -> GuardResult:
    assert decision.purpose is not None
    spec = decision.purpose
    outcome_name, reasons = silence_speakers(stages, run, decision)
    if outcome_name == "deny":
        return result(run, "deny", reasons)
    heard = transcribe(stages, run, decision)
    from .detection import collector_paused

    with collector_paused():   # the text pass: no full collection over the warm models (detection/_gcpause)
        # items read on lingua's own threads in one process too (the same computation per text)
        run.languages = document_languages(run, heard.documents, heard.languages, per_item=True, parallel=True)
        decision, excluded = exclude_other_languages(run, decision)
        if excluded:
            outcome_name, reasons = ("partial" if outcome_name == "release" else outcome_name), [*reasons, *excluded]
        units = _plan(heard.documents, decision)
        findings = detect(stages, run, units, heard.attribution)
        from .policy import quotes_dropped
        from .redaction import PseudonymBook, make_operator
        from .redaction.text import redact_documents

        run.book = run.book or PseudonymBook(stages.backends.options.token_form)
        rules = redaction_rules(spec, decision, make_operator(spec.redact.operator, stages.hash_key,
                                                              run.book.form), heard.attribution)
        if heard.audio_docs:
            findings = whole_values(units, findings, rules, set(heard.audio_docs.values()))
        outcome = redact_documents(heard.documents, decision.dropped_items, decision.dropped_documents,
                                   quotes_dropped(run.meeting, decision), units, findings, rules,
                                   run.book, stages.backends.anonymizer())
    outputs = release(stages, run, spec, outcome, heard, rules)
    return result(run, outcome_name, reasons, outputs, outcome.entity_counts, spec.retention_days)


def silence_speakers(stages: Stages, run: Run, decision: ConsentDecision) -> tuple[DecisionName, list[str]]:
    """Mixed recordings with the platform's speaker turns: excluded speakers (and, unless
    unknown speakers consent, speech no turn covers) silenced before anything hears them
    (redaction/silence.py). The decision becomes partial when speech was silenced."""
    outcome: DecisionName = decision.outcome
    reasons = list(decision.reasons)
    audio = list(run.meeting.audio)
    spec = decision.purpose
    assert spec is not None
    todo = [i for i, rec in enumerate(audio) if rec.turns is not None and rec.participant_id is None
            and i not in decision.dropped_audio]
    if not todo:
        return outcome, reasons
    import tempfile

    from .redaction.silence import silence_recording

    run.silenced = []
    run.scratch = tempfile.mkdtemp(prefix="meetguard-silence-")
    excluded = frozenset(decision.excluded_participants)
    said = [item.text for doc in run.meeting.documents for item in doc.items
            if isinstance(item, Cue) and item.speaker is not None
            and decision.attribution.get(item.speaker) in excluded]
    for i in todo:
        rec = audio[i]
        own = said + [t.text for t in rec.turns or () if decision.attribution[t.speaker] in excluded]
        done = silence_recording(rec, decision.attribution, excluded,
                                 run.policy.unknown_speakers == "consenting", Path(run.scratch),
                                 [t for t in own if t.strip()], _interval_hearing(stages, run, i),
                                 f"audio {i + 1}", stages.backends.options.speaker_fill)
        audio[i] = done.recording
        run.silenced += done.silenced
        run.silenced_words[rec.stem] = done.words
        reasons += done.reasons
        if done.silenced and outcome == "release":
            outcome = "partial"
        if any(x.participant == "unknown" for x in done.silenced) and spec.missing_consent == "deny":
            outcome = "deny"      # unattributed speech: not everyone present is known to consent
            reasons.append(f"purpose {spec.name!r} requires the consent of everyone present")
    run.meeting = dataclasses.replace(run.meeting, audio=tuple(audio))
    return outcome, reasons


def _interval_hearing(stages: Stages, run: Run, i: int) -> Callable[[Path, Sequence[tuple[float, float]]], str]:
    """The main decode of recording ``i`` inside the silenced speakers' intervals (what
    they said, when the platform's transcript does not say it)."""
    def hear(path: Path, intervals: Sequence[tuple[float, float]]) -> str:
        from .audio.transcriber import in_language
        from .redaction.silence import hear_intervals

        transcriber = stages.backends.transcriber(run.policy.detection_languages)
        decode = in_language(transcriber, audio_language(run, i, transcriber))
        return hear_intervals(path, intervals,
                              lambda samples: " ".join(c.text for c in decode.transcribe(samples)))
    return hear


def identify(run: Run) -> None:
    """The inputs, by hash, for the audit record (documents were hashed when parsed); then
    the policy's audio limits, before any recording is decoded at its own rate."""
    run.input_sha256 = [d.sha256 for d in run.meeting.documents]
    run.input_sha256 += [sha256_file(a.path) for a in run.meeting.audio]
    if run.meeting.audio:
        from .audio.limits import AudioLimits, check_audio_limits

        limits = AudioLimits.from_mapping(run.policy.audio_limits)
        for rec in run.meeting.audio:
            check_audio_limits(rec.path, limits)


def attribute_and_decide(run: Run) -> ConsentDecision:
    from .policy import decide

    decision = decide(run.policy, run.meeting, run.purpose, run.recipient, run.at,
                      run.meeting.attendees)
    run.excluded = decision.excluded_participants
    run.participants = decision.released_participants
    return decision


def transcribe(stages: Stages, run: Run, decision: ConsentDecision) -> Heard:
    """Admitted recordings become transcript documents; a track's cues are its owner's."""
    meeting = run.meeting
    heard = Heard(list(meeting.documents), {}, dict(decision.attribution))
    admitted = [i for i in range(len(meeting.audio)) if i not in decision.dropped_audio]
    if not admitted:
        return heard
    from .audio.transcribe import transcribe_audio
    from .audio.transcriber import in_language

    transcriber = stages.backends.transcriber(run.policy.detection_languages)
    for i in admitted:
        rec = meeting.audio[i]
        lang = audio_language(run, i, transcriber)
        prompt = roster_prompt(run.policy, meeting.attendees, lang)
        doc = transcribe_audio(rec, in_language(transcriber, lang), prompt, _progress(stages, rec))
        heard.audio_docs[i] = len(heard.documents)
        heard.languages[len(heard.documents)] = lang
        heard.documents.append(doc)
        if rec.participant_id is not None:
            heard.attribution[Speaker(label=rec.participant_id)] = rec.participant_id
    return heard


def audio_language(run: Run, i: int, transcriber: Transcriber) -> str:
    """Recording ``i``'s language: the caller's override, else the transcriber's own
    detection (Whisper's; ``en`` for tiny.en). One outside the policy's
    ``detection.languages`` is refused before the recording is transcribed."""
    from ._errors import InputError
    from .audio.transcribe import recording_language

    allowed = run.policy.detection_languages
    lang = run.language or recording_language(run.meeting.audio[i].path, transcriber)
    if lang not in allowed:
        raise InputError(f"audio {i + 1}", f"in language {lang[:8]!r}, not in the policy's "
                         f"detection.languages ({', '.join(allowed)})")
    return lang


def _plan(documents: Sequence[Document], decision: ConsentDecision) -> list[tuple[UnitRef, TextUnit]]:
    from .redaction.text import plan_units

    return plan_units(documents, decision.dropped_items, decision.dropped_documents)


def document_languages(run: Run, documents: Sequence[Document], transcripts: Mapping[int, str],
                       per_item: bool = False, parallel: bool = False) -> list[str]:
    """Each document's language: the caller's override, else the language the transcriber
    heard for transcribed audio, else detected from the content. With ``per_item`` a text
    document's messages and cues are read one by one too (:func:`item_languages`). A document
    with nothing in one of the policy's ``detection.languages`` is refused, never guarded
    with another language's model. ``parallel``: the items are read on lingua's threads (a guard
    with detection workers)."""
    from ._errors import InputError
    from .detection import detect_document_language

    allowed = run.policy.detection_languages
    if run.language is not None and run.language not in allowed:
        raise InputError("language", f"{run.language[:8]!r} is not in the policy's detection.languages "
                         f"({', '.join(allowed)})")
    out: list[str] = []
    for i, doc in enumerate(documents):
        if run.language is not None:
            lang = run.language
        elif i in transcripts:
            lang = transcripts[i]   # the transcriber's own detection (tiny.en: English only)
        else:
            lang = detect_document_language([getattr(item, "text", "") for item in doc.items], allowed[0],
                                           allowed)
            if per_item:
                lang = item_languages(run, i, doc, lang, parallel)
        if lang not in allowed:
            raise InputError(f"document {i + 1}", f"in language {lang!r}, not in the policy's "
                             f"detection.languages ({', '.join(allowed)})")
        out.append(lang)
    return out


def item_languages(run: Run, d: int, doc: Document, detected: str, parallel: bool = False) -> str:
    """Document ``d``'s language for its short and unclear items (its own when the policy lists
    it, else the policy's first), and each item's own where lingua is sure of it: items in a
    language the policy lists are guarded in it, the others are excluded (``run.language_dropped``).
    Nothing in a listed language: the document's detected language (refused by the caller)."""
    from .detection import detect_item_languages

    allowed = run.policy.detection_languages
    meeting = detected if detected in allowed else allowed[0]
    found = detect_item_languages([getattr(item, "text", "") for item in doc.items], parallel)
    own: dict[int, str] = {k: lang for k, lang in enumerate(found) if lang is not None}
    if detected not in allowed and not any(lang in allowed for lang in own.values()):
        return detected   # nothing surely in a listed language: the whole document is refused
    for k, lang in own.items():
        if lang not in allowed:
            run.language_dropped[(d, k)] = lang
        elif lang != meeting:
            run.item_languages[(d, k)] = lang
    return meeting


def exclude_other_languages(run: Run, decision: ConsentDecision) -> tuple[ConsentDecision, list[str]]:
    """The decision with the items in a language the policy does not list excluded, as content
    of someone who does not consent is (partial), and one reason per language with its count."""
    if not run.language_dropped:
        return decision, []
    import dataclasses
    from collections import Counter

    allowed = ", ".join(run.policy.detection_languages)
    counts = Counter(run.language_dropped.values())
    reasons = tuple(f"{n} item(s) in language {lang!r} excluded: not in the policy's detection.languages "
                    f"({allowed})" for lang, n in sorted(counts.items()))
    return dataclasses.replace(decision, outcome="partial", reasons=decision.reasons + reasons,
                               dropped_items=decision.dropped_items | frozenset(run.language_dropped)), list(reasons)


def detect(stages: Stages, run: Run, units: Sequence[tuple[UnitRef, TextUnit]],
           attribution: Mapping[Speaker, str]) -> list[list[Finding]]:
    """Findings per unit, the policy's participants and the meeting's speakers as roster;
    each document's units by its language's detector."""
    run.roster = build_roster(run.policy, attribution)
    out: list[list[Finding]] = [[] for _ in units]
    def lang_of(ref: UnitRef) -> str:
        own = run.item_languages.get((ref.doc, ref.item))
        return own or (run.languages[ref.doc] if ref.doc < len(run.languages) else "en")

    langs = [lang_of(ref) for ref, _ in units]
    for lang in sorted(set(langs) or {"en"}):
        part = [k for k, unit_lang in enumerate(langs) if unit_lang == lang]
        if part:
            found = stages.backends.detector_for(lang).detect([units[k][1] for k in part], run.roster)
            for k, f in zip(part, found, strict=True):
                out[k] = f
    return out


def whole_values(units: Sequence[tuple[UnitRef, TextUnit]], findings: list[list[Finding]],
                 rules: RedactionRules, audio_docs: set[int]) -> list[list[Finding]]:
    """Each transcript's findings made whole (``audio/whole.py``): numbers heard in pieces
    across pauses and cues, and every piece of a value the rules redact found elsewhere."""
    from .audio.whole import complete_document
    from .redaction.text import rules_redact

    out = list(findings)
    for doc in audio_docs:
        part = [k for k, (ref, _) in enumerate(units) if ref.doc == doc]
        done = complete_document([units[k][1].text for k in part], [findings[k] for k in part],
                                 lambda f: rules_redact(rules, f))
        for k, f in zip(part, done, strict=True):
            out[k] = f
    return out


def redaction_rules(spec: Purpose, decision: ConsentDecision, operator: Operator,
                    attribution: Mapping[Speaker, str]) -> RedactionRules:
    """The one rules builder of both flows: the purpose's entities and speaker rule; the
    names of everyone not consenting go, present or only mentioned."""
    from .redaction.text import RedactionRules

    return RedactionRules(
        entities=spec.redact.entities,
        operator=operator,
        pseudonymize_speakers=spec.redact.speakers == "pseudonymize",
        excluded=frozenset(decision.excluded_participants) | decision.not_consenting,
        attribution=attribution,
    )


def release(stages: Stages, run: Run, spec: Purpose, outcome: RedactionOutcome,
            heard: Heard, rules: RedactionRules) -> dict[str, bytes]:
    """Text documents in their own formats, then each recording's transcripts and audio."""
    from .audio.fragments import plain_word
    from .redaction.bleeped import unsay_bleeped
    from .release import build_text_outputs, build_transcript_outputs

    audio_names = {heard.documents[d].name for d in heard.audio_docs.values()}
    text_docs = [d for d in outcome.documents if d.name not in audio_names]
    audio: dict[str, bytes] = {}
    redacted_by_name = {d.name: d for d in outcome.documents}
    for i, d in heard.audio_docs.items():
        rec, original = run.meeting.audio[i], heard.documents[d]
        transcript, wav = redacted_by_name[original.name], None
        bleeped: list[tuple[float, float]] = []
        spared: list[Spared] = []  # repairs of a value heard only in the release: plain words stay
        margins: list[Spared] = []   # the bleeps' pads: plain words stay (bleeped gets the findings' own spans)
        if spec.audio != "drop":   # first: what is bleeped in the sound goes from the transcript too
            wav = _release_audio(stages, run, spec, outcome, d, original, rec, rules, bleeped, spared, margins)
        elif rules.entities:       # no sound: what the main decode garbled after a value's cue (audio/unsure.py)
            from .audio.unsure import unsure_windows

            bleeped = unsure_windows([c for c in original.items if isinstance(c, Cue)],
                                     [outcome.cue_findings.get((d, k), []) for k, c in enumerate(original.items)
                                      if isinstance(c, Cue)])
        transcript = unsay_bleeped(transcript, bleeped, getattr(rules.operator, "form", None), spared + margins,
                                   plain_word)
        audio.update(build_transcript_outputs(rec.stem, transcript))
        if wav is not None:
            name = f"{rec.stem}.redacted.wav"
            audio[name], run.verified[name] = wav
    outputs = _merge_kinds(run, {}, [(doc.kind, build_text_outputs([doc])) for doc in text_docs])
    return _merge_kinds(run, outputs, [("audio" if n.endswith(".wav") else "transcript", {n: b})
                                       for n, b in audio.items()])


def _merge_kinds(run: Run, outputs: dict[str, bytes],
                 parts: list[tuple[str, dict[str, bytes]]]) -> dict[str, bytes]:
    """Merge output parts (renaming clashes) and remember each name's artefact kind."""
    from .release import merge_outputs

    for kind, part in parts:
        before = set(outputs)
        outputs = merge_outputs(outputs, part)
        run.kinds.update(dict.fromkeys(set(outputs) - before, kind))
    return outputs


def _release_audio(stages: Stages, run: Run, spec: Purpose, outcome: RedactionOutcome, d: int,
                   original: Document, rec: AudioInput, rules: RedactionRules,
                   bleeped: list[tuple[float, float]] | None = None,
                   spared: list[Spared] | None = None, margins: list[Spared] | None = None) -> tuple[bytes, bool]:
    """The redacted recording, and whether it was verified: heard again by the backend's
    independent decode, primed with the roster, with nothing the rules remove in it."""
    from .release import AudioCheck, build_redacted_audio

    verify = run.verify
    if verify is None:
        verify = spec.consent == "opt_in"
    silenced = run.silenced_words.get(rec.stem) if rec.turns is not None else None
    verify = verify or silenced is not None          # silenced speakers: always heard again
    check = second = None
    cues = [c for c in original.items if isinstance(c, Cue)]
    per_cue = [outcome.cue_findings.get((d, k), []) for k in range(len(original.items))]
    if verify:
        from .audio.second import hear_original
        from .audio.transcriber import in_language
        from .redaction.text import rules_redact

        lang = run.languages[d] if d < len(run.languages) else "en"   # heard in the same language again
        other = stages.backends.verify_transcriber(run.policy.detection_languages)
        # another checkpoint hears the original greedily; the same one (French, an injected
        # backend) with its other search
        own: DecodeVariant = "verify" if other is stages.backends.transcriber(run.policy.detection_languages) \
            else "main"
        from .audio.disputes import rehear_from, release_settler, settle_hearing, transcript_of

        ears, prompt = in_language(other, lang), verify_prompt(run.roster, lang)
        detect, redacts = (lambda texts: _detect_texts(stages, run, lang, texts)), (lambda f: rules_redact(rules, f))
        second = hear_original(rec, ears, prompt, detect, redacts, outcome.redacted_values, own)
        main = transcript_of(cues, [per_cue[k] for k, c in enumerate(original.items) if isinstance(c, Cue)])
        second = settle_hearing(second, main, rehear_from(rec.path, ears, own), detect, redacts,
                                outcome.redacted_values)   # names only base heard (audio/disputes.py)
        values = sorted(set(outcome.redacted_values) | second.values)
        check = AudioCheck(ears, values,
                           _silence_checked(lambda text: _heard_values(stages, run, rules, lang, text),
                                            silenced, cues, f"audio {run.meeting.audio.index(rec) + 1}"),
                           prompt, release_settler(main, ears, "verify", detect, redacts, values),
                           distrust=bool(rules.entities))
    names = frozenset(t.casefold() for m in (run.roster.members if run.roster is not None else ())
                      for n in m.names for t in re.findall(r"[^\W\d_]+", n))   # the roster's name words
    data = build_redacted_audio(rec, cues, per_cue, spec.audio, check, second,  # type: ignore[arg-type]
                                bleeped, distrust=bool(rules.entities), spared=spared, margins=margins, names=names)
    return data, bool(verify)


def _silence_checked(heard: Callable[[str], list[str]], words: frozenset[str] | None,
                     cues: Sequence[Cue], label: str) -> Callable[[str], list[str]]:
    """The verification's check, plus: none of the silenced speakers' distinctive words
    (those not in the released transcript) may be heard in the released recording."""
    if words is None:
        return heard
    from ._errors import VerificationError
    from .redaction.silence import distinctive_words, heard_silenced

    listen = distinctive_words(words, [c.text for c in cues])

    def check(text: str) -> list[str]:
        n = heard_silenced(text, listen)
        if n:
            raise VerificationError(f"{n} word(s) of a silenced speaker were heard in the released {label}",
                                    reason="silenced_speaker_heard")
        return heard(text)
    return check


def _detect_texts(stages: Stages, run: Run, lang: str, texts: list[str]) -> list[list[Finding]]:
    from .detection import TextUnit

    assert run.roster is not None, "the roster is built before audio is verified"
    return stages.backends.detector_for(lang).detect([TextUnit(t, True) for t in texts], run.roster)


def _heard_values(stages: Stages, run: Run, rules: RedactionRules, lang: str, text: str) -> list[str]:
    """The values in re-transcribed audio that the run's rules would have redacted
    (found by the transcript's language's detector, the run's roster)."""
    from .detection import TextUnit
    from .redaction.text import rules_redact

    assert run.roster is not None, "the roster is built before audio is verified"
    found = stages.backends.detector_for(lang).detect([TextUnit(text, True)], run.roster)[0]
    return [f.normalized or text[f.start:f.end] for f in found if rules_redact(rules, f)]


def _progress(stages: Stages, rec: AudioInput) -> Callable[[float, float], None] | None:
    if not stages.progress:
        return None
    from ._progress import ProgressBar

    return ProgressBar(f"transcribing {rec.stem}")


# -- the OpenAI pass-through -----------------------------------------------------------------

def text_meeting(texts: Sequence[str], attendees: Sequence[str], meeting_id: str | None) -> Meeting:
    """The pass-through's synthetic meeting: one chat document, one message per text."""
    items = tuple(ChatMessage(index=k, time="", sender=None, text=t) for k, t in enumerate(texts))
    doc = Document(name="messages", format="passthrough", kind="chat", items=items)
    return Meeting(documents=(doc,), attendees=tuple(attendees), meeting_id=meeting_id)


def run_texts(stages: Stages, run: Run) -> tuple[GuardResult, list[str]]:
    """Policy steps 1-3 and the named attendees' consent; then detect, redact and release
    as in the meeting flow, with pseudonyms stable across the texts."""
    texts = [item.text for doc in run.meeting.documents for item in doc.items]
    # Keyed: a short message (a card number) must not be confirmable by hashing guesses.
    run.input_sha256 = ["hmac-sha256:" + hmac.new(stages.digest_key, t.encode("utf-8", "surrogatepass"),
                                                  hashlib.sha256).hexdigest() for t in texts]
    decision = decide_texts(run)
    if decision.outcome == "deny" or decision.purpose is None:
        return result(run, "deny", decision.reasons), []
    spec = decision.purpose
    units = _plan(run.meeting.documents, decision)
    run.languages = document_languages(run, run.meeting.documents, {})
    findings = detect(stages, run, units, decision.attribution)
    from .redaction import PseudonymBook, make_operator
    from .redaction.text import redact_documents

    run.book = run.book or PseudonymBook(stages.backends.options.token_form)
    rules = redaction_rules(spec, decision, make_operator("pseudonymize", None, run.book.form),
                            decision.attribution)
    outcome = redact_documents(run.meeting.documents, frozenset(), frozenset(), frozenset(), units,
                               findings, rules, run.book, stages.backends.anonymizer())
    out = [item.text for doc in outcome.documents for item in doc.items]
    from .release import build_message_outputs

    return result(run, decision.outcome, decision.reasons, build_message_outputs(out),
                  outcome.entity_counts, spec.retention_days), out


LIVE_SILENT = 10 / 32768     # live audio no louder than this anywhere (-70 dBFS) is not heard


def live_audio(stages: Stages, run: Run, samples: object) -> tuple[ConsentDecision, list[tuple[float, float]]]:
    """One span of a live participant's audio: :func:`live_audio_many` of one."""
    return live_audio_many(stages, [run], [samples])[0]


def live_audio_many(stages: Stages, runs: Sequence[Run],
                    spans: Sequence[object]) -> list[tuple[ConsentDecision, list[tuple[float, float]]]]:
    """Spans of live participants' audio (16 kHz mono float32), each with its run (its
    speaker the one attendee, its purpose): each one's decision and, when released, the
    time windows (seconds from its start) that hold a value its purpose removes. The
    released spans are heard in one call of the embedded model (audio/packed.py, primed
    with the roster), the values found by the detector in each span's own words. A span
    no louder than :data:`LIVE_SILENT` anywhere is decided, not heard."""
    import numpy as np

    from .audio.packed import hear_packed
    from .audio.transcriber import in_language

    decisions = [decide_texts(run) for run in runs]
    out: list[tuple[ConsentDecision, list[tuple[float, float]]]] = [(d, []) for d in decisions]
    heard = [i for i, d in enumerate(decisions) if d.outcome != "deny" and d.purpose is not None
             and np.any(np.abs(np.asarray(spans[i])) >= LIVE_SILENT)]
    if not heard:
        return out
    first = runs[heard[0]]
    lang = first.policy.detection_languages[0] if first.policy.detection_languages else "en"
    transcriber = in_language(stages.backends.transcriber(first.policy.detection_languages), lang)
    attendees = sorted({a for i in heard for a in runs[i].meeting.attendees})
    cues = hear_packed(transcriber, [np.asarray(spans[i], dtype=np.float32) for i in heard],
                       prompt=roster_prompt(first.policy, attendees, lang))
    for i, span_cues in zip(heard, cues, strict=True):
        out[i] = (decisions[i], _live_windows(stages, runs[i], decisions[i], lang, span_cues,
                                              len(spans[i]) / 16000))  # type: ignore[arg-type]
    return out


def _live_windows(stages: Stages, run: Run, decision: ConsentDecision, lang: str, cues: Sequence[Cue],
                  duration: float) -> list[tuple[float, float]]:
    """Where the values ``run``'s purpose removes lie in one live span's cues."""
    from .detection import TextUnit
    from .redaction import make_operator
    from .redaction.audio import windows_for
    from .redaction.text import rules_redact

    assert decision.purpose is not None, "only a released span is heard"
    run.languages = [lang]
    run.roster = build_roster(run.policy, {})
    found = stages.backends.detector_for(lang).detect([TextUnit(c.text, True) for c in cues], run.roster)
    rules = redaction_rules(decision.purpose, decision, make_operator("pseudonymize", None), {})
    kept = [[f for f in fs if rules_redact(rules, f)] for fs in found]
    return windows_for(cues, kept, duration=duration)


def decide_texts(run: Run) -> ConsentDecision:
    from .policy import decide_passthrough

    decision = decide_passthrough(run.policy, run.purpose, run.recipient, run.at,
                                  run.meeting.attendees)
    run.excluded = decision.excluded_participants
    run.participants = decision.released_participants
    return decision


# -- the result and its audit record --------------------------------------------------------

def result(run: Run, decision: DecisionName, reasons: Sequence[str],
           outputs: Mapping[str, bytes] | None = None, counts: Mapping[str, int] | None = None,
           retention: int | None = None) -> GuardResult:
    if retention is None:
        spec = run.policy.purposes.get(run.purpose)
        retention = spec.retention_days if spec else None
    return GuardResult(
        decision=decision,
        reasons=tuple(reasons),
        outputs=dict(outputs or {}),
        audit_id="",
        purpose=run.purpose,
        recipient=run.recipient,
        meeting_id=run.meeting.meeting_id,
        policy_id=run.policy.policy_id,
        policy_sha256=run.policy.sha256,
        at=run.at.isoformat().replace("+00:00", "Z"),
        excluded_participants=tuple(run.excluded),
        entity_counts=dict(counts or {}),
        retention_days=retention,
        at_replayed=run.replayed,
        languages=tuple(sorted(set(run.languages))),
        silenced=None if run.silenced is None else tuple(s.to_json() for s in run.silenced),
    )


def audit_result(stages: Stages, run: Run, answer: GuardResult,
                 delivery: Delivery | None) -> GuardResult:
    from .audit import decision_record

    record = stages.audit.append(decision_record(answer, run.input_sha256, delivery,
                                                 participants=run.participants, kinds=run.kinds,
                                                 verified=run.verified, attendees=run.meeting.attendees))
    return dataclasses.replace(answer, audit_id=str(record["hash"]), delivery=delivery)


def audit_error(stages: Stages, run: Run, exc: BaseException) -> None:
    from .audit import decision_record

    code = exc.code if isinstance(exc, MeetguardError) else "internal"
    reason = f"{code}: {exc}" if isinstance(exc, MeetguardError) else f"internal: {type(exc).__name__}"
    stages.audit.append(decision_record(result(run, "error", (reason,)), run.input_sha256, None,
                                        participants=run.participants, attendees=run.meeting.attendees))


# -- helpers of the stages -------------------------------------------------------------------

def build_roster(policy: Policy, attribution: Mapping[Speaker, str]) -> Roster:
    from .detection import Roster, RosterMember

    names: dict[str, list[str]] = {p.id: list(p.names) for p in policy.participants}
    for sp, key in attribution.items():
        bucket = names.setdefault(key, [])
        for n in sp.all_names():
            if n and n not in bucket and n != key:
                bucket.append(n)
    return Roster(tuple(RosterMember(k, tuple(v)) for k, v in names.items() if v), policy.detection_regions)


# How a prompt of names begins, in the recording's language (an English lead biases a
# French decode towards English spellings and capitals).
_PROMPT_LEAD = {"en": "Meeting with ", "fr": "Réunion avec "}


def verify_prompt(roster: Roster | None, language: str = "en") -> str:
    """The verification decode's prompt: one full name of every roster member (the
    policy's participants and the meeting's named non-participants)."""
    names: list[str] = []
    for m in roster.members if roster is not None else ():
        plain = [n for n in m.names if _PLAIN_NAME.fullmatch(n)] or list(m.names)
        full = max(plain, key=lambda n: len(n.split()))
        if full not in names:
            names.append(full)
    return (_PROMPT_LEAD.get(language, "") + ", ".join(names) + "." if names else "")[:400]


def roster_prompt(policy: Policy, attendees: Sequence[str], language: str = "en") -> str:
    """Whisper's initial prompt: the people expected, so names are heard as names."""
    wanted = [p for p in policy.participants if not attendees or p.id in attendees]
    wanted += [p for p in policy.participants if p not in wanted]
    names: list[str] = []
    for p in wanted:
        full = max(p.names, key=lambda n: len(n.split())) if p.names else ""
        if full and full not in names:
            names.append(full)
    prompt = _PROMPT_LEAD.get(language, "") + ", ".join(names) + "." if names else ""
    return prompt[:400]
