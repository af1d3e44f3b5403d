"""WebVTT in all its meeting dialects, one format ``webvtt``:

* Zoom transcripts: ``Name: text`` inside the cue (the prefix is a speaker only
  when it is a plausible name, see :func:`_plausible_name`);
* Teams transcripts: ``<v Doe, Jane [NA]>text</v>`` (``</v>`` optional), cue ids
  like ``3f1a.../12-0``, and the Graph API's out-of-spec ``0:0:5.320`` timings
  (normalised, never dropped);
* generic WebVTT: BOM, header text, NOTE/STYLE/REGION blocks, cue settings.

The writer always writes ``HH:MM:SS.mmm`` timings, escapes ``& < >`` in cue
text, keeps the speaker layout it read (``meta["style"]``: "voice" or
"prefix"), keeps STYLE/REGION blocks that hold no quoted strings, and drops
the header text and NOTE comments: both are free text outside any cue, so they
could carry personal data past redaction.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from .._model import Cue, Document, Speaker
from ._base import decode, input_error, sniff_text, split_lines, text_lines
from ._source import Source

__all__ = ["WebVTT", "format_time", "parse_time"]

_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
_TIMING = re.compile(r"(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+(.*))?")
_TIME = re.compile(r"(\d{1,9}):(\d{1,2})(?::(\d{1,2}))?(?:\.(\d{1,9}))?")
# [^<>] stops every scan at the next "<": linear time on hostile lines.
_VOICE = re.compile(r"<v(?:\.[^\s<>]{0,200})?(?:[ \t]+([^<>\n]{0,1000}))?>")
_TAG = re.compile(r"<[^<>\n]{0,1000}>")
_TOKEN = re.compile(r"<[A-Z][A-Z_]*(?:_[0-9A-Fa-f]+)?>")
_PARTICLES = frozenset(
    ["de", "da", "das", "do", "dos", "du", "del", "della", "der", "den", "van", "von", "ten", "ter", "la", "le", "di", "bin", "ibn", "al", "el", "y", "e"]
)
_TITLES = frozenset(["dr.", "mr.", "mrs.", "ms.", "prof.", "mx.", "st.", "jr.", "sr."])
# Words that often open a sentence or a heading with a colon ("Note: ...",
# "Action Items: ..."): a prefix made of them is no name unless it recurs.
_NOT_NAMES = frozenset(
    ["note", "notes", "nb", "update", "updates", "question", "questions", "answer", "q", "a", "warning", "summary", "edit", "action", "actions", "todo", "to-do", "reminder", "agenda", "example", "ps", "p.s.", "fyi", "re", "subject", "tip", "important", "correction", "also", "so", "well", "ok", "okay", "yes", "no", "result", "results", "next", "step", "steps", "decision", "decisions", "issue", "issues", "problem", "fact", "reason", "goal", "goals", "topic", "status", "caveat", "disclaimer", "hint", "source", "quote", "translation", "context", "attention", "breaking", "final", "info", "news", "remember", "bonus", "hey", "hi", "hello", "thanks", "item", "items", "key", "point", "points", "open", "follow-up", "followup", "takeaway", "takeaways", "recap", "minutes", "meeting", "background", "why", "what", "how", "when", "where", "who", "the", "this", "that", "my", "our", "your", "their", "his", "her", "its"]
)


def parse_time(value: str) -> float | None:
    m = _TIME.fullmatch(value)
    if not m:
        return None
    a, b, c, frac = m.groups()
    if c is None:
        hours, minutes, seconds = 0, int(a), int(b)
    else:
        hours, minutes, seconds = int(a), int(b), int(c)
    fraction = float("0." + frac) if frac else 0.0
    return hours * 3600 + minutes * 60 + seconds + fraction


def format_time(seconds: float, sep: str = ".") -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _clean(payload: str) -> str:
    return html.unescape(_TAG.sub("", payload))


def _name_word(word: str) -> bool:
    if _TOKEN.fullmatch(word) or word.lower() in _PARTICLES or word.lower() in _TITLES:
        return True
    if re.fullmatch(r"\(.{1,20}\)|\[.{1,10}\]|\d{1,3}", word):
        return True
    core = word.rstrip(",")
    if not core or any(ch in core for ch in ".!?;:\"") and not re.fullmatch(r"[A-Z]\.", core):
        return False
    return core[0].isupper() and all(ch.isalpha() or ch in "-'’." for ch in core)


def _plausible_name(prefix: str, count: int, labelled: bool = False) -> bool:
    """Whether a cue's ``"Prefix: "`` names its speaker.

    ``count`` is how many cues start with this prefix; ``labelled`` says most
    cues of the file start with a plausible name (a Zoom transcript), which
    makes a one-off single word ("Omar: ...") believable.
    """
    words = prefix.split()
    if not 1 <= len(words) <= 5 or prefix != prefix.strip():
        return False
    if not all(_name_word(w) for w in words):
        return False
    if not any(w[0].isupper() or _TOKEN.fullmatch(w) for w in words):
        return False
    if _TOKEN.fullmatch(prefix) or count > 1 and not (len(words) == 1 and words[0].lower() in _NOT_NAMES):
        return True
    if any(w.lower().rstrip(",") in _NOT_NAMES for w in words):
        return False
    return len(words) > 1 or labelled


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _voice_label(label: str) -> str:
    clean = " ".join(label.replace("<", "").replace(">", "").split())
    return _escape(clean) or "unknown"


@dataclass
class _Raw:
    ident: str | None
    start: float
    end: float
    settings: str
    segments: list[tuple[str | None, str]]  # (voice label, payload)
    voiced: bool


@dataclass(frozen=True)
class WebVTT:
    name: str = "webvtt"
    kind: Literal["chat", "transcript"] = "transcript"

    def sniff(self, source: Source) -> bool:
        text = sniff_text(source)
        if text is None:
            return False
        first = text.split("\n", 1)[0].rstrip("\r")
        return bool(_HEADER.fullmatch(first))

    def parse(self, source: Source) -> Document:
        lines = split_lines(decode(source, source.data))
        if not lines or not _HEADER.fullmatch(lines[0]):
            raise input_error(source, "missing the WEBVTT header", 1)
        blocks: list[tuple[int, list[str]]] = []
        current: list[str] = []
        start_no = 0
        in_header = True
        for no, line in enumerate(lines[1:], 2):
            if not line.strip():
                in_header = False
                if current:
                    blocks.append((start_no, current))
                    current = []
                continue
            if in_header:
                if "-->" not in line:
                    continue          # header text: kept out of the output
                in_header = False
            if not current:
                start_no = no
            current.append(line)
        if current:
            blocks.append((start_no, current))

        raws: list[_Raw] = []
        kept_blocks: list[str] = []
        notes = 0
        for no, block in blocks:
            head = block[0]
            if head == "NOTE" or head.startswith(("NOTE ", "NOTE\t")):
                notes += 1
                continue
            if head.strip() in ("STYLE", "REGION") and not any("-->" in b for b in block):
                if not any(q in "\n".join(block) for q in "\"'"):
                    kept_blocks.append("\n".join(block))
                continue
            if "-->" in head:
                ident, timing, payload, tline = None, head, block[1:], no
            elif len(block) > 1 and "-->" in block[1]:
                ident, timing, payload, tline = head, block[1], block[2:], no + 1
            else:
                raise input_error(source, "block without a cue timing", no)
            m = _TIMING.fullmatch(timing.strip())
            start = parse_time(m.group(1)) if m else None
            end = parse_time(m.group(2)) if m else None
            if m is None or start is None or end is None:
                raise input_error(source, "invalid cue timing", tline)
            raws.append(_Raw(ident, start, end, m.group(3) or "", *self._segments("\n".join(payload))))

        voiced = any(r.voiced for r in raws)
        prefix_counts: Counter[str] = Counter()
        if not voiced:
            for r in raws:
                prefix = self._prefix(_clean(r.segments[0][1]))
                if prefix is not None:
                    prefix_counts[prefix] += 1
        strong = sum(n for p, n in prefix_counts.items() if _plausible_name(p, n))
        labelled = bool(raws) and strong * 2 > len(raws)
        items: list[Cue] = []
        prefix_used = False
        for r in raws:
            for k, (label, segment) in enumerate(r.segments):
                text = _clean(segment)
                speaker: Speaker | None = Speaker(label) if label else None
                if not voiced:
                    prefix = self._prefix(text)
                    if prefix is not None and _plausible_name(prefix, prefix_counts[prefix], labelled):
                        speaker = Speaker(prefix)
                        text = text[len(prefix) + 2 :]
                        prefix_used = True
                ident = r.ident if k == 0 else None
                items.append(Cue(len(items), r.start, r.end, speaker, text, ident=ident, settings=r.settings))
        style = "prefix" if prefix_used else "voice"
        meta = {"style": style, "blocks": kept_blocks, "notes_dropped": notes}
        return Document(source.name, self.name, "transcript", tuple(items), meta=meta)

    @staticmethod
    def _prefix(text: str) -> str | None:
        first = text.split("\n", 1)[0]
        at = first.find(": ", 0, 82)
        return first[:at] if at > 0 else None

    @staticmethod
    def _segments(payload: str) -> tuple[list[tuple[str | None, str]], bool]:
        marks = list(_VOICE.finditer(payload))
        if not marks:
            return [(None, payload)], False
        segments: list[tuple[str | None, str]] = []
        lead = payload[: marks[0].start()]
        if _clean(lead).strip():
            segments.append((None, lead))
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(payload)
            label = " ".join(html.unescape(m.group(1) or "").split()) or None
            body = payload[m.end() : end]
            if segments and segments[-1][0] == label:
                segments[-1] = (label, segments[-1][1] + body)
            else:
                segments.append((label, body))
        return [(label, body.strip("\n")) for label, body in segments], True

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        style = meta.get("style", "voice")
        parts = ["WEBVTT", ""]
        for block in meta.get("blocks", []):
            parts += [block, ""]
        for item in doc.items:
            if not isinstance(item, Cue):
                raise input_error(Source(doc.name, {}, path=doc.name), "a WebVTT file holds cues only")
            if item.ident and "-->" not in item.ident and "\n" not in item.ident:
                parts.append(item.ident)
            timing = f"{format_time(item.start)} --> {format_time(max(item.end, item.start))}"
            settings = " ".join(item.settings.replace("-->", "").split())
            parts.append(timing + (" " + settings if settings else ""))
            text = "\n".join(line for line in text_lines(item.text) if line.strip())
            body = _escape(text)
            if item.speaker is not None:
                if style == "prefix":
                    body = f"{_escape(' '.join(item.speaker.label.split()))}: {body}"
                else:
                    body = f"<v {_voice_label(item.speaker.label)}>{body}</v>"
            parts += [body, ""] if body else [""]
        return {doc.name: "\n".join(parts).encode("utf-8")}
