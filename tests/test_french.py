"""French meetings (#18): language per document, French recognizers and NER, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from meetguard._errors import PolicyError
from meetguard.cli import main
from meetguard.detection._fr import drop_everyday, french_hits, nir_ok, siret_ok
from meetguard.detection._hits import RANK_NER, Hit
from meetguard.detection._language import detect_language, document_language
from meetguard.policy import parse_policy

FR = Path(__file__).resolve().parent / "fixtures" / "fr"
AT = "2026-11-28T12:00:00Z"

# Every personal value in the French samples (names in every part, numbers as written).
PII = [
    "Anne-Sophie", "Villeneuve", "Jean-Pierre", "Lefèvre", "Éloïse", "Château", "Hélène", "Dubois-Marchand",
    "François", "Lemaître", "Marie-Claire", "Fontaine", "06 12 34 56 78", "+33 6 98 76 54 32",
    "07 45 67 89 01", "anne-sophie.devilleneuve@exemple.fr", "devilleneuve", "rh@exemple.fr",
    "732 829 320 00074", "552 081 317", "FR76 3000 6000 0112 3456 7890 189", "1 85 05 2A 123 456 33",
    "2 69 05 49 588 157 80", "X4RTBPFW4", "rue de la Paix", "75002", "Jean Jaurès", "23 mars",
    "3 janvier 2001",
]
# Everyday French that must come back as written.
KEPT = ["Bonjour à tous", "Je partage l'ordre du jour", "Tu peux me joindre", "Salut !", "Tu as vu",
        "D'accord, voilà", "Je pense qu'on a fini", "Bonne journée", "tu peux partager ton écran",
        "Je pense que c'est tout. Merci et bonne soirée"]


def _types(text: str) -> dict[str, str]:
    return {text[h.start:h.end]: h.entity_type for h in french_hits(text)}


# -- validators and finders (no models) ----------------------------------------------------

def test_nir_key_and_corsica() -> None:
    assert nir_ok(("1", "85", "05", "2A", "123", "456", "33"))
    assert not nir_ok(("1", "85", "05", "2A", "123", "456", "34"))
    # 2B reads as 18: the same digits with 2B need another key
    assert not nir_ok(("1", "85", "05", "2B", "123", "456", "33"))
    key = 97 - int("1850518123456") % 97
    assert nir_ok(("1", "85", "05", "2B", "123", "456", f"{key:02d}"))
    assert _types("NIR 2 69 05 49 588 157 80 ok") == {"2 69 05 49 588 157 80": "FR_NIR"}
    assert _types("NIR 2 69 05 49 588 157 81 ok") == {}


def test_siren_siret_iban_and_id_numbers() -> None:
    assert siret_ok("73282932000074") and not siret_ok("73282932000075")
    assert _types("SIRET 732 829 320 00074")["732 829 320 00074"] == "FR_SIRET"
    assert _types("SIREN 732 829 320") == {"732 829 320": "FR_SIREN"}
    assert _types("la boîte 732 829 320") == {}          # no cue: any 9 digits could pass Luhn
    assert _types("SIREN 732 829 321") == {}             # Luhn fails
    assert _types("IBAN FR76 3000 6000 0112 3456 7890 189") == {
        "FR76 3000 6000 0112 3456 7890 189": "IBAN_CODE"}
    assert _types("IBAN FR76 3000 6000 0112 3456 7890 188") == {}
    assert _types("ma carte d'identité n° X4RTBPFW4") == {"X4RTBPFW4": "ID_NUMBER"}
    assert _types("mon passeport 12AB34567") == {"12AB34567": "ID_NUMBER"}
    assert _types("le code X4RTBPFW4") == {}              # no cue


def test_phones_dates_addresses() -> None:
    found = _types("Appelle le 06 12 34 56 78, le +33 6 98 76 54 32 ou le 01.45.67.89.01")
    assert found == {"06 12 34 56 78": "PHONE_NUMBER", "+33 6 98 76 54 32": "PHONE_NUMBER",
                     "01.45.67.89.01": "PHONE_NUMBER"}
    assert _types("on se voit le 23 mars")["23 mars"] == "DATE_TIME"
    assert _types("né le 3 janvier 2001")["3 janvier 2001"] == "DATE_TIME"
    found = _types("au 12 rue de la Paix et on se voit")
    assert found == {"12 rue de la Paix": "LOCATION"}
    assert "8 avenue Jean Jaurès" in _types("au 8 avenue Jean Jaurès à Lyon")


def test_everyday_words_are_no_names() -> None:
    text = "Bonjour Anne, Tu viens ?"
    hits = [Hit(0, 12, "PERSON", 0.8, "bonjour anne", RANK_NER), Hit(14, 16, "PERSON", 0.8, "tu", RANK_NER)]
    kept = drop_everyday(text, hits)
    assert [text[h.start:h.end] for h in kept] == ["Anne"]


def test_policy_detection_languages() -> None:
    base = Path(FR / "policy.yaml").read_bytes()
    assert parse_policy(base, "p.yaml").detection_languages == ("en", "fr")
    plain = base.replace(b"detection: {languages: [en, fr]}\n", b"")
    assert parse_policy(plain, "p.yaml").detection_languages == ("en",)
    for bad in (b"detection: {languages: [de]}\n", b"detection: {languages: []}\n",
                b"detection: {langs: [fr]}\n"):
        with pytest.raises(PolicyError):
            parse_policy(plain + bad, "p.yaml")


def test_language_of_short_chat_lines() -> None:
    assert detect_language("Tu peux partager ton écran ?") == "fr"
    assert detect_language("can you share your screen?") == "en"
    assert detect_language("12:00 !!", default="fr") == "fr"
    assert document_language(["merci", "à demain", "on commence"]) == "fr"
    assert detect_language("¿Puedes compartir tu pantalla, por favor?") == "es"


# -- through the CLI (real models) ---------------------------------------------------------

def _guard(tmp_path: Path, *extra: str, policy: Path = FR / "policy.yaml") -> tuple[int, Path]:
    out = tmp_path / "out"
    argv = ["guard", "--policy", str(policy), "--purpose", "summarization", "--recipient", "summarizer",
            "--out", str(out), "--at", AT, "--audit", str(tmp_path / "audit.jsonl"), *extra]
    return main(argv), out


def _released(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.iterdir()) if p.name != "decision.json")


@pytest.mark.models
def test_french_chat_and_transcript_no_leak_everyday_kept(tmp_path: Path) -> None:
    code, out = _guard(tmp_path, "--chat", str(FR / "chat_fr.txt"), "--transcript", str(FR / "transcript_fr.vtt"))
    assert code == 0
    text = _released(out)
    leaks = [v for v in PII if v in text]
    assert leaks == []
    for phrase in KEPT:
        assert phrase in text
    decision = json.loads((out / "decision.json").read_text())
    assert decision["language"] == "fr" and decision["languages"] == ["fr"]
    record = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert record["languages"] == ["fr"]
    for kind in ("FR_NIR", "FR_SIRET", "IBAN_CODE", "ID_NUMBER", "PHONE_NUMBER", "EMAIL_ADDRESS"):
        assert decision["entity_counts"].get(kind, 0) >= 1, kind
    # ordinary words stay words: of the released words, few are tokens beyond the values above
    tokens = re.findall(r"\[[A-Z_]+_\d+\]|<[A-Z_]+_\d+>|&lt;[A-Z_]+_\d+&gt;", text)
    assert len(tokens) <= sum(decision["entity_counts"].values()) + 12   # + speaker labels


@pytest.mark.models
def test_french_refused_under_an_english_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "en.yaml"
    policy.write_text((FR / "policy.yaml").read_text(encoding="utf-8").replace(
        "detection: {languages: [en, fr]}\n", ""), encoding="utf-8")
    code, out = _guard(tmp_path, "--chat", str(FR / "chat_fr.txt"), policy=policy)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'fr'" in err and "detection.languages" in err
    assert "Anne" not in err
    assert not (out / "chat_fr.txt").exists()
    # --language overrides detection, and one outside the list is refused too
    code, _ = _guard(tmp_path, "--chat", str(FR / "chat_fr.txt"), "--language", "de", "--force")
    assert code == 2
    assert "'de'" in capsys.readouterr().err
