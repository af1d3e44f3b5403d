"""The vault's commands: ``meetguard reidentify`` and ``meetguard vault purge`` (docs/vault.md),
and the guard's ``--vault`` options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .vault import DEFAULT_KEY_ENV, Vault, master_key_from_env

__all__ = ["add_guard_options", "add_parsers", "cmd_reidentify", "cmd_vault", "vault_from_args"]


def add_guard_options(g: argparse.ArgumentParser) -> None:
    g.add_argument("--vault", metavar="DIR",
                   help="store the pseudonym map of a purpose with reidentify: true (docs/vault.md)")
    g.add_argument("--vault-key-env", metavar="NAME", default=DEFAULT_KEY_ENV,
                   help=f"variable holding the base64 of the 32-byte master key (default {DEFAULT_KEY_ENV})")


def add_parsers(sub: Any) -> None:
    r = sub.add_parser("reidentify", help="restore the pseudonyms of a meeting in a text (an AI summary)")
    r.add_argument("--vault", metavar="DIR", required=True)
    r.add_argument("--vault-key-env", metavar="NAME", default=DEFAULT_KEY_ENV)
    r.add_argument("--meeting", metavar="ID", required=True, help="the meeting id (or the guard's audit id)")
    r.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    r.add_argument("--audit", metavar="FILE", default="meetguard-audit.jsonl",
                   help="audit log the call is recorded in (default ./meetguard-audit.jsonl)")
    r.add_argument("--audit-key-env", metavar="NAME", help="the audit log's HMAC key variable (audit.key_env)")
    r.add_argument("file", metavar="FILE|-")
    v = sub.add_parser("vault", help="re-identification vault tools")
    v_sub = v.add_subparsers(dest="vault_command", required=True)
    p = v_sub.add_parser("purge", help="erase every meeting whose retention_days have run out")
    p.add_argument("--vault", metavar="DIR", required=True)


def vault_from_args(args: argparse.Namespace) -> Vault | None:
    if not getattr(args, "vault", None):
        return None
    return Vault(Path(args.vault), master_key_from_env(args.vault_key_env))


def cmd_reidentify(args: argparse.Namespace) -> int:
    from ._audit_chain import key_from_env
    from ._errors import InputError
    from .audit import AuditLog
    from .reidentify import reidentify_meeting

    vault = vault_from_args(args)
    assert vault is not None
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InputError(args.file, "cannot be read as UTF-8 text") from None
    audit = AuditLog(Path(args.audit), key=key_from_env(args.audit_key_env))
    out, count = reidentify_meeting(vault, args.meeting, text, "cli", audit)
    if args.out:
        from ._files import atomic_write

        atomic_write(args.out, out.encode("utf-8"))
    else:
        sys.stdout.write(out)
    print(f"reidentify: {count} token(s) restored", file=sys.stderr)
    return 0


def cmd_vault(args: argparse.Namespace) -> int:
    vault = Vault(Path(args.vault), b"\0" * 32)     # purge reads only expiry headers, no key
    erased = vault.purge()
    print(f"vault purge: {erased} meeting(s) erased", file=sys.stderr)
    return 0
