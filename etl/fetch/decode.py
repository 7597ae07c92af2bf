"""Page bytes -> text, trusting declared charsets only as far as the bytes agree with them.

Persian sites serve UTF-8 or windows-1256 and sometimes label one as the other, or as
iso-8859-1 (a server default). Order: byte-order mark, HTTP charset, the document's own
``<meta charset>`` / XML declaration, then UTF-8, windows-1256 and charset_normalizer's guess.
Every decode is strict, so the result never holds U+FFFD for bytes that were decodable.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

__all__ = ["DecodeError", "charset_from_content_type", "declared_charset", "decode_html", "decode_with_charset",
           "looks_like_mojibake"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEAD = 4096
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", re.I)
# Browsers read these labels as windows-1252 (WHATWG Encoding), and so do we.
_LATIN_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "iso_8859-1"}
_ARABIC_CODECS = {"cp1256", "iso8859_6", "cp720", "cp864", "mac_arabic", "mac_farsi"}
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# UTF-8 Arabic read as Latin-1/cp1252: a lead byte D8-DB ("Ø", "Ù", "Ú", "Û") then a continuation.
_MOJIBAKE = re.compile("[\u00d8-\u00db][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                       "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")


class DecodeError(ValueError):
    """Bytes no charset reads cleanly; ``reason`` says what was tried. Retrying does not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_html(body: bytes, content_type: str | None) -> str:
    """``"سلام".encode("cp1256")`` served as ``text/html; charset=iso-8859-1`` -> ``"سلام"``."""
    return decode_with_charset(body, content_type)[0]


def decode_with_charset(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The text and the Python codec that produced it (``"cp1256"``, ``"utf-8"``, ...)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom):].decode(name), name
            except UnicodeDecodeError as exc:
                raise DecodeError(f"bytes after the {name} byte-order mark are not {name}: {exc.reason}") from None
    for label in (charset_from_content_type(content_type), declared_charset(body)):
        codec = _codec(label)
        text = _strict(body, codec)
        if text is not None and _believable(body, text, codec):
            return text, codec
    return _guess(body)


def charset_from_content_type(content_type: str | None) -> str | None:
    """``"text/html; charset=UTF-8" -> "UTF-8"``."""
    match = _CT_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def declared_charset(body: bytes) -> str | None:
    """The charset the document names for itself in its first 4 KiB (meta tag or XML declaration)."""
    head = body[:_HEAD]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def looks_like_mojibake(text: str) -> bool:
    """``"Ø§ÛŒØ±Ø§Ù†"`` (UTF-8 "ایران" read as Latin-1) -> True; real Persian or French -> False."""
    return len(_MOJIBAKE.findall(text)) >= 3


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None for an unknown label."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _LATIN_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _strict(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def _believable(body: bytes, text: str, codec: str) -> bool:
    """Whether a strict decode with the declared codec is what the bytes really are."""
    if codec.replace("_", "-") in ("utf-8", "utf-8-sig") or body.isascii():
        return True
    # Non-ASCII bytes that happen to form valid UTF-8 are UTF-8: other charsets almost never do.
    if _strict(body, "utf-8") is not None:
        return False
    if codec in _ARABIC_CODECS or _persian(text):
        return True
    # A Latin label on bytes that read as Persian in windows-1256: the label is a server default.
    cp1256 = _strict(body, "cp1256")
    return not (cp1256 is not None and _persian(cp1256))


def _guess(body: bytes) -> tuple[str, str]:
    for codec in ("utf-8", "cp1256"):
        text = _strict(body, codec)
        if text is not None and (codec == "utf-8" or _persian(text)):
            return text, codec
    best = from_bytes(body).best()
    if best is None:
        raise DecodeError("bytes are not UTF-8, windows-1256 or any charset charset_normalizer recognises")
    return str(best), best.encoding


def _persian(text: str) -> bool:
    """Most non-ASCII letters are Arabic script (Persian, Arabic)."""
    letters = [c for c in text if not c.isascii() and c.isalpha()]
    if not letters:
        return False
    arabic = sum(1 for c in letters if _ARABIC_SCRIPT.match(c))
    return arabic >= 0.6 * len(letters)
