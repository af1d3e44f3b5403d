"""The content model: plain, typed, immutable data shared by every stage.

A meeting is a list of :class:`Document` (one per chat or transcript input, in
argument order) plus audio inputs. A document holds items, each a
:class:`ChatMessage` or a :class:`Cue`, in file order. Parsers build these;
writers turn (possibly redacted) documents back into files of the same format.

Nothing here does I/O and nothing here imports another meetguard module: this
is the leaf every stage shares. Reading files lives in :mod:`meetguard.formats`
(``Source``, and the public :class:`meetguard.Meeting`, whose ``from_files``
reads and parses the text inputs).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

__all__ = [
    "AudioInput",
    "ChatMessage",
    "Cue",
    "Document",
    "Finding",
    "Item",
    "Meeting",
    "Mention",
    "MessageKind",
    "Quote",
    "Speaker",
    "SpeakerTurn",
    "Word",
]


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who said or wrote an item, exactly as the content names them.

    ``label`` is the display form written in the file ("Martin, Alice [NW]").
    ``platform_id`` is a platform identifier when the format has one (Slack
    user id, Teams AAD id). ``aliases`` are further names the platform gives
    the same person (Slack ``name``/``display_name``); matching tries all.
    """

    label: str
    platform_id: str | None = None
    aliases: tuple[str, ...] = ()

    def all_names(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its time span in seconds (audio transcripts)."""

    text: str
    start: float
    end: float
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A structural mention inside an item's text, e.g. Slack ``<@U02BOBLI>``.

    ``start``/``end`` are character offsets into the item's ``text``. The
    span is markup, not prose: detection skips it and redaction replaces the
    whole span with the mentioned speaker's token when that speaker's name must
    not be released.
    """

    start: int
    end: int
    speaker: Speaker


@dataclass(frozen=True, slots=True)
class Quote:
    """Text of another message quoted by a reaction or reply (Zoom cloud chat).

    ``ref`` is the index (in the same document) of the message the quote was
    resolved to, or ``None`` when it could not be resolved. ``truncated`` is
    true when the platform cut the quote and appended "...".
    """

    text: str
    ref: int | None = None
    truncated: bool = False


class MessageKind(str, enum.Enum):
    MESSAGE = "message"
    SYSTEM = "system"      # no speaker: kept as structure, text redacted like any text
    BOT = "bot"            # counts as an unknown speaker
    REACTION = "reaction"  # text is the emoji/reaction; quote holds what it reacts to
    REPLY = "reply"        # text is the reply body; quote holds what it replies to
    DELETED = "deleted"    # never released


@dataclass(frozen=True, slots=True)
class ChatMessage:
    index: int
    time: str                          # as written; structure, never redacted
    sender: Speaker | None             # None only for SYSTEM (and DELETED without author)
    text: str
    recipients: tuple[Speaker, ...] = ()  # DM targets
    private: bool = False
    kind: MessageKind = MessageKind.MESSAGE
    quote: Quote | None = None
    mentions: tuple[Mention, ...] = ()
    extra_texts: tuple[str, ...] = ()  # other free text (file names, titles): redacted too


@dataclass(frozen=True, slots=True)
class Cue:
    """A transcript cue or an ASR segment."""

    index: int
    start: float                       # seconds
    end: float
    speaker: Speaker | None            # None: not attributable per speaker
    text: str
    words: tuple[Word, ...] = ()       # with exact character offsets via word_offsets()
    ident: str | None = None           # cue identifier line, if any
    settings: str = ""                 # WebVTT cue settings after the timing

    def word_offsets(self) -> list[tuple[int, int]]:
        """Character span of each word in ``text`` (text is built from words)."""
        spans: list[tuple[int, int]] = []
        pos = 0
        for w in self.words:
            token = w.text.strip()
            at = self.text.find(token, pos) if token else pos
            if at < 0:
                raise ValueError("cue text is not built from its words")
            spans.append((at, at + len(token)))
            pos = at + len(token)
        return spans


Item: TypeAlias = ChatMessage | Cue
DocumentKind: TypeAlias = Literal["chat", "transcript"]


@dataclass(frozen=True)
class Document:
    """One parsed text input.

    ``meta`` is opaque state the format's writer needs to give back a file of
    the same shape (header blocks, raw JSON of each message, ...). Writers must
    also accept ``meta=None`` (a document built from items only).
    ``relabel`` maps original speakers to the labels to write instead (set by
    redaction); writers use it for structure outside the items (Slack
    users.json, Teams mention lists).
    """

    name: str
    format: str
    kind: DocumentKind
    items: tuple[Item, ...]
    sha256: str = ""
    container: Literal["file", "dir", "zip"] = "file"
    meta: Any = field(default=None, compare=False, repr=False)
    relabel: Mapping[Speaker, Speaker] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """Who spoke when in a mixed recording, as the platform says (a Zoom timeline entry, a
    speaker-labelled transcript cue): seconds on the recording's clock. ``email`` is the
    platform's identity of a signed-in user (matched against the policy's ``emails``)."""

    start: float
    end: float                         # math.inf: until the recording ends
    speaker: Speaker
    email: str | None = None
    text: str = ""                     # what the platform's transcript says was said (cues only)


@dataclass(frozen=True, slots=True)
class AudioInput:
    """A recording: mixed (``participant_id`` None) or one participant's track.

    ``turns``: who spoke when in a mixed recording (``--speakers``), or None when the
    platform did not say; with them, excluded speakers are silenced instead of the whole
    recording being withheld (docs/audio.md "Silencing a refusing speaker")."""

    path: Path
    participant_id: str | None = None
    name: str = ""                     # output stem: the file stem, or the participant id
    turns: tuple[SpeakerTurn, ...] | None = None

    @property
    def stem(self) -> str:
        return self.participant_id or self.name or self.path.stem


@dataclass(frozen=True, slots=True)
class Finding:
    """A detected personal value in one text: the analyzer's span, not its output.

    ``participant_id`` is set when the value names a roster member (policy
    participant id, or ``unknown-n`` for an unmatched speaker in the content):
    all of a participant's names then share one pseudonym. ``normalized`` is the
    value in normal form (digits only for numbers, lower case for emails,
    spoken forms resolved) and keys pseudonyms and hashes for other values.
    """

    start: int
    end: int
    entity_type: str
    score: float
    normalized: str
    participant_id: str | None = None


@dataclass(frozen=True)
class Meeting:
    """Everything known about one meeting before any decision is made.

    Plain data. The public ``meetguard.Meeting`` is the subclass in
    :mod:`meetguard.formats._meeting`, which adds :meth:`from_files`.
    """

    documents: tuple[Document, ...] = ()
    audio: tuple[AudioInput, ...] = ()
    attendees: tuple[str, ...] = ()
    meeting_id: str | None = None
