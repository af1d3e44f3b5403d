"""The Guard: the façade over the pipeline (meetguard.pipeline holds the stages).

``Guard.from_policy(path, options)`` builds the default backends lazily;
``Guard(policy, detector=..., transcriber=..., audit=..., anonymizer=...)``
takes them injected (fakes in :mod:`meetguard.testing`). The Guard resolves
the request (evaluation time, recipient), runs the stages off the event loop,
forwards released content when asked, and has every run audited.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import pipeline
from ._errors import AuditError, MeetguardError, StateUnavailable, UsageError
from ._ids import check_id
from ._model import Meeting
from ._result import Deliver, Delivery, GuardResult
from ._time import require_aware
from .backends import (
    Anonymizer,
    Backends,
    DetectorBackend,
    GuardOptions,
    hash_key,
    plugin_entity_types,
)

if TYPE_CHECKING:
    from .audio.backend import Transcriber
    from .audit import AuditSink
    from .batch import BatchOutcome, BeforeAudit, GuardFactory, Item, Runner
    from .policy import Policy
    from .redaction import PseudonymBook
    from .state import ConsentSource

__all__ = ["Delivery", "Guard", "GuardOptions", "GuardResult"]

_T = TypeVar("_T")


class _FixedPolicy:
    """A policy given as an object: in force as is, never reloaded."""

    def __init__(self, policy: Policy) -> None:
        self.current = policy
        self.rejected: str | None = None

    def maybe_reload(self) -> bool:
        return False


class Guard:
    """Loads a policy (reloaded when the file changes) and guards meetings.

    ``policy`` is a policy file (watched) or a :class:`~meetguard.policy.Policy`.
    Backends not given are built from ``options`` on first use, once (or
    eagerly with :meth:`warm`). An invalid policy file raises ``PolicyError``.
    """

    def __init__(self, policy: str | Path | Policy, options: GuardOptions | None = None, *,
                 detector: DetectorBackend | None = None, transcriber: Transcriber | None = None,
                 audit: AuditSink | None = None, anonymizer: Anonymizer | None = None,
                 consent: ConsentSource | None = None) -> None:
        from .policy import PolicyWatcher

        self.options = options or GuardOptions()
        # consent events recorded at run time (the postgres state), read before each decision
        self.consent: ConsentSource | None = consent
        self.policy_source = policy          # what process_many's workers build their Guard from
        if isinstance(policy, (str, Path)):
            self._watcher: PolicyWatcher | _FixedPolicy = PolicyWatcher(
                str(policy), extra_entities=plugin_entity_types())
        else:
            self._watcher = _FixedPolicy(policy)
        self.audit_path = Path(self.options.audit_path or self._watcher.current.audit_path
                               or "meetguard-audit.jsonl")
        from ._audit_chain import key_from_env

        audit_key = key_from_env(self._watcher.current.audit_key_env)
        if audit is None:
            from .audit import AuditLog

            audit = AuditLog(self.audit_path, key=audit_key, replica=self.options.audit_replica)
        self.audit: AuditSink = audit
        self.backends = Backends(self.options, detector=detector, transcriber=transcriber,
                                 anonymizer=anonymizer)
        # Pass-through message digests: under the audit key (its holders can check them), else
        # under a key that lives only as long as this Guard (nobody can check a guess).
        self._stages = pipeline.Stages(self.backends, audit, hash_key(self.options),
                                       self.options.progress, audit_key or secrets.token_bytes(32))

    @classmethod
    def from_policy(cls, policy_path: str | Path, options: GuardOptions | None = None) -> Guard:
        """A Guard with the default backends (Whisper, spaCy + Presidio, the audit file)."""
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
        self.backends.detector().warm()
        for language in self.policy.detection_languages:   # e.g. fr: its own spaCy model
            self.backends.detector_for(language).warm()
        self.backends.anonymizer()
        from .formats import available_formats

        # lingua's models are not loaded here: all seven languages' n-gram models take ~255 MB,
        # which a sidecar refusing a decompression bomb must stay within 500 MB without
        # (tests/test_audio_bomb.py); they load on the first document whose language is not given.
        available_formats()   # the parser plugins, found once per process (entry points scanned)
        if audio:
            self.backends.transcriber(self.policy.detection_languages)

    @property
    def ready(self) -> bool:
        return self.backends.warmed

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def close(self) -> None:
        self.backends.close()

    # -- guarding ---------------------------------------------------------
    def _run(self, meeting: Meeting, purpose: str, recipient: str | None, at: datetime | None,
             verify: bool | None, language: str | None = None,
             policy: Policy | None = None) -> pipeline.Run:
        when = _aware(at)
        policy = policy or self.policy
        _check_request_ids(policy, purpose, recipient)
        return pipeline.Run(policy, meeting, purpose, policy.recipient_for(purpose, recipient),
                            when, verify, replayed=at is not None, language=language)

    async def _policy_now(self, meeting: Meeting, purpose: str, recipient: str | None,
                          at: datetime | None, *, audit_failure: bool = True) -> Policy | None:
        """The policy file's baseline with the consent events recorded at run time (None:
        no shared state). When they cannot be read, the refusal is audited and raised
        (StateUnavailable, HTTP 503): nothing is decided on a baseline that may be stale."""
        if self.consent is None:
            return None
        from .state import with_events

        base = self.policy
        try:
            events = await self.consent.consent_events(base.policy_id)
            learnt_by = datetime.now(UTC)
        except Exception as exc:  # noqa: BLE001 -- fail closed: refused and audited
            err = exc if isinstance(exc, MeetguardError) else StateUnavailable(
                f"state: consent events could not be read ({type(exc).__name__}); nothing was released")
            if audit_failure:        # a live item is counted in its session's record instead
                run = self._run(meeting, purpose, recipient, at, False, policy=base)
                await _off_loop(_try, pipeline.audit_error, self._stages, run, err)
            raise err from None
        return with_events(base, events, learnt_by)

    async def process(
        self,
        meeting: Meeting,
        purpose: str,
        recipient: str | None = None,
        at: datetime | None = None,
        *,
        verify: bool | None = None,
        deliver: Deliver | None = None,
        language: str | None = None,
        vault_owner: str | None = None,
    ) -> GuardResult:
        """Decide, redact and release. Heavy work runs off the event loop.

        ``deliver``, when given, is awaited with the released result (never on
        deny or error) before the audit record is written, so the record says
        whether the content was delivered. ``language`` (ISO 639-1) is the documents'
        language instead of detecting it; one outside the policy's ``detection.languages``
        is refused (``InputError``). ``vault_owner``: the token family the sidecar stores
        a re-identifiable meeting's map for (only that family may restore it).
        """
        policy = await self._policy_now(meeting, purpose, recipient, at)
        run = self._run(meeting, purpose, recipient, at, verify, language, policy)
        result = await self._audited(run, pipeline.run_meeting, self._stages, run)
        delivery: Delivery | None = None
        if deliver is not None and result.decision in ("release", "partial"):
            await self._preflight(run)
            try:
                delivery = await deliver(result)
            except Exception as exc:  # noqa: BLE001 -- any failure of the hook means not delivered
                delivery = Delivery(False, None, type(exc).__name__)
        final = await _off_loop(pipeline.audit_result, self._stages, run, result, delivery)
        return await _off_loop(self._to_vault, run, final, vault_owner)

    def _to_vault(self, run: pipeline.Run, result: GuardResult,
                  owner: str | None = None) -> GuardResult:
        """A released meeting of a re-identifiable purpose: its pseudonym map into the vault,
        under the meeting id, else the audit id (docs/vault.md)."""
        spec = run.policy.purposes.get(run.purpose)
        vault = self.options.vault
        if (vault is None or spec is None or not spec.reidentify or run.book is None
                or result.decision not in ("release", "partial")):
            return result
        stored = vault.store(result.meeting_id or result.audit_id, run.purpose, run.book.tokens,
                             spec.retention_days, owner=owner)
        return dataclasses.replace(result, vault=stored)

    async def _preflight(self, run: pipeline.Run) -> None:
        """Forwarding cannot be undone: refuse it while the audit log cannot take a record."""
        try:
            await _off_loop(self.audit.preflight)
        except MeetguardError:
            await _off_loop(_try, pipeline.audit_error, self._stages, run,
                            AuditError("audit log not writable; nothing was forwarded"))
            raise

    def process_sync(self, meeting: Meeting, purpose: str, recipient: str | None = None,
                     at: datetime | None = None, *, verify: bool | None = None,
                     language: str | None = None) -> GuardResult:
        return asyncio.run(self.process(meeting, purpose, recipient, at, verify=verify, language=language))

    def process_many(
        self,
        meetings: Iterable[Item],
        purpose: str,
        recipient: str | None = None,
        at: datetime | None = None,
        *,
        verify: bool | None = None,
        engine: Runner | None = None,
        before_audit: BeforeAudit | None = None,
        worker_guard: GuardFactory | None = None,
    ) -> AsyncIterator[BatchOutcome]:
        """Guard many meetings (``Meeting`` or ``meetguard.batch.MeetingSpec``): an async
        iterator of outcomes in completion order. ``engine``: ``meetguard.batch.LocalEngine(n)``,
        ``meetguard.batch_ray.RayEngine(n, address)``, default one worker thread. Each worker
        builds its own Guard (``worker_guard(audit=sink)``; default: this policy and options,
        default backends); this Guard alone writes the audit chain. See docs/batch.md."""
        from .batch import JobSettings, process_many

        recipient = self.policy.recipient_for(purpose, recipient)
        factory = worker_guard or functools.partial(
            type(self), self.policy_source, dataclasses.replace(self.options, progress=False))
        settings = JobSettings(purpose, recipient, None if at is None else _aware(at), verify)
        return process_many(self.audit, factory, meetings, settings, engine, before_audit)

    async def redact_texts(
        self,
        texts: Sequence[str],
        purpose: str,
        recipient: str | None,
        attendees: Sequence[str],
        at: datetime | None = None,
        meeting_id: str | None = None,
        *,
        book: PseudonymBook | None = None,
        language: str | None = None,
    ) -> tuple[GuardResult, list[str]]:
        """The OpenAI pass-through: policy steps 1-3 plus the consent of the
        named attendees (unknown speakers without attendees); each text is
        redacted with pseudonyms stable across the list, detecting with the
        policy roster too, and the names of everyone not consenting removed.
        On deny the list is empty. Audited like any decision. ``book``: the meeting's
        pseudonyms, kept across calls (the sidecar keeps one per X-Meetguard-Meeting).
        ``language``: the texts' language (e.g. ``fr``), not detected."""
        meeting = pipeline.text_meeting(texts, attendees, meeting_id)
        policy = await self._policy_now(meeting, purpose, recipient, at)
        run = self._run(meeting, purpose, recipient, at, False, language=language, policy=policy)
        run.book = book
        result, out = await self._audited(run, pipeline.run_texts, self._stages, run)
        final = await _off_loop(pipeline.audit_result, self._stages, run, result, None)
        return final, out

    async def redact_live(self, texts: Sequence[str], purpose: str, recipient: str | None,
                          attendees: Sequence[str], at: datetime, *,
                          book: PseudonymBook) -> tuple[GuardResult, list[str]]:
        """One item of a live meeting: as :meth:`redact_texts` (the attendees are the
        item's speaker), decided at ``at`` on the policy in force now, without an audit
        record of its own: a live session writes one record when it ends (docs/live.md)."""
        meeting = pipeline.text_meeting(texts, attendees, None)
        # the consent events recorded at run time too (shared state): a withdrawal through
        # another replica holds for the next live item; unreadable, the item is refused
        policy = await self._policy_now(meeting, purpose, recipient, at, audit_failure=False)
        run = self._run(meeting, purpose, recipient, at, False, policy=policy)
        run.book = book
        return await _off_loop(pipeline.run_texts, self._stages, run)

    async def policy_in_force(self) -> Policy:
        """The policy every decision reads now: the file's baseline with the consent events
        recorded at run time (shared state). A live meeting's participant list reads it too.
        Raises StateUnavailable when the events cannot be read."""
        meeting = pipeline.text_meeting([], [], None)
        return await self._policy_now(meeting, "", None, None, audit_failure=False) or self.policy

    async def live_audio(self, samples: Any, purpose: str, recipient: str | None,
                         attendees: Sequence[str], at: datetime) -> tuple[bool, list[tuple[float, float]]]:
        """One span of a live participant's audio (16 kHz mono float32): (released, the
        windows to bleep, in seconds from the span's start). No audit record of its own
        (docs/live.md)."""
        return (await self.live_audio_many([(samples, purpose, recipient, attendees)], at))[0]

    async def live_audio_many(self, spans: Sequence[tuple[Any, str, str | None, Sequence[str]]],
                              at: datetime) -> list[tuple[bool, list[tuple[float, float]]]]:
        """Spans of live audio, each ``(samples, purpose, recipient, attendees)``, decided
        each on its own and heard in one model call (pipeline.live_audio_many): per span
        (released, the windows to bleep)."""
        policy = await self._policy_now(pipeline.text_meeting([], [], None), "", None, at, audit_failure=False)
        runs = [self._run(pipeline.text_meeting([], attendees, None), purpose, recipient, at, False, policy=policy)
                for _, purpose, recipient, attendees in spans]
        found = await _off_loop(pipeline.live_audio_many, self._stages, runs, [s for s, *_ in spans])
        return [(decision.outcome in ("release", "partial"), windows) for decision, windows in found]

    async def _audited(self, run: pipeline.Run, stage: Callable[..., _T], *args: Any) -> _T:
        """Run the stages off the event loop; a failure is audited as `error` (usage
        errors excepted: nothing was decided) and surfaces as a MeetguardError."""
        try:
            return await _off_loop(stage, *args)
        except UsageError:
            raise
        except Exception as exc:
            await _off_loop(pipeline.audit_error, self._stages, run, exc)
            if isinstance(exc, MeetguardError):
                raise
            raise MeetguardError(f"internal error ({type(exc).__name__}); nothing was released") from exc


def _check_request_ids(policy: Policy, purpose: str, recipient: str | None) -> None:
    """A purpose or recipient the policy does not name is the caller's text: it reaches the
    audit record of the refusal only when it is an identifier (meetguard/_ids.py, #25)."""
    spec = policy.purposes.get(purpose)
    if spec is None:
        check_id("purpose", purpose)
    if recipient is not None and (spec is None or recipient not in spec.recipients):
        check_id("recipient", recipient)


async def _off_loop(fn: Callable[..., _T], *args: Any) -> _T:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _try(fn: Callable[..., None], *args: Any) -> None:
    """Best effort (an audit record while the log is failing)."""
    try:
        fn(*args)
    except MeetguardError:
        pass


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return require_aware(at, "--at")
