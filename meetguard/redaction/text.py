"""Apply findings to a meeting's documents: the text half of redaction.

Two steps, both pure:

1. :func:`plan_units` lists every piece of text that will be released (item
   texts, unresolved quotes, extra texts) as detection units, in release order.
2. :func:`redact_documents` takes the detector's findings for those units and
   the purpose's rules and builds redacted documents: dropped items removed,
   values replaced through presidio-anonymizer, speaker labels relabelled, and
   quotes of dropped messages written ``[excluded]``.

Pseudonyms are numbered in the same order the content is released: documents
in argument order, items in order, and within an item its speaker label first,
then DM targets, then the text left to right.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from .._model import ChatMessage, Cue, Document, Finding, Item, MessageKind, Quote, Speaker, Word
from ..detection import TextUnit
from .operators import Operator
from .pseudonyms import PseudonymBook
from .tokens import unwrap

if TYPE_CHECKING:
    from ..backends import Anonymizer

__all__ = [
    "EXCLUDED_QUOTE",
    "RedactionOutcome",
    "RedactionRules",
    "UnitRef",
    "plan_units",
    "redact_documents",
    "redact_plain",
    "rules_redact",
]

EXCLUDED_QUOTE = "[excluded]"
FieldName = Literal["text", "quote", "extra"]


@dataclass(frozen=True)
class UnitRef:
    """Where a detection unit's text lives: document, item, field (and extra index)."""

    doc: int
    item: int
    field: FieldName
    extra: int = 0


@dataclass(frozen=True)
class RedactionRules:
    entities: frozenset[str]
    operator: Operator
    pseudonymize_speakers: bool
    excluded: frozenset[str]                     # participant ids whose names are always removed
    attribution: Mapping[Speaker, str]           # speaker -> participant id / unknown-n


def rules_redact(rules: RedactionRules, f: Finding) -> bool:
    """Whether ``rules`` remove finding ``f``: a participant's name where speakers are
    pseudonymised or the participant is excluded, else any value of a listed entity."""
    if f.participant_id is not None and (
            rules.pseudonymize_speakers or f.participant_id in rules.excluded):
        return True
    return f.entity_type in rules.entities


@dataclass
class RedactionOutcome:
    documents: list[Document]
    entity_counts: Counter[str] = field(default_factory=Counter)
    # findings applied to each kept cue's text, keyed (doc, item index in the *original* document)
    cue_findings: dict[tuple[int, int], list[Finding]] = field(default_factory=dict)
    redacted_values: set[str] = field(default_factory=set)   # surface forms, for audio verification


def _quote_resolved(item: Item) -> bool:
    return isinstance(item, ChatMessage) and item.quote is not None and item.quote.ref is not None


def plan_units(documents: Sequence[Document], dropped_items: frozenset[tuple[int, int]],
               dropped_documents: frozenset[int]) -> list[tuple[UnitRef, TextUnit]]:
    units: list[tuple[UnitRef, TextUnit]] = []
    for d, doc in enumerate(documents):
        if d in dropped_documents:
            continue
        spoken = doc.kind == "transcript"
        for i, item in enumerate(doc.items):
            if (d, i) in dropped_items:
                continue
            if isinstance(item, ChatMessage) and item.kind is MessageKind.DELETED:
                continue
            skip: tuple[tuple[int, int], ...] = ()
            if isinstance(item, ChatMessage):
                skip = tuple((m.start, m.end) for m in item.mentions)
            units.append((UnitRef(d, i, "text"), TextUnit(item.text, spoken, skip)))
            if isinstance(item, ChatMessage):
                if item.quote is not None and item.quote.ref is None:
                    units.append((UnitRef(d, i, "quote"), TextUnit(item.quote.text, spoken)))
                for k, extra in enumerate(item.extra_texts):
                    units.append((UnitRef(d, i, "extra", k), TextUnit(extra, spoken)))
    return units


class _Redactor:
    def __init__(self, rules: RedactionRules, book: PseudonymBook, engine: Anonymizer) -> None:
        self.rules = rules
        self.book = book
        self.engine = engine
        self.counts: Counter[str] = Counter()
        self.values: set[str] = set()
        self.relabel: dict[Speaker, Speaker] = {}

    # -- speakers ---------------------------------------------------------
    def speaker(self, sp: Speaker | None) -> Speaker | None:
        if sp is None:
            return None
        if sp in self.relabel:
            return self.relabel[sp]
        key = self.rules.attribution.get(sp)
        if key is None or not (self.rules.pseudonymize_speakers or key in self.rules.excluded):
            return sp
        token = self.book.person_token(key)
        self.book.remember(token, sp.label)
        new = Speaker(label=token, platform_id=unwrap(token) if sp.platform_id else None)
        self.relabel[sp] = new
        return new

    # -- values -----------------------------------------------------------
    def _wanted(self, f: Finding) -> bool:
        return rules_redact(self.rules, f)

    def _replacement(self, f: Finding, value: str) -> str:
        if f.participant_id is not None and self.rules.pseudonymize_speakers and f.entity_type == "PERSON":
            token = self.book.person_token(f.participant_id)
            self.book.remember(token, value)
            return token
        op = self.rules.operator
        number = 0
        if op.numbered:
            number = self.book.number(f.entity_type, self.book.value_key(f.normalized, f.participant_id))
        token = op.replace(f.entity_type, value, f.normalized or value, number)
        if op.numbered or op.name == "hash":     # unique tokens only: <PERSON> and masks are not
            self.book.remember(token, value)
        return token

    def text(self, text: str, findings: Sequence[Finding],
             mentions: Sequence[tuple[int, int, Speaker]] = (), *,
             count: bool = True) -> tuple[str, list[tuple[Finding, str]]]:
        """Redact one text; returns it and the findings applied with their replacements."""
        spans: list[Finding] = [f for f in findings if self._wanted(f)]
        for start, end, sp in mentions:
            key = self.rules.attribution.get(sp)
            spans.append(Finding(start, end, "PERSON", 1.0, text[start:end].casefold(), key))
        spans = [f for f in spans if self._wanted(f)]
        spans.sort(key=lambda f: (f.start, -f.end))
        applied: list[tuple[Finding, str]] = []
        results: list[RecognizerResult] = []
        operators: dict[str, OperatorConfig] = {}
        last_end = -1
        for f in spans:
            if f.start < last_end:      # overlaps an earlier span: the earlier one covers it
                continue
            last_end = f.end
            label = f"MG{len(results)}"
            value = text[f.start:f.end]
            replacement = self._replacement(f, value)
            operators[label] = OperatorConfig("replace", {"new_value": replacement})
            results.append(RecognizerResult(label, f.start, f.end, f.score))
            applied.append((f, replacement))
            if count:
                self.counts[f.entity_type] += 1
                self.values.add(value)
        if not results:
            return text, applied
        out = self.engine.anonymize(text=text, analyzer_results=results, operators=operators,
                                    merge_entities_with_spaces=False)
        return out.text, applied


def _derive_quote(quote: Quote, ref_item: Item, ref_findings: Sequence[Finding],
                  redactor: _Redactor) -> Quote:
    """Re-quote the redacted referenced message, cut where the platform cut it.

    The referenced message's @mentions are redacted in the quote as in the
    message (a refusing participant's "@Name" never survives in a reply's
    quote, #31). A value that straddles the cut is replaced whole, so no
    fragment of it survives in the quote.
    """
    ref_text = ref_item.text
    cut = len(quote.text) if quote.truncated else len(ref_text)
    clipped = [f for f in ref_findings if f.start < cut]
    mentions = [(m.start, m.end, m.speaker) for m in (ref_item.mentions if isinstance(ref_item, ChatMessage) else ()) if m.start < cut]
    end = max([cut, *(f.end for f in clipped), *(e for _, e, _ in mentions)])
    text, _ = redactor.text(ref_text[:end], clipped, mentions, count=False)
    return Quote(text, quote.ref, quote.truncated)


def redact_documents(
    documents: Sequence[Document],
    dropped_items: frozenset[tuple[int, int]],
    dropped_documents: frozenset[int],
    quotes_dropped: frozenset[tuple[int, int]],
    units: Sequence[tuple[UnitRef, TextUnit]],
    findings: Sequence[Sequence[Finding]],
    rules: RedactionRules,
    book: PseudonymBook,
    engine: Anonymizer | None = None,
) -> RedactionOutcome:
    by_ref: dict[UnitRef, Sequence[Finding]] = {ref: fs for (ref, _), fs in zip(units, findings, strict=True)}
    redactor = _Redactor(rules, book, engine or AnonymizerEngine())  # type: ignore[no-untyped-call]
    outcome = RedactionOutcome(documents=[])
    for d, doc in enumerate(documents):
        if d in dropped_documents:
            continue
        kept: list[Item] = []
        for i, item in enumerate(doc.items):
            if (d, i) in dropped_items:
                continue
            if isinstance(item, ChatMessage) and item.kind is MessageKind.DELETED:
                continue
            if isinstance(item, ChatMessage):
                kept.append(_redact_message(d, i, item, by_ref, quotes_dropped, doc, redactor))
            else:
                sp = redactor.speaker(item.speaker)
                text, applied = redactor.text(item.text, by_ref.get(UnitRef(d, i, "text"), ()))
                outcome.cue_findings[(d, i)] = [f for f, _ in applied]
                words = item.words
                if item.words and applied:
                    text, words = redact_words(item, applied)
                kept.append(dataclasses.replace(item, speaker=sp, text=text, words=words))
        # Every attributed speaker of this document gets its label decided, even
        # one only named in structure (Slack users.json, Teams mention lists).
        for sp in rules.attribution:
            redactor.speaker(sp)
        outcome.documents.append(dataclasses.replace(doc, items=tuple(kept), relabel=dict(redactor.relabel)))
    outcome.entity_counts = redactor.counts
    outcome.redacted_values = redactor.values
    return outcome


def redact_words(cue: Cue, applied: Sequence[tuple[Finding, str]]) -> tuple[str, tuple[Word, ...]]:
    """Redact a cue built from timed words, keeping text and words in step.

    Words touched by a finding are merged into one word holding the redacted
    text of their span (a finding inside a word, "Carla's", keeps the rest of
    the word: "<PERSON_1>'s"), timed from the first to the last word merged.
    """
    offsets = cue.word_offsets()
    pieces: list[str] = []
    words: list[Word] = []
    pos = 0
    k = 0
    spans = sorted(applied, key=lambda p: p[0].start)
    while k < len(offsets):
        a, b = offsets[k]
        hits = [p for p in spans if p[0].start < b and p[0].end > a]
        if not hits:
            pieces.append(cue.text[pos:b])
            words.append(Word(cue.text[pos:b], cue.words[k].start, cue.words[k].end,
                              cue.words[k].probability))
            pos = b
            k += 1
            continue
        first = k
        end = max(b, *(p[0].end for p in hits))
        while k + 1 < len(offsets) and offsets[k + 1][0] < end:
            k += 1
            end = max(end, offsets[k][1], *(p[0].end for p in spans
                                             if p[0].start < offsets[k][1] and p[0].end > offsets[k][0]))
        inner = [(f, r) for f, r in spans if f.start >= pos and f.end <= end]
        out: list[str] = []
        cur = pos
        for f, r in inner:
            out.append(cue.text[cur:f.start])
            out.append(r)
            cur = f.end
        out.append(cue.text[cur:end])
        piece = "".join(out)
        pieces.append(piece)
        words.append(Word(piece, cue.words[first].start, cue.words[k].end, None))
        pos = end
        k += 1
    pieces.append(cue.text[pos:])
    return "".join(pieces), tuple(words)


def _redact_message(d: int, i: int, msg: ChatMessage, by_ref: Mapping[UnitRef, Sequence[Finding]],
                    quotes_dropped: frozenset[tuple[int, int]], doc: Document,
                    redactor: _Redactor) -> ChatMessage:
    sender = redactor.speaker(msg.sender)
    recipients = tuple(r for r in (redactor.speaker(r) for r in msg.recipients) if r is not None)
    mentions = [(m.start, m.end, m.speaker) for m in msg.mentions]
    text, _ = redactor.text(msg.text, by_ref.get(UnitRef(d, i, "text"), ()), mentions)
    quote = msg.quote
    if quote is not None:
        if (d, i) in quotes_dropped:
            quote = Quote(EXCLUDED_QUOTE, None, False)
        elif quote.ref is not None and 0 <= quote.ref < len(doc.items):
            ref_item = doc.items[quote.ref]
            quote = _derive_quote(quote, ref_item, by_ref.get(UnitRef(d, quote.ref, "text"), ()), redactor)
        else:
            qtext, _ = redactor.text(quote.text, by_ref.get(UnitRef(d, i, "quote"), ()))
            quote = Quote(qtext, None, quote.truncated)
    extras = tuple(redactor.text(x, by_ref.get(UnitRef(d, i, "extra", k), ()))[0]
                   for k, x in enumerate(msg.extra_texts))
    # Mentions are now plain text (replaced or kept); their spans no longer hold.
    return dataclasses.replace(msg, sender=sender, recipients=recipients, text=text, quote=quote,
                               mentions=(), extra_texts=extras)


def redact_plain(texts: Sequence[str], findings: Sequence[Sequence[Finding]], rules: RedactionRules,
                 book: PseudonymBook, engine: Anonymizer | None = None,
                 ) -> tuple[list[str], Counter[str]]:
    """Redact free texts (the OpenAI pass-through) with one pseudonym book."""
    redactor = _Redactor(rules, book, engine or AnonymizerEngine())  # type: ignore[no-untyped-call]
    out = [redactor.text(t, fs)[0] for t, fs in zip(texts, findings, strict=True)]
    return out, redactor.counts
