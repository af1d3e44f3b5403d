"""French spoken forms in ASR text (#18 item 4): numbers read aloud, dictated addresses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meetguard.audio.verify import heard_again
from meetguard.cli import main
from meetguard.detection import TextUnit, find_french_spoken
from meetguard.detection._finders import FinderRegistry
from meetguard.detection._fr_spoken import french_spoken_finder

FR = Path(__file__).resolve().parent / "fixtures" / "fr"

PHONE = "zéro six douze trente-quatre cinquante-six soixante-dix-huit"


def spans(text: str, asr: bool = True) -> list[tuple[str, str, str]]:
    return [(text[h.start:h.end], h.entity_type, h.normalized) for h in find_french_spoken(text, asr=asr)]


@pytest.mark.parametrize(
    ("text", "value", "etype", "normalized"),
    [
        (f"mon numéro c'est le {PHONE}, voilà", PHONE, "PHONE_NUMBER", "33612345678"),
        ("Zéro six, un deux, trois quatre, cinq six, sept huit. Merci",
         "Zéro six, un deux, trois quatre, cinq six, sept huit", "PHONE_NUMBER", "33612345678"),
        ("appelez le plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit merci",
         "plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit", "PHONE_NUMBER",
         "33612345678"),
        ("le standard zéro un quarante-cinq soixante-sept quatre-vingt-neuf zéro un",
         "zéro un quarante-cinq soixante-sept quatre-vingt-neuf zéro un", "PHONE_NUMBER", "33145678901"),
        ("Zéro sept, soixante et onze, quatre-vingt-dix-neuf, soixante-dix, zéro zéro.",
         "Zéro sept, soixante et onze, quatre-vingt-dix-neuf, soixante-dix, zéro zéro", "PHONE_NUMBER",
         "33771997000"),
        ("c'est zéro six douze 34 56 78 ok", "zéro six douze 34 56 78", "PHONE_NUMBER", "33612345678"),
        ("zéro zéro trente-trois six douze trente-quatre cinquante-six soixante-dix-huit",
         "zéro zéro trente-trois six douze trente-quatre cinquante-six soixante-dix-huit", "PHONE_NUMBER",
         "33612345678"),
        # a NIR read in its groups, Corsica's department as "deux A"
        ("mon numéro de sécu c'est un quatre-vingt-cinq zéro cinq deux A cent vingt-trois"
         + " quatre cent cinquante-six trente-trois voilà",
         "un quatre-vingt-cinq zéro cinq deux A cent vingt-trois quatre cent cinquante-six trente-trois",
         "FR_NIR", "185052A12345633"),
        # a SIRET read by threes, with hundreds
        ("SIRET sept cent trente-deux, huit cent vingt-neuf, trois cent vingt, zéro zéro zéro soixante-quatorze",
         "sept cent trente-deux, huit cent vingt-neuf, trois cent vingt, zéro zéro zéro soixante-quatorze",
         "FR_SIRET", "73282932000074"),
    ],
)
def test_spoken_numbers_whole_span(text: str, value: str, etype: str, normalized: str) -> None:
    assert spans(text) == [(value, etype, normalized)]


def test_a_misheard_length_is_still_taken_and_short_runs_are_not() -> None:
    # eleven digits that no French format takes: still a number read aloud (fail closed)
    [(_, etype, digits)] = spans("zéro six douze trente-quatre cinquante-six soixante-dix-huit neuf")
    assert (etype, digits) == ("PHONE_NUMBER", "06123456789")
    # a SIREN needs its cue, like the written one
    assert spans("sept cent trente-deux huit cent vingt-neuf trois cent vingt") == []
    assert spans("le SIREN sept cent trente-deux huit cent vingt-neuf trois cent vingt")[0][1] == "FR_SIREN"


@pytest.mark.parametrize(
    "text",
    [
        "on se voit à quinze heures avec trois personnes",
        "en deux mille vingt-quatre on a fait vingt pour cent de plus",
        "soixante-dix personnes, quatre-vingt-dix-neuf euros, deux mille vingt-quatre, mille deux cents",
        "un, deux, trois, c'est parti",
        "le vingt-trois mars à quatorze heures trente, salle douze",
        "il a deux A et trois B au bac",
        "on fait le point demain, au point de vue budget",
        "bref, point barre, on passe au point suivant",
    ],
)
def test_ordinary_french_speech_stays(text: str) -> None:
    assert spans(text) == []


@pytest.mark.parametrize(
    ("text", "value", "email"),
    [
        ("écrivez à anne tiret sophie point martin arobase exemple point fr merci",
         "anne tiret sophie point martin arobase exemple point fr", "anne-sophie.martin@exemple.fr"),
        ("Anne-Sophie point Martin arobase exemple.fr.", "Anne-Sophie point Martin arobase exemple.fr",
         "anne-sophie.martin@exemple.fr"),
        ("c'est hélène point dupont arobase gmail point com", "hélène point dupont arobase gmail point com",
         "helene.dupont@gmail.com"),
        ("jean tiret bas marc at orange point fr", "jean tiret bas marc at orange point fr",
         "jean_marc@orange.fr"),
    ],
)
def test_dictated_addresses(text: str, value: str, email: str) -> None:
    assert spans(text) == [(value, "EMAIL_ADDRESS", email)]


def test_written_text_is_not_read_as_speech() -> None:
    text = f"{PHONE} ou anne point martin arobase exemple point fr"
    assert len(spans(text)) == 2
    assert spans(text, asr=False) == []
    registry = FinderRegistry([french_spoken_finder()])
    spoken, written = registry.findings([TextUnit(text, True), TextUnit(text, False)])
    assert [(text[f.start:f.end], f.entity_type) for f in spoken] == [
        (PHONE, "PHONE_NUMBER"), ("anne point martin arobase exemple point fr", "EMAIL_ADDRESS")]
    assert written == []


VTT = f"""WEBVTT

1
00:00:01.000 --> 00:00:06.000
Anne-Sophie de Villeneuve: Bonjour à tous. Mon portable c'est le {PHONE}.

2
00:00:06.500 --> 00:00:12.000
Jean-Pierre Lefèvre: Merci. Écrivez-moi à jean tiret pierre point lefevre arobase exemple point fr.

3
00:00:12.500 --> 00:00:18.000
Anne-Sophie de Villeneuve: On se voit à quinze heures avec trois personnes, en deux mille vingt-quatre.
"""


@pytest.mark.models
def test_french_transcript_spoken_values_through_the_cli(tmp_path: Path) -> None:
    vtt = tmp_path / "reunion.vtt"
    vtt.write_text(VTT, encoding="utf-8")
    out = tmp_path / "out"
    code = main(["guard", "--policy", str(FR / "policy.yaml"), "--purpose", "summarization",
                 "--recipient", "summarizer", "--out", str(out), "--at", "2026-11-28T12:00:00Z",
                 "--audit", str(tmp_path / "audit.jsonl"), "--transcript", str(vtt)])
    assert code == 0
    text = (out / "transcript-1.vtt").read_text(encoding="utf-8")   # kind and index (#25)
    for leak in ("zéro six", "douze", "soixante-dix-huit", "lefevre", "arobase", "tiret pierre"):
        assert leak not in text
    assert "On se voit à quinze heures avec trois personnes, en deux mille vingt-quatre." in text
    counts = json.loads((out / "decision.json").read_text())["entity_counts"]
    assert counts.get("PHONE_NUMBER", 0) >= 1 and counts.get("EMAIL_ADDRESS", 0) >= 1


# -- the audio verifier hears French digits (#18 item 2) -------------------------------------

@pytest.mark.parametrize(
    ("heard", "values", "expected"),
    [
        (f"rappelez le {PHONE} demain", ["06 12 34 56 78"], True),
        ("rappelez le 06 12 34 56 78 demain", [PHONE], True),
        ("zéro six, un deux, trois quatre, cinq six, sept huit", ["0612345678"], True),
        ("plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit", [PHONE], True),
        # 3+ digits of the number heard are a leak (#23), in French words too
        ("le zéro six douze trente-quatre, et puis cinquante-six", [PHONE], True),
        ("on se voit à quinze heures, salle douze", [PHONE], False),
        ("six cinq cinq, cinq un deux trois", ["655-5123"], True),
        ("call five five five one two three four", ["555-1234"], True),
        ("Cinq-Mars est arrivé", ["Cinq-Mars"], True),
        ("Anne-Sophie est là", ["Cinq-Mars"], False),
    ],
)
def test_heard_again_reads_french_digits(heard: str, values: list[str], expected: bool) -> None:
    assert heard_again(heard, values) is expected
