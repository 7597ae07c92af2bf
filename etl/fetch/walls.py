"""Bot walls: a challenge or block page that a CDN answers instead of the site. Pure: an answer's
status, headers and the first bytes of its body -> the wall (its vendor), or None.

What the walls look like, as public scrapers and WAF fingerprinting tools describe them (none of
their pages is copied here; ``tests/data/walls/`` holds minimal look-alikes written for the tests):

* **ArvanCloud** (most Iranian outlets): a 200 (or 403/429/503) page of a few KiB that names
  arvancloud and computes an ``__arcsjs`` cookie in a script before reloading (Targoman's
  PersianWebScraper ``src/modules/request.ts`` treats a page under 5,000 characters naming
  arvancloud as the challenge). ``Server: ArvanCloud`` alone is only its CDN, not a wall.
* **Cloudflare**: ``cf-mitigated: challenge``, or a 403/503 with ``<title>Just a moment...</title>``
  loading ``/cdn-cgi/challenge-platform/`` and setting ``_cf_chl_opt``. Ordinary pages behind
  Cloudflare also load ``/cdn-cgi/challenge-platform/scripts/jsd/main.js``: alone it is no wall.
* **DDoS-Guard** (``Server: ddos-guard``, ``__ddg`` cookies), **Sucuri** (``X-Sucuri-Block``,
  ``sucuri_cloudproxy_js``, "Sucuri WebSite Firewall - Access Denied"), **Imperva/Incapsula**
  ("Incapsula incident ID", a script-only page loading ``/_Incapsula_Resource``).
* **Unnamed**: a 403/429/503 whose page is script-only (little visible text) and sets a cookie,
  refreshes itself or asks to prove a human; on a 200 only a script-only page that sets a cookie
  and reloads. A plain error page, a meta-refresh redirect or an article that mentions a vendor
  is not a wall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

__all__ = ["CHALLENGE_STATUSES", "HEAD_BYTES", "SMALL_PAGE", "Wall", "wall_of"]

HEAD_BYTES = 32 * 1024  # of a body, what is looked at (and all that is read of a 403/429/503)
SMALL_PAGE = 64 * 1024  # a 2xx body larger than this is the site's own page: walls are a few KiB
CHALLENGE_STATUSES = frozenset({403, 429, 503})
VISIBLE_LIMIT = 400  # characters of visible text under which a page is "script-only"

_SCRIPT = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.S | re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.S | re.I)
_META_REFRESH = re.compile(r"<meta[^>]+http-equiv\s*=\s*[\"']?refresh", re.I)
_COOKIE_WRITE = re.compile(r"document\.cookie\s*=")
_RELOAD = re.compile(r"location\.(reload|replace|href\s*=|assign)|window\.location\s*=|document\.location\s*=")
_HUMAN = ("captcha", "challenge", "verify you are human", "checking your browser", "enable javascript",
          "are you a robot", "bot protection", "ddos protection", "لطفا صبر کنید", "در حال بررسی")
_HTML_OPENINGS = ("<!doctype html", "<html", "<head", "<body", "<script", "<meta", "<title")


@dataclass(frozen=True, slots=True)
class Wall:
    """A bot wall: ``vendor`` ("ArvanCloud", "Cloudflare", ... or "unknown") and what it answered."""

    vendor: str
    what: str = "challenge"  # or "block page"

    @property
    def reason(self) -> str:
        """``"blocked: ArvanCloud challenge"``: the failure's text, naming the vendor."""
        if self.vendor == "unknown":
            return f"blocked: a bot {self.what} (vendor unknown)"
        return f"blocked: {self.vendor} {self.what}"


@dataclass(frozen=True, slots=True)
class _Page:
    """What the detectors look at: the status, lowercased headers and text, and a few measures."""

    status: int
    headers: Mapping[str, str]
    text: str  # lowercased
    title: str
    visible: int  # characters of text outside scripts, styles and tags
    has_script: bool

    @property
    def script_only(self) -> bool:
        return self.visible < VISIBLE_LIMIT and (self.has_script or bool(_META_REFRESH.search(self.text)))

    @property
    def challenge_status(self) -> bool:
        return self.status in CHALLENGE_STATUSES

    def header(self, name: str) -> str:
        return (self.headers.get(name) or "").lower()


def wall_of(status: int, headers: Mapping[str, str], head: bytes, size: int | None = None) -> Wall | None:
    """The wall that answered, or None when this is the site's own answer (or an ordinary error).

    ``headers`` with lowercased keys; ``head``: the first bytes of the body (``HEAD_BYTES`` are
    enough); ``size``: the whole body's length when known (a large 2xx page is never a wall).

    ``wall_of(200, {}, b"<html><script>...arvancloud...__arcsjs=...</script></html>")`` ->
    ``Wall("ArvanCloud")``; ``wall_of(200, {"server": "cloudflare"}, article_bytes)`` -> None.
    """
    headers = {k.lower(): v for k, v in headers.items()}
    if (headers.get("cf-mitigated") or "").strip().lower() == "challenge":
        return Wall("Cloudflare")
    if 200 <= status < 300 and max(size or 0, len(head)) > SMALL_PAGE:
        return None
    page = _page(status, headers, head)
    if page is None:
        return None
    for detector in (_arvancloud, _cloudflare, _ddos_guard, _sucuri, _imperva, _unnamed):
        wall = detector(page)
        if wall is not None:
            return wall
    return None


def _page(status: int, headers: Mapping[str, str], head: bytes) -> _Page | None:
    """The body as HTML to look at, or None when it is no HTML at all (a feed, a sitemap, JSON)."""
    text = head[:HEAD_BYTES].decode("utf-8", errors="replace").lower()
    start = text.lstrip("\ufeff \t\r\n")
    if not start.startswith(_HTML_OPENINGS) and "<html" not in text[:2048] and "<script" not in text[:2048]:
        return None
    bare = _TAG.sub(" ", _SCRIPT.sub(" ", _COMMENT.sub(" ", text)))
    title = _TITLE.search(text)
    return _Page(status, headers, text, " ".join(title.group(1).split()) if title else "",
                 len("".join(bare.split())), "<script" in text)


def _arvancloud(page: _Page) -> Wall | None:
    # The cookie its script computes is the challenge's own mark; "arvancloud" on a script-only
    # page is the rest of it (an article about ArvanCloud has text, and no such cookie).
    if "__arcsjs" in page.text or ("arvancloud" in page.text and page.script_only):
        return Wall("ArvanCloud")
    if page.challenge_status and "arvancloud" in page.header("server") and page.visible < VISIBLE_LIMIT:
        return Wall("ArvanCloud", "challenge" if page.has_script else "block page")
    return None


def _cloudflare(page: _Page) -> Wall | None:
    if "_cf_chl_opt" in page.text or page.title.startswith("just a moment"):
        return Wall("Cloudflare")
    behind = "cloudflare" in page.header("server") or "cf-ray" in page.headers
    if page.challenge_status and behind and (
            "/cdn-cgi/challenge-platform/" in page.text or "cf-browser-verification" in page.text
            or page.title.startswith("attention required")):
        return Wall("Cloudflare", "challenge" if page.status != 403 or page.has_script else "block page")
    return None


def _ddos_guard(page: _Page) -> Wall | None:
    if "ddos-guard" in page.text and page.script_only:
        return Wall("DDoS-Guard")
    if page.challenge_status and "ddos-guard" in page.header("server"):
        return Wall("DDoS-Guard")
    return None


def _sucuri(page: _Page) -> Wall | None:
    if "sucuri_cloudproxy_js" in page.text or "x-sucuri-block" in page.headers:
        return Wall("Sucuri")
    if page.title.startswith("sucuri website firewall") or (
            page.challenge_status and "sucuri" in page.header("server")):
        return Wall("Sucuri", "block page")
    return None


def _imperva(page: _Page) -> Wall | None:
    if "incapsula incident id" in page.text:
        return Wall("Imperva", "block page")
    if "_incapsula_resource" in page.text and page.script_only:
        return Wall("Imperva")
    return None


def _unnamed(page: _Page) -> Wall | None:
    """A wall that names no vendor: a script-only page that sets a cookie and reloads (any
    status), or a 403/429/503 script-only page that refreshes itself or asks for a human."""
    if not page.script_only:
        return None
    if _COOKIE_WRITE.search(page.text) and (_RELOAD.search(page.text) or _META_REFRESH.search(page.text)):
        return Wall("unknown")
    if page.challenge_status and (_META_REFRESH.search(page.text) or any(w in page.text for w in _HUMAN)):
        return Wall("unknown")
    return None
