"""The `meetguard` command: argument parsing and error mapping only.

Exit codes (contract.md §2): 0 released, 3 denied, 2 bad usage or input,
4 audit chain broken, 1 internal failure (fail closed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ._cli_consent import add_parsers, cmd_consent, cmd_report
from ._cli_help import finish
from ._cli_redact import add_parser as add_redact_parser
from ._cli_redact import cmd_redact
from ._cli_vault import add_guard_options, cmd_reidentify, cmd_vault, vault_from_args
from ._cli_vault import add_parsers as add_vault_parsers
from ._errors import MeetguardError, OutputExists, UsageError
from ._ids import check_id
from ._output_names import generic_names
from ._usage import check_purpose

if TYPE_CHECKING:
    from ._guard import Guard, GuardOptions, GuardResult
    from .audit import AuditSink
    from .policy.model import Policy

    GuardFactory = Callable[[str, GuardOptions], Guard]

EXIT_RELEASED = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DENIED = 3
EXIT_AUDIT_BROKEN = 4

log = logging.getLogger("meetguard.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: scripts read stderr.
        self.exit(EXIT_USAGE, f"meetguard: {message} (see --help)\n")


def _add_audit_parser(sub: Any) -> None:
    aud = sub.add_parser("audit", help="audit log tools")
    aud_sub = aud.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    ver = aud_sub.add_parser("verify", help="check the audit log's hash chain")
    ver.add_argument("file", nargs="+", help="the log; with --state-dsn-env, every replica's log")
    ver.add_argument("--state-dsn-env", metavar="NAME",
                     help="variable holding the postgres DSN of the shared state: check each "
                     "replica's chain against the head it anchored there (docs/deploy.md)")
    ver.add_argument("--head", metavar="SEQ:HASH", help="a head printed earlier by `audit head`: "
                     "truncation and rewriting at or before it are detected")
    ver.add_argument("--key-env", metavar="NAME", help="variable holding the HMAC key (audit.key_env)")
    hd = aud_sub.add_parser("head", help="print the log's head (SEQ:HASH) to keep elsewhere")
    hd.add_argument("file")
    hd.add_argument("--key-env", metavar="NAME", help="variable holding the HMAC key (audit.key_env)")


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="meetguard", description="Consent gate for meeting content on its way to AI services.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_guard_parser(sub)
    _add_batch_parser(sub)
    add_redact_parser(sub)

    pol = sub.add_parser("policy", help="policy tools")
    pol_sub = pol.add_subparsers(dest="policy_command", required=True, parser_class=_Parser)
    chk = pol_sub.add_parser("check", help="validate and summarise a policy")
    chk.add_argument("policy")
    chk.add_argument("--at", metavar="ISO8601")

    _add_audit_parser(sub)

    tr = sub.add_parser("transcribe", help="transcript only, no release")
    tr.add_argument("audio")
    tr.add_argument("--out", metavar="FILE", help=".json for meetguard JSON, else WebVTT (default: stdout)")
    tr.add_argument("--whisper-model", default=None)

    mod = sub.add_parser("models", help="model cache (set-up / build time only)")
    mod_sub = mod.add_subparsers(dest="models_command", required=True, parser_class=_Parser)
    fetch = mod_sub.add_parser("fetch", help="put a model in the local cache (needs internet)")
    fetch.add_argument("name")
    mod_sub.add_parser("prepare", help="convert the embedded default Whisper model into the cache")

    add_parsers(sub, _Parser)
    add_vault_parsers(sub)

    srv = sub.add_parser("serve", help="run the HTTP sidecar")
    srv.add_argument("--config", metavar="FILE")
    srv.add_argument("--host")
    srv.add_argument("--port", type=int)

    doc = sub.add_parser("doctor", help="show the ffmpeg, models and plugins in use; say what is missing")
    doc.add_argument("--config", metavar="FILE", help="check the models this sidecar config names")
    from . import __version__

    return finish(p, __version__)


def _add_guard_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    g = sub.add_parser("guard", help="decide, redact and release one meeting")
    g.add_argument("--policy", required=True)
    g.add_argument("--purpose", required=True)
    g.add_argument("--out", required=True, help="output directory (must be empty or absent unless --force)")
    g.add_argument("--chat", action="append", default=[], metavar="FILE")
    g.add_argument("--transcript", action="append", default=[], metavar="FILE")
    g.add_argument("--audio", metavar="FILE")
    g.add_argument("--video", metavar="FILE", help="a video recording (MP4): its picture guarded (docs/video.md), "
                   "its sound as --audio when --audio is not given")
    g.add_argument("--speakers", metavar="FILE", help="who spoke when in --audio: silence excluded speakers")
    g.add_argument("--speaker-fill", choices=["silence", "tone"], default="silence",
                   help="what replaces a silenced speaker (default: digital silence)")
    g.add_argument("--track", action="append", default=[], metavar="PARTICIPANT_ID=FILE")
    g.add_argument("--attendee", action="append", default=[], metavar="PARTICIPANT_ID")
    g.add_argument("--meeting-id")
    g.add_argument("--recipient")
    g.add_argument("--at", metavar="ISO8601", help="evaluate consent at this instant (with timezone)")
    g.add_argument("--audit", metavar="FILE")
    g.add_argument("--format", metavar="NAME", help="force an input format instead of detecting it")
    g.add_argument("--language", metavar="CODE", help="the documents' language (e.g. fr), not detected")
    g.add_argument("--verify", action=argparse.BooleanOptionalAction, default=None,
                   help="re-transcribe released audio and fail closed if a redacted value is heard")
    g.add_argument("--force", action="store_true", help="allow a non-empty --out (its content is replaced)")
    g.add_argument("--whisper-model", default=None, help="Whisper model: tiny.en or base (embedded), a path, or a cached name; default: by the policy's detection.languages")
    g.add_argument("--report", action="store_true",
                   help="also write report.html (the review report) beside the outputs")
    _add_token_form(g)
    add_guard_options(g)


def _add_token_form(p: argparse.ArgumentParser) -> None:
    p.add_argument("--token-form", choices=("square", "angle"), default="square",
                   help="how pseudonyms are written: square [PERSON_1] (default; no escaping in "
                        "WebVTT, SRT, JSON or HTML) or angle <PERSON_1>")


def _add_batch_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    b = sub.add_parser("batch", help="guard a whole archive of meetings (docs/batch.md)")
    b.add_argument("archive", metavar="ARCHIVE", help="a folder of meeting folders, or a .jsonl manifest")
    b.add_argument("--policy", required=True)
    b.add_argument("--purpose", required=True)
    b.add_argument("--recipient")
    b.add_argument("--out", required=True, metavar="DIR", help="one folder per meeting, plus batch-summary.json")
    b.add_argument("--audit", metavar="FILE")
    b.add_argument("--workers", type=int, metavar="N", help="worker processes or actors (default: CPU count)")
    b.add_argument("--engine", choices=("local", "ray"), default="local")
    b.add_argument("--ray-address", metavar="ADDR", help="join this Ray cluster (default: start a local one)")
    b.add_argument("--verify", action=argparse.BooleanOptionalAction, default=None,
                   help="re-transcribe released audio and fail closed if a redacted value is heard")
    b.add_argument("--force", action="store_true", help="guard again meetings already decided")
    b.add_argument("--replay", action="store_true",
                   help="decide a meeting whose meeting.yaml or manifest line has `at:` at that time "
                        "(without it such a meeting is refused; replayed ones are marked)")
    b.add_argument("--whisper-model", default=None)
    _add_token_form(b)


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch_run import BatchCommand, run_batch

    return run_batch(BatchCommand(
        archive=args.archive, policy=args.policy, purpose=args.purpose, out=args.out,
        recipient=args.recipient, audit=args.audit, workers=args.workers, engine=args.engine,
        ray_address=args.ray_address, verify=args.verify, force=args.force,
        whisper_model=args.whisper_model, progress=sys.stderr.isatty(),
        token_form=args.token_form, replay=args.replay))


def _parse_at(value: str | None) -> datetime | None:
    from ._time import parse_at

    return parse_at(value)


def _parse_tracks(values: Sequence[str]) -> dict[str, str]:
    tracks: dict[str, str] = {}
    for v in values:
        pid, sep, path = v.partition("=")
        if not sep or not pid or not path:
            raise UsageError(f"--track wants PARTICIPANT_ID=FILE, got {v!r}")
        if pid in tracks:
            raise UsageError(f"--track: participant {pid!r} given twice")
        tracks[pid] = path
    return tracks


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExists(f"{out}: --out exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExists(f"{out}: --out is not empty (use --force to replace its content)")


def _write_out(out: Path, files: Mapping[str, bytes]) -> None:
    """Write every file into a fresh sibling folder, then move it into place,
    so a failed run never leaves a partial output."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, data in files.items():
            target = (staging / name).resolve()
            if staging.resolve() not in target.parents:
                raise MeetguardError("refusing to write an output outside --out")
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(staging, 0o755)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, old / "x")
        os.rename(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _audit_output_failure(audit: AuditSink, result: GuardResult, exc: BaseException) -> None:
    """The decision is audited before the outputs are written; when writing them fails,
    a second record says that nothing reached --out (best effort: the original error
    is what the caller sees)."""
    from .audit import output_failure_record

    record = output_failure_record(result, type(exc).__name__)
    try:
        audit.append(record)
    except MeetguardError:
        log.debug("could not audit the failed output write")


def _cmd_guard(args: argparse.Namespace, guard_factory: GuardFactory | None = None) -> int:
    out = Path(args.out)
    if not (args.chat or args.transcript or args.audio or args.track or args.video):
        raise UsageError("no inputs: give at least one --chat, --transcript, --audio, --video or --track FILE")
    if args.meeting_id is not None:
        check_id("--meeting-id", args.meeting_id)      # an identifier, never free text (#25)
    _check_out(out, args.force)
    if args.report and any(Path(f).name == "report.html" for f in [*args.chat, *args.transcript]):
        raise UsageError("--report: an input is named report.html; rename it or leave out --report")
    if not Path(args.policy).is_file():
        raise UsageError(f"{args.policy}: cannot read the policy file: no such file (check --policy)")
    from ._guard import Guard, GuardOptions  # the pipeline: after the cheap checks
    from .formats import Meeting

    at = _parse_at(args.at)
    tracks = _parse_tracks(args.track)
    options = GuardOptions(audit_path=args.audit, progress=sys.stderr.isatty(),
                           whisper_model=args.whisper_model, vault=vault_from_args(args),
                           token_form=args.token_form, speaker_fill=args.speaker_fill)
    guard = (guard_factory or Guard.from_policy)(args.policy, options)
    try:
        check_purpose(guard.policy, args.purpose, args.policy)
        meeting = Meeting.from_files(chat=args.chat, transcript=args.transcript, audio=_audio_of(args, guard.policy),
                                     tracks=tracks, attendees=args.attendee,
                                     meeting_id=args.meeting_id, format=args.format,
                                     speakers=args.speakers)
        meeting = generic_names(meeting)      # outputs never carry an input's file name (#25)
        if options.progress:                  # on a terminal: say something before the models load
            print(f"meetguard: inputs read ({len(meeting.documents)} document(s), {len(meeting.audio)} "
                  "recording(s)); loading the models and guarding ...", file=sys.stderr)
        result = guard.process_sync(meeting, args.purpose, args.recipient, at, verify=args.verify,
                                    language=args.language)
        if args.video:
            result = _guard_video(args.video, guard, result, args.attendee)
    finally:
        guard.close()
    files: dict[str, bytes] = {}
    if result.decision != "deny":
        files.update(result.outputs)
    decision = json.dumps(result.decision_json(), indent=2, ensure_ascii=False) + "\n"
    files["decision.json"] = decision.encode("utf-8")
    if args.report:
        from .report import from_result, render

        report = from_result(result.decision_json(), result.outputs, guard.audit_path, args.policy)
        files["report.html"] = render(report).encode("utf-8")
    try:
        _write_out(out, files)
    except BaseException as exc:
        _audit_output_failure(guard.audit, result, exc)
        raise
    replayed = f"; consent replayed at {result.at}, not now" if result.at_replayed else ""
    print(f"{result.decision}: {len(result.outputs)} output(s) in {out} "
          f"(audit record {result.audit_id[:16]} in {guard.audit_path}{replayed})", file=sys.stderr)
    from .policy.decide import MIXED_AUDIO_WITHHELD

    for reason in result.reasons:
        if reason.startswith(MIXED_AUDIO_WITHHELD):
            print(f"meetguard: {reason}", file=sys.stderr)
    return EXIT_DENIED if result.decision == "deny" else EXIT_RELEASED


def _audio_of(args: argparse.Namespace, policy: Policy) -> str | None:
    """--audio, else the video's own sound track as the mixed recording, when it has one (the
    video is refused over the policy's limits.max_video_* first, before anything decodes)."""
    from .video.decode import check_video_file

    if args.audio or not args.video:
        return str(args.audio) if args.audio else None
    return str(args.video) if check_video_file(Path(args.video), policy.audio_limits).has_audio else None


def _guard_video(video: str, guard: Guard, result: GuardResult, attendees: list[str]) -> GuardResult:
    """The video stage after the decision; its own audit record follows the decision's."""
    from ._progress import ProgressBar
    from .video.release import apply_video

    out = apply_video(Path(video), result, guard.policy, guard.backends.detector(), guard.audit,
                      attendees, ProgressBar("video") if sys.stderr.isatty() else None)
    for reason in out.reasons:
        if reason.startswith("video withheld"):
            print(f"meetguard: {reason}", file=sys.stderr)
    return out


def _cmd_policy_check(args: argparse.Namespace) -> int:
    from .backends import plugin_entity_types
    from .policy import load_policy, summarize

    policy = load_policy(args.policy, extra_entities=plugin_entity_types())
    at = _parse_at(args.at) or datetime.now(UTC)
    print(summarize(policy, at))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from ._audit_chain import head, key_from_env, parse_head, verify

    key = key_from_env(args.key_env)
    if args.audit_command == "head":
        seq, digest = head(args.file, key=key)
        print(f"{seq}:{digest}")
        return 0
    if args.state_dsn_env:
        return _verify_replicas(args, key)
    if len(args.file) != 1:
        raise UsageError("audit verify: one log, or every replica's logs with --state-dsn-env")
    [path] = args.file
    result = verify(path, key=key, head=parse_head(args.head) if args.head else None)
    if result.macs_unchecked:        # fail closed: a keyed log is not "ok" without its key
        print(f"meetguard: {path}: {result.message}", file=sys.stderr)
        return EXIT_USAGE
    print(result.message)
    return 0 if result.ok else EXIT_AUDIT_BROKEN


def _verify_replicas(args: argparse.Namespace, key: bytes | None) -> int:
    from .state.audit_heads import fetch_heads, verify_replicas

    if args.head:
        raise UsageError("audit verify: --head and --state-dsn-env exclude each other")
    check = verify_replicas(args.file, fetch_heads(args.state_dsn_env), key)
    print("\n".join(check.lines))
    return 0 if check.ok else EXIT_AUDIT_BROKEN


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from ._model import AudioInput
    from .audio.decode import check_readable
    from .audio.transcribe import transcribe_audio
    from .audio.transcriber import get_transcriber
    from .release import build_transcript_outputs

    path = Path(args.audio)
    check_readable(path)
    transcriber = get_transcriber("openai-whisper", args.whisper_model or "tiny.en", transcript=True)
    try:
        from ._progress import ProgressBar

        bar = ProgressBar(f"transcribing {path.name}") if sys.stderr.isatty() else None
        doc = transcribe_audio(AudioInput(path, None, path.stem), transcriber, None, bar)
    finally:
        transcriber.close()
    files = build_transcript_outputs(path.stem, doc)
    want = "json" if args.out and args.out.endswith(".json") else "vtt"
    data = files[f"{path.stem}.transcript.{want}"]
    if args.out:
        Path(args.out).write_bytes(data)
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from .audio import models

    if args.models_command == "prepare":
        for path in models.prepare():
            print(f"embedded Whisper model ready: {path}")
    else:
        path = models.fetch(args.name)
        print(f"model {args.name} cached: {path}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .sidecar import serve

    serve(args.config, host=args.host, port=args.port)
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from . import doctor

    return doctor.run(args.config)


def _ffmpeg_on_path() -> None:
    """The bundled ffmpeg first on PATH, for libraries that run ``ffmpeg`` by name.

    Where there is none, audio inputs fail on their own with one clear line.
    """
    from .audio.decode import ensure_ffmpeg_on_path

    with contextlib.suppress(MeetguardError):
        ensure_ffmpeg_on_path()


def main(argv: Sequence[str] | None = None, *, guard_factory: GuardFactory | None = None) -> int:
    """Run the command line. ``guard_factory(policy_path, options)`` builds the Guard of
    ``meetguard guard`` (default ``Guard.from_policy``): tests inject fakes through it."""
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "guard": lambda a: _cmd_guard(a, guard_factory),
        "batch": _cmd_batch,
        "redact": cmd_redact,
        "transcribe": _cmd_transcribe,
        "models": _cmd_models,
        "serve": _cmd_serve,
        "consent": cmd_consent,
        "report": cmd_report,
        "doctor": _cmd_doctor,
        "reidentify": cmd_reidentify,
        "vault": cmd_vault,
    }
    try:
        if args.command in ("guard", "batch", "transcribe", "serve"):
            _ffmpeg_on_path()
        if args.command == "policy":
            return _cmd_policy_check(args)
        if args.command == "audit":
            return _cmd_audit(args)
        return handlers[args.command](args)
    except MeetguardError as exc:
        print(f"meetguard: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("meetguard: interrupted; nothing was released", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 -- fail closed, one line, no traceback, no content
        log.debug("internal failure: %s", type(exc).__name__)
        print(f"meetguard: internal error ({type(exc).__name__}); nothing was released", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
