"""Zoom's local chat file (``meeting_saved_chat.txt``), every layout since 2020.

One message starts on a line ``HH:MM:SS<sep>From<pad><head>...`` and the
layouts differ in what follows (docs/formats.md lists each with an example):

* header layout (today): ``10:02:11 From A to Everyone:`` and the body on the
  following lines, indented by a tab (or by spaces, in some versions);
* inline layouts: ``10:02:11\\t From  A : msg`` (older: no target for public
  messages), ``10:02:11 From A to Everyone : msg``; a direct message names its
  target: ``From A to B(Direct Message) : msg``, ``From A  to  B (Privately) : msg``;
* the saved chat since 2025 (``meeting_saved_new_chat.txt``) writes the date
  before the time (``2025-11-06 08:26:31 From A to B (direct message):``),
  kept as the message time and written back;
* the separator after the time is a space, a tab or a tab and a space; names
  are padded by one space or two;
* further lines of a message follow indented, or (older inline layouts) raw.

The sender is the text before the target: ``A``, never ``A  to  B``. Where a
name itself holds " to ", names seen as public senders decide the split. A
reaction or reply in the body (``Reacted to "..." with 👍``, ``Replying to
"..."``, ``Removed a 👍 reaction from "..."``) becomes a REACTION / REPLY
item whose quote is resolved like Zoom cloud chat quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._model import ChatMessage, Document, MessageKind, Quote, Speaker
from ._base import at_mentions, input_error, text_lines
from ._source import Source
from ._zoom_langs import LANGS, ZoomLang, by_code, candidates

__all__ = ["HEAD", "is_local_head", "one_line", "parse_local", "quote_of", "write_local"]

HEAD = LANGS[0].head
# Targets that are a group, not a person: the message is private, without recipients.
_GROUPS = frozenset(["hosts and panelists", "panelists", "hosts", "host", "co-hosts", "hosts and co-hosts",
                     "waiting room", "waiting room participants", "everyone (in waiting room)",
                     "everyone in waiting room", "breakout rooms", "all panelists"])
_REACTED = re.compile(r'Reacted to "(.*)" with (.+)', re.DOTALL)
_REMOVED = re.compile(r'Removed a (.+?) reaction from "(.*)"', re.DOTALL)
_REPLYING = re.compile(r'Replying to "(.*?)"(:?)(?:[ \t]+(.*))?', re.DOTALL)


def quote_of(text: str, items: list[ChatMessage]) -> Quote:
    """A quote as Zoom writes it (cut to 20 characters and "..."), resolved to
    the latest earlier message it quotes, or unresolved (``ref=None``)."""
    truncated = text.endswith("...")
    core = text[:-3] if truncated else text
    ref = None
    for prev in reversed(items):
        if prev.kind in (MessageKind.MESSAGE, MessageKind.REPLY) and core and prev.text.startswith(core):
            ref = prev.index
            break
    return Quote(core, ref, truncated)


def _split_message(rest: str, lang: ZoomLang) -> tuple[str, str | None] | None:
    """(head, inline message or None when the body follows on its own lines)."""
    at = rest.find(" : ")
    if at >= 0:
        return rest[:at], rest[at + 3 :]
    stripped = rest.rstrip()
    if stripped.endswith((" :", " ：")):
        return stripped[:-2], ""
    if stripped.endswith((":", "：")):
        return stripped[:-1], None
    m = lang.inline_after_target.fullmatch(rest)
    return (m.group(1), m.group(2)) if m else None


@dataclass
class _Head:
    time: str
    sender: str
    target: str           # "" for a public message without a target
    suffix: str           # "(Direct Message)", " (Privately)", "" ...
    private: bool
    inline: bool
    body: list[str] = field(default_factory=list)


def _choose_split(head: str, known: set[str], lang: ZoomLang) -> tuple[str, str]:
    cuts = [m for m, _ in zip(lang.to_re.finditer(head), range(20))]
    for m in cuts:
        if head[: m.start()].strip() in known:
            return head[: m.start()].strip(), head[m.end() :].strip()
    for m in cuts:
        if head[m.end() :].strip() in known:
            return head[: m.start()].strip(), head[m.end() :].strip()
    m = cuts[0]
    return head[: m.start()].strip(), head[m.end() :].strip()


def _read_head(head: str, known: set[str], lang: ZoomLang) -> tuple[str, str, str, bool]:
    """(sender, target, suffix, private) of a message head.

    Any target but Everyone makes the message private: ``A to B(Direct
    Message)``, ``A to B (Privately)``, and the older ``A to B`` alike.
    """
    head = head.rstrip()
    dm = lang.dm.fullmatch(head)
    if dm and lang.to_re.search(dm.group(1)):
        sender, target = _choose_split(dm.group(1), known, lang)
        return sender, target, dm.group(2), True
    if dm:          # a private marker, but no "to" this language's table knows: never public
        return "", "", dm.group(2), True
    public = lang.to_everyone.fullmatch(head)
    if public:
        return public.group(1).strip(), "Everyone", "", False
    if lang.to_re.search(head) and head.strip() not in known:
        sender, target = _choose_split(head, known, lang)
        return sender, target, "", True
    return head.strip(), "", "", False


def _known_senders(heads: list[tuple[int, str, str | None]], lang: ZoomLang) -> set[str]:
    """Names that send a public message: "A to Everyone", or a head without "to"."""
    known: set[str] = set()
    for _, head, _ in heads:
        m = lang.to_everyone.fullmatch(head.rstrip())
        if m:
            known.add(m.group(1).strip())
        elif not lang.to_re.search(head) and not lang.dm.fullmatch(head.rstrip()):
            known.add(head.strip())
    return known


def _strip_indent(line: str) -> str:
    if line.startswith("\t"):
        return line[1:]
    return line.lstrip(" ")


# A line that starts like a message header (a time, or a date and time): never a body line.
_TIMED = re.compile(r"[ \t]*(?:\d{4}-\d{2}-\d{2}[ \t]+)?\d{1,2}:\d{2}")


def _check_indented(source: Source, lines: list[str], no: int, body: list[str]) -> None:
    """In the header layout a body starts indented. Later lines may be raw:
    Zoom's 2022-2023 clients write a message's further lines unindented
    (``\tThis has been so helpful!`` then ``* where can we go...``), so a raw
    line after an indented one continues that message. A raw first line, or a
    raw line that starts with a time (a header in wording the table lacks),
    cannot be told to belong to the message above it (fail closed)."""
    at = no
    for k, line in enumerate(body):
        at = lines.index(line, at)
        if not line[:1].isspace() and (k == 0 or _TIMED.match(line)):
            raise input_error(source, "expected a message header or an indented line", at + 1)
        at += 1


def is_local_head(line: str) -> bool:
    """Whether ``line`` opens a message of a local chat file, in any language."""
    return bool(candidates(line))


def _first_head(lines: list[str]) -> list[ZoomLang]:
    for line in lines:
        if line.strip():
            return candidates(line)
    return [LANGS[0]]


def _scan(source: Source, lines: list[str],
          head_re: re.Pattern[str]) -> tuple[list[tuple[int, re.Match[str]]], dict[int, list[str]]]:
    """Header lines (line number, match) and each header's following lines."""
    heads: list[tuple[int, re.Match[str]]] = []
    bodies: dict[int, list[str]] = {}
    for no, line in enumerate(lines, 1):
        m = head_re.fullmatch(line)
        if m:
            heads.append((no, m))
            bodies[no] = []
        elif not line.strip():
            continue
        elif not heads:
            raise input_error(source, "text before the first message header", no)
        else:
            bodies[heads[-1][0]].append(line)
    return heads, bodies


def _language(langs: list[ZoomLang], split: list[tuple[int, str, str | None]]) -> ZoomLang:
    """The one language of the file: the first whose target or private wording a header uses."""
    for lang in langs:
        if any(lang.marks(head) for _, head, _ in split):
            return lang
    return langs[0]


def _wording(lang: ZoomLang, split: list[tuple[int, str, str | None]]) -> dict[str, str]:
    """The "to" and "Everyone" words as the file writes them (kept by the writer)."""
    for _, head, _ in split:
        m = lang.to_everyone.fullmatch(head.rstrip())
        if m:
            cut = list(lang.to_re.finditer(head.rstrip()))[-1]
            return {"to": cut.group().strip(), "everyone": head.rstrip()[cut.end():]}
    for _, head, _ in split:        # only private messages: the "to" of the first target
        to = lang.to_re.search(head)
        if to:
            return {"to": to.group().strip(), "everyone": lang.everyone[0]}
    return {"to": lang.to[0], "everyone": lang.everyone[0]}


def _split_all(source: Source, heads: list[tuple[int, re.Match[str]]],
               lang: ZoomLang) -> list[tuple[int, str, str | None]]:
    split: list[tuple[int, str, str | None]] = []
    for no, m in heads:
        parts = _split_message(m.group(5), lang)
        if parts is None:
            raise input_error(source, "message header without the ':' that ends it", no)
        split.append((no, parts[0], parts[1]))
    return split


def parse_local(source: Source, lines: list[str], fmt: str) -> Document:
    langs = _first_head(lines) or [LANGS[0]]
    heads, bodies = _scan(source, lines, langs[0].head)
    split = _split_all(source, heads, langs[0])
    lang = _language(langs, split)
    if lang is not langs[0]:
        split = _split_all(source, heads, lang)
    targeted = any(lang.to_everyone.fullmatch(h.rstrip()) for _, h, _ in split)
    known = _known_senders(split, lang)
    items: list[ChatMessage] = []
    per_item: dict[int, dict[str, str]] = {}
    for (no, m), (_, head, inline) in zip(heads, split, strict=True):
        sender, target, suffix, private = _read_head(head, known, lang)
        if not sender and private:
            raise input_error(source, "a private message whose sender and target cannot be told apart", no)
        if not sender:
            raise input_error(source, "message header without a sender", no)
        if inline is None:
            _check_indented(source, lines, no, bodies[no])
            if lang.code != "en" and not target:
                # the current layout always names a target: wording this
                # language table does not know is refused, never guessed
                raise input_error(source, "message header without a target Zoom writes in this language", no)
        elif lang.code != "en" and not target and lang.any_to_everyone.fullmatch(head.rstrip()):
            # "A <word> Everyone": a target in wording the table lacks; the sender would
            # be read as "A <word> Everyone" and escape its owner's consent (fail closed)
            raise input_error(source, "message header with a target in wording not known here", no)
        body = ([inline] if inline is not None else []) + [_strip_indent(b) for b in bodies[no]]
        i = len(items)
        msg, form = _message(i, m.group(1), Speaker(sender), body, items)
        recipients = (Speaker(target),) if private and target and target.casefold() not in _GROUPS else ()
        items.append(ChatMessage(i, msg.time, msg.sender, msg.text, recipients, private, msg.kind, msg.quote))
        per_item[i] = {"target": "" if recipients else target, "suffix": suffix, "form": form}
    meta = _layout(heads, split, targeted)
    meta.update(_wording(lang, split), lang=lang.code, items=per_item)
    return Document(source.name, fmt, "chat", tuple(at_mentions(items)), meta=meta)


def _message(i: int, time: str, sender: Speaker, body: list[str],
             items: list[ChatMessage]) -> tuple[ChatMessage, str]:
    """The message, and how its body was written ("" plain, or a reaction/reply form)."""
    first = body[0] if body else ""
    rest = "\n".join(body[1:])
    r = _REACTED.fullmatch(first) if len(body) == 1 else None
    if r:
        return ChatMessage(i, time, sender, r.group(2), kind=MessageKind.REACTION,
                           quote=quote_of(r.group(1), items)), "reacted"
    rm = _REMOVED.fullmatch(first) if len(body) == 1 else None
    if rm:
        return ChatMessage(i, time, sender, rm.group(1), kind=MessageKind.REACTION,
                           quote=quote_of(rm.group(2), items)), "removed"
    p = _REPLYING.fullmatch(first)
    if p:
        inline = p.group(3)
        text = "\n".join(x for x in (inline, rest) if x) if inline else rest
        form = "reply-inline" if inline else "reply"
        return ChatMessage(i, time, sender, text, kind=MessageKind.REPLY,
                           quote=quote_of(p.group(1), items)), form + (":" if p.group(2) else "")
    return ChatMessage(i, time, sender, "\n".join(body)), ""


def _layout(heads: list[tuple[int, re.Match[str]]], split: list[tuple[int, str, str | None]],
            targeted: bool) -> dict[str, Any]:
    first = heads[0][1] if heads else None
    inline = sum(1 for _, _, msg in split if msg is not None) * 2 > len(split)
    sep, word, pad = (first.group(2), first.group(3), first.group(4)) if first else (" ", "", " ")
    if first and word is None:      # no word before the sender: one space of the gap pads the target
        sep, word, pad = sep[:-1], "", " "
    return {
        "layout": "inline" if inline else "header",
        "sep": sep,
        "pad": pad,
        "from": word,
        "targeted": targeted or not inline,
    }


def one_line(text: str) -> str:
    """A value written on one line of a chat file: no line breaks, no tabs."""
    return " ".join(text.replace("\r", "\n").split("\n")).replace("\t", " ")


def _body(item: ChatMessage, form: str) -> list[str]:
    q = item.quote
    quoted = one_line(q.text + ("..." if q.truncated else "")) if q else ""
    text = text_lines(item.text)
    if item.kind is MessageKind.REACTION:
        if form == "removed":
            return [f'Removed a {one_line(item.text)} reaction from "{quoted}"']
        return [f'Reacted to "{quoted}" with {one_line(item.text)}']
    if item.kind is MessageKind.REPLY:
        colon = ":" if form.endswith(":") else ""          # 'Replying to "...":' since 2025
        if form.startswith("reply-inline"):
            return [f'Replying to "{quoted}"{colon} {text[0]}', *text[1:]]
        return [f'Replying to "{quoted}"{colon}', *text]
    return text


def _target(item: ChatMessage, info: dict[str, str], pad: str, targeted: bool, words: dict[str, str]) -> str:
    to, lang = words["to"], by_code(words["lang"])
    default = f"({lang.private[0]})"
    if item.private:
        suffix = info.get("suffix", default) if info else default
        if item.recipients:
            return f"{pad}{to}{pad}{one_line(item.recipients[0].label)}{suffix}"
        target = info.get("target", "")
        if target.casefold() in _GROUPS:
            return f"{pad}{to}{pad}{one_line(target)}{suffix}"
        return f"{pad}{to}{pad}Unknown speaker{suffix or default}"
    return f"{pad}{to}{pad}{words['everyone']}" if targeted else ""


def write_local(doc: Document) -> bytes:
    meta: dict[str, Any] = doc.meta if isinstance(doc.meta, dict) else {}
    layout = meta.get("layout", "header")
    sep, pad = meta.get("sep", " "), meta.get("pad", " ")
    targeted = bool(meta.get("targeted", True))
    per_item: dict[int, dict[str, str]] = meta.get("items", {})
    lang = by_code(str(meta.get("lang", "en")))
    word = str(meta.get("from", ""))
    if word not in lang.sender and not (word == "" and lang.bare):     # "" only where Zoom writes none
        word = lang.sender[0]
    words = {"lang": lang.code, "to": one_line(str(meta.get("to", lang.to[0]))),
             "everyone": one_line(str(meta.get("everyone", lang.everyone[0])))}
    out: list[str] = []
    for item in doc.items:
        if not isinstance(item, ChatMessage):
            raise input_error(Source(doc.name, {}, doc.container, doc.name), "a Zoom chat holds chat messages only")
        info = per_item.get(item.index, {})
        sender = one_line(item.sender.label) if item.sender else "Unknown speaker"
        head = f"{item.time}{sep}{word}{pad}{sender}{_target(item, info, pad, targeted, words)}"
        body = _body(item, info.get("form", ""))
        if layout == "inline":
            out.append(f"{head} : {body[0]}")
            body = body[1:]
        else:
            out.append(f"{head}:")
        out.extend("\t" + line for line in body)
    return ("\n".join(out) + "\n").encode("utf-8")
