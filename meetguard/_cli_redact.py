"""``meetguard redact``: plain text through the policy, for shell pipelines.

    echo "Mail alice@example.com" | meetguard redact --policy p.yaml --purpose summarization
    meetguard redact --policy p.yaml --purpose summarization notes.txt minutes.txt --out redacted/

Each input (stdin, or each FILE) is one text; pseudonyms are shared across them. The
redacted text goes to stdout (files one after another) or, with ``--out DIR``, into
DIR under each file's name; one line on stderr gives the decision, the entity counts
and where the audit record went. Decided and audited like any guard (exit 3: denied).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ._errors import InputError, UsageError

__all__ = ["add_parser", "cmd_redact"]


def add_parser(sub: Any) -> None:
    r = sub.add_parser("redact", help="redact plain text (stdin or files) under the policy, for pipelines")
    r.add_argument("files", nargs="*", metavar="FILE", help="text files (UTF-8); none or - : read stdin")
    r.add_argument("--policy", required=True, help="the consent policy file (YAML; docs/policy.md)")
    r.add_argument("--purpose", required=True, help="what the text is for: one of the policy's purposes")
    r.add_argument("--recipient", help="who receives the text: one of the purpose's recipients")
    r.add_argument("--attendee", action="append", default=[], metavar="PARTICIPANT_ID",
                   help="a participant present (the policy's id); repeat. None: unknown speakers")
    r.add_argument("--language", metavar="CODE", help="the texts' language (e.g. fr), not detected")
    r.add_argument("--meeting-id", help="the meeting's id, written into the audit record")
    r.add_argument("--audit", metavar="FILE",
                   help="the audit log (default: the policy's audit.path, else ./meetguard-audit.jsonl)")
    r.add_argument("--out", metavar="DIR", help="write each FILE's redacted text into DIR (default: stdout)")
    r.add_argument("--token-form", choices=("square", "angle"), default="square",
                   help="pseudonyms as [PERSON_1] (default) or <PERSON_1>")


def _read(files: list[str]) -> list[tuple[str, str]]:
    if not files or files == ["-"]:
        return [("-", sys.stdin.read())]
    out: list[tuple[str, str]] = []
    for name in files:
        try:
            out.append((name, Path(name).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InputError(name, "no such file") from None
        except UnicodeDecodeError:
            raise InputError(name, "not UTF-8 text") from None
        except OSError as exc:
            raise InputError(name, f"cannot read it ({exc.strerror})") from None
    return out


def cmd_redact(args: argparse.Namespace) -> int:
    from ._guard import Guard, GuardOptions
    from ._ids import check_id
    from ._usage import check_purpose

    if args.meeting_id is not None:
        check_id("--meeting-id", args.meeting_id)
    if args.out and (not args.files or args.files == ["-"]):
        raise UsageError("--out writes one file per FILE: give files, or leave out --out to use stdout")
    guard = Guard.from_policy(args.policy, GuardOptions(audit_path=args.audit, token_form=args.token_form))
    try:
        check_purpose(guard.policy, args.purpose, args.policy)
        inputs = _read(args.files)
        result, redacted = asyncio.run(guard.redact_texts(
            [text for _, text in inputs], args.purpose, args.recipient, args.attendee, None,
            args.meeting_id, language=args.language))
    finally:
        guard.close()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.entity_counts.items())) or "nothing found"
    print(f"{result.decision}: {counts} (audit record {result.audit_id[:16]} in {guard.audit_path})",
          file=sys.stderr)
    if result.decision == "deny":
        for reason in result.reasons:
            print(f"meetguard: {reason}", file=sys.stderr)
        return 3
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for (name, _), text in zip(inputs, redacted, strict=True):
            (out / Path(name).name).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write("".join(redacted))
    return 0
