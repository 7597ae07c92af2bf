"""URL canonicalization for article identity."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Parameters that say how a reader arrived, not which article they read.
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|_ga|ref|ref_src|at_medium|at_campaign)$", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """A stable form of an http(s) URL, or None when it is not one.

    ``"HTTPS://Mehrnews.com:443/news/1/س?utm_source=x#top" -> "https://mehrnews.com/news/1/%D8%B3"``
    Tracking parameters and fragments go; a Persian path written in Unicode and its
    percent-encoded form become the same (percent-encoded, ASCII) string.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if port and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = _decode_path(parts.path) or "/"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((scheme, host, path, query, ""))


def _decode_path(path: str) -> str:
    # Decode, then re-encode one way, so "%D8%B3", "%d8%b3" and "س" agree; a segment whose
    # escapes are not UTF-8, or hide a "/", is left as it came.
    return "/".join(_requote(seg) for seg in path.split("/"))


def _requote(segment: str) -> str:
    try:
        decoded = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return segment
    if "/" in decoded:
        return segment
    return quote(decoded, safe="!$&'()*+,;=:@~-._")
