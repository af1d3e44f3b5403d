"""The phone floor's clusters hold every span Presidio's phone recognizers report (issue #24, speed).

The detector runs the phone recognizers (phonenumbers' matcher, nine regions) only where a
cluster of the text is not already covered (meetguard.detection._phonespans). That is sound only
if no reported span reaches outside the clusters; here every recognizer reads each text alone,
on texts built to probe the edges: extension labels in every form phonenumbers knows (its
full-width and Cyrillic ones, a combining accent, capitals, the long s it reads as 's'), 'x'
as punctuation, brackets and plus signs before the digits, full-width digits, numbers glued to
words, and numbers among chat words; plus the phones of 14 countries as people type them.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from meetguard.detection._phonespans import clusters
from meetguard.detection._presidio import floor_recognizers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from corpus import generate
from corpus_typed import generate as generate_typed

_NUMBERS = ["212 555 0147", "(212) 555-0147", "+1 212-555-0147", "020 7946 0958", "+44 20 7946 0958",
            "030 1234567", "+49 30 1234567", "01 23 45 67 89", "+33 1 23 45 67 89", "03-1234567",
            "+972 3-123-4567", "098765 43210", "+91 98765 43210", "(11) 91234-5678", "+55 11 91234-5678",
            "082 123 4567", "+27 82 123 4567", "011 123 4567", "5550147", "2125550147", "+12125550147",
            "0044 20 7946 0958", "011 44 20 7946 0958", "(+1) 212 555 0147", "[212] 555 0147",
            "２１２ ５５５ ０１４７", "＋４４ ２０ ７９４６ ０９５８", "212x555x0147", "212.555.0147", "212/555/0147"]
_EXTENSIONS = ["ext. 12", "ext 12", "EXT 12", "Ext:12", "extn 12", "extension 12", "extensión 12",
               "extensio\u0301n 12", "xt 12", "x12", "X 12", " x 12", "#12", "~12", "int 12", "INT. 12",
               "anexo 12", "Anexo 12", "доб 12", "ДОБ. 12", "ｅｘｔ 12", "ｘ12", "ｉｎｔ 12", "exten\u017fion 12",
               ";ext=12", "- 12#", ", 12", ",, 12", "extra 12", "next 12", "texts 12"]
_WORDS = ["call", "also", "from", "or", "to", "at", "the", "x", "ext", "on", "int", "note", "tel", "phone:",
          "(x", "xx", "ー", "room", "id", "%", "$", "€", "@", "/", "-", "+", "(", ")", "[", "]", "|", "_",
          "2.4.1", "10:30", "4521", "12/25", "3", "ſ", "ı", "ø", "na", "et", "tax", "taxi", "one"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.35:
                parts.append(rng.choice(_NUMBERS))
            elif r < 0.55:
                parts.append(rng.choice(_NUMBERS) + rng.choice(["", " ", ", "]) + rng.choice(_EXTENSIONS))
            else:
                parts.append(rng.choice(_WORDS))
        glue = rng.choice([" ", "", ", ", " - "])
        out.append(glue.join(parts))
    return out


def _corpus() -> list[str]:
    texts = _texts(900, seed=41)
    texts += [m.text for m in generate_typed(500, seed=43) if any(c.isdigit() for c in m.text)]
    texts += [m.text for m in generate(300, seed=47) if any(c.isdigit() for c in m.text)]
    return texts


@pytest.fixture(scope="module")
def phone_recognizers() -> list[str]:
    from meetguard.detection._presidio import _is_phone

    names = [type(r).__name__ for r in floor_recognizers("en") if _is_phone(r)]
    assert "PhoneRecognizer" in names and len(names) >= 3
    return names


def test_every_reported_span_lies_in_a_cluster(phone_recognizers: list[str]) -> None:
    from meetguard.detection._presidio import _is_phone

    recs = [r for r in floor_recognizers("en") if _is_phone(r)]
    spans = with_letters = 0
    bad = []
    for text in _corpus():
        inside = bytearray(len(text))
        for a, b in clusters(text):
            inside[a:b] = b"\x01" * (b - a)
        for rec in recs:
            for r in rec.analyze(text, rec.supported_entities, None) or ():
                spans += 1
                with_letters += any(c.isalpha() for c in text[r.start:r.end])
                if any(text[i].isalnum() and not inside[i] for i in range(r.start, r.end)):
                    bad.append((text, text[r.start:r.end]))
    assert not bad, bad[:5]
    assert spans > 1000 and with_letters > 50   # the probe reaches extensions with labels


def test_chat_words_between_numbers_split_clusters() -> None:
    text = "reach the desk at (631) 417-0007, also blocked traffic from 210.63.69.88."
    assert [text[a:b] for a, b in clusters(text)] == ["(631) 417-0007", "210.63.69.88"]
    text = "call 555 1234 ext. 56 or x12"
    assert [text[a:b] for a, b in clusters(text)] == ["555 1234 ext. 56"]
    assert clusters("room 204 at 9") == []   # no stretch holds 4 digits
    text = "(x123) 456-7890"
    assert clusters(text) == [(0, len(text))]   # 'x' after a bracket may open a number
