"""The public :class:`Meeting`: the plain model plus reading it from files.

``meetguard._model.Meeting`` is plain data and imports nothing of meetguard;
this subclass adds :meth:`Meeting.from_files`, which needs the parsers, so it
lives beside them. ``meetguard.Meeting`` is this class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from .._errors import InputError
from .._model import AudioInput
from .._model import Meeting as _PlainMeeting
from ..audio.decode import check_readable
from ..audio.speakers import read_speakers
from ._registry import read_document

__all__ = ["Meeting"]


class Meeting(_PlainMeeting):
    """Everything known about one meeting before any decision is made."""

    __slots__ = ()

    @classmethod
    def from_files(
        cls,
        chat: Sequence[str | Path] = (),
        transcript: Sequence[str | Path] = (),
        audio: str | Path | None = None,
        tracks: Mapping[str, str | Path] | None = None,
        attendees: Sequence[str] = (),
        meeting_id: str | None = None,
        format: str | None = None,
        speakers: str | Path | None = None,
    ) -> Meeting:
        """Read and parse the text inputs; audio is only located here.

        ``speakers``: who spoke when in the mixed ``audio`` (a Zoom TIMELINE JSON or a
        speaker-labelled transcript); excluded speakers are then silenced in it.
        Raises :class:`meetguard.InputError` naming the file and the problem.
        """
        docs = [read_document(p, kind="chat", format=format) for p in chat]
        docs += [read_document(p, kind="transcript", format=format) for p in transcript]
        recordings: list[AudioInput] = []
        if speakers is not None and audio is None:
            raise InputError(str(speakers), "speakers: given without a mixed recording (audio)")
        if audio is not None:
            turns = read_speakers(speakers) if speakers is not None else None
            recordings.append(AudioInput(Path(audio), None, Path(audio).stem, turns))
        for pid, p in (tracks or {}).items():
            recordings.append(AudioInput(Path(p), pid, pid))
        for rec in recordings:
            check_readable(rec.path)
        return cls(tuple(docs), tuple(recordings), tuple(attendees), meeting_id)
