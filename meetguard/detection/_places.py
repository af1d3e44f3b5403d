"""A small offline gazetteer: countries and the cities of the tz database.

spaCy's small model misses many places ("Mayotte", "Austin" as a person);
this list catches the common ones, written with their capital letter.
Ranked below spaCy, so where spaCy sees a person it stays a person.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Iterator
from functools import lru_cache

from .._wordlists import words
from ._hits import RANK_NER, Hit
from ._literals import may_hold

COUNTRIES = """
Afghanistan|Albania|Algeria|Andorra|Angola|Antigua and Barbuda|Argentina|Armenia|Australia|Austria|
Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|
Bosnia and Herzegovina|Botswana|Brazil|Brunei|Bulgaria|Burkina Faso|Burundi|Cabo Verde|Cape Verde|Cambodia|
Cameroon|Canada|Central African Republic|Chad|Chile|China|Colombia|Comoros|Congo|Costa Rica|Croatia|Cuba|
Cyprus|Czechia|Czech Republic|Denmark|Djibouti|Dominica|Dominican Republic|Ecuador|Egypt|El Salvador|
Equatorial Guinea|Eritrea|Estonia|Eswatini|Ethiopia|Fiji|Finland|France|Gabon|Gambia|Georgia|Germany|Ghana|
Greece|Grenada|Guatemala|Guinea|Guinea-Bissau|Guyana|Haiti|Honduras|Hungary|Iceland|India|Indonesia|Iran|
Iraq|Ireland|Israel|Italy|Ivory Coast|Jamaica|Japan|Jordan|Kazakhstan|Kenya|Kiribati|Kosovo|Kuwait|
Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|Liechtenstein|Lithuania|Luxembourg|Madagascar|Malawi|
Malaysia|Maldives|Mali|Malta|Marshall Islands|Mauritania|Mauritius|Mexico|Micronesia|Moldova|Monaco|
Mongolia|Montenegro|Morocco|Mozambique|Myanmar|Burma|Namibia|Nauru|Nepal|Netherlands|New Zealand|Nicaragua|
Niger|Nigeria|North Korea|North Macedonia|Norway|Oman|Pakistan|Palau|Palestine|Panama|Papua New Guinea|
Paraguay|Peru|Philippines|Poland|Portugal|Qatar|Romania|Russia|Rwanda|Saint Kitts and Nevis|Saint Lucia|
Saint Vincent and the Grenadines|Samoa|San Marino|Sao Tome and Principe|Saudi Arabia|Senegal|Serbia|
Seychelles|Sierra Leone|Singapore|Slovakia|Slovenia|Solomon Islands|Somalia|South Africa|South Korea|Korea|
South Sudan|Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan|Tanzania|Thailand|
Timor-Leste|East Timor|Togo|Tonga|Trinidad and Tobago|Tunisia|Turkey|Turkiye|Turkmenistan|Tuvalu|Uganda|
Ukraine|United Arab Emirates|UAE|United Kingdom|UK|Great Britain|England|Scotland|Wales|Northern Ireland|
United States|United States of America|USA|America|Uruguay|Uzbekistan|Vanuatu|Vatican City|Venezuela|Vietnam|
Viet Nam|Yemen|Zambia|Zimbabwe|Greenland|Puerto Rico|Hong Kong|Macau|Macao|Gibraltar|Bermuda|Aruba|Curacao|
Guam|Faroe Islands|Isle of Man|Jersey|Guernsey|Mayotte|Reunion|Martinique|Guadeloupe|French Guiana|
French Polynesia|New Caledonia|Western Sahara|Cayman Islands|Falkland Islands|Cook Islands|Niue|Tokelau|
Anguilla|Montserrat|Saint Helena|Svalbard|Antarctica|Christmas Island|Cocos Islands|Norfolk Island|
Pitcairn Islands|Wallis and Futuna|American Samoa|Northern Mariana Islands|British Virgin Islands|
US Virgin Islands|Turks and Caicos Islands|Saint Pierre and Miquelon|Saint Barthelemy|Saint Martin|
Sint Maarten|Bonaire|Heard Island and McDonald Islands|Bouvet Island|South Georgia|San Francisco|
New York|Los Angeles|Washington|Texas|California|Florida|Bavaria|Quebec|Ontario|Alberta|Berkeley|Cambridge|
Oxford|Manchester|Birmingham|Edinburgh|Glasgow|Munich|Frankfurt|Hamburg|Cologne|Milan|Naples|Barcelona|
Seville|Valencia|Porto|Marseille|Lyon|Geneva|Antwerp|Rotterdam|Gothenburg|Krakow|Osaka|Kyoto|Seoul|
Beijing|Shenzhen|Bangalore|Bengaluru|Delhi|New Delhi|Hyderabad|Chennai|Pune|Austin|Boston|Seattle|Portland|
Atlanta|Miami|Houston|Dallas|San Diego|San Jose|Philadelphia|Pittsburgh|Baltimore|Nashville|Orlando|
Minneapolis|Las Vegas|Salt Lake City|Sacramento|Oakland|Brooklyn|Queens|Manhattan|Ottawa|Montreal|Calgary|British Indian Ocean Territory|Chagos Archipelago|Brunei Darussalam|Bouvet Island|Cote d'Ivoire|
French Southern Territories|Holy See|Kyrgyz Republic|Lao People's Democratic Republic|Libyan Arab Jamahiriya|
Netherlands Antilles|Palestinian Territory|Palestinian Territories|Russian Federation|Slovak Republic|
South Georgia and the South Sandwich Islands|Jan Mayen|Swaziland|Syrian Arab Republic|
United States Minor Outlying Islands|United States Virgin Islands|US Virgin Islands|Keeling Islands|Malvinas
""".replace("\n", "").split("|")

# tz city names that are ordinary words or usual given names at sentence start.
_NOT_PLACES = frozenset({"Center", "Christmas", "Easter", "Wake", "Midway", "Troll", "Casey", "Davis",
                         "Palmer", "Knox IN", "Marengo", "Vevay", "Beulah", "Mendoza", "Regina",
                         "Victoria", "Sofia", "Eucla", "Nome", "Boise", "Monticello", "Tell City",
                         "Petersburg", "Winamac", "Vincennes", "New Salem", "Reunion", "Jersey", "Georgia",
                         "Jordan", "Chad", "America", "Niger", "Guinea", "Mali", "Faroe", "Chatham",
                         "Truk", "Chuuk", "Ponape", "Pohnpei", "Kosrae", "Mahe", "Macquarie", "Lord Howe"})


def _tz_cities() -> set[str]:
    out: set[str] = set()
    for zone in zoneinfo.available_timezones():
        parts = zone.split("/")
        if len(parts) < 2 or parts[0] in ("Etc", "SystemV", "US", "Canada", "Mexico", "Brazil", "Chile"):
            continue
        name = parts[-1].replace("_", " ")
        if name.replace(" ", "").replace("-", "").isalpha() and not name.isupper():
            out.add(name)
    return out


class Gazetteer:
    """A regex ``before(?:alt1|alt2|...)after`` over literal names (spaces as ``\\s+``, the
    alternatives longest first), matched as that one regex matches, without its cost.

    Python's ``re`` tries every alternative at every position of a text (~1,000 here).
    A name can match only where its first letter stands and ``before`` holds, so the
    positions are found first (one small regex), and at each one only the names that
    begin with that letter are tried, in their order: the same first alternative wins,
    so every match, its span and the next search position are the ones of the whole regex
    (tests/test_detection_finders_cost.py compares both on texts and on every name)."""

    def __init__(self, names: Iterable[str], before: str, after: str) -> None:
        alts = sorted(((n[0], re.escape(n).replace(r"\ ", r"\s+")) for n in names), key=lambda a: len(a[1]),
                      reverse=True)
        self._whole = before + "(?:" + "|".join(a for _, a in alts) + ")" + after
        firsts = sorted({c for c, _ in alts})
        self._starts = re.compile(before + "[" + "".join(re.escape(c) for c in firsts) + "]")
        self._by_first = {c: re.compile(before + "(?:" + "|".join(a for f, a in alts if f == c) + ")" + after)
                          for c in firsts}

    def regex(self) -> re.Pattern[str]:
        """The one regex these names stand for (compiled on request: the tests compare with it)."""
        return re.compile(self._whole)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The matches of ``self.regex().finditer(text)``."""
        pos = 0
        while (s := self._starts.search(text, pos)) is not None:
            m = self._by_first[text[s.start()]].match(text, s.start())
            if m is None:
                pos = s.start() + 1
                continue
            yield m
            pos = m.end()

    def fullmatch(self, text: str) -> re.Match[str] | None:
        """``self.regex().fullmatch(text)``."""
        rx = self._by_first.get(text[:1])
        return None if rx is None else rx.fullmatch(text)


@lru_cache(maxsize=1)
def _pattern() -> Gazetteer:
    names = {n.strip() for n in COUNTRIES if n.strip()} | _tz_cities()
    names -= _NOT_PLACES
    return Gazetteer(names, r"(?<![\w@./-])", r"(?![\w@-])")


_LOCATIVE = re.compile(r"(?i)\b(?:in|to|from|at|near|visit(?:ing)?|based\s+in|moved\s+to|flying\s+to|fly\s+to)\s+$")


def warm() -> None:
    _pattern()
    _lower_pattern()   # ~30 ms of compiling, else paid by the first lower-case text
    words("english_words")   # the dictionary _names.py reads after a title of office (~0.1 s)


def is_place(value: str) -> bool:
    """The whole value is a country or a tz city ("Paris", "Madrid")."""
    return _pattern().fullmatch(value) is not None


# "lives in Ylöjärvi", "FLYING TO SONDERSHAUSEN": a capitalised word (or one in
# capitals, in a text all in capitals) after a verb of place is a place, even
# one no list knows. Ranked below spaCy and the gazetteer.
CUED_PLACE = re.compile(
    r"(?i:\b(?:live[sd]?|living|based|born|located|office|offices|moved?|moving|fly(?:ing)?|flew|travel(?:l?ing)?|"
    r"relocat(?:e|ed|ing)|going|trip|headquartered|staying|stay|visit(?:ing)?)\s+(?:back\s+)?(?:in|to|from|at|near)?\s*)"
    r"((?:[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*)(?:\s+[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*)?)"
)


# Every match of CUED_PLACE holds one of these words, in any case (_literals.may_hold).
PLACE_VERBS = ("live", "living", "based", "born", "located", "office", "mov", "fly", "flew", "travel", "relocat",
               "going", "trip", "headquartered", "stay", "visit")


def find_cued_places(text: str, everyday: frozenset[str]) -> list[Hit]:
    """Unlisted places after a verb of place; ``everyday`` words end the name."""
    if not may_hold(text, PLACE_VERBS):
        return []
    caps = text.isupper()
    hits = []
    for m in CUED_PLACE.finditer(text):
        words = m.group(1).split()
        keep: list[str] = []
        for w in words:
            if w.casefold() in everyday or not (w.isupper() if caps else w[0].isupper() and not w.isupper()):
                break
            keep.append(w)
        if not keep:
            continue
        start = m.start(1)
        end = start + len(" ".join(keep)) if text[start:].startswith(" ".join(keep)) else start + len(keep[0])
        hits.append(Hit(start, end, "LOCATION", 0.5, " ".join(text[start:end].casefold().split()), RANK_NER - 2))
    return hits


def find_places(text: str) -> list[Hit]:
    if text == text.lower():
        return find_lower_places(text)
    hits = []
    for m in _pattern().finditer(text):
        # "moved to Austin": after a locative word the place list beats
        # spaCy's guess of a person; elsewhere spaCy decides.
        locative = _LOCATIVE.search(text, max(0, m.start() - 20), m.start()) is not None
        rank = RANK_NER + 1 if locative else RANK_NER - 1
        hits.append(Hit(m.start(), m.end(), "LOCATION", 0.6, " ".join(m.group().casefold().split()), rank))
    return hits


@lru_cache(maxsize=1)
def _place_names() -> tuple[frozenset[str], frozenset[str]]:
    """(place names, place names that are also everyday words) of meetguard/data/place_names.txt."""
    entries = words("place_names")
    return (frozenset(e.lstrip("+") for e in entries if not e.startswith("~")),
            frozenset(e[1:] for e in entries if e.startswith("~")))


# short names the lower-case finder looks for; other names of 4 letters or fewer are words of other
# tongues or slang first ("pest", "cali", "jos")
_SHORT_PLACES = frozenset(["eu", "uk", "usa", "u.s.", "u.k.", "uae", "ussr", "iran", "iraq", "laos", "fiji", "togo",
                           "guam", "ohio", "iowa", "utah", "asia", "rome", "oslo", "kyiv", "gaza", "lima", "lyon",
                           "baku"])


@lru_cache(maxsize=1)
def _lower_pattern() -> Gazetteer:
    """Countries, states, continents, regions and cities of 1,000,000+ (no '~' nor '+' entry)."""
    names = [e for e in words("place_names") if e[0] not in "~+" and (len(e) > 4 or e in _SHORT_PLACES)]
    return Gazetteer(names, r"(?<![\w@./'’-])", r"(?![\w@'’-])")


# Portuguese words that make "eu" beside them the pronoun "I" ("eu também", "eu acho que", "que eu
# saiba"): function words and first-person verbs no English text writes next to "eu" ("sim", "um",
# "da", "ali" left out: "the eu sim card", "the eu um", "da silva", a name)
_PT_BESIDE_I = frozenset([
    "também", "não", "que", "porque", "quando", "então", "já", "só", "nunca", "sempre", "ainda", "isso", "você",
    "obrigado", "obrigada", "muito", "mesmo", "tudo", "pois", "acho", "sei", "sou", "estou", "tenho", "vou",
    "quero", "posso", "preciso", "gosto", "acredito", "concordo", "penso", "falo", "fiz", "fui", "disse",
    "estava", "tinha", "queria", "gostaria", "entendo", "lembro", "espero", "vejo", "digo", "faço", "adoro", "amanhã",
    "hoje", "ontem", "aqui", "agora"])


def portuguese_i(words: list[str], before: str = "", after: str = "") -> bool:
    """Rule foreign-word on "eu": the words (lower case, "eu" among them) are "eu" and Portuguese
    words beside it, at least one of them in the span or right before or after it ("eu também",
    "que eu", "eu" of "eu não sei"); "the eu must act", "eu citizens" stay the EU."""
    pt = _PT_BESIDE_I
    if "eu" not in words or not all(w == "eu" or w in pt for w in words):
        return False
    if any(w in pt for w in words):
        return True
    b, a = before.split(), after.split()
    return (bool(b) and b[-1].strip(".,;:!?").casefold() in pt) or (bool(a) and a[0].strip(".,;:!?").casefold() in pt)


def find_lower_places(text: str) -> list[Hit]:
    """Places in text without case ("the situation in ukraine", "the euro area"): names that are
    no everyday word, ranked below spaCy as the gazetteer is; "eu" beside a Portuguese word is
    the pronoun ("eu também")."""
    hits = [Hit(m.start(), m.end(), "LOCATION", 0.5, " ".join(m.group().split()), RANK_NER - 1)
            for m in _lower_pattern().finditer(text)
            if m.group() != "eu" or not portuguese_i(["eu"], text[max(0, m.start() - 24):m.start()], text[m.end():m.end() + 24])]
    for m in _CUED_LOWER.finditer(text):   # "in turkey", "to paris": an everyday name after a place's cue
        if m.group(1) in _place_names()[1]:
            hits.append(Hit(m.start(1), m.end(1), "LOCATION", 0.5, m.group(1), RANK_NER - 1))
    if "the union" in text and _EU_CONTEXT.search(text):
        hits += [Hit(m.start(1), m.end(1), "LOCATION", 0.5, "union", RANK_NER - 1) for m in _THE_UNION.finditer(text)]
    return hits


# "the union" in a text about the European Union is the EU ("the objectives of the union", "in
# the union", "the union's financial interests"); a trade union or "the state of the union" is
# not, so the text must name the EU's own words: "european", "eu", "member states", "the
# commission", "treaty", ... (not "council" or "parliament" alone: a city has both)
_EU_CONTEXT = re.compile(r"\b(?:european|europe|eu|euro|eurozone|member\s+states?|commission|commissioner|treaty|"
                         r"treaties|eib|brussels|strasbourg|rapporteurs?|meps?|schengen)\b")
_THE_UNION = re.compile(r"(?<!state of )\bthe\s+(union)(?=['’]s\b|\b)(?!['’-]\w\w)")


# the words before a name that make an everyday word a place: "in turkey", "to china", "from nice"
PLACE_CUE = re.compile(r"(?i)\b(?:in|to|from|into|across|towards|visit|visited|visiting|between)\s+(?:the\s+)?$")


# words that may stand before a place in one NER span ("the eu", "this european union", "our europe")
_LEAD = frozenset(["the", "this", "that", "our", "their", "your", "my", "his", "her", "its", "a", "an", "whole",
                   "entire", "all", "of", "in", "to", "from"])


_CUED_LOWER = re.compile(r"\b(?:in|to|from|into|across|towards|visit|visited|visiting)\s+(?:the\s+)?([a-z]+)\b")


def _norm(value: str) -> str:
    v = " ".join(value.casefold().split()).strip(".,;:!?'\"()[]")
    return v[:-2] if v.endswith(("'s", "’s")) else v


def place_phrase(value: str, before: str = "") -> bool:
    """The whole ``value`` is a place as lower-case speech writes it ("france", "the balkans",
    "european union", "new york"): a name of place_names.txt, one that is also an everyday
    word ("turkey", "china", "nice") only after a place's cue ("in turkey", "to china")."""
    ws = _norm(value).split()
    sure, everyday = _place_names()
    while ws:
        name = " ".join(ws)
        if name in sure or (name in everyday and PLACE_CUE.search(before) is not None):
            return True
        if ws[0] not in _LEAD:
            return False
        before, ws = before + " " + ws[0] + " ", ws[1:]   # "this european union", "in the turkey"
    return False


def place_word(word: str) -> bool:
    """One word that is a place and no everyday word ("eu", "france", "syria"; not "turkey")."""
    return _norm(word) in _place_names()[0]
