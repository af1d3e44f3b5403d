"""The release gate's last step: redacted documents -> output files.

Nothing else in meetguard turns content into bytes to release. Each text input
comes back under its own name and in its own format; an audio input gives
``<stem>.transcript.vtt``, ``<stem>.transcript.json`` and (when the policy
releases audio) ``<stem>.redacted.wav``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from ._errors import MeetguardError
from ._model import Document
from .formats import get_format, write_document

__all__ = ["build_text_outputs", "build_transcript_outputs", "merge_outputs"]


def build_text_outputs(documents: Iterable[Document]) -> dict[str, bytes]:
    outputs: dict[str, bytes] = {}
    for doc in documents:
        outputs = merge_outputs(outputs, write_document(doc))
    return outputs


def build_transcript_outputs(stem: str, doc: Document) -> dict[str, bytes]:
    """A redacted audio transcript as WebVTT and as lossless meetguard JSON."""
    out: dict[str, bytes] = {}
    for fmt, suffix in (("webvtt", "vtt"), ("meetguard-json", "json")):
        named = dataclasses.replace(doc, name=f"{stem}.transcript.{suffix}", format=fmt, meta=None)
        written = get_format(fmt).write(named)
        if len(written) != 1:
            raise MeetguardError(f"writer {fmt} gave {len(written)} files for one transcript")
        out[named.name] = next(iter(written.values()))
    return out


def merge_outputs(into: Mapping[str, bytes], more: Mapping[str, bytes]) -> dict[str, bytes]:
    """Merge output files; two inputs with one name get ``name-2.ext`` and so on."""
    merged = dict(into)
    for name, data in more.items():
        target = name
        n = 2
        while target in merged:
            head, dot, ext = name.partition(".")
            target = f"{head}-{n}{dot}{ext}"
            n += 1
        merged[target] = data
    return merged
