"""What one report is made of."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..audit import VerifyResult
from ..policy import Policy

__all__ = ["ReportInput"]


@dataclass(frozen=True)
class ReportInput:
    decision: Mapping[str, Any]                  # the fields of decision.json
    outputs: Mapping[str, bytes]                 # released file name -> bytes
    audit_record: Mapping[str, Any] | None = None
    chain: VerifyResult | None = None            # None: no audit log found
    chain_note: str = ""                         # why the chain was not checked
    policy: Policy | None = None
    notes: tuple[str, ...] = field(default=())
    video_record: Mapping[str, Any] | None = None   # the video stage's record of video.mp4 (#29)
