"""A seeded French corpus of values in the forms people type (#18, the French floor).

Values from sources meetguard did not choose: Faker's fr_FR names (hyphenated
given names and particles as Faker makes them), cities, street addresses,
phone numbers (``+33 (0)X ...``, ``0X XX ...``), IBANs, SIRETs, SIRENs and
emails; Luhn-valid cards; NIRs built with their key (Corsica's 2A/2B
included); dates in French words and numerals. Each value sits in a French
sentence next to other numbers ("réf 7", "à 10h30", ", salle 204"); a share
of messages is all lower or upper case; a third of the corpus is French
meeting chatter whose numbers (heures, montants, versions, tickets, salles,
pourcentages) must stay.

``generate_fr(n, seed) -> list[Message]`` (same ``Message``/``Gold`` as corpus.py).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import Gold, Message
from corpus_typed import _b58check, _case, build

__all__ = ["TYPES_FR", "generate_fr"]

TYPES_FR = ("PERSON", "LOCATION", "STREET_ADDRESS", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "CREDIT_CARD",
            "FR_NIR", "FR_SIRET", "FR_SIREN", "IP_ADDRESS", "URL", "DATE_TIME", "CRYPTO", "MAC_ADDRESS")

CHATTER_FR = [
    "on se voit à 15h30 dans la salle 204", "le budget est de 12 500 € pour le T3", "la version 3.14.2 est en prod",
    "la PR #4821 corrige le bug de connexion", "le ticket 88213 est fermé", "le port 8080 est ouvert en recette",
    "la conversion a augmenté de 15 % cette semaine", "la commande 4417829 est partie ce matin",
    "on a 3 options et 2 semaines", "prenons 5 minutes de pause", "vous voyez bien mon écran ?",
    "je partage les notes après la réunion", "le sprint 42 se termine bientôt", "la latence est de 40 ms au p99",
    "la présentation fait 24 diapositives", "les coûts sont passés de 1 200 € à 1 450 €",
    "on est à 87,5 % de l'objectif", "la rétro est à 10h30 et la démo à 11h", "passez en python 3.11.9",
    "l'étape 3 sur 7 est faite", "il nous faut 16 Go pour le runner", "la page 12 du rapport est à revoir",
    "on était 8 hier et 12 aujourd'hui", "la facture 20931 est payée", "la réunion dure 45 minutes",
    "d'accord, je m'en occupe", "bonne journée à tous", "tu peux répéter la dernière phrase ?",
]
_NEAR = ["", "", " réf 7", " x2", " (2 sur 3)", " à 10h30", ", salle 204", " 42", " merci", " stp"]
_BEFORE = ["", "", "2) ", "re #12 : ", "ok 3 points : ", "pour info ", "à 09h15 "]
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")


def _nir(r: random.Random) -> str:
    sex, year, month = r.choice("12"), r.randint(0, 99), r.randint(1, 12)
    dept = r.choice(["75", "69", "13", "2A", "2B", "59", "33", f"{r.randint(1, 95):02d}".replace("20", "21")])
    commune, order = r.randint(1, 999), r.randint(1, 999)
    body = f"{sex}{year:02d}{month:02d}{dept.replace('2A', '19').replace('2B', '18')}{commune:03d}{order:03d}"
    key = 97 - int(body) % 97
    parts = [sex, f"{year:02d}", f"{month:02d}", dept, f"{commune:03d}", f"{order:03d}", f"{key:02d}"]
    return r.choice([" ", ""]).join(parts)


def _phone(g: Faker, r: random.Random) -> str:
    value = g.phone_number()
    return value.replace(" ", r.choice([" ", ".", ""])) if value.startswith("0") else value


def _iban(g: Faker, r: random.Random) -> str:
    v = g.iban()
    return " ".join(v[i:i + 4] for i in range(0, len(v), 4)) if r.random() < 0.5 else v


def _date(f: Faker, r: random.Random) -> str:
    d = f.date_of_birth(minimum_age=18, maximum_age=80)
    day = "1er" if d.day == 1 else str(d.day)
    return r.choice([f"{day} {_MONTHS[d.month - 1]} {d.year}", d.strftime("%d/%m/%Y"),
                     f"{day} {_MONTHS[d.month - 1]}"])


def _person(g: Faker, r: random.Random) -> str:
    roll = r.random()
    if roll < 0.2:
        return g.first_name() + "-" + g.first_name() + " " + g.last_name()
    if roll < 0.3:
        return g.first_name() + " de " + g.last_name()
    return g.first_name() + " " + g.last_name()


def _values(f: Faker, r: random.Random) -> dict[str, Callable[[], str]]:
    g = f["fr_FR"]
    return {
        "PERSON": lambda: _person(g, r),
        "LOCATION": g.city,
        "STREET_ADDRESS": lambda: f"{r.randint(1, 120)}{r.choice([', ', ' '])}{g.street_name()}",
        "PHONE_NUMBER": lambda: _phone(g, r),
        "EMAIL_ADDRESS": g.email,
        "IBAN_CODE": lambda: _iban(g, r),
        "CREDIT_CARD": lambda: g.credit_card_number(card_type=r.choice(["visa16", "mastercard"])),
        "FR_NIR": lambda: _nir(r),
        "FR_SIRET": g.siret,
        "FR_SIREN": g.siren,
        "IP_ADDRESS": g.ipv4_public,
        "URL": g.url,
        "DATE_TIME": lambda: _date(g, r),
        "CRYPTO": lambda: _b58check(b"\0" + r.randbytes(20)),
        "MAC_ADDRESS": g.mac_address,
    }


_TEMPLATES: dict[str, list[str]] = {
    "PERSON": ["voyez avec {v} pour le contrat", "j'ai parlé avec {v} hier", "{v} nous rejoint plus tard",
               "ajoute {v} à l'invitation", "le rapport vient de {v}", "demande les chiffres à {v}"],
    "LOCATION": ["je pars à {v} la semaine prochaine", "le bureau de {v} est fermé", "elle habite à {v}"],
    "STREET_ADDRESS": ["le bureau est au {v}", "livrez au {v}", "notre adresse : {v}"],
    "PHONE_NUMBER": ["appelle-moi au {v}", "mon numéro est le {v}", "portable : {v}", "tél {v}"],
    "EMAIL_ADDRESS": ["écris-moi à {v}", "mon mail est {v}", "mets {v} en copie"],
    "IBAN_CODE": ["mon IBAN est {v}", "virement sur {v}", "IBAN : {v}"],
    "CREDIT_CARD": ["ma carte {v}", "débitez la carte {v}", "numéro de carte {v}"],
    "FR_NIR": ["mon numéro de sécu est {v}", "NIR {v}", "numéro de sécurité sociale : {v}"],
    "FR_SIRET": ["SIRET {v}", "le SIRET de la boîte est {v}", "notre siret : {v}"],
    "FR_SIREN": ["SIREN {v}", "la société, SIREN {v}, a signé", "RCS Lyon {v}"],
    "IP_ADDRESS": ["mon IP perso est {v}", "connexion depuis {v}", "ip {v}"],
    "URL": ["mon profil est sur {v}", "voir {v}", "mon site {v}"],
    "DATE_TIME": ["je suis né le {v}", "ma date de naissance est le {v}", "née le {v}"],
    "CRYPTO": ["envoie les btc à {v}", "portefeuille {v}", "mon adresse bitcoin est {v}"],
    "MAC_ADDRESS": ["mac {v}", "l'adresse MAC du portable est {v}", "autorise {v}"],
}


def _message(etype: str, f: Faker, r: random.Random) -> Message:
    value = _values(f, r)[etype]()
    before, after = r.choice(_BEFORE), r.choice(_NEAR)
    template = r.choice(_TEMPLATES[etype])
    at = len(before) + template.index("{v}")
    text = before + template.replace("{v}", value) + after
    if etype != "CRYPTO":  # base58 is case-sensitive: a re-cased address is no address
        text = _case(text, r)
    return Message(text, False, (Gold(etype, text[at:at + len(value)], at, at + len(value)),))


def generate_fr(n: int = 1200, seed: int = 18) -> list[Message]:
    r = random.Random(seed)
    f = Faker(["fr_FR"])
    f.seed_instance(seed)
    return build(n, r, f, TYPES_FR, CHATTER_FR, _message)


if __name__ == "__main__":
    for m in generate_fr(int(sys.argv[1]) if len(sys.argv) > 1 else 20):
        print(m.text)
