"""``slack``: a Slack workspace export, as a folder or a .zip.

Read: ``users.json`` (id -> Speaker: label real_name, profile.real_name or
name; aliases the other names), ``channels.json`` (public), ``groups.json``,
``dms.json`` and ``mpims.json`` (private: every message in them is
``private=True``; DMs and group DMs name the other members as recipients),
and one folder per conversation of ``YYYY-MM-DD.json`` message lists. A
conversation folder listed in none of those files is private (fail closed).

Messages: ``user`` -> sender; join/leave/topic/... subtypes and USLACKBOT
``huddle_thread`` -> SYSTEM; ``bot_message``, bot users and user ids missing
from users.json -> BOT; ``tombstone`` -> DELETED. ``<@U123>`` and
``<@U123|name>`` are Mention spans over the markup. File names/titles and
attachment texts go to ``extra_texts``. Slack tokens (``t=xoxe-...`` query
parameters, bare ``xox?-`` tokens) are removed on parse, so they never reach
any output.

Write: the same folders and files (zip in -> zip out; other files of the
export are not written), each message rebuilt from an allowlist of structural
fields with text, extra texts and user from the items; ``blocks``,
``user_profile`` and other fields that may repeat names or text are dropped,
as are channel topics and purposes. users.json keeps only ids and names, the
names and ids going through ``doc.relabel``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .._errors import InputError
from .._model import ChatMessage, Document, Mention, MessageKind, Speaker
from ._base import as_dict, as_str, input_error, load_json
from ._source import Source

__all__ = ["Slack", "strip_tokens"]

_DATE_FILE = re.compile(r"([^/]+)/(\d{4}-\d{2}-\d{2})\.json")
_MENTION = re.compile(r"<@([UWB][A-Z0-9]{1,30})(?:\|([^>\n]{0,200}))?>")
_TOKEN_PARAM = re.compile(r"([?&])t=xox[a-z]-[^&#\s>|\"']*(&?)")
_BARE_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")
_CONVERSATIONS = (("channels.json", False), ("groups.json", True), ("dms.json", True), ("mpims.json", True))
_SYSTEM_SUFFIXES = ("_join", "_leave", "_topic", "_purpose", "_name", "_archive", "_unarchive",
                    "_convert_to_private", "_convert_to_public")
_SYSTEM = frozenset({"pinned_item", "unpinned_item", "huddle_thread", "channel_canvas_updated", "reminder_add"})
_MENTION_ID = re.compile(r"<@([A-Z0-9]+)")
_MSG_KEYS = ("type", "subtype", "ts", "thread_ts", "reply_count", "reply_users_count", "latest_reply",
             "client_msg_id", "team", "edited", "is_locked", "subscribed", "hidden", "upload", "display_as_bot")
_ID_LIST_KEYS = ("reply_users",)
_ID_KEYS = ("parent_user_id", "inviter")
_FILE_KEYS = ("id", "mimetype", "filetype", "pretty_type", "size", "created", "mode", "is_external")
_FILE_URLS = ("url_private", "url_private_download", "permalink")
_ROOM_KEYS = ("id", "date_start", "date_end", "has_ended", "is_dm_call")
_ATTACH_TEXT = ("fallback", "pretext", "title", "text")
_CONV_KEYS = ("id", "name", "created", "is_archived", "is_general", "is_im", "is_mpim", "is_private")


def strip_tokens(text: str) -> str:
    """Remove Slack tokens: ``t=xox?-...`` URL parameters and bare ``xox?-`` tokens."""
    def _param(m: re.Match[str]) -> str:
        return m.group(1) if m.group(2) else ""

    return _BARE_TOKEN.sub("[token]", _TOKEN_PARAM.sub(_param, text))


def _clean_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k != "t" and not v.startswith("xox")]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    except ValueError:
        pass
    return strip_tokens(url)


def _rename_url(url: str, old: str, new: str) -> str:
    """Put the (redacted) file name in place of the original one in a file URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    head, _, last = parts.path.rpartition("/")
    if old and new != old and unquote(last) == old:
        return urlunsplit(parts._replace(path=f"{head}/{quote(new)}"))
    return url


def _map_url_ids(url: str, rid: Any) -> str:
    """Relabel user ids that appear as path segments (``/files/U123/F1/x.pdf``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    path = "/".join(quote(str(rid(unquote(seg))), safe="") if seg else seg for seg in parts.path.split("/"))
    return urlunsplit(parts._replace(path=path))


def _root(files: Any) -> str | None:
    for name in ("users.json", "channels.json"):
        if name in files:
            return ""
    tops = {p.split("/", 1)[0] for p in files if "/" in p}
    if len(tops) == 1:
        top = next(iter(tops))
        if f"{top}/users.json" in files or f"{top}/channels.json" in files:
            return str(top) + "/"
    return None


def _is_system(subtype: str, user: str) -> bool:
    return subtype in _SYSTEM or subtype.endswith(_SYSTEM_SUFFIXES) or (user == "USLACKBOT" and subtype == "huddle_thread")


@dataclass(frozen=True)
class Slack:
    name: str = "slack"
    kind: Literal["chat", "transcript"] = "chat"

    def sniff(self, source: Source) -> bool:
        if source.container == "file":
            return False
        prefix = _root(source.files)
        if prefix is None:
            return False
        return any(p.startswith(prefix) and _DATE_FILE.fullmatch(p[len(prefix):]) for p in source.files)

    def _json(self, source: Source, rel: str) -> Any:
        try:
            return load_json(source, source.files[rel], "JSON")
        except InputError as exc:
            raise InputError(exc.path, f"{rel}: {exc.problem}") from None

    def parse(self, source: Source) -> Document:
        prefix = _root(source.files)
        if prefix is None:
            raise input_error(source, "not a Slack export (no users.json or channels.json)")
        raw_users = self._json(source, prefix + "users.json") if prefix + "users.json" in source.files else []
        if not isinstance(raw_users, list):
            raise input_error(source, "users.json: expected a list of users")
        users, bots = _users(source, raw_users)
        conversations, conv_files = self._conversations(source, prefix)

        folders: dict[str, list[str]] = {}
        for p in sorted(source.files):
            m = _DATE_FILE.fullmatch(p[len(prefix):]) if p.startswith(prefix) else None
            if m:
                folders.setdefault(m.group(1), []).append(p)
        order = [f for f in conversations if f in folders]
        order = list(dict.fromkeys(order)) + sorted(f for f in folders if f not in conversations)

        items: list[ChatMessage] = []
        slots: dict[int, tuple[str, dict[str, Any]]] = {}
        file_order: list[str] = []
        for folder in order:
            fname, conv, private = conversations.get(folder, ("", {}, True))
            members = [as_str(x) for x in conv.get("members") or [] if isinstance(x, str)]
            if as_str(conv.get("user")):
                members.append(conv["user"])
            for rel in folders[folder]:
                file_order.append(rel)
                messages = self._json(source, rel)
                if not isinstance(messages, list):
                    raise input_error(source, f"{rel[len(prefix):]}: expected a list of messages")
                for n, msg in enumerate(messages):
                    if not isinstance(msg, dict):
                        raise input_error(source, f"{rel[len(prefix):]}: message {n} is not an object")
                    index = len(items)
                    items.append(self._message(index, msg, users, bots, private, members, fname))
                    slots[index] = (rel, msg)
        meta = {"prefix": prefix, "users": raw_users, "conversations": conv_files, "files": file_order,
                "slots": slots, "user_speakers": users}
        return Document(source.name, self.name, "chat", tuple(items), container=source.container, meta=meta)

    def _conversations(self, source: Source, prefix: str
                       ) -> tuple[dict[str, tuple[str, dict[str, Any], bool]], dict[str, list[Any]]]:
        """Conversation name or id -> (conversations file, entry, private); the files read."""
        conversations: dict[str, tuple[str, dict[str, Any], bool]] = {}
        conv_files: dict[str, list[Any]] = {}
        for fname, private in _CONVERSATIONS:
            rel = prefix + fname
            if rel not in source.files:
                continue
            convs = self._json(source, rel)
            if not isinstance(convs, list):
                raise input_error(source, f"{fname}: expected a list of conversations")
            conv_files[fname] = convs
            for conv in convs:
                if not isinstance(conv, dict):
                    raise input_error(source, f"{fname}: a conversation is not an object")
                for key in ("name", "id"):
                    if as_str(conv.get(key)):
                        conversations.setdefault(conv[key], (fname, conv, private))
        return conversations, conv_files

    def _message(self, index: int, msg: dict[str, Any], users: dict[str, Speaker], bots: set[str],
                 private: bool, members: list[str], conv_file: str) -> ChatMessage:
        subtype, user = as_str(msg.get("subtype")), as_str(msg.get("user"))
        text = strip_tokens(as_str(msg.get("text")))
        sender: Speaker | None
        if _is_system(subtype, user):
            kind, sender = MessageKind.SYSTEM, None
        elif subtype in ("tombstone", "message_deleted"):
            kind, sender = MessageKind.DELETED, users.get(user)
        elif subtype == "bot_message" or (not user and msg.get("bot_id")):
            bot_id = as_str(msg.get("bot_id")) or user
            profile = as_dict(msg.get("bot_profile"))
            label = as_str(msg.get("username")) or as_str(profile.get("name")) or bot_id or "bot"
            kind, sender = MessageKind.BOT, Speaker(label, bot_id or None)
        elif user in users:
            kind = MessageKind.BOT if user in bots else MessageKind.MESSAGE
            sender = users[user]
        else:
            kind, sender = MessageKind.BOT, Speaker(user or "unknown", user or None)
        recipients: tuple[Speaker, ...] = ()
        if conv_file in ("dms.json", "mpims.json"):
            recipients = tuple(users.get(m) or Speaker(m, m) for m in dict.fromkeys(members) if m != user)
        mentions = tuple(
            Mention(m.start(), m.end(), users.get(m.group(1)) or Speaker(m.group(2) or m.group(1), m.group(1)))
            for m in _MENTION.finditer(text)
        )
        extras: list[str] = []
        for f in msg.get("files") or []:
            if isinstance(f, dict):
                # "ana_diaz_cv.pdf": underscores join words, so a name in it reads as words
                extras += [strip_tokens(as_str(f.get("name"))).replace("_", " "),
                           strip_tokens(as_str(f.get("title")))]
        for a in msg.get("attachments") or []:
            if isinstance(a, dict):
                extras += [strip_tokens(as_str(a.get(k))) for k in _ATTACH_TEXT]
        return ChatMessage(index, as_str(msg.get("ts")), sender, text, recipients, private, kind,
                           None, mentions, tuple(extras))

    def write(self, doc: Document) -> dict[str, bytes]:
        meta = doc.meta
        if not isinstance(meta, dict) or "slots" not in meta:
            raise InputError(doc.name, "a Slack export can only be written from a parsed export")
        prefix: str = meta["prefix"]
        users: dict[str, Speaker] = meta["user_speakers"]
        id_map = _id_map(doc, users)

        def rid(value: Any) -> Any:
            return id_map.get(value, value) if isinstance(value, str) else value

        # Group-DM names are built from user names ("mpdm-amartin--bli-1"): once
        # names are relabelled, the conversation is named by its id instead.
        renamed: dict[str, str] = {}
        if doc.relabel:
            for conv in meta["conversations"].get("mpims.json", []):
                if as_str(conv.get("name")) and as_str(conv.get("id")):
                    renamed[conv["name"]] = f"mpdm-{conv['id']}"
        out: dict[str, Any] = {}
        # A user the released messages never name is no business of the
        # recipient: users.json keeps only people the content refers to.
        referenced = _referenced(doc)
        relabelled_ids = {new.platform_id for new in doc.relabel.values() if new.platform_id}
        out["users.json"] = [
            self._user(u, users, doc.relabel) for u in meta["users"]
            if isinstance(u, dict) and (as_str(u.get("id")) in referenced or as_str(u.get("id")) in relabelled_ids
                                        or users.get(as_str(u.get("id"))) in doc.relabel)
        ]
        for fname, convs in meta["conversations"].items():
            out[fname] = _conversation_rows(convs, renamed, rid)
        per_file: dict[str, list[dict[str, Any]]] = {rel: [] for rel in meta["files"]}
        for item in doc.items:
            if not isinstance(item, ChatMessage) or item.index not in meta["slots"]:
                raise InputError(doc.name, "an item that is not part of the Slack export")
            rel, raw = meta["slots"][item.index]
            per_file[rel].append(self._rebuild(item, raw, rid))
        for rel, messages in per_file.items():
            folder, _, day = rel[len(prefix):].partition("/")
            out[f"{renamed.get(folder, folder)}/{day}"] = messages
        encoded = {prefix + rel: (json.dumps(v, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
                   for rel, v in out.items()}
        return _pack(doc, encoded)

    @staticmethod
    def _user(raw: dict[str, Any], users: dict[str, Speaker], relabel: Any) -> dict[str, Any]:
        uid = as_str(raw.get("id"))
        sp = users.get(uid)
        new = relabel.get(sp) if sp is not None else None
        profile = as_dict(raw.get("profile"))
        row: dict[str, Any]
        if new is not None:
            row = {"id": new.platform_id or new.label, "name": new.label, "real_name": new.label,
                   "profile": {"real_name": new.label, "display_name": new.label}}
        else:
            row = {"id": uid}
            for key in ("name", "real_name"):
                if key in raw:
                    row[key] = raw[key]
            row["profile"] = {k: profile[k] for k in ("real_name", "display_name") if k in profile}
        for key in ("deleted", "is_bot", "is_app_user"):
            if key in raw:
                row[key] = raw[key]
        return row

    @staticmethod
    def _rebuild(item: ChatMessage, raw: dict[str, Any], rid: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {k: raw[k] for k in _MSG_KEYS if k in raw}
        msg["ts"] = item.time
        for key in _ID_KEYS:
            if key in raw:
                msg[key] = rid(raw[key])
        for key in _ID_LIST_KEYS:
            if isinstance(raw.get(key), list):
                msg[key] = [rid(x) for x in raw[key]]
        sender = item.sender
        if sender is not None and item.kind is not MessageKind.SYSTEM:
            ident = sender.platform_id or sender.label
            if "user" in raw or "bot_id" not in raw:
                msg["user"] = ident
            if "bot_id" in raw:
                msg["bot_id"] = ident
            if "username" in raw:
                msg["username"] = sender.label
        elif "user" in raw:
            msg["user"] = rid(raw["user"])
        msg["text"] = "" if item.kind is MessageKind.DELETED else item.text
        extras = list(item.extra_texts)
        if isinstance(raw.get("files"), list):
            msg["files"] = _files(raw["files"], extras, rid)
        if isinstance(raw.get("attachments"), list):
            msg["attachments"] = _attachments(raw["attachments"], extras)
        if isinstance(raw.get("reactions"), list):
            msg["reactions"] = [
                {"name": r.get("name"), "count": r.get("count"),
                 "users": [rid(u) for u in r.get("users") or []]}
                for r in raw["reactions"] if isinstance(r, dict)
            ]
        room = raw.get("room")
        if isinstance(room, dict):
            msg["room"] = _room(room, rid)
        return msg


def _users(source: Source, raw_users: list[Any]) -> tuple[dict[str, Speaker], set[str]]:
    """users.json: id -> Speaker (real name first, other names as aliases); bot ids."""
    users: dict[str, Speaker] = {}
    bots: set[str] = set()
    for u in raw_users:
        if not isinstance(u, dict) or not as_str(u.get("id")):
            raise input_error(source, "users.json: a user without an id")
        profile = as_dict(u.get("profile"))
        names = [as_str(u.get("real_name")), as_str(profile.get("real_name")), as_str(u.get("name")),
                 as_str(profile.get("display_name")), as_str(profile.get("real_name_normalized")),
                 as_str(profile.get("display_name_normalized"))]
        names = [n for n in dict.fromkeys(n.strip() for n in names) if n]
        label = names[0] if names else u["id"]
        users[u["id"]] = Speaker(label, u["id"], tuple(n for n in names if n != label))
        if u.get("is_bot") or u.get("is_app_user"):
            bots.add(u["id"])
    return users, bots


def _files(raw_files: list[Any], extras: list[str], rid: Any) -> list[dict[str, Any]]:
    """Files from the allowlist, names and titles from the (redacted) extra texts."""
    files = []
    for f in raw_files:
        if not isinstance(f, dict):
            continue
        name = extras.pop(0) if extras else ""
        title = extras.pop(0) if extras else ""
        row = {k: f[k] for k in _FILE_KEYS if k in f}
        old_name = strip_tokens(as_str(f.get("name")))
        if name == old_name.replace("_", " "):
            name = old_name                # nothing redacted: the name as it was
        row["name"] = name
        if "title" in f:
            row["title"] = title
        for key in _FILE_URLS:
            if isinstance(f.get(key), str):
                row[key] = _map_url_ids(_rename_url(_clean_url(f[key]), old_name, name), rid)
        if "user" in f:
            row["user"] = rid(f["user"])
        files.append(row)
    return files


def _attachments(raw_atts: list[Any], extras: list[str]) -> list[dict[str, Any]]:
    atts = []
    for a in raw_atts:
        if isinstance(a, dict):
            row = {"id": a["id"]} if "id" in a else {}
            for key in _ATTACH_TEXT:
                value = extras.pop(0) if extras else ""
                if key in a:
                    row[key] = value
            atts.append(row)
    return atts


def _room(room: dict[str, Any], rid: Any) -> dict[str, Any]:
    clean = {k: room[k] for k in _ROOM_KEYS if k in room}
    for key in ("participant_history", "participants"):
        if isinstance(room.get(key), list):
            clean[key] = [rid(u) for u in room[key]]
    if "created_by" in room:
        clean["created_by"] = rid(room["created_by"])
    return clean


def _id_map(doc: Document, users: dict[str, Speaker]) -> dict[str, str]:
    """Original user id -> the id written for it (relabelled users only)."""
    id_map: dict[str, str] = {}
    for uid, sp in users.items():
        new = doc.relabel.get(sp)
        if new is not None:
            id_map[uid] = new.platform_id or new.label
    for old, new in doc.relabel.items():
        if old.platform_id and old.platform_id not in id_map:
            id_map[old.platform_id] = new.platform_id or new.label
    return id_map


def _referenced(doc: Document) -> set[str]:
    """User ids the released messages name: senders, recipients, mentions."""
    referenced: set[str] = set()
    for item in doc.items:
        if isinstance(item, ChatMessage):
            for person in (item.sender, *item.recipients):
                if person is not None and person.platform_id:
                    referenced.add(person.platform_id)
            referenced.update(_MENTION_ID.findall(item.text))
    return referenced


def _conversation_rows(convs: list[Any], renamed: dict[str, str], rid: Any) -> list[dict[str, Any]]:
    rows = []
    for conv in convs:
        row = {k: conv[k] for k in _CONV_KEYS if k in conv}
        if row.get("name") in renamed:
            row["name"] = renamed[row["name"]]
        if "creator" in conv:
            row["creator"] = rid(conv["creator"])
        if "user" in conv:
            row["user"] = rid(conv["user"])
        if isinstance(conv.get("members"), list):
            row["members"] = [rid(m) for m in conv["members"]]
        rows.append(row)
    return rows


def _pack(doc: Document, encoded: dict[str, bytes]) -> dict[str, bytes]:
    """The export as it came: one zip, or the files of a folder."""
    if doc.container == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel in sorted(encoded):
                zf.writestr(zipfile.ZipInfo(rel, (1980, 1, 1, 0, 0, 0)), encoded[rel],
                            compress_type=zipfile.ZIP_DEFLATED)
        return {doc.name: buf.getvalue()}
    return {f"{doc.name}/{rel}": data for rel, data in encoded.items()}
