"""HTML of the review report: inline CSS, no script, no external reference."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape

from ..consent.history import in_force
from ..policy import consent_state
from ..redaction.tokens import unwrap
from ._input import ReportInput
from ._tokens import TOKEN, count_tokens, highlight

__all__ = ["render"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:28px 0 8px}
section{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:12px 16px;margin:12px 0}
.banner{border-left:8px solid #777}.banner.release{border-left-color:#2e8540}
.banner.partial{border-left-color:#c98a00}.banner.deny,.banner.error{border-left-color:#c0392b}
.verdict{font-size:22px;font-weight:700;text-transform:uppercase}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #e6e8eb;vertical-align:top}th{background:#f0f2f5}
code,pre{font-family:ui-monospace,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-word;background:#fbfbfc;border:1px solid #e6e8eb;
padding:8px;max-height:480px;overflow:auto}
.ok{color:#2e8540;font-weight:600}.bad{color:#c0392b;font-weight:600}.muted{color:#66707a}
mark.tok{border-radius:3px;padding:0 2px;background:#e4e0f5}
.t-PERSON{background:#ffd9a8!important}.t-EMAIL_ADDRESS{background:#c8e6ff!important}
.t-PHONE_NUMBER{background:#d4f5d0!important}.t-LOCATION{background:#f5d0e6!important}
.t-URL,.t-JOIN_URL{background:#d0f0f5!important}.t-DATE_TIME{background:#eee3c8!important}
.t-MASKED,.t-EXCLUDED{background:#ddd!important}
.t-CREDIT_CARD,.t-US_SSN,.t-IBAN_CODE{background:#f7c6c0!important}
svg{max-width:100%;height:auto}
.sheet{display:flex;flex-wrap:wrap;gap:8px}.sheet figure{margin:0;font-size:12px}
.sheet img{display:block;width:320px;max-width:100%;height:auto;border:1px solid #d9dde3}
"""


def _dl(rows: Iterable[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _chain(inp: ReportInput) -> str:
    if inp.chain is None:
        return f'<span class="bad">not verified</span> ({escape(inp.chain_note)})'
    if not inp.chain.ok:
        return f'<span class="bad">BROKEN</span>: {escape(inp.chain.message)}'
    where = ""
    if inp.audit_record is not None:
        where = f"; this decision is record seq {escape(str(inp.audit_record.get('seq')))}"
    note = f" ({escape(inp.chain_note)})" if inp.chain_note else ""
    return f'<span class="ok">verified</span>: {escape(inp.chain.message)}{where}{note}'


def _outputs_match(inp: ReportInput) -> str:
    import hashlib

    if inp.audit_record is None:
        return '<span class="muted">not checked (no audit record)</span>'
    recorded = dict(inp.audit_record.get("output_sha256") or {})
    if inp.video_record is not None:      # video.mp4 is in the video stage's record (docs/video.md)
        recorded.update(inp.video_record.get("output_sha256") or {})
    actual = {n: hashlib.sha256(b).hexdigest() for n, b in inp.outputs.items()}
    if recorded == actual:
        return f'<span class="ok">match</span> the audit record ({len(actual)} file(s))'
    return '<span class="bad">DIFFER</span> from the audit record'


def _banner(inp: ReportInput) -> str:
    d = inp.decision
    decision = str(d.get("decision", "?"))
    rows = [("purpose", escape(str(d.get("purpose")))),
            ("recipient", escape(str(d.get("recipient")))),
            ("time (consent evaluated at)", escape(str(d.get("at")))),
            ("meeting", escape(str(d.get("meeting_id") or "-"))),
            ("policy id", escape(str(d.get("policy_id")))),
            ("policy sha256", f"<code>{escape(str(d.get('policy_sha256')))}</code>"),
            ("audit id", f"<code>{escape(str(d.get('audit_id')))}</code>"),
            ("audit chain", _chain(inp)),
            ("released files", _outputs_match(inp))]
    reasons = "".join(f"<li>{escape(str(r))}</li>" for r in d.get("reasons") or [])
    return (f'<section class="banner {escape(decision)}" id="verdict"><h1>Review report</h1>'
            f'<div class="verdict">{escape(decision)}</div>{_dl(rows)}'
            f'<h2>Reasons</h2><ul>{reasons or "<li>none</li>"}</ul></section>')


def _event_text(inp: ReportInput, pid: str) -> str:
    policy, purpose = inp.policy, str(inp.decision.get("purpose"))
    if policy is None:
        return '<span class="muted">policy not given</span>'
    person = policy.participant(pid)
    if person is None:
        return "unknown speaker (policy: unknown_speakers " + escape(policy.unknown_speakers) + ")"
    at = datetime.fromisoformat(str(inp.decision.get("at")))
    e = in_force(person.consent.get(purpose, ()), at)
    if e is None:
        spec = policy.purposes.get(purpose)
        return f"no event ({escape(spec.consent if spec else '?')})"
    expires = f", expires {e.expires.isoformat()}" if e.expires else ""
    recorded = f", recorded {e.recorded.isoformat()}" if e.recorded else ""
    return f"{escape(e.status)} at {escape(e.at.isoformat())}{escape(expires + recorded)}"


def _why(inp: ReportInput, pid: str, included: bool) -> str:
    for reason in inp.decision.get("reasons") or []:
        if str(reason).startswith(f"{pid} "):
            return escape(str(reason))
    policy, purpose = inp.policy, str(inp.decision.get("purpose"))
    spec = policy.purposes.get(purpose) if policy else None
    if policy is not None and spec is not None:
        _ok, why = consent_state(policy, pid, spec, datetime.fromisoformat(str(inp.decision["at"])))
        return escape(why)
    return "consents" if included else "does not consent"


def _consent(inp: ReportInput) -> str:
    record = inp.audit_record or {}
    included = [str(p) for p in record.get("participants") or []]
    excluded = [str(p) for p in inp.decision.get("excluded_participants") or []]
    rows = []
    for pid in [*included, *[p for p in excluded if p not in included]]:
        inc = pid in included
        status = '<span class="ok">included</span>' if inc else '<span class="bad">excluded</span>'
        rows.append(f"<tr><td><code>{escape(pid)}</code></td><td>{status}</td>"
                    f"<td>{_event_text(inp, pid)}</td><td>{_why(inp, pid, inc)}</td></tr>")
    if not rows:
        rows.append('<tr><td colspan="4" class="muted">no participant recorded</td></tr>')
    notes = "".join(f'<p class="muted">{escape(n)}</p>' for n in inp.notes)
    return ('<section id="consent"><h2>Consent</h2><table><tr><th>participant</th>'
            '<th>in this release</th><th>latest consent event for the purpose</th><th>why</th></tr>'
            + "".join(rows) + f"</table>{notes}</section>")


def _speaker_counts(inp: ReportInput) -> dict[str, Counter[str]]:
    """Tokens in the released text by speaker label as released (tokens stay tokens; any
    other label is shown as 'speaker n', never as written)."""
    from ..formats import parse, source_from_bytes

    per: dict[str, Counter[str]] = {}
    aliases: dict[str, str] = {}
    names = set(inp.outputs)
    for name, data in sorted(inp.outputs.items()):
        if name.endswith(".wav") or (name.endswith(".transcript.json")
                                     and name[:-5] + ".vtt" in names):
            continue
        try:
            items = parse(source_from_bytes(name, bytes(data))).items
        except Exception:  # noqa: BLE001 -- a part of a multi-file export: text only
            per.setdefault("(not attributable)", Counter()).update(
                count_tokens([bytes(data).decode("utf-8", "replace")]))
            continue
        for item in items:
            sp = getattr(item, "sender", None) or getattr(item, "speaker", None)
            label = _label(sp.label if sp is not None else None, aliases)
            per.setdefault(label, Counter()).update(count_tokens([item.text]))
    return {k: v for k, v in per.items() if v}


def _label(raw: str | None, aliases: dict[str, str]) -> str:
    if raw is None:
        return "(no speaker)"
    m = TOKEN.fullmatch(raw.strip()) or TOKEN.fullmatch(f"<{raw.strip()}>")
    if m is not None and (m.group("type") or m.group("sq")):
        return unwrap(raw.strip())
    return aliases.setdefault(raw, f"speaker {len(aliases) + 1}")


def _counts(inp: ReportInput) -> str:
    by_type = inp.decision.get("entity_counts") or {}
    rows = "".join(f'<tr><td><mark class="tok t-{escape(t)}">{escape(t)}</mark></td>'
                   f"<td>{int(n)}</td></tr>" for t, n in sorted(by_type.items()))
    per = _speaker_counts(inp)
    types = sorted({t for c in per.values() for t in c})
    head = "".join(f"<th>{escape(t)}</th>" for t in types)
    body = "".join(f"<tr><td>{escape(sp)}</td>" + "".join(f"<td>{c.get(t, 0)}</td>" for t in types)
                   + "</tr>" for sp, c in sorted(per.items()))
    return ('<section id="entities"><h2>What was removed</h2><h3>By type</h3>'
            f'<table><tr><th>type</th><th>values removed</th></tr>{rows or _none(2)}</table>'
            '<h3>By speaker (tokens in the released text)</h3>'
            f'<table><tr><th>speaker</th>{head}</tr>{body or _none(1)}</table></section>')


def _none(span: int) -> str:
    return f'<tr><td colspan="{span}" class="muted">none</td></tr>'


def _texts(inp: ReportInput) -> str:
    parts = []
    for name, data in sorted(inp.outputs.items()):
        if name.endswith(".wav") or (name.endswith(".transcript.json")
                                     and name[:-5] + ".vtt" in inp.outputs):
            continue                # the JSON twin of a transcript holds the same text
        text = bytes(data).decode("utf-8", "replace")
        parts.append(f"<h3><code>{escape(name)}</code></h3><pre>{highlight(text)}</pre>")
    return ('<section id="released"><h2>Released text</h2>'
            + ("".join(parts) or '<p class="muted">no text released</p>') + "</section>")


def _windows(transcript: bytes | None) -> list[tuple[float, float]]:
    """Where the released transcript carries a token (a removed value)."""
    if transcript is None:
        return []
    try:
        items = json.loads(bytes(transcript).decode("utf-8")).get("items", [])
    except (ValueError, UnicodeDecodeError, AttributeError):
        return []
    spans: list[tuple[float, float]] = []
    for cue in items:
        words = [w for w in cue.get("words") or [] if TOKEN.search(str(w.get("text", "")))]
        if words:
            spans += [(float(w["start"]), float(w["end"])) for w in words]
        elif TOKEN.search(str(cue.get("text", ""))):
            spans.append((float(cue.get("start", 0)), float(cue.get("end", 0))))
    return spans


def _verified(inp: ReportInput, data: bytes) -> str:
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    for art in (inp.audit_record or {}).get("artefacts") or []:
        if isinstance(art, Mapping) and art.get("sha256") == digest:
            if art.get("verified") is True:
                return ('<span class="ok">passed</span>: the released audio was transcribed '
                        "again and no removed value was heard")
            return ('<span class="muted">not run</span> (verification was off, '
                    "or nothing needed bleeping)")
    return '<span class="muted">unknown</span> (no audit record for this file)'


def _silenced(inp: ReportInput, stem: str) -> list[tuple[float, float]]:
    """decision.json's ``silenced`` stretches, drawn on the mixed recordings (a participant's
    own track, named by their policy id, is never silenced)."""
    ids = {p.id for p in inp.policy.participants} if inp.policy is not None else set()
    ids |= set(inp.decision.get("excluded_participants") or ()) | set(inp.decision.get("participants") or ())
    rows = inp.decision.get("silenced") or []
    if stem in ids or not isinstance(rows, list):
        return []
    return [(float(r["start"]), float(r["end"])) for r in rows
            if isinstance(r, dict) and isinstance(r.get("start"), (int, float)) and isinstance(r.get("end"), (int, float))]


def _audio(inp: ReportInput) -> str:
    from ._waveform import waveform_svg

    parts = []
    for name, data in sorted(inp.outputs.items()):
        if not name.endswith(".redacted.wav"):
            continue
        stem = name[: -len(".redacted.wav")]
        windows = _windows(inp.outputs.get(f"{stem}.transcript.json"))
        quiet = _silenced(inp, stem)
        svg = waveform_svg(bytes(data), windows, f"{name}: {len(windows)} bleeped window(s)", quiet)
        grey = (f"; grey: silenced speakers ({len(quiet)} stretch(es), "
                f"{inp.decision.get('silenced_seconds', 0)} s)" if quiet else "")
        parts.append(f"<h3><code>{escape(name)}</code></h3><figure>{svg}<figcaption>"
                     f"red: bleeped windows ({len(windows)}){escape(grey)}</figcaption></figure>"
                     f"<p>Verification: {_verified(inp, bytes(data))}</p>")
    if not parts:
        return ""
    return '<section id="audio"><h2>Audio</h2>' + "".join(parts) + "</section>"


def _video(inp: ReportInput) -> str:
    """The contact sheet of the released video (report/_video.py)."""
    data = inp.outputs.get("video.mp4")
    if data is None:
        return ""
    from ._video import contact_sheet

    try:
        sheet = contact_sheet(bytes(data), inp.video_record)
    except Exception as exc:  # noqa: BLE001  (a report without its sheet, never no report)
        sheet = f'<p class="bad">the contact sheet could not be drawn ({escape(type(exc).__name__)})</p>'
    return '<section id="video"><h2>Video</h2><h3><code>video.mp4</code></h3>' + sheet + "</section>"


def render(inp: ReportInput) -> str:
    title = f"meetguard review: {inp.decision.get('decision')} for {inp.decision.get('purpose')}"
    body = _banner(inp) + _consent(inp) + _counts(inp) + _audio(inp) + _video(inp) + _texts(inp)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}<p class=\"muted\">Made by meetguard. Participants appear by "
            f"policy id; values removed from the content are never shown.</p></main></body></html>\n")


