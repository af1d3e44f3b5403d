"""The `meetguard consent ...` and `meetguard report` commands (parsing and printing only;
the work is in meetguard.consent and meetguard.report)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import UsageError
from ._time import parse_at

if TYPE_CHECKING:
    from .consent import ErasureState, WithdrawalSettings

__all__ = ["add_parsers", "cmd_consent", "cmd_report"]


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    con = sub.add_parser("consent", help="withdrawal of consent and erasure requests")
    con_sub = con.add_subparsers(dest="consent_command", required=True, parser_class=parser_class)
    wd = con_sub.add_parser("withdraw", help="record a withdrawal and ask recipients to erase")
    wd.add_argument("--config", required=True, metavar="SIDECAR_CONFIG")
    wd.add_argument("--participant", required=True, metavar="ID")
    wd.add_argument("--purpose", required=True)
    wd.add_argument("--at", metavar="ISO8601", help="when consent was withdrawn (default: now)")
    rc = con_sub.add_parser("recipients", help="where a participant's content went")
    rc.add_argument("--participant", required=True, metavar="ID")
    where = rc.add_mutually_exclusive_group()
    where.add_argument("--audit", metavar="FILE")
    where.add_argument("--config", metavar="FILE")
    rc.add_argument("--json", action="store_true")
    rt = con_sub.add_parser("retry", help="send the erasure requests that are due now")
    rt.add_argument("--config", required=True, metavar="SIDECAR_CONFIG")

    rep = sub.add_parser("report", help="render the review report of a guard output folder "
                                        "(or, with --live, of a live session)")
    rep.add_argument("out_dir", metavar="OUT_DIR", nargs="?")
    rep.add_argument("--html", metavar="FILE", help="default: OUT_DIR/report.html (--live: ./live-report.html)")
    rep.add_argument("--live", metavar="MEETING_ID", help="the live session of this meeting (docs/live.md)")
    rep.add_argument("--purpose", metavar="PURPOSE", help="--live: the purpose to show, when it fed several")
    rep.add_argument("--audit", metavar="FILE", help="the audit log (default as for guard)")
    rep.add_argument("--policy", metavar="FILE", help="the policy, for the consent events")




def _settings(config_path: str) -> WithdrawalSettings:
    from .sidecar.config import load_config
    from .sidecar.withdrawals import withdrawal_settings

    return withdrawal_settings(load_config(config_path))


async def _send_due(settings: WithdrawalSettings) -> list[ErasureState]:
    import aiohttp

    from .audit import AuditLog
    from .consent import ErasureDispatcher, ErasureStore

    dispatcher = ErasureDispatcher(ErasureStore(settings.store_dir), settings.endpoints,
                                   AuditLog(settings.audit_path, key=settings.audit_key))
    async with aiohttp.ClientSession(trust_env=False) as session:
        return await dispatcher.run_due(session)


def _state_line(s: ErasureState) -> str:
    req = s.request
    if s.state == "pending":
        retry = datetime.fromtimestamp(s.next_attempt_at, UTC).isoformat(timespec="seconds")
        what = f"pending ({s.last_detail or 'not sent yet'}; next try {retry})"
    elif s.state == "manual":
        what = "notify by hand (no erasure_url configured)"
    elif s.state == "failed":
        what = f"FAILED ({s.last_detail}): notify by hand"
    else:
        what = f"acknowledged ({s.last_detail})"
    return f"  {req.request_id} -> {req.recipient}: {len(req.artefacts)} artefact(s), {what}"


def _withdraw(args: argparse.Namespace) -> int:
    from .consent import record_withdrawal

    settings = _settings(args.config)
    result = record_withdrawal(settings, args.participant, args.purpose, parse_at(args.at))
    print(f"withdrawn: {result.participant} from {result.purpose!r} at {result.at}; "
          f"{len(result.releases)} release(s) held their content; {result.vault}")
    if result.chain:
        print(f"warning: audit chain: {result.chain}; check by hand", file=sys.stderr)
    sent = {s.request.request_id: s for s in asyncio.run(_send_due(settings))}
    for state in result.requests:
        print(_state_line(sent.get(state.request.request_id, state)))
    for rid, state in sent.items():
        if all(rid != s.request.request_id for s in result.requests):
            print(_state_line(state) + " (earlier request)")
    return 0


def _recipients(args: argparse.Namespace) -> int:
    from .consent import format_rows, read_records, recipient_rows

    if args.config:
        from .policy import load_policy

        settings = _settings(args.config)
        if load_policy(settings.policy_path).participant(args.participant) is None:
            raise UsageError(f"{settings.policy_path}: unknown participant id "
                             f"{args.participant[:60]!r}")
        audit = settings.audit_path
    else:
        audit = Path(args.audit or "meetguard-audit.jsonl")
    rows = recipient_rows(read_records(audit), args.participant)
    if args.json:
        json.dump({"participant": args.participant, "recipients": [r.to_json() for r in rows]},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_rows(args.participant, rows))
    return 0


def cmd_consent(args: argparse.Namespace) -> int:
    if args.consent_command == "withdraw":
        return _withdraw(args)
    if args.consent_command == "recipients":
        return _recipients(args)
    states = asyncio.run(_send_due(_settings(args.config)))
    for state in states:
        print(_state_line(state))
    print(f"{len(states)} erasure request(s) attempted")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import collect, collect_live, write_report

    if (args.live is None) == (args.out_dir is None):
        raise UsageError("report: give OUT_DIR (a guard output folder) or --live MEETING_ID, one of them")
    if args.live is not None:
        target = Path(args.html or "live-report.html")
        inputs = collect_live(args.live, args.purpose, audit_path=args.audit, policy_path=args.policy)
    else:
        target = Path(args.html) if args.html else Path(args.out_dir) / "report.html"
        inputs = collect(Path(args.out_dir), audit_path=args.audit, policy_path=args.policy)
    write_report(inputs, target)
    print(f"report written: {target}", file=sys.stderr)
    return 0
