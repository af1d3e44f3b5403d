"""Output names from the kind and index of each input, never from its file name (#25).

A file name is the sender's text: ``Bob Li 123-45-6789.txt`` would otherwise become
an output file name, a key of ``decision.json``'s ``outputs``, a line of the report
and a key of the audit record's ``output_sha256``. The CLI (``guard``, ``batch``)
names outputs as the sidecar does: ``chat-1.txt``, ``chat-2.json``,
``transcript-1.vtt``, a Slack export folder ``chat-1/...``, a zip ``chat-1.zip``,
and the mixed recording's files ``audio.transcript.vtt`` / ``audio.redacted.wav``
(a track's files are named by its participant id, as before). Only a plain
extension of the input survives.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

from ._model import Meeting

__all__ = ["generic_names"]

_EXT = re.compile(r"\.[a-z0-9]{1,12}")
_M = TypeVar("_M", bound=Meeting)


def _ext(name: str) -> str:
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 else ""
    return ext if _EXT.fullmatch(ext) else ""


def generic_names(meeting: _M) -> _M:
    """``meeting`` with every document and the mixed recording renamed by kind and index."""
    counts: dict[str, int] = {}
    docs = []
    for doc in meeting.documents:
        n = counts[doc.kind] = counts.get(doc.kind, 0) + 1
        docs.append(dataclasses.replace(doc, name=f"{doc.kind}-{n}{_ext(doc.name)}"))
    audio = tuple(a if a.participant_id is not None else dataclasses.replace(a, name="audio")
                  for a in meeting.audio)
    return dataclasses.replace(meeting, documents=tuple(docs), audio=audio)
