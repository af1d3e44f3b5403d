"""Reading inputs from disk into :class:`Source`: a file, a folder or a zip."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from .._errors import InputError, InputTooLarge

__all__ = ["Source", "load_source", "source_from_bytes", "source_sha256"]

MAX_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_RATIO = 100          # uncompressed / compressed, for members over 1 MiB
_RATIO_FLOOR = 1 << 20


@dataclass(frozen=True)
class Source:
    """The raw bytes of one input, as handed to a parser.

    ``name`` is the output name (a file's base name; a Slack export's folder
    name or zip stem). ``files`` maps relative paths to bytes: one entry for a
    plain file, the whole tree for a Slack export. ``container`` says how the
    input came ("file", "dir" or "zip") so the writer can give back the same.
    """

    name: str
    files: Mapping[str, bytes]
    container: Literal["file", "dir", "zip"] = "file"
    path: str = ""                     # where it was read from, for error messages

    @property
    def data(self) -> bytes:
        if len(self.files) != 1:
            raise ValueError("source has several files")
        return next(iter(self.files.values()))


def source_sha256(source: Source) -> str:
    """SHA-256 hex of the input.

    A single file: of its bytes. A folder or zip: of the sorted
    ``(path, bytes)`` pairs, each written as the 8-byte big-endian length of
    the UTF-8 path, the path, the 8-byte length of the content, the content.
    """
    if source.container == "file" and len(source.files) == 1:
        return hashlib.sha256(source.data).hexdigest()
    h = hashlib.sha256()
    for rel in sorted(source.files):
        name = rel.encode("utf-8")
        data = source.files[rel]
        h.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _safe_member(name: str) -> str | None:
    """The member's relative path, or None when it would escape the export."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return None
    parts = PurePosixPath(norm).parts
    if any(p == ".." for p in parts):
        return None
    return "/".join(p for p in parts if p not in ("", "."))


def _load_zip(path: str, data: bytes, name: str) -> Source:
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(path, "not a readable zip archive") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(path, f"zip archive has more than {MAX_MEMBERS} members")
        total = 0
        files: dict[str, bytes] = {}
        for info in infos:
            rel = _safe_member(info.filename)
            if rel is None:
                raise InputError(path, "zip member path escapes the archive")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InputError(path, "zip archive holds a symbolic link")
            if info.is_dir() or not rel:
                continue
            if info.flag_bits & 0x1:
                raise InputError(path, "zip archive holds an encrypted member")
            total += info.file_size
            if total > MAX_BYTES:
                raise InputError(path, "zip archive unpacks to more than 200 MB")
            if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise InputError(path, "zip archive has a suspicious compression ratio")
            if rel in files:
                raise InputError(path, "zip archive holds a duplicate member")
            try:
                with zf.open(info) as fh:
                    content = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
                raise InputError(path, "zip member cannot be read") from None
            if len(content) > info.file_size:
                raise InputError(path, "zip member is larger than declared")
            files[rel] = content
    return Source(name, files, "zip", path)


def _load_dir(path: str, root: Path) -> Source:
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                raise InputError(path, "export folder holds a symbolic link")
        for fname in filenames:
            full = os.path.join(dirpath, fname)
            if os.path.islink(full):
                raise InputError(path, "export folder holds a symbolic link")
            if len(files) >= MAX_MEMBERS:
                raise InputError(path, f"folder has more than {MAX_MEMBERS} files")
            size = os.path.getsize(full)
            total += size
            if total > MAX_BYTES:
                raise InputTooLarge(path, "folder holds more than 200 MB")
            rel = Path(full).relative_to(root).as_posix()
            with open(full, "rb") as fh:
                files[rel] = fh.read()
    name = root.name or root.resolve().name
    return Source(name, files, "dir", path)


def load_source(path: str | Path) -> Source:
    """Read a file, a Slack export folder or a Slack export zip.

    Raises InputError (no such file, unsafe zip), InputTooLarge (> 200 MB).
    """
    p = Path(path)
    where = str(path)
    try:
        if p.is_dir():
            return _load_dir(where, p)
        if not p.is_file():
            raise InputError(where, "no such file or folder")
        if p.stat().st_size > MAX_BYTES:
            raise InputTooLarge(where, "file is larger than 200 MB")
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(where, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _load_zip(where, data, p.name)
    return Source(p.name, {p.name: data}, "file", where)


def source_from_bytes(name: str, data: bytes, path: str = "") -> Source:
    """A Source for uploaded bytes (the sidecar): a zip becomes a zip Source."""
    where = path or name
    if len(data) > MAX_BYTES:
        raise InputTooLarge(where, "input is larger than 200 MB")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _load_zip(where, data, name)
    return Source(name, {name: data}, "file", where)
