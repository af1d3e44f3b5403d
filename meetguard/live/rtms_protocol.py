"""Zoom Realtime Media Streams (RTMS): the wire protocol, pure and I/O-free.

From Zoom's RTMS event reference (developers.zoom.us/docs/rtms/event-reference,
data-types): two WebSocket connections, JSON text frames, each with a ``msg_type``.

- signaling (the ``server_urls`` of ``meeting.rtms_started``): SIGNALING_HAND_SHAKE_REQ
  (1) signed HMAC-SHA256(client secret, ``client_id,meeting_uuid,rtms_stream_id``),
  answered by SIGNALING_HAND_SHAKE_RESP (2) whose ``media_server.server_urls`` name the
  media servers; EVENT_SUBSCRIPTION (5), EVENT_UPDATE (6), CLIENT_READY_ACK (7),
  STREAM_STATE_UPDATE (8), SESSION_STATE_UPDATE (9), KEEP_ALIVE_REQ/RESP (12/13),
  STREAM_CLOSE_REQ/RESP (21/22);
- media: DATA_HAND_SHAKE_REQ/RESP (3/4) with a ``media_type`` bit mask, then
  MEDIA_DATA_AUDIO (14), MEDIA_DATA_TRANSCRIPT (17), MEDIA_DATA_CHAT (18), and
  keep-alives.

Everything here builds or reads one message; nothing connects.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MEDIA_BITS", "Media", "Msg", "ProtocolError", "StreamState", "client_ready", "close_request",
    "event_subscription", "keep_alive_answer", "media_handshake", "media_item", "media_urls",
    "signaling_handshake", "signature", "status_of",
]

PROTOCOL_VERSION = 1


class Msg:
    SIGNALING_HAND_SHAKE_REQ = 1
    SIGNALING_HAND_SHAKE_RESP = 2
    DATA_HAND_SHAKE_REQ = 3
    DATA_HAND_SHAKE_RESP = 4
    EVENT_SUBSCRIPTION = 5
    EVENT_UPDATE = 6
    CLIENT_READY_ACK = 7
    STREAM_STATE_UPDATE = 8
    SESSION_STATE_UPDATE = 9
    KEEP_ALIVE_REQ = 12
    KEEP_ALIVE_RESP = 13
    MEDIA_DATA_AUDIO = 14
    MEDIA_DATA_TRANSCRIPT = 17
    MEDIA_DATA_CHAT = 18
    STREAM_CLOSE_REQ = 21
    STREAM_CLOSE_RESP = 22


class Event:
    ACTIVE_SPEAKER_CHANGE = 2
    PARTICIPANT_JOIN = 3
    PARTICIPANT_LEAVE = 4


class StreamState:
    INACTIVE, ACTIVE, INTERRUPTED, TERMINATING, TERMINATED, PAUSED, RESUMED = range(7)


class SessionState:
    INACTIVE, INITIALIZE, STARTED, PAUSED, RESUMED, STOPPED = range(6)


MEDIA_BITS: Mapping[str, int] = {"audio": 1, "transcript": 8, "chat": 16}
MEDIA_MSG: Mapping[int, str] = {Msg.MEDIA_DATA_AUDIO: "audio", Msg.MEDIA_DATA_TRANSCRIPT: "transcript",
                                Msg.MEDIA_DATA_CHAT: "chat"}
# Individual streams (AUDIO_MULTI_STREAMS), 16 kHz mono L16, 20 ms packets: only then can
# each participant's voice be kept or dropped on its own consent.
AUDIO_PARAMS: Mapping[str, int] = {"content_type": 2, "sample_rate": 1, "channel": 1, "codec": 1,
                                   "data_opt": 2, "send_rate": 20}
AUDIO_RATE = 16000


class ProtocolError(Exception):
    """A message that does not have the shape the protocol gives it (no content quoted)."""


@dataclass(frozen=True)
class Media:
    """One media item as received: who (RTMS user id and name), what, when."""

    kind: str                  # transcript | chat | audio
    user_id: str
    user_name: str
    data: str                  # text; for audio the base64 PCM
    timestamp: int
    raw: Mapping[str, Any]     # the message's content object (private-chat fields)


def signature(client_id: str, meeting_uuid: str, stream_id: str, secret: bytes) -> str:
    """Hex HMAC-SHA256(secret, ``client_id,meeting_uuid,rtms_stream_id``)."""
    message = f"{client_id},{meeting_uuid},{stream_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signaling_handshake(meeting_uuid: str, stream_id: str, sig: str, sequence: int) -> dict[str, Any]:
    return {"msg_type": Msg.SIGNALING_HAND_SHAKE_REQ, "protocol_version": PROTOCOL_VERSION,
            "sequence": sequence, "meeting_uuid": meeting_uuid, "rtms_stream_id": stream_id,
            "signature": sig}


def media_handshake(meeting_uuid: str, stream_id: str, sig: str, kinds: frozenset[str],
                    sequence: int) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if "audio" in kinds:
        params["audio"] = dict(AUDIO_PARAMS)
    if "transcript" in kinds:
        params["transcript"] = {"content_type": 5}
    if "chat" in kinds:
        params["chat"] = {"content_type": 5}
    return {"msg_type": Msg.DATA_HAND_SHAKE_REQ, "protocol_version": PROTOCOL_VERSION,
            "sequence": sequence, "meeting_uuid": meeting_uuid, "rtms_stream_id": stream_id,
            "signature": sig, "media_type": sum(MEDIA_BITS[k] for k in kinds),
            "payload_encryption": False, "media_params": params}


def client_ready(stream_id: str) -> dict[str, Any]:
    return {"msg_type": Msg.CLIENT_READY_ACK, "rtms_stream_id": stream_id}


def event_subscription() -> dict[str, Any]:
    return {"msg_type": Msg.EVENT_SUBSCRIPTION,
            "events": [{"event_type": Event.PARTICIPANT_JOIN, "subscribe": True},
                       {"event_type": Event.PARTICIPANT_LEAVE, "subscribe": True}]}


def keep_alive_answer(msg: Mapping[str, Any]) -> dict[str, Any]:
    return {"msg_type": Msg.KEEP_ALIVE_RESP, "timestamp": msg.get("timestamp")}


def close_request(meeting_uuid: str, stream_id: str) -> dict[str, Any]:
    return {"msg_type": Msg.STREAM_CLOSE_REQ, "meeting_uuid": meeting_uuid, "rtms_stream_id": stream_id}


def status_of(msg: Mapping[str, Any], expected: int) -> int:
    """The handshake answer's ``status_code`` (0: accepted). Raises ProtocolError."""
    if msg.get("msg_type") != expected:
        raise ProtocolError(f"expected msg_type {expected}, got {msg.get('msg_type')!r}")
    code = msg.get("status_code", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        raise ProtocolError("handshake answer: status_code is not an integer")
    return code


def media_urls(msg: Mapping[str, Any], kinds: frozenset[str]) -> dict[str, frozenset[str]]:
    """Media server URL -> the kinds to ask there (a kind's own URL, else ``all``)."""
    server = msg.get("media_server")
    urls: Any = server.get("server_urls") if isinstance(server, Mapping) else None
    single = urls if isinstance(urls, str) else server if isinstance(server, str) else msg.get("media_server_url")
    if isinstance(single, str) and single:
        urls = {"all": single}            # one media server for every kind
    if not isinstance(urls, Mapping):
        raise ProtocolError("signaling answer: media_server.server_urls missing")
    out: dict[str, set[str]] = {}
    for kind in sorted(kinds):
        url = urls.get(kind) or urls.get("all")
        if not isinstance(url, str) or not url:
            raise ProtocolError(f"signaling answer: no media server for {kind}")
        out.setdefault(url, set()).add(kind)
    return {u: frozenset(k) for u, k in out.items()}


def media_item(msg: Mapping[str, Any]) -> Media | None:
    """A media data message as a :class:`Media` (None: not media). Raises ProtocolError."""
    kind = MEDIA_MSG.get(msg.get("msg_type"))  # type: ignore[arg-type]
    if kind is None:
        return None
    content = msg.get("content")
    if not isinstance(content, Mapping):
        raise ProtocolError(f"{kind}: content missing")
    data = content.get("data")
    ts = content.get("timestamp", 0)
    if not isinstance(data, str) or isinstance(ts, bool) or not isinstance(ts, int):
        raise ProtocolError(f"{kind}: data or timestamp missing")
    uid = content.get("user_id", content.get("participant_id"))
    name = content.get("user_name", content.get("participant_name"))
    return Media(kind, "" if uid is None else str(uid), name if isinstance(name, str) else "",
                 data, ts, content)
