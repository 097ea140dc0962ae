"""What a file really is, by its first bytes: the declared type is only a claim.

`content_type_ok` is pure, so whatever stores a file or sends one on can call it.
"""

from __future__ import annotations

# (leading bytes, the family they prove). Raster images only: an SVG is XML that can carry
# script, and browsers and some clients run it.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8", "image"),  # JPEG (start of image)
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"BM", "image"),
    (b"II*\x00", "image"),  # TIFF, little-endian
    (b"MM\x00*", "image"),  # TIFF, big-endian
    (b"%PDF", "pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # .doc, .xls
    (b"PK\x03\x04", "zip"),  # .docx, .xlsx, .zip
    (b"PK\x05\x06", "zip"),  # an empty zip
)

# The declared type → the families its content may have.
_FAMILIES_OF: dict[str, frozenset[str]] = {
    "application/pdf": frozenset({"pdf"}),
    "application/msword": frozenset({"ole"}),
    "application/vnd.ms-excel": frozenset({"ole"}),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": frozenset({"zip"}),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": frozenset({"zip"}),
    "application/zip": frozenset({"zip"}),
    "text/plain": frozenset({"text"}),
    "text/csv": frozenset({"text"}),
}
_MARKUP_STARTS = (b"<svg", b"<?xml", b"<html", b"<!doctype", b"<script")


def sniff(content: bytes) -> str | None:
    """Name the family of `content` (image, pdf, ole, zip, text), or None if unrecognised."""
    for signature, family in _SIGNATURES:
        if content.startswith(signature):
            return family
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image"
    if content[4:8] == b"ftyp" and content[8:12] in (b"heic", b"heix", b"mif1", b"avif"):
        return "image"
    return "text" if _is_text(content) else None


def _is_text(content: bytes) -> bool:
    head = content[:65536]
    if b"\x00" in head or head.lstrip().lower().startswith(_MARKUP_STARTS):
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            # A multi-byte character may be cut at the end of the sample.
            head.decode(encoding) if len(content) <= len(head) else head[:-4].decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def content_type_ok(declared_mime: str, content: bytes) -> bool:
    """Tell whether `content` is what its declared (allowed) type says it is."""
    family = sniff(content)
    if declared_mime.startswith("image/"):
        return family == "image"
    return family is not None and family in _FAMILIES_OF.get(declared_mime, frozenset())
