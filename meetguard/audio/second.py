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
value both found: a span of one decode that nothing of the other's meets (padded), with
a span of the same value from the other within :data:`SAME_MENTION` seconds that nothing
of the first's meets either, is one mention the decodes placed more than the padding
apart, and the release fails closed. Spans further apart are different mentions (a name
said again minutes later), each bleeped where it was heard.
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
    apart on each side: a span of the first decode that no span of the second meets
    (padded), with a span of the same value from the second within ``horizon`` seconds
    that no span of the first meets either. Both are then one mention each decode put
    elsewhere. A span the other decode also marks (as whatever value it heard there: a
    dictated address is often heard in two spellings) is placed by both; a value said
    again further away is another mention: in a long recording one decode may catch a
    name where the other missed it and the reverse elsewhere, which is no disagreement
    about when either was said (both are bleeped: the union)."""
    def meets(a: Window, b: Window) -> bool:
        return a[0] - pad <= b[1] + pad and b[0] - pad <= a[1] + pad

    every_first = [w for spans in first.values() for w in spans]
    every_second = [w for spans in second.values() for w in spans]
    for value, spans in first.items():
        for a in spans:
            if any(meets(a, b) for b in every_second):
                continue
            near = [b for b in second.get(value, ()) if b[0] - horizon <= a[1] and a[0] - horizon <= b[1]]
            if any(not any(meets(f, b) for f in every_first) for b in near):
                raise VerificationError(f"the two decodes of {name} place a value more than the padding apart",
                                        reason="decodes_disagree")
