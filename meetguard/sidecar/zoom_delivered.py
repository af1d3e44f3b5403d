"""Which Zoom recording files were already guarded and delivered, per meeting.

``recording.completed`` and ``recording.transcript_completed`` are two events (two
jobs) that can list the same file (the TRANSCRIPT, same file id) for one meeting
uuid. A file given to a guard run whose release was delivered is recorded here
under its meeting uuid and file id, with the purpose and recipient it went to;
a later job of the same meeting neither fetches nor delivers it again to them.

``jobs_dir/zoom/delivered/<sha256(meeting uuid)>.json`` (0600, written
atomically): ``{"files": {file_id: [label, ...]}}`` where a label is the JSON
``[purpose, recipient]``. It holds ids only (Zoom's file ids and the hash of the
meeting uuid), survives restarts, and is swept with the jobs' redelivery
markers.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from .._files import write_json_private

__all__ = ["DeliveredFiles"]


class DeliveredFiles:
    def __init__(self, directory: Path) -> None:
        self.dir = directory               # made (0700) with the first record

    def _path(self, meeting_uuid: str) -> Path:
        return self.dir / (hashlib.sha256(meeting_uuid.encode("utf-8")).hexdigest() + ".json")

    def get(self, meeting_uuid: str) -> dict[str, set[str]]:
        """file id -> the labels it was delivered to (empty when none)."""
        try:
            with open(self._path(meeting_uuid), encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict):
            return {}
        return {str(k): {str(x) for x in v} for k, v in files.items() if isinstance(v, list)}

    def add(self, meeting_uuid: str, file_ids: Iterable[str], label: str) -> None:
        """Record ``file_ids`` as delivered to ``label`` (ids that are empty are not kept)."""
        files = self.get(meeting_uuid)
        self.dir.mkdir(exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        for fid in file_ids:
            if fid:
                files.setdefault(fid, set()).add(label)
        write_json_private(self._path(meeting_uuid),
                           {"files": {k: sorted(v) for k, v in sorted(files.items())}})

    def sweep(self, ttl_s: float) -> int:
        """Forget meetings not written for ``ttl_s``. Returns how many."""
        n = 0
        now = time.time()
        for path in self.dir.glob("*.json"):
            try:
                if now - path.stat().st_mtime > ttl_s:
                    path.unlink()
                    n += 1
            except OSError:
                continue
        return n
