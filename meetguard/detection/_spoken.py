"""Spoken forms in ASR text, mapped back to exact character spans.

"five five five, zero one four two" -> PHONE_NUMBER 5550142;
"jordan dot price at contoso dot example" -> EMAIL_ADDRESS jordan.price@contoso.example.
A run of spoken digits is only taken when it holds at least one spoken token
(a number word or a digit-by-digit "3-1-2"), so "room 204, port 8080" in plain
numerals never fuses into a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ._hits import RANK_STRUCTURED, Hit
from ._patterns import luhn_ok, ssn_ok
from ._stopwords import stop_words

_UNITS = {"zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
          "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_REPEAT = {"double": 2, "triple": 3}

_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:-\d+)*|[,\-.]|\S")
_SPOKEN_DIGITS = re.compile(r"\d(?:-\d)+")
_CUE_SSN = re.compile(r"(?i)\b(?:ssn|social\s+security)\b")
_CUE_MEETING = re.compile(r"(?i)\b(?:meeting|webinar|conference)\s+(?:id|number)\b")
_CUE_CARD = re.compile(r"(?i)\b(?:card|visa|mastercard|amex|american\s+express|discover|credit|debit)\b")


# How far back a word before a hit is looked for: the ``$``-anchored searches below scan
# from their start, so a search from the text's start made a long transcript with many
# addresses quadratic (400 addresses in 45,000 characters: 70 s).
_LOOK_BACK = 120


def _word_before(pattern: re.Pattern[str], text: str, end: int) -> re.Match[str] | None:
    """``pattern`` (``$``-anchored) matched right before ``end``, looked for only in the
    ``_LOOK_BACK`` characters before it; a word cut by that window is no match."""
    lo = max(0, end - _LOOK_BACK)
    m = pattern.search(text, lo, end)
    if m is not None and m.start() == lo and lo > 0 and text[lo - 1].isalnum():
        return None
    return m


def _repeated(word: str, nxt: str) -> str | None:
    """ "double five", and ASR's "double 5" and "double-5-3912" (a hyphenated group whose
    first digit is the one said twice): the digit said twice (three times: triple), and
    the rest of the group after it."""
    if word not in _REPEAT:
        return None
    if nxt.lower() in _UNITS:
        return str(_UNITS[nxt.lower()]) * _REPEAT[word]
    if re.fullmatch(r"\d(?:-\d+)*", nxt):
        return nxt[0] * _REPEAT[word] + nxt[1:].replace("-", "")
    return None


# What tiny.en writes for a digit word inside a run of them ("five five fine five"): a digit
# only between digit words said as words, never alone ("I'm fine", "fine, thanks").
_MISHEARD = {"fine": "5"}


def _among_digit_words(toks: list[tuple[int, int, str]], i: int) -> bool:
    """Token ``i`` has a digit word said as a word on each side ("five fine five"), or two
    on one side ("fine five five", "four four fine"), across at most one separator each."""
    def beside(k: int, step: int) -> tuple[int, str]:
        k += step
        if 0 <= k < len(toks) and toks[k][2] in (",", "-", "."):
            k += step
        return k, toks[k][2].lower() if 0 <= k < len(toks) else ""

    k, after = beside(i, 1)
    j, before = beside(i, -1)
    if after in _UNITS and before in _UNITS:
        return True
    return (after in _UNITS and beside(k, 1)[1] in _UNITS) or (before in _UNITS and beside(j, -1)[1] in _UNITS)


def _read_number(toks: list[tuple[int, int, str]], i: int, running: bool) -> tuple[str | None, int, bool]:
    """The digits token ``i`` says (None if none), how many tokens it took, and whether
    it was spoken (a number word, "3-1-2") rather than written; ``running``: a run is on."""
    n, w = len(toks), toks[i][2]
    low = w.lower()
    repeated = _repeated(low, toks[i + 1][2] if i + 1 < n else "")
    if repeated is not None:
        return repeated, 2, True
    if i + 2 < n and toks[i + 1][2] == "-" and toks[i + 1][0] == toks[i][1]:
        repeated = _repeated(low, toks[i + 2][2])       # "double-5": ASR's hyphen between
        if repeated is not None:
            return repeated, 3, True
    nxt = toks[i + 1][2].lower() if i + 1 < n else ""
    if low in _UNITS and (low != "o" or running):
        return str(_UNITS[low]), 1, True
    if low in _MISHEARD and _among_digit_words(toks, i):
        return _MISHEARD[low], 1, True
    if low in _TEENS:
        return str(_TEENS[low]), 1, True
    if low in _TENS:
        if nxt in _UNITS and _UNITS[nxt] > 0:
            return str(_TENS[low] + _UNITS[nxt]), 2, True
        return str(_TENS[low]), 1, True
    if low in ("hundred", "thousand") and running:
        return "00" if low == "hundred" else "000", 1, True
    if w[0].isdigit():
        return w.replace("-", ""), 1, _SPOKEN_DIGITS.fullmatch(w) is not None
    return None, 1, True


def _number_runs(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, digits, has_spoken_token) for each run of number tokens."""
    toks = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    runs: list[tuple[int, int, str, bool]] = []
    i, n = 0, len(toks)
    cur: list[str] = []
    start = end = -1
    spoken = False

    def flush() -> None:
        nonlocal cur, start, end, spoken
        if cur:
            runs.append((start, end, "".join(cur), spoken))
        cur, start, end, spoken = [], -1, -1, False

    while i < n:
        s, w = toks[i][0], toks[i][2]
        digits, used, is_spoken = _read_number(toks, i, bool(cur))
        if digits is not None:
            if not cur:
                start = s
            cur.append(digits)
            end = toks[i + used - 1][1]
            spoken = spoken or is_spoken
            i += used
            continue
        if w in (",", "-", ".") and cur and i + 1 < n and toks[i + 1][1] - toks[i + 1][0] > 0:
            # separators inside a read-out number: "five five five, zero one ..."
            nxt = toks[i + 1][2].lower()
            if (nxt in _UNITS or nxt in _TEENS or nxt in _TENS or nxt in _REPEAT or nxt[0].isdigit()
                    or (nxt in _MISHEARD and _among_digit_words(toks, i + 1))):
                i += 1
                continue
        flush()
        i += 1
    flush()
    return runs


# Texts without any spoken number token cannot yield a run worth taking.
_HINT = re.compile(
    r"(?i)\b(?:" + "|".join(sorted({*_UNITS, *_TEENS, *_TENS, *_REPEAT} - {"o"})) + r")\b|\d-\d"
)


# ASR writes a read-out number as numerals in odd groups ("555-123-456-7",
# "555 1234 567", "4111. 111. 111."): in spoken text a run of grouped numerals
# counts too (a dot or comma only with a space after it, so an IP address or a
# version number stays what it is).
_ASR_GROUPS = re.compile(r"\d+(?:(?:[.,]\s+|[ -])\d+)+")


_LONG_NUMERAL = re.compile(r"\d{9}")
_MAGNITUDE = re.compile(r"(?i)\b(?:thousand|million|billion|trillion)\b")
_YEARS = re.compile(r"(?:19|20)\d\d(?:(?:,\s*|\s+(?:and|to)\s+|\s*-\s*|\s+)(?:19|20)\d\d)*")


def find_spoken_numbers(text: str, *, asr: bool = False) -> list[Hit]:
    """Read-out numbers. ``asr``: the text is a speech transcript, where a run
    of grouped numerals of phone length is a read-out number as well, and so is one
    numeral of 9 digits or more: ASR writes a card read out digit by digit as
    "411111111111111", and a misheard digit breaks its checksum, not its meaning. In
    speech, 13 digits or more after a card's cue ("card", "visa", "debit" ...) are a card
    whatever their checksum or length (ASR repeats a group it half heard: the card of
    ho2_card_company, espeak-us-nyc, came back from tiny.en's beam search as "5105, 1051,
    0051, 0051, 0051, 0051, 0050", 28 digits); with no cue, a run over 24 digits is a list
    of amounts, no value."""
    hits: list[Hit] = []
    if _HINT.search(text) is None and not (asr and (_ASR_GROUPS.search(text) or _LONG_NUMERAL.search(text))):
        return hits
    for start, end, digits, spoken in _number_runs(text):
        before = text[max(0, start - 40):start]
        # a card read out that ASR heard with groups repeated ("5105, 1051, 0051, 0051, 0051, 0051"), or a digit
        # misheard: still the card its cue names, whatever its length or checksum
        carded = asr and len(digits) >= 13 and _CUE_CARD.search(before) is not None
        grouped = (asr and (_ASR_GROUPS.search(text[start:end]) is not None or len(digits) >= 9)
                   and (len(digits) <= 24 or carded) and not _YEARS.fullmatch(text[start:end]))
        if not (spoken or grouped) or len(digits) < 7 or _MAGNITUDE.search(text[start:end]):
            continue   # "one hundred thousand two hundred": a quantity, no number read out digit by digit
        if (13 <= len(digits) <= 19 and luhn_ok(digits)) or carded:
            etype = "CREDIT_CARD"
        elif len(digits) == 9 and _CUE_SSN.search(before) and ssn_ok(digits):
            etype = "US_SSN"
        elif 9 <= len(digits) <= 11 and _CUE_MEETING.search(before):
            etype = "MEETING_ID"
        else:
            etype = "PHONE_NUMBER"
        hits.append(Hit(start, end, etype, 0.8, digits, RANK_STRUCTURED + 3))
    return hits


# A card named by its last digits ("the card ending in four four one two", "Visa ends with 4412",
# "the last four digits are 4412"): too short for a card number, a value all the same (it picks
# one card out). Taken in speech only, where the cue is right before the digits.
_CARD_TAIL = re.compile(
    r"(?i)\b(?:card|visa|mastercard|amex|debit|credit|account)\b[^.?!\d]{0,30}?"
    r"\b(?:end(?:s|ing|ed)?\s+(?:in|with)|last\s+(?:four|4|five|5|three|3)(?:\s+digits)?"
    r"(?:\s+(?:are|is|were|was))?)[\s:,]*$")


def find_card_tails(text: str) -> list[Hit]:
    """The last digits of a card or account said after their cue: a CREDIT_CARD value of
    3 to 6 digits, numerals or digit words."""
    if "end" not in text.lower() and "last" not in text.lower():
        return []
    hits = []
    for start, end, digits, _spoken in _number_runs(text):
        if 3 <= len(digits) <= 6 and _word_before(_CARD_TAIL, text, start) is not None:
            hits.append(Hit(start, end, "CREDIT_CARD", 0.8, digits, RANK_STRUCTURED + 3))
    return hits


_PART = r"[a-z0-9]+(?:[._'-][a-z0-9]+)*"
_SEP = r"\s+(?:dot|period|point|underscore|dash|hyphen)\s+"
_SEP_WORD = {"dot": ".", "period": ".", "point": ".", "underscore": "_", "dash": "-", "hyphen": "-"}


def spoken_email_re(part: str, seps: Iterable[str], ats: str, dots: str) -> re.Pattern[str]:
    """A dictated address: a local part (up to four spelled letters, then parts joined by
    spoken separators ``seps``), an "at" word (``ats``, an alternation), and a domain of
    parts joined by spoken dots (``dots``) or written with dots. Group 1 is the local
    part, group 2 the domain. ``part`` is one name or number between separators."""
    sep = r"\s+(?:" + "|".join(_alternative(w) for w in sorted(seps, key=len, reverse=True)) + r")\s+"
    return re.compile(
        r"(?i)(?<![\w.])((?:[a-z]\s+){0,4}" + part + r"(?:" + sep + part + r")*)\s+(?:" + ats + r")\s+("
        + part + r"(?:\s+[a-z0-9]+){0,2}(?:\s+(?:" + dots + r")\s+" + part + r")+|[a-z0-9-]+(?:\.[a-z0-9-]+)+)"
        r"(?![\w])"
    )


def _alternative(words: str) -> str:
    return r"\s+".join(re.escape(w) for w in words.split())


def joiner(table: dict[str, str]) -> Callable[[str], str]:
    """Spoken address -> written: separator words (``table``, several words allowed) become
    their character, spaces go, all lower case ("jordan dot price" -> "jordan.price")."""
    alts = sorted(table, key=len, reverse=True)
    words = re.compile(r"(?i)(?<!\S)(?:" + "|".join(_alternative(w) for w in alts) + r")(?!\S)")

    def join(spoken: str) -> str:
        sub = words.sub(lambda m: " " + table[" ".join(m.group().lower().split())] + " ", spoken)
        return "".join(sub.split()).lower()

    return join


# "at sign" / "at symbol": how people dictate the "@" when they fear it is missed.
_AT = r"at\s+(?:sign|symbol)|at|@"
SPOKEN_EMAIL = spoken_email_re(_PART, _SEP_WORD, _AT, "dot")
_LOCAL_STOP = frozenset({"is", "me", "us", "him", "her", "them", "it", "that", "this", "look", "email",
                         "mail", "address", "write", "reach", "contact", "or", "and", "be", "you"})
_join = joiner(_SEP_WORD)
_SPOKEN_DOT = re.compile(r"(?i)\sdot\s")


def dictated_emails(text: str, pattern: re.Pattern[str], join: Callable[[str], str],
                    stop: frozenset[str], spoken: re.Pattern[str]) -> list[Hit]:
    """Matches of ``pattern`` (from :func:`spoken_email_re`) that are addresses: the local
    part is no stop word, the match says a separator aloud (``spoken``: "x at y.com"
    alone is prose), and the top-level domain is letters."""
    hits = []
    for m in pattern.finditer(text):
        local, domain = m.group(1), m.group(2)
        if local.lower() in stop or spoken.search(m.group()) is None:
            continue
        tld = join(domain).rsplit(".", 1)[-1]
        if not tld.isalpha() or len(tld) < 2:
            continue
        value = join(local) + "@" + join(domain)
        hits.append(Hit(m.start(), m.end(), "EMAIL_ADDRESS", 0.85, value, RANK_STRUCTURED + 1))
    return hits


# What ASR makes of "at" in a dictated address ("john.smith that example.com"),
# taken only where the context says an address is being given.
ASR_EMAIL = re.compile(
    r"(?i)(?<![\w.@])([a-z0-9]+(?:[._-][a-z0-9]+)*)\s+(?:at\s+(?:sign|symbol)|at|that|add|and|hat|@)\s+"
    r"([a-z0-9-]+(?:\s+[a-z0-9-]+){0,2}(?:(?:\s+dot\s+|\.)[a-z0-9-]+)+)(?![\w@])"
)
_EMAIL_CUE = re.compile(r"(?i)\b(?:e-?mail(?:ed|ing)?|mail|address|write\s+to|reach\s+\w+\s+at|contact"
                        r"|(?:send|sent|forward|copy|cc)\b.{0,30}\bto)\b")


def _asr_emails(text: str) -> list[Hit]:
    hits = []
    for m in ASR_EMAIL.finditer(text):
        local, domain = m.group(1), m.group(2)
        dotted = any(c in local for c in "._")
        if local.lower() in _LOCAL_STOP:
            continue
        if not dotted and _EMAIL_CUE.search(text[max(0, m.start() - 40):m.start()]) is None:
            continue
        joined = _join(domain.replace(".", " dot "))
        tld = joined.rsplit(".", 1)[-1]
        if not tld.isalpha() or len(tld) < 2:
            continue
        value = _join(local.replace(".", " dot ")) + "@" + joined
        start = m.start()
        first = _word_before(_NAME_BEFORE, text, start)
        if first is not None and text[:first.start(1)].rstrip()[-1:] in ("", ".", "!", "?"):
            first = None                                # "Copy Jamal at …": a sentence's first word
        if first is not None and local[:1].isupper():   # "Ingrid Solberg at litware.example"
            start, value = first.start(1), first.group(1).lower() + "." + value
        hits.append(Hit(start, m.end(), "EMAIL_ADDRESS", 0.8, value, RANK_STRUCTURED + 1))
    return hits


# A capitalised word right before a capitalised local part: ASR wrote a dictated
# "ingrid dot solberg" as the name "Ingrid Solberg".
_NAME_BEFORE = re.compile(r"(?<![\w.@])([A-Z][a-z]+)\s+$")


# Whisper on "... is jordan dot price at contoso dot com" may fuse the first name
# into the word before it and write the "dot" as a period: "isjordan. Price at
# contoso dot com". Found from " at " and the domain back to the first word,
# which is taken whole (fused or not), so the whole span is bleeped.
ASR_FUSED_EMAIL = re.compile(
    r"(?i)(?<![\w.@])([a-z0-9]+)[.,]\s+([a-z0-9]+(?:(?:" + _SEP + r"|[._-])[a-z0-9]+)*)\s+(?:at|@)\s+"
    r"([a-z0-9-]+(?:(?:\s+dot\s+|\.)[a-z0-9-]+)+)(?![\w@])"
)


def _fused_emails(text: str) -> list[Hit]:
    hits = []
    for m in ASR_FUSED_EMAIL.finditer(text):
        first, rest, domain = m.group(1), m.group(2), m.group(3)
        if rest.lower() in _LOCAL_STOP:
            continue
        joined = _join(domain.replace(".", " dot "))
        tld = joined.rsplit(".", 1)[-1]
        if not tld.isalpha() or len(tld) < 2:
            continue
        spoken_dot = " dot " in m.group().lower()
        if not spoken_dot and _EMAIL_CUE.search(text[max(0, m.start() - 40):m.start()]) is None:
            continue
        value = (first + "." + _join(rest)).lower() + "@" + joined
        hits.append(Hit(m.start(), m.end(), "EMAIL_ADDRESS", 0.8, value, RANK_STRUCTURED + 2))
    return hits


# What is left of a dictated address when ASR misheard its "at" ("Rohan Mehta for
# coffee.namble", "Ingrid.sawberg at litwear.nampl"): a word.word token of letters, which
# ordinary speech does not say; with the connector and the local part before it.
_ASR_DOMAIN = re.compile(
    r"(?<![\w.@])(?:((?:[A-Z][a-z]+\s+)?[A-Za-z0-9]+(?:[._][A-Za-z0-9]+)*)\s+"
    r"(?:[Aa]t|[Tt]hat|[Ff]or|[Aa]dd|[Hh]at|@)\s+([A-Za-z][A-Za-z0-9-]+\s+)?)?"
    r"([A-Za-z][A-Za-z0-9-]+(?:\.[A-Za-z][A-Za-z0-9-]+)+)(?![\w@])")
_NOT_DOMAINS = frozenset({"e.g", "i.e", "a.m", "p.m", "u.s", "u.k", "etc"})
_FILE_ENDINGS = frozenset({"js", "py", "md", "txt", "pdf", "csv", "doc", "docx", "xls", "xlsx", "ppt", "pptx",
                           "json", "yaml", "html", "png", "jpg", "zip", "exe", "sh", "ts", "go", "rs"})


def _asr_domains(text: str) -> list[Hit]:
    hits = []
    for m in _ASR_DOMAIN.finditer(text):
        local, word, domain = m.group(1), m.group(2) or "", m.group(3)
        tld = domain.rsplit(".", 1)[-1].lower()
        if domain.lower() in _NOT_DOMAINS or not tld.isalpha() or len(tld) < 2 or len(domain) < 6:
            continue
        if local is not None and local.split()[-1].lower() in _LOCAL_STOP | {"the", "a", "an", "to"}:
            local, word = None, ""
        if tld in _FILE_ENDINGS and local is None:
            continue
        start = m.start(1) if local is not None else m.start(3)
        if local is not None and " " in local and text[:start].rstrip()[-1:] in ("", ".", "!", "?"):
            head = local.split()[0]                     # "Copy Jamal at …": a sentence's first word
            local, start = local[len(head):].strip(), text.index(local[len(head):].strip(), start)
        full = _join((word + domain).replace(".", " dot "))
        value = (_join(local.replace(".", " dot ")) + "@" if local else "") + full
        hits.append(Hit(start, m.end(), "EMAIL_ADDRESS", 0.7, value, RANK_STRUCTURED))
    return hits


# The end of a dictated address as ASR hears it: a spoken dot (also heard as "not")
# before a top-level domain, "example" also heard as "an ample" ("wing tip, not an
# ample"). Ordinary speech says neither "dot com" after a word nor "not an ample".
_HEARD_TAIL = re.compile(
    r"(?i)(?<=[\w,])(?:,?\s+dot\s+(?:an?\s+)?(?:ample|example)|,?\s+not\s+(?:an?\s+)?ample"
    r"|\s+dot\s+(?:com|org|net|io|edu|gov|co|info)|,?\s+not\s+(?:com|org|net))\b")
_TAIL_WORD = re.compile(r"([A-Za-z0-9]+(?:[.'_-][A-Za-z0-9]+)*)[,.]?\s*$")
# Where the words of an address heard this way begin: after a cue to give one, an
# article, or a sentence's end; "at" and what ASR makes of it join local part and domain.
_TAIL_CUES = frozenset({"to", "copy", "cc", "email", "e-mail", "mail", "address", "is", "was", "contact",
                        "reach", "forward", "send", "write", "me", "us", "the", "a", "an", "on", "of"})
_TAIL_AT = frozenset({"at", "that", "add", "hat", "for", "with", "and"})


def _heard_tails(text: str) -> list[Hit]:
    """Addresses known by their ends alone (``_HEARD_TAIL``): the words before the tail, at
    most six, back to a cue word or a sentence's end, are the local part and the domain.
    Taken where those words hold an "at" (or its ASR forms) or a cue word stops them."""
    hits = []
    for m in _HEARD_TAIL.finditer(text):
        start, cued = m.start(), False
        words: list[str] = []
        while len(words) < 6:
            w = _word_before(_TAIL_WORD, text, start)
            if w is None or (words and text[w.end(1):start].strip()[:1] in (".", "!", "?")):
                break
            if w.group(1).lower() in _TAIL_CUES:
                cued = True
                break
            words.insert(0, w.group(1))
            start = w.start(1)
        lowered = [w.lower() for w in words]
        at = next((k for k, w in enumerate(lowered) if k and w in _TAIL_AT), None)
        if not words or not (cued or at is not None):
            continue
        local, domain = (words[:at], words[at + 1:]) if at is not None else ([], words)
        tld = m.group().split()[-1].lower()
        value = (_join(" ".join(local)) + "@" if local else "") + _join(" ".join(domain)) + "." + (
            "example" if tld == "ample" else tld)
        hits.append(Hit(start, m.end(), "EMAIL_ADDRESS", 0.7, value, RANK_STRUCTURED))
    return hits


def find_spoken_emails(text: str, *, asr: bool = False) -> list[Hit]:
    """Dictated addresses; ``asr`` also takes what speech recognition makes of them."""
    extra = _asr_emails(text) + _fused_emails(text) + _asr_domains(text) if asr else []
    low = text.lower()
    if " at " in low and (" dot " in low or "." in low):
        extra += dictated_emails(text, SPOKEN_EMAIL, _join, _LOCAL_STOP, _SPOKEN_DOT)
    if asr:   # an address known by its end only where no other reading found it
        extra += [h for h in _heard_tails(text) if all(o.end <= h.start or o.start >= h.end for o in extra)]
        widened: dict[tuple[int, int], Hit] = {}
        for h in extra:
            h = _from_first_word(text, h)
            widened.setdefault((h.start, h.end), h)
        extra = list(widened.values())
    return extra


_BEFORE_WORD = re.compile(r"(?<![\w.@'-])([A-Za-z]+) +$")


def _from_first_word(text: str, hit: Hit) -> Hit:
    """An address heard as words may have lost its separators: "lena berg at contoso dot
    com" is read from "berg". It runs from its first word: up to two words of letters
    right before it (spaces only between) that are no cue, glue or everyday word."""
    from spacy.lang.en.stop_words import STOP_WORDS

    start = hit.start
    for _ in range(2):
        m = _word_before(_BEFORE_WORD, text, start)
        if m is None:
            break
        word = m.group(1).lower()
        if word in _TAIL_CUES or word in _LOCAL_STOP or word in STOP_WORDS or word in _SEP_WORD \
                or word in _TAIL_AT or text[:m.start(1)].rstrip()[-1:] in ("", ".", "!", "?"):
            break
        start = m.start(1)
    if start == hit.start:
        return hit
    value = ""
    for word in text[start:hit.start].lower().split():      # spelled letters run together:
        value += word if len(word) == 1 else word + "."      # "m k oneill" is mkoneill
    return Hit(start, hit.end, hit.entity_type, hit.score, value + hit.normalized, hit.rank)



# -- street addresses said aloud ---------------------------------------------------------

# The word that ends a street's name (singular: "two more streets" is no address).
STREET_TYPES = frozenset({"street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "boulevard",
                          "blvd", "court", "place", "square", "terrace", "crescent", "close", "way",
                          "parkway", "highway", "row", "walk", "alley", "circle", "plaza", "mews", "grove",
                          "gardens", "hill"})
# Words that never name a street between a number and its type: measures and plain
# adjectives ("a ten minute walk", "one more street", "two quick drive(s)").
_NOT_STREET_NAMES = frozenset({
    "minute", "minutes", "hour", "hours", "second", "seconds", "day", "days", "week", "weeks", "month",
    "months", "year", "years", "mile", "miles", "block", "blocks", "kilometre", "kilometer", "km", "metre",
    "meter", "foot", "feet", "step", "steps", "percent", "page", "time", "times", "lane", "way", "point",
    "quick", "short", "long", "good", "great", "big", "small", "little", "nice", "different", "right",
    "wrong", "easy", "hard", "fast", "slow", "straight", "only", "same", "single", "whole", "full", "half",
    "extra", "dead", "easier", "better", "best", "worse", "worst", "shorter", "longer", "lanes",
    "ways", "person", "people", "car", "cars", "lap", "laps", "story", "storey", "stories",
})
_ADDRESS_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+[a-z]?|\S")
_NUMBER_WORDS = frozenset({*_UNITS, *_TEENS, *_TENS, "hundred"} - {"o"})


def _street_name_word(word: str) -> bool:
    return (word.isalpha() or "'" in word) and len(word) > 1 and word not in _NUMBER_WORDS \
        and word not in _NOT_STREET_NAMES and word not in stop_words("en")


def _house_number(toks: list[tuple[int, int, str]], k: int) -> int | None:
    """The index of the first token of the house number that ends at token ``k``
    (numerals, number words, "and" inside words: "one twenty", "four hundred and five"), or None."""
    first = None
    while k >= 0:
        word = toks[k][2]
        if word[0].isdigit() or word in _NUMBER_WORDS:
            first = k
        elif not (word in ("and", "-") and first is not None and k > 0 and toks[k - 1][2] in _NUMBER_WORDS):
            break
        k -= 1
    return first


def find_spoken_addresses(text: str) -> list[Hit]:
    """Street addresses in speech: a house number (numerals or number words, "one twenty",
    ASR's "one 20-harbour") then one to three name words then a street type ("one twenty
    harbor road", "12 elm street"). The name words are no stop words, number words,
    measures or plain adjectives, so "the road ahead", "one more street" or "a ten
    minute walk" stay. A LOCATION from the number to the street type."""
    low = text.lower()
    if not any(t in STREET_TYPES for t in re.findall(r"[a-z]+", low)):
        return []
    toks = [(m.start(), m.end(), m.group()) for m in _ADDRESS_WORD.finditer(low)]
    hits: list[Hit] = []
    for k, (_s, end, word) in enumerate(toks):
        if word not in STREET_TYPES:
            continue
        j = k - 1
        while j >= 0 and k - j <= 3 and _street_name_word(toks[j][2]):
            j -= 1
        if j == k - 1:
            continue    # no name between the number and the street type
        while j >= 0 and toks[j][2] == "-":   # "20-harbour": ASR's hyphen after the number
            j -= 1
        first = _house_number(toks, j)
        if first is None or (first == j and toks[j][2] == "one" and first > 0
                             and toks[first - 1][2] in ("the", "this", "that", "which", "every", "no")):
            continue    # "the one main road": no house number
        start = toks[first][0]
        hits.append(Hit(start, end, "LOCATION", 0.8, " ".join(low[start:end].split()), RANK_STRUCTURED))
    return hits
