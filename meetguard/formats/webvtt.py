"""WebVTT in all its meeting dialects, one format ``webvtt``.

Blocks are collected as the W3C parser collects them: a line holding ``-->``
starts a new cue even with no blank line before it (Graph transcripts write
cues back to back; merging them gave one speaker's words to another). A
timing that is not a whole WebVTT (or Graph ``h:m:s.f``) timestamp is refused
naming its line, never rewritten into a valid time.

* Graph ``metadataContent``: a JSON object per cue (``speakerName``,
  ``spokenText``);
* Teams transcripts: ``<v Doe, Jane [NA]>text</v>`` (``</v>`` optional), cue ids
  like ``3f1a.../12-0``, and the Graph API's out-of-spec ``0:0:5.320`` timings
  (normalised, never dropped);
* caption speaker labels: ``[Alba] text``, ``- ALBA: text``, ``>> Alba: text``;
* Zoom transcripts: ``Name: text`` inside the cue (the prefix is a speaker only
  when it is a plausible name, see :func:`_plausible_name`);
* generic WebVTT: BOM, header text, NOTE/STYLE/REGION blocks, cue settings.

A cue nobody is named for has no speaker (an unknown speaker), never the
speaker of the cue before. The writer always writes ``HH:MM:SS.mmm`` timings,
escapes ``& < >`` in cue text (so no ``-->`` survives in it), keeps the speaker
layout it read, keeps STYLE/REGION blocks that hold no quoted strings, and
drops the header text and NOTE comments: both are free text outside any cue,
so they could carry personal data past redaction.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .._model import Cue, Document, Speaker
from .._wordlists import words
from ..redaction.tokens import unwrap
from ._base import decode, input_error, sniff_text, split_lines, text_lines
from ._source import Source

__all__ = ["WebVTT", "caption_labels", "caption_line", "format_time", "parse_time", "plausible_prefixes"]

_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
_TIMING = re.compile(r"(\S+?)[ \t]*-->[ \t]*(\S+)(?:[ \t]+(.*))?")
# W3C: [hh:]mm:ss.ttt with two-digit minutes and seconds and three digits of
# fraction. The Graph API writes h:m:s.f ("0:0:5.320", "0:0:0.0"): accepted
# only with the hours and a fraction, where a field is one digit, so a
# truncated W3C time ("00:00:0", "00:00:07.9") is refused, never rewritten.
_TIME = re.compile(r"(?:(\d{1,9}):)?([0-5]\d):([0-5]\d)\.(\d{3})")
_GRAPH_TIME = re.compile(r"(\d{1,9}):(\d{1,2}):(\d{1,2})\.(\d{1,7})")
# [^<>] stops every scan at the next "<": linear time on hostile lines.
_VOICE = re.compile(r"<v(?:\.[^\s<>]{0,200})?(?:[ \t]+([^<>\n]{0,1000}))?>")
_TAG = re.compile(r"<[^<>\n]{0,1000}>")
# A pseudonym token in either form; a square one is not a tag like "[NA]".
_TOKEN = re.compile(r"<[A-Z][A-Z_]*(?:_[0-9A-Fa-f]+)?>|\[(?:PERSON|[A-Z]+_[A-Z_]*)(?:_[0-9A-Fa-f]+)?\]")
_PARTICLES = frozenset(
    ["de", "da", "das", "do", "dos", "du", "del", "della", "der", "den", "van", "von", "ten", "ter", "la", "le", "di", "bin", "ibn", "al", "el", "y", "e"]
)
# Caption speaker labels: "[Alba] text", "- ALBA: text", ">> Alba: text".
_CAPTION_LABELS = (
    ("[]", re.compile(r"\[([^\[\]\n]{1,60})\][ \t]*(.*)")),
    ("-", re.compile(r"-[ \t]*([^:\n]{1,60}?):[ \t]+(.*)")),
    (">>", re.compile(r">>[ \t]*([^:\n]{1,60}?):[ \t]+(.*)")),
)
_MID_CHEVRONS = re.compile(r"[ \t]+(?=>>)")
# Bracketed sound descriptions, never speakers.
_SOUNDS = words("webvtt_sounds")
# The fields of a Graph metadataContent cue written back besides speakerName
# and spokenText; any other field is dropped (it could carry personal text).
_METADATA_KEPT = frozenset(["startDateTime", "endDateTime", "spokenLanguage"])
_TITLES = frozenset(["dr.", "mr.", "mrs.", "ms.", "prof.", "mx.", "st.", "jr.", "sr."])
# Words that often open a sentence or a heading with a colon ("Note: ...",
# "Action Items: ..."): a prefix made of them is no name unless it recurs.
_NOT_NAMES = words("webvtt_not_names")


def parse_time(value: str) -> float | None:
    """Seconds of a WebVTT timestamp, or None when it is not a whole one."""
    m = _TIME.fullmatch(value)
    if m is None:
        g = _GRAPH_TIME.fullmatch(value)
        if g is None or not any(len(f) == 1 for f in g.groups()[1:3]):
            return None
        if int(g.group(2)) > 59 or int(g.group(3)) > 59:
            return None
        m = g
    hours, minutes, seconds, frac = m.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + float("0." + frac)


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
    """A voice's annotation: a token written ``<v PERSON_1>`` in either token form."""
    clean = " ".join(unwrap(label.strip()).replace("<", "").replace(">", "").split())
    return _escape(clean) or "unknown"


@dataclass
class _Raw:
    ident: str | None
    start: float
    end: float
    settings: str
    segments: list[tuple[str | None, str, str]]  # (speaker label, payload, label form)
    voiced: bool
    meta: dict[str, str] | None = None           # a Graph metadataContent cue's other fields


def _blocks(source: Source, lines: list[str]) -> list[tuple[int, list[str]]]:
    """The blocks after the header, collected as the W3C WebVTT parser does.

    A block ends at a blank line, and also before any line holding ``-->``
    that is not its first or (after an identifier) second line: such a line
    starts the next cue even with no blank line before it.
    """
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start_no = 0
    arrow = False
    in_header = True
    for no, line in enumerate(lines[1:], 2):
        has_arrow = "-->" in line
        if in_header:
            if not line.strip() or has_arrow:
                in_header = False
            if not has_arrow:
                continue          # header text: kept out of the output
        if not line.strip():
            if current:
                blocks.append((start_no, current))
            current, arrow = [], False
            continue
        if has_arrow and (arrow or len(current) > 1):
            blocks.append((start_no, current))
            current, arrow = [], False
        if not current:
            start_no = no
        arrow = arrow or has_arrow
        current.append(line)
    if current:
        blocks.append((start_no, current))
    return blocks


# Header lines of the 2012-2014 drafts ("Region: id=fred width=40% ..."), still written by
# some tools, in the header or as a block of their own before the first cue.
_LEGACY_HEADER = re.compile(r"(?:Region|Kind|Language|Style|X-[A-Za-z-]+)[ \t]*[:=].*", re.IGNORECASE)
_LEGACY_REGION = re.compile(r"Region[ \t]*:[ \t]*(.*)", re.IGNORECASE)
_REGION_SETTING = re.compile(r"(id|width|lines|regionanchor|viewportanchor|scroll)=([\w%.,-]{1,64})")


def _legacy_region(line: str) -> str | None:
    """A legacy ``Region:`` line as today's REGION block, or None when any of its
    settings is not a plain value (it is then dropped, never written back)."""
    m = _LEGACY_REGION.fullmatch(line.strip())
    if m is None:
        return None
    settings = m.group(1).split()
    parsed = [_REGION_SETTING.fullmatch(s) for s in settings]
    if not settings or not all(parsed):
        return None
    return "REGION\n" + "\n".join(f"{p.group(1)}:{p.group(2)}" for p in parsed if p)


def _header_blocks(lines: list[str]) -> list[str]:
    """REGION blocks for the legacy ``Region:`` lines of the header."""
    kept: list[str] = []
    for line in lines[1:]:
        if not line.strip() or "-->" in line:
            break
        region = _legacy_region(line)
        if region is not None:
            kept.append(region)
    return kept


def _is_legacy_header(block: list[str]) -> bool:
    return all(_LEGACY_HEADER.fullmatch(line.strip()) and "-->" not in line for line in block)


def _timing(source: Source, line: str, no: int) -> tuple[float, float, str]:
    m = _TIMING.fullmatch(line.strip())
    start = parse_time(m.group(1)) if m else None
    end = parse_time(m.group(2)) if m else None
    if m is None or start is None or end is None:
        raise input_error(source, "invalid or truncated cue timing", no)
    return start, end, m.group(3) or ""


def _metadata(payload: str) -> tuple[str | None, str, dict[str, str]] | None:
    """A Graph ``metadataContent`` cue: (speakerName, spokenText, other fields)."""
    text = payload.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("spokenText"), str):
        return None
    name = obj.get("speakerName")
    kept = {k: v for k, v in obj.items() if k in _METADATA_KEPT and isinstance(v, str)}
    return (name if isinstance(name, str) and name.strip() else None), obj["spokenText"], kept


def _cue(source: Source, no: int, block: list[str]) -> _Raw:
    if "-->" in block[0]:
        ident, timing, payload, tline = None, block[0], block[1:], no
    elif len(block) > 1 and "-->" in block[1]:
        ident, timing, payload, tline = block[0], block[1], block[2:], no + 1
    else:
        raise input_error(source, "block without a cue timing", no)
    start, end, settings = _timing(source, timing, tline)
    meta = _metadata("\n".join(payload))
    if meta is not None:
        return _Raw(ident, start, end, settings, [(meta[0], meta[1], "")], True, meta[2])
    segments, voiced = _segments("\n".join(payload))
    if not voiced:
        segments, voiced = caption_labels(segments[0][1])
    return _Raw(ident, start, end, settings, segments, voiced)


def _caption_label(line: str) -> tuple[str, str, str] | None:
    """(form, speaker label, rest) of a caption line that names its speaker."""
    for form, pattern in _CAPTION_LABELS:
        m = pattern.fullmatch(line)
        if not m:
            continue
        label = " ".join(m.group(1).split())
        # "[PERSON_1]: text" is a Zoom prefix whose name is a token, not a caption label
        if form == "[]" and (label.lower() in _SOUNDS or not m.group(2).strip()
                             or m.group(2).startswith(":") or _redacted_text(label, line, m)):
            return None
        if label and _plausible_name(label, 2, True) or label.isupper() and len(label) > 1:
            return form, label, m.group(2)
    return None


def plausible_prefixes(texts: list[str]) -> list[str | None]:
    """For each text, the ``"Name: "`` prefix that names its speaker, or None
    (the rule WebVTT files without voices follow, see :func:`_plausible_name`)."""
    prefixes = [WebVTT._prefix(_clean(t)) for t in texts]
    counts = Counter(p for p in prefixes if p is not None)
    strong = sum(n for p, n in counts.items() if _plausible_name(p, n))
    labelled = bool(texts) and strong * 2 > len(texts)
    return [p if p is not None and _plausible_name(p, counts[p], labelled) else None for p in prefixes]


def _redacted_text(label: str, line: str, m: re.Match[str]) -> bool:
    """Whether ``[PERSON_1]...`` is a line of guarded text that starts with a token.

    A caption label is followed by a space and the start of what is said; a token
    at the start of a redacted line is followed by punctuation, lower-case words,
    digits or another token ("[PERSON_1], admitida.", "[PERSON_2] [PERSON_3] y yo").
    """
    if not _TOKEN.fullmatch(f"[{label}]"):
        return False
    rest = m.group(2)
    return line[m.end(1) + 1] not in " \t" or rest[0].islower() or rest[0].isdigit() or rest[0] in "[,.;:!?)"


def caption_labels(payload: str) -> tuple[list[tuple[str | None, str, str]], bool]:
    """Split a cue at caption speaker labels (``[Alba]``, ``- ALBA:``, ``>> Alba:``).

    A ``>>`` without a name marks a change of speaker: what follows is an
    unknown speaker's, never the one before.
    """
    segments: list[tuple[str | None, str, str]] = []
    labelled = marked = False
    lines = payload.split("\n")
    if payload.lstrip().startswith(">>"):
        # broadcast captions change speaker mid-line too: "hi >> who is it"
        lines = [part for line in lines for part in _MID_CHEVRONS.split(line)]
    for line in lines:
        found = _caption_label(line)
        if found is not None:
            form, label, rest = found
            segments.append((label, rest, form))
            labelled = True
        elif line.startswith(">>"):
            segments.append((None, line[2:].lstrip(), ">>-"))
            marked = True
        elif segments:
            who, text, how = segments[-1]
            segments[-1] = (who, text + "\n" + line, how)
        else:
            segments.append((None, line, ""))
    if not labelled and not marked:
        return [(None, payload, "")], False
    return segments, labelled


def caption_line(label: str | None, body: str, form: str, escape: Callable[[str], str]) -> str:
    """A caption part written back with the marker it was read with."""
    if label is None:
        return f">> {body}" if form == ">>-" else body
    if form == "[]":          # a token speaker as [PERSON_1], never [[PERSON_1 ]
        return f"[{escape(unwrap(label)).replace(']', ' ')}] {body}"
    if form in ("-", ">>"):
        return f"{form} {escape(label).replace(':', ' ')}: {body}"
    if form == ":":           # a "Name: text" prefix (Otter's SubRip, Zoom's text in a cue)
        return f"{' '.join(escape(label).replace(':', ' ').split())}: {body}"
    return body


def _segments(payload: str) -> tuple[list[tuple[str | None, str, str]], bool]:
    marks = list(_VOICE.finditer(payload))
    if not marks:
        return [(None, payload, "")], False
    segments: list[tuple[str | None, str, str]] = []
    lead = payload[: marks[0].start()]
    if _clean(lead).strip():
        segments.append((None, lead, ""))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(payload)
        label = " ".join(html.unescape(m.group(1) or "").split()) or None
        body = payload[m.end() : end]
        if segments and segments[-1][0] == label:
            segments[-1] = (label, segments[-1][1] + body, "")
        else:
            segments.append((label, body, ""))
    return [(label, body.strip("\n"), "") for label, body, _ in segments], True


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
        raws: list[_Raw] = []
        kept_blocks: list[str] = _header_blocks(lines)
        notes = 0
        for no, block in _blocks(source, lines):
            head = block[0]
            if not raws and _is_legacy_header(block):
                # draft-era header lines after a blank line: settings, not cues
                kept_blocks += [r for r in map(_legacy_region, block) if r is not None]
                notes += 1
                continue
            if (head == "NOTE" or head.startswith(("NOTE ", "NOTE\t"))) and "-->" not in head and not (
                    len(block) > 1 and "-->" in block[1]):
                notes += 1
                continue
            if head.strip() in ("STYLE", "REGION") and not any("-->" in b for b in block):
                if not raws and not any(q in "\n".join(block) for q in "\"'"):
                    kept_blocks.append("\n".join(block))
                continue
            raws.append(_cue(source, no, block))
        items, style, forms, metadata = self._items(raws)
        meta = {"style": style, "blocks": kept_blocks, "notes_dropped": notes, "forms": forms,
                "metadata": metadata}
        return Document(source.name, self.name, "transcript", tuple(items), meta=meta)

    def _items(self, raws: list[_Raw]) -> tuple[list[Cue], str, dict[int, str], dict[int, dict[str, str]]]:
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
        forms: dict[int, str] = {}
        metadata: dict[int, dict[str, str]] = {}
        prefix_used = False
        for r in raws:
            for k, (label, segment, form) in enumerate(r.segments):
                text = segment if r.meta is not None else _clean(segment)
                speaker: Speaker | None = Speaker(label) if label else None
                if not voiced:
                    prefix = self._prefix(text)
                    if prefix is not None and _plausible_name(prefix, prefix_counts[prefix], labelled):
                        speaker = Speaker(prefix)
                        text = text[len(prefix) + 2 :]
                        prefix_used = True
                if form:
                    forms[len(items)] = form
                if r.meta is not None:
                    metadata[len(items)] = r.meta
                ident = r.ident if k == 0 else None
                items.append(Cue(len(items), r.start, r.end, speaker, text, ident=ident, settings=r.settings))
        style = "prefix" if prefix_used else "voice"
        return items, style, forms, metadata

    @staticmethod
    def _prefix(text: str) -> str | None:
        first = text.split("\n", 1)[0]
        at = first.find(": ", 0, 82)
        return first[:at] if at > 0 else None

    def write(self, doc: Document) -> dict[str, bytes]:
        meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
        parts = ["WEBVTT", ""]
        for block in meta.get("blocks", []):
            parts += [block, ""]
        for item in doc.items:
            if not isinstance(item, Cue):
                raise input_error(Source(doc.name, {}, path=doc.name), "a WebVTT file holds cues only")
            if item.ident and "-->" not in item.ident and "\n" not in item.ident and item.ident.strip():
                parts.append(item.ident)
            timing = f"{format_time(item.start)} --> {format_time(max(item.end, item.start))}"
            settings = " ".join(item.settings.replace("-->", "").split())
            parts.append(timing + (" " + settings if settings else ""))
            body = _body(item, meta)
            parts += [body, ""] if body else [""]
        return {doc.name: "\n".join(parts).encode("utf-8")}


def _body(item: Cue, meta: dict[str, Any]) -> str:
    """A cue's payload in the layout it was read in; never a line holding "-->"."""
    label = " ".join(item.speaker.label.split()) if item.speaker is not None else None
    metadata: dict[int, dict[str, str]] = meta.get("metadata", {})
    if item.index in metadata:
        obj: dict[str, str] = dict(metadata[item.index])
        obj = {"speakerName": label or "", "spokenText": item.text, **obj}
        return json.dumps(obj, ensure_ascii=False).replace(">", "\\u003e").replace("<", "\\u003c")
    text = "\n".join(line for line in text_lines(item.text) if line.strip())
    body = _escape(text)
    form = meta.get("forms", {}).get(item.index, "")
    if form:
        return caption_line(label, body, form, _escape)
    if label is None:
        return body
    if meta.get("style", "voice") == "prefix":
        return f"{_escape(label)}: {body}"
    return f"<v {_voice_label(label)}>{body}</v>"
