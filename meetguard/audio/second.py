"""The verification's second, independent hearing of the original recording (#23).

The transcript comes from the main decode (tiny.en for English). Before anything is
released, the recording is heard again by the verification decode: another
checkpoint (the multilingual ``base`` for English, ``models.verify_model_for``),
primed with the roster. Its findings are detected with the run's detector and rules,
made whole like the transcript's (:mod:`meetguard.audio.whole`), pieces of the first
pass's values added, and placed on the time line by its own word times. The bleeps
are the union of both decodes' windows, so a value one model misheard, or timed late
after a pause (tiny.en's ~1 s drift), is still covered where the other heard it.

:func:`check_agreement` then compares where the two decodes put each mention of a
value both found (spans of one value within :data:`SAME_MENTION` seconds): when their
windows (each padded) do not meet, the decodes disagree about when the value was said
by more than the padding, and the release fails closed. Mentions further apart are
different mentions (a name said again minutes later), each bleeped where it was heard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .._errors import VerificationError
from .._model import AudioInput, Cue, Finding
from .backend import VERIFY, DecodeVariant, Transcriber
from .fragments import fragment_spans, fragments_of
from .transcribe import transcribe_audio
from .whole import complete_document

__all__ = ["Hearing", "check_agreement", "hear_original", "value_times"]

Window = tuple[float, float]
# Two decodes' spans of one value this close (seconds) are one mention heard by both: over
# twice tiny.en's known drift after a pause (~1 s), under the seconds between two sentences
# that name the same person.
SAME_MENTION = 3.0


@dataclass(frozen=True)
class Hearing:
    """What the verification decode heard in the original: its cues, the findings the
    rules redact in each, and their values (normal form and as heard)."""

    cues: list[Cue]
    findings: list[list[Finding]]
    values: frozenset[str]


def hear_original(rec: AudioInput, transcriber: Transcriber, prompt: str | None,
                  detect: Callable[[list[str]], list[list[Finding]]], redacts: Callable[[Finding], bool],
                  known: Iterable[str], variant: DecodeVariant = VERIFY) -> Hearing:
    """Decode ``rec`` with ``transcriber`` (``variant``: its verification search by
    default; the pipeline uses the main, greedy, search of an independent checkpoint),
    find what the rules redact (``detect`` then ``redacts``), make it whole, and add
    the pieces of ``known`` (the values the first pass redacted) wherever it heard them."""
    doc = transcribe_audio(rec, transcriber, prompt, variant=variant)
    cues = [c for c in doc.items if isinstance(c, Cue)]
    texts = [c.text for c in cues]
    found = [[f for f in unit if redacts(f)] for unit in detect(texts)] if texts else []
    found = complete_document(texts, found, lambda _f: True)
    values = {f.normalized for unit in found for f in unit}
    values |= {texts[k][f.start:f.end] for k, unit in enumerate(found) for f in unit}
    frags = fragments_of(known)
    for k, text in enumerate(texts):
        for s, e in fragment_spans(text, frags):
            if all(f.end <= s or f.start >= e for f in found[k]):
                found[k].append(Finding(s, e, "FRAGMENT", 1.0, text[s:e]))
        found[k].sort(key=lambda f: (f.start, f.end))
    return Hearing(cues, found, frozenset(v for v in values if v.strip()))


def value_times(cues: Sequence[Cue], findings: Sequence[Sequence[Finding]]) -> dict[str, list[Window]]:
    """Each value's unpadded time spans (by its normal form, digits for numbers)."""
    out: dict[str, list[Window]] = {}
    for cue, unit in zip(cues, findings, strict=True):
        if not unit:
            continue
        try:
            spans = cue.word_offsets()
        except ValueError:
            continue
        for f in unit:
            hit = [w for w, (s, e) in zip(cue.words, spans, strict=True) if s < f.end and e > f.start]
            if hit:
                out.setdefault(_key(f.normalized), []).append((min(w.start for w in hit), max(w.end for w in hit)))
    return out


def _key(value: str) -> str:
    digits = "".join(c for c in value if c.isdigit())
    return digits if len(digits) >= 3 else " ".join(value.casefold().split())


def check_agreement(first: dict[str, list[Window]], second: dict[str, list[Window]], pad: float,
                    name: str, horizon: float = SAME_MENTION) -> None:
    """Fail closed when the two decodes place one mention of a value more than ``pad``
    apart on each side: a span of the first decode with spans of the same value from
    the second within ``horizon`` seconds (the same mention, heard by both), none of
    which meets it padded. A value said again minutes later is another mention: in a
    long recording one decode may catch a name where the other missed it and the
    reverse elsewhere, which is no disagreement about when either was said (both are
    bleeped: the union)."""
    for value, spans in first.items():
        other = second.get(value)
        if not other:
            continue
        for a0, a1 in spans:
            near = [(b0, b1) for b0, b1 in other if b0 - horizon <= a1 and a0 - horizon <= b1]
            if near and not any(a0 - pad <= b1 + pad and b0 - pad <= a1 + pad for b0, b1 in near):
                raise VerificationError(f"the two decodes of {name} place a value more than the padding apart",
                                        reason="decodes_disagree")
