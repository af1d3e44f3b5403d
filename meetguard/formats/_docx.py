"""Word documents (.docx) as lines of text, and lines back as a minimal .docx.

Only the main document part is read (``word/document.xml``): one line per
paragraph, runs joined, ``<w:tab/>`` as a tab, ``<w:br/>`` starting a new line.
A part declaring a DTD or entities is refused (no entity expansion). The
writer builds a fresh package of three parts: nothing of the input's other
parts (its author, comments, revisions, embedded files) is written back.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from ._base import input_error
from ._source import Source

__all__ = ["docx_lines", "is_docx", "write_docx"]

_MAIN = "word/document.xml"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


def is_docx(source: Source) -> bool:
    return source.container == "zip" and _MAIN in source.files


def _paragraph(p: ElementTree.Element) -> list[str]:
    lines = [""]
    for el in p.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "t":
            lines[-1] += el.text or ""
        elif tag == "tab":
            lines[-1] += "\t"
        elif tag in ("br", "cr"):
            lines.append("")
    return lines


def docx_lines(source: Source) -> list[str]:
    """The paragraphs of a .docx Source as lines; an InputError when unreadable."""
    data = source.files.get(_MAIN, b"")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise input_error(source, "the document part declares a DTD or entities")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        raise input_error(source, "the document part is not well-formed XML") from None
    body = root.find(f"{{{_W}}}body")
    if body is None:
        raise input_error(source, "the document part has no body")
    lines: list[str] = []
    for p in body.iter(f"{{{_W}}}p"):
        lines.extend(_paragraph(p))
    return lines


def _escape(text: str) -> str:
    clean = "".join(c for c in text if c in "\t" or ord(c) >= 0x20)
    return clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_docx(lines: list[str]) -> bytes:
    """A minimal .docx holding ``lines``, one paragraph each (deterministic bytes)."""
    paras = "".join(f'<w:p><w:r><w:t xml:space="preserve">{_escape(line)}</w:t></w:r></w:p>' for line in lines)
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<w:document xmlns:w="{_W}"><w:body>{paras}</w:body></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("[Content_Types].xml", _TYPES), ("_rels/.rels", _RELS), (_MAIN, document)):
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text.encode("utf-8"),
                        compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()
