"""Who may bind where, and who may read: loopback is open, anything else needs a token.

The token is checked in constant time. A browser presents it once as ``?token=...``; that sets
an HttpOnly cookie and redirects to the same URL without it, so the token does not linger in the
address bar or in links. Scripts send ``Authorization: Bearer ...``.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qsl, quote, unquote, urlencode

from starlette.requests import cookie_parser

COOKIE = "news_etl_token"
TOKEN_ENV = "NEWS_ETL_WEB_TOKEN"


class BindError(ValueError):
    """Refusing to serve on this address (a configuration mistake; retrying will not help)."""


def is_loopback(host: str) -> bool:
    """``"127.0.0.1"``, ``"::1"`` and ``"localhost"`` -> True; ``"0.0.0.0"``, ``"192.168.1.5"`` -> False."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def check_bind(host: str, token: str | None) -> None:
    """Raise BindError for a non-loopback address without a token."""
    if not is_loopback(host) and not token:
        raise BindError(f"--host {host} is not a loopback address: anyone who can reach it could read the "
                        f"database; set a token with --token or ${TOKEN_ENV}")


class TokenGate:
    """ASGI middleware: every HTTP request must carry ``token`` (header, cookie or ``?token=``)."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if self._matches(query.get("token")):
            return await _redirect_with_cookie(scope, query, self.token.decode(), send)
        if self._matches(_bearer(scope)) or self._matches(_cookie(scope)):
            return await self.app(scope, receive, send)
        await _refuse(send)

    def _matches(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.token)


def _headers(scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


def _bearer(scope) -> str | None:
    value = _headers(scope).get(b"authorization", b"").decode("latin-1")
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials else None


def _cookie(scope) -> str | None:
    # Read leniently, as browsers write: SimpleCookie gives up on the whole header when another
    # site's cookie before ours holds JSON or a space, and the token was refused with a 401.
    raw = _headers(scope).get(b"cookie", b"").decode("latin-1")
    value = cookie_parser(raw).get(COOKIE)
    return unquote(value) if value else None


async def _redirect_with_cookie(scope, query: dict[str, str], token: str, send) -> None:
    rest = urlencode({k: v for k, v in query.items() if k != "token"})
    # One leading slash, whatever the request had: "//evil.example/x" is a path here, but as a
    # Location it is another site (an open redirect). A backslash is percent-encoded by quote.
    path = "/" + (scope.get("root_path", "") + scope["path"]).lstrip("/")
    location = quote(path) + (f"?{rest}" if rest else "")
    cookie = f"{COOKIE}={quote(token, safe='')}; HttpOnly; SameSite=Strict; Path=/"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                            (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send) -> None:
    body = "401: this page needs its token (Authorization: Bearer TOKEN, or ?token=TOKEN once)\n".encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"www-authenticate", b"Bearer"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
