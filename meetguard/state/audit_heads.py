"""``meetguard audit verify --state-dsn-env NAME FILE...``: every replica's chain
against the head it anchored in the shared state (sidecar/anchor.py).

Each chain must verify on its own, name one replica in all its records, hold the
record its replica anchored (seq and hash: a chain cut short or rewritten at or
before it fails), and every replica with an anchored head must have its chain given.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._audit_chain import verify
from .._errors import UsageError
from .base import StateConfig

__all__ = ["ReplicaCheck", "fetch_heads", "verify_replicas"]


@dataclass(frozen=True)
class ReplicaCheck:
    ok: bool
    lines: tuple[str, ...]


def _replicas_named(path: str) -> set[str]:
    names: set[str] = set()
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue            # verify() names the broken line
                if isinstance(rec, dict):
                    names.add(str(rec.get("replica", "")))
    except OSError:
        pass                            # verify() says why it cannot be read
    return names


def verify_replicas(files: Sequence[str], heads: Mapping[str, tuple[int, str]],
                    key: bytes | None = None) -> ReplicaCheck:
    ok, lines, seen = True, [], set()
    for path in files:
        names = _replicas_named(path)
        if len(names) > 1 or "" in names:
            ok = False
            lines.append(f"{path}: records of more than one replica, or unnamed records, in one chain")
            continue
        replica = next(iter(names), "")
        head = heads.get(replica)
        result = verify(path, key=key, head=head)
        ok = ok and result.ok and not result.macs_unchecked
        if head is None:
            ok = False
            lines.append(f"{path}: replica {replica or '(empty log)'}: {result.message}; "
                         "no head anchored for it in the state database")
            continue
        seen.add(replica)
        lines.append(f"{path}: replica {replica}: {result.message}")
    for replica in sorted(set(heads) - seen):
        ok = False
        lines.append(f"replica {replica}: anchored at seq {heads[replica][0]}, but its chain was "
                     "not given")
    return ReplicaCheck(ok, tuple(lines))


def fetch_heads(dsn_env: str, env: Mapping[str, str] = os.environ) -> dict[str, tuple[int, str]]:
    """Every replica's anchored head (raises StateUnavailable, UsageError for no DSN)."""
    from .postgres import PostgresState

    dsn = env.get(dsn_env, "").strip()
    if not dsn:
        raise UsageError(f"--state-dsn-env: variable {dsn_env} is not set")

    async def heads() -> dict[str, tuple[int, str]]:
        state = PostgresState(StateConfig("postgres", dsn_env, dsn, replica="audit-verify"))
        try:
            return await state.audit_heads()
        finally:
            await state.aclose()

    return asyncio.run(heads())
