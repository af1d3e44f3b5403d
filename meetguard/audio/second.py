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

from .._errors import AudioPlacementError, VerificationError
from .._model import AudioInput, Cue, Finding
from .backend import VERIFY, DecodeVariant, Transcriber
from .fragments import fragment_spans, fragments_of
from .transcribe import transcribe_audio
from .whole import complete_document

__all__ = ["Hearing", "check_agreement", "findings_of", "hear_original", "hearing_of", "other_windows", "value_times"]

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
    return hearing_of([c for c in doc.items if isinstance(c, Cue)], detect, redacts, known)


def hearing_of(cues: list[Cue], detect: Callable[[list[str]], list[list[Finding]]],
               redacts: Callable[[Finding], bool], known: Iterable[str]) -> Hearing:
    """The :class:`Hearing` of ``cues`` (:func:`hear_original`'s findings, from its decode's
    cues; :mod:`.disputes` calls it again after a disputed cue was heard again)."""
    texts = [c.text for c in cues]
    found = findings_of(texts, detect, redacts, known)
    values = {f.normalized for unit in found for f in unit if f.entity_type != "FRAGMENT"}
    values |= {texts[k][f.start:f.end] for k, unit in enumerate(found) for f in unit if f.entity_type != "FRAGMENT"}
    return Hearing(cues, found, frozenset(v for v in values if v.strip()))


def findings_of(texts: list[str], detect: Callable[[list[str]], list[list[Finding]]],
                redacts: Callable[[Finding], bool], known: Iterable[str]) -> list[list[Finding]]:
    """What :func:`hearing_of` finds in each of ``texts``: what the rules redact, made whole,
    and the pieces of ``known``."""
    found = [[f for f in unit if redacts(f)] for unit in detect(texts)] if texts else []
    found = complete_document(texts, found, lambda _f: True)
    frags = fragments_of(known)
    for k, text in enumerate(texts):
        for s, e in fragment_spans(text, frags):
            if all(f.end <= s or f.start >= e for f in found[k]):
                found[k].append(Finding(s, e, "FRAGMENT", 1.0, text[s:e]))
        found[k].sort(key=lambda f: (f.start, f.end))
    return found


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


def _fused(text: str, a: int, b: int) -> bool:
    return any(c.isalnum() for c in text[a:b])


def other_windows(hearing: Hearing, cues: Sequence[Cue], findings: Sequence[Sequence[Finding]], pad: float,
                  duration: float | None = None, edge: float | None = None) -> list[Window]:
    """The verification decode's bleep windows (padded by ``edge``, by default ``pad``), each finding spanning
    its words' times; where a finding takes only part of a word that ASR fused with other
    words ("example.okol212-555-0167": the domain, "or call" and the number in one token,
    one time span), that edge of it is the transcript decode's edge of the same value,
    when that decode placed the value there too (a span of ``cues``/``findings`` meeting
    it, padded): both heard it, and the transcript's word boundary is the measured one.
    Else the whole fused word is bleeped, as before. A value left audible by a late edge
    is heard by the release's verification (and repaired, or refused)."""
    from ..redaction.audio import merge_windows

    mine = value_times(cues, findings)
    raw: list[Window] = []
    for cue, unit in zip(hearing.cues, hearing.findings, strict=True):
        if not unit:
            continue
        try:
            spans = cue.word_offsets()
        except ValueError as exc:
            raise AudioPlacementError("audio redaction: a cue of the verification decode is not built "
                                      "from its words") from exc
        for f in unit:
            hit = [(w, s, e) for w, (s, e) in zip(cue.words, spans, strict=True) if s < f.end and e > f.start]
            if not hit:
                raise AudioPlacementError(f"audio redaction: a {f.entity_type} finding of the verification "
                                          "decode overlaps no timed word")
            a, b = min(w.start for w, _s, _e in hit), max(w.end for w, _s, _e in hit)
            same = [m for m in mine.get(_key(f.normalized), ()) if m[0] - pad <= b + pad and a - pad <= m[1] + pad]
            if same and _fused(cue.text, hit[0][1], f.start):
                a = max(a, min(m[0] for m in same))
            if same and _fused(cue.text, f.end, hit[-1][2]):
                b = min(b, max(m[1] for m in same))
            pad_ = pad if edge is None else edge
            raw.append((a - pad_, max(a, b) + pad_))
    return merge_windows(raw, duration)
