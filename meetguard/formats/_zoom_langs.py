"""The words Zoom writes in ``meeting_saved_chat.txt`` in each interface language.

A local chat file is written in the language of the Zoom client that saved
it: the English ``10:02:11 From Ana to Everyone:`` is ``De  Ana  a  Todos:``
in Spanish and ``開始 Ana 終了 皆様:`` in Japanese (Zoom translates "From" and
"to" as the start and end of a range); Traditional Chinese writes no word
before the sender (``Ana 對 所有人:``). Each :class:`ZoomLang` lists the words
of one language; docs/formats.md shows a line of each. A file is read in the
one language its first message header names; a header in any other wording
is an error naming its line, never guessed.

Where two languages share the word before the sender (Spanish, French and
Portuguese all write ``De``), the word before the target (``a``, ``à``,
``para``) or the private marker decides; a file holding neither only has
public messages without a target (the pre-2022 layout), which read the same
in every language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["LANGS", "ZoomLang", "by_code", "candidates"]

# The time, or (saved chats since 2025, meeting_saved_new_chat.txt) the date and time.
_TIME = r"(?:\d{4}-\d{2}-\d{2} )?\d{1,2}:\d{2}:\d{2}"


def _alts(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"[ \t]+") for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class ZoomLang:
    """One interface language: the words around the sender, target and privacy."""

    code: str
    sender: tuple[str, ...]           # "From" (the first is written when none was read)
    to: tuple[str, ...]               # "to" (the first is written)
    everyone: tuple[str, ...]         # "Everyone" (the first is written)
    private: tuple[str, ...]          # "Direct Message" (current), "Privately" (before 2022)
    # "to" words after which a header may lack the word before the sender
    # (Zoom's Chinese clients: ``13:56:21  Ana 對 所有人:``, ``14:39:26  Ana 对 所有人:``)
    bare: tuple[str, ...] = ()
    head: re.Pattern[str] = field(init=False, repr=False, compare=False)
    to_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    to_everyone: re.Pattern[str] = field(init=False, repr=False, compare=False)
    dm: re.Pattern[str] = field(init=False, repr=False, compare=False)
    inline_after_target: re.Pattern[str] = field(init=False, repr=False, compare=False)
    any_to_everyone: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sender = _alts(self.sender)
        to, everyone, private = _alts(self.to), _alts(self.everyone), _alts(self.private)
        marker = rf"[(（](?:{private})[)）]"
        sets = object.__setattr__
        head = rf"({_TIME})([ \t]+)({sender})([ \t]+)(.*)"
        if self.bare:   # no sender word: only a header naming the bare "to" word is one
            head = rf"({_TIME})([ \t]+)(?:({sender})([ \t]+)|(?=.*?[ \t](?:{_alts(self.bare)})[ \t]))(.*)"
        sets(self, "head", re.compile(head))
        sets(self, "to_re", re.compile(rf"[ \t]+(?:{to})[ \t]+", re.IGNORECASE))
        sets(self, "to_everyone", re.compile(rf"(.*)[ \t]+(?:{to})[ \t]+(?:{everyone})", re.DOTALL | re.IGNORECASE))
        sets(self, "dm", re.compile(rf"(.*?)([ \t]*{marker})", re.IGNORECASE))
        # a word, then "Everyone", at the end of a head: a target in wording this table may lack
        sets(self, "any_to_everyone", re.compile(rf".+[ \t]+\S+[ \t]+(?:{everyone})", re.IGNORECASE))
        sets(self, "inline_after_target", re.compile(
            rf"(.*?(?:[ \t](?:{to})[ \t]+(?:{everyone})|{marker})):[ \t]+(.*)", re.IGNORECASE))

    def marks(self, head: str) -> bool:
        """Whether a message head uses this language's target or private wording."""
        head = head.rstrip()
        return bool(self.to_everyone.fullmatch(head) or self.dm.fullmatch(head))


# Zoom's own strings, as its clients write them (current layout first, then
# the pre-2022 private marker). Sources: real exports and Zoom's help pages in
# each language; see tests/fixtures/realworld/SOURCES.tsv for the files read.
LANGS: tuple[ZoomLang, ...] = (
    ZoomLang("en", ("From",), ("to",), ("Everyone",), ("Direct Message", "Privately")),
    ZoomLang("es", ("De",), ("a",), ("Todos",), ("Mensaje directo", "En privado", "Privado", "Privadamente")),
    ZoomLang("fr", ("De",), ("à", "a"), ("Tout le monde", "Tous"),
             ("Message direct", "En privé", "Privé", "Message privé")),
    ZoomLang("pt", ("De",), ("para",), ("Todos",), ("Mensagem direta", "Em privado", "Privadamente", "Privado")),
    ZoomLang("de", ("Von",), ("an",), ("Alle", "Jeder"), ("Direktnachricht", "Privat", "Privatnachricht")),
    ZoomLang("it", ("Da",), ("a",), ("Tutti",), ("Messaggio diretto", "In privato", "Privatamente", "Privato")),
    ZoomLang("ja", ("開始",), ("終了", "から", "に"), ("皆様", "全員"), ("ダイレクトメッセージ", "プライベート", "非公開", "個人")),
    ZoomLang("zh", ("来自", "从"), ("对", "发送至", "发送给", "至", "到", "给"), ("所有人", "每个人", "全体成员"),
             ("私信", "私聊", "直接消息", "私人消息"), bare=("对",)),
    ZoomLang("zh-tw", ("來自", "從"), ("對", "傳送至", "傳送給", "至", "到", "給"), ("所有人", "每個人"),
             ("私訊", "私人訊息", "直接訊息", "私下", "私聊"), bare=("對",)),
    ZoomLang("ko", ("발신자", "보낸 사람"), ("수신자", "받는 사람"), ("모두에게", "모두", "모든 사람", "모든 참가자"),
             ("다이렉트 메시지", "비공개", "개인 메시지", "비공개 메시지")),
    ZoomLang("ru", ("От",), ("кому",), ("Все", "Всем"), ("Личное сообщение", "Лично", "Прямое сообщение")),
)


def candidates(line: str) -> list[ZoomLang]:
    """The languages whose message header ``line`` is (in table order)."""
    return [lang for lang in LANGS if lang.head.fullmatch(line)]


def by_code(code: str) -> ZoomLang:
    for lang in LANGS:
        if lang.code == code:
            return lang
    return LANGS[0]
