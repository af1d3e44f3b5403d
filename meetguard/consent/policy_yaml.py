"""Append a consent event to a YAML policy so that the diff is that event alone (#26).

Policies live in git: a reviewer must see one new event, not a re-written file. The
file is read with ruamel.yaml's round-trip loader, only to find where the
participant's history for the purpose is (line and column of each node); the
event is then written into the original text:

* a block list (``- {status: granted, ...}`` lines): one line after its last item;
* a flow list (``[{...}, {...}]`` on one line): the event before its ``]``;
* a single event on the purpose's line (``purpose: {status: ...}``): that line
  becomes ``purpose:`` and the old event and the new one follow as a block list,
  the old one's text (and comment) unchanged.

Anything else (no ``consent`` yet, a block-mapping event, a history over several
flow lines) is written by ruamel.yaml's round-trip dumper with the file's guessed
indentation: comments and key order stay, the diff may be larger. The caller
re-validates the result either way.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

__all__ = ["append_event"]


def _flow(event: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in event.items()) + "}"


def _find(doc: Any, participant: str) -> CommentedMap | None:
    for entry in doc.get("participants") or []:
        if isinstance(entry, CommentedMap) and entry.get("id") == participant:
            return entry
    return None


def append_event(text: str, participant: str, purpose: str, event: Mapping[str, str]) -> str:
    """``text`` with ``event`` appended to ``participant``'s history for ``purpose``."""
    yaml = YAML(typ="rt")
    doc = yaml.load(text)
    entry = _find(doc, participant)
    consent = entry.get("consent") if entry is not None else None
    lines = text.splitlines(keepends=True)
    inserted: str | None = None
    if isinstance(consent, CommentedMap) and purpose in consent:
        inserted = _insert(lines, consent, purpose, event)
    elif isinstance(consent, CommentedMap) and len(consent) and not consent.fa.flow_style():
        inserted = _new_key(lines, consent, [f"{purpose}:", f"  - {_flow(event)}"])
    elif entry is not None and consent is None and not entry.fa.flow_style():
        inserted = _new_key(lines, entry, ["consent:", f"  {purpose}:", f"    - {_flow(event)}"])
    return inserted if inserted is not None else _dump(text, participant, purpose, event)


def _block_end(lines: list[str], start: int, indent: int, key: bool = False) -> int:
    """The line after the block that starts at ``start``: the first non-blank line at or
    left of ``indent`` (comment lines too), or a blank line. ``key``: the block is a
    mapping key's, whose value may be a list written at the key's own indentation."""
    end = start + 1
    while end < len(lines):
        here = len(lines[end]) - len(lines[end].lstrip(" "))
        dash = key and here == indent and lines[end].lstrip(" ").startswith("- ")
        if not lines[end].strip() or (here <= indent and not dash):
            break
        end += 1
    return end


def _new_key(lines: list[str], mapping: CommentedMap, new: list[str]) -> str | None:
    """``new`` lines (relative indentation) as the last key of a block ``mapping``."""
    keys = list(mapping)
    _first_line, col = mapping.lc.key(keys[0])
    last_line, last_col = mapping.lc.key(keys[-1])
    if last_col != col:
        return None
    end = _block_end(lines, last_line, col, key=True)
    eol = "\r\n" if lines[end - 1].endswith("\r\n") else "\n"
    if not lines[end - 1].endswith(("\n", "\r\n")):
        lines[end - 1] += eol
    lines[end:end] = [" " * col + line + eol for line in new]
    return "".join(lines)


def _insert(lines: list[str], consent: CommentedMap, purpose: str,
            event: Mapping[str, str]) -> str | None:
    value = consent[purpose]
    key_line, _key_col = consent.lc.key(purpose)
    if isinstance(value, CommentedSeq) and len(value) > 0:
        if value.fa.flow_style():
            return _into_flow_list(lines, value, event)
        return _after_block_list(lines, value, event)
    if isinstance(value, CommentedMap) and value.fa.flow_style():
        val_line, val_col = consent.lc.value(purpose)
        if val_line != key_line or "}" not in lines[key_line][val_col:]:
            return None
        line = lines[key_line]
        indent = len(line) - len(line.lstrip(" "))
        key_text = line[:val_col].rstrip()
        old = line[val_col:].rstrip("\r\n")
        eol = line[len(line.rstrip("\r\n")):] or "\n"
        pad = " " * (indent + 2)
        lines[key_line:key_line + 1] = [key_text + eol, f"{pad}- {old}{eol}",
                                        f"{pad}- {_flow(event)}{eol}"]
        return "".join(lines)
    return None


def _after_block_list(lines: list[str], seq: CommentedSeq, event: Mapping[str, str]) -> str | None:
    last_line, _last_col = seq.lc.item(len(seq) - 1)
    first_line, first_col = seq.lc.item(0)
    dash = lines[first_line].find("-", 0, first_col)
    if dash < 0 or lines[first_line][:dash].strip():
        return None
    end = _block_end(lines, last_line, dash)     # the last item's own lines: deeper than its dash
    eol = "\n" if not lines[end - 1].endswith("\r\n") else "\r\n"
    if not lines[end - 1].endswith(("\n", "\r\n")):
        lines[end - 1] += eol
    lines.insert(end, " " * dash + "- " + _flow(event) + eol)
    return "".join(lines)


def _into_flow_list(lines: list[str], seq: CommentedSeq, event: Mapping[str, str]) -> str | None:
    first_line, _ = seq.lc.item(0)
    last_line, _ = seq.lc.item(len(seq) - 1)
    if first_line != last_line:
        return None
    line = lines[last_line]
    close = line.rfind("]")
    if close < 0 or line.count("]") != 1:
        return None
    lines[last_line] = line[:close].rstrip() + ", " + _flow(event) + line[close:]
    return "".join(lines)


def _dump(text: str, participant: str, purpose: str, event: Mapping[str, str]) -> str:
    doc, indent, block_seq_indent = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=indent or 2, sequence=(indent or 2) + (block_seq_indent or 0),
                offset=block_seq_indent or 0)
    entry = _find(doc, participant)
    if entry is None:
        raise KeyError(participant)
    consent = entry.get("consent")
    if not isinstance(consent, CommentedMap):
        consent = CommentedMap()
        entry["consent"] = consent
    new = CommentedMap(event)
    new.fa.set_flow_style()
    old = consent.get(purpose)
    if old is None:
        history = CommentedSeq()
    elif isinstance(old, CommentedSeq):
        history = old
    else:
        history = CommentedSeq([old])
    history.append(new)
    consent[purpose] = history
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()
