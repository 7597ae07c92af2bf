"""URL canonicalization for article identity."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes, urlencode, urlsplit, urlunsplit

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


# An article id: five or more digits, alone in its segment or before a slug ("6573858-title") or
# an extension ("912345.html"). Shorter numbers are years, months and days ("/1404/10/15/").
_ID_SEGMENT = re.compile(r"^(\d{5,})(?:[-_][^/]*|\.(?:html?|aspx?|php))?$", re.I)
_ID_PARAMS = {"id", "newsid", "news_id", "nid", "articleid", "article_id", "storyid", "story_id", "p"}


def identity_url(url: str | None) -> str | None:
    """The part of an article URL that names the article, for its natural key; None when ``url``
    is not an http(s) URL.

    Where the last or second-to-last path segment is a numeric id, the slug after it goes, so a re-titled headline stays
    the same article: ``"https://www.mehrnews.com/news/6573858/عنوان-تازه?utm_source=rss"`` ->
    ``"https://mehrnews.com/news/6573858"``. A numeric ``?id=`` is kept alone:
    ``"http://example.ir/fa/news.aspx?lang=fa&id=123"`` -> ``"https://example.ir/fa/news.aspx?id=123"``.
    Otherwise the canonical URL. ``www.`` and ``http``/``https`` do not make another article, so
    the host loses ``www.`` and the scheme is always ``https``: this is a key, not an address.
    """
    canonical = canonical_url(url)
    if canonical is None:
        return None
    parts = urlsplit(canonical)
    host = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    segments = parts.path.split("/")
    # Only the last two segments: "/news/<id>/<slug>". A number deeper in the path is more
    # likely a section ("/service/12345/<article>") than the article.
    filled = [i for i, segment in enumerate(segments) if segment][-2:]
    for index in reversed(filled):
        match = _ID_SEGMENT.match(segments[index])
        if match:
            path = "/".join(segments[:index] + [match.group(1)])
            return urlunsplit(("https", host, path, "", ""))
    ids = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() in _ID_PARAMS and v.isdigit()]
    if ids:
        return urlunsplit(("https", host, parts.path, urlencode(ids[:1]), ""))
    return urlunsplit(("https", host, parts.path, parts.query, ""))


def readable_url(url: str) -> str:
    """Percent-encoded Persian slugs decoded for reading, as a browser's address bar shows them:
    ``/news/1/%D8%AE%D8%A8%D8%B1 -> /news/1/خبر``. Only non-ASCII runs are decoded (``%20``, ``%2F``
    keep their meaning), and only when they are UTF-8; the stored URL is unchanged (``show``, the
    article page and search results print this, ``--json`` and the API keep the stored one)."""
    return _ENCODED_RUN.sub(_decode_run, url)


_ENCODED_RUN = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")


def _decode_run(match: re.Match) -> str:
    try:
        return unquote_to_bytes(match.group()).decode("utf-8")
    except UnicodeDecodeError:
        return match.group()
