"""Forward proxies, without weakening the address check: a request through a proxy still goes to
the address ``check_url`` approved, because the tunnel is asked for by that address.

``pinning.PinnedAdapter`` opens a connection to the proxy and sends ``CONNECT 203.0.113.7:443``
(the checked address, never the host name, so the proxy cannot be steered elsewhere by its own
DNS), then speaks HTTP or TLS through the tunnel exactly as it would directly: the Host header,
TLS SNI and the certificate check stay on the host name. Plain-http targets are tunnelled too
(no absolute-URI forwarding, which would let the proxy resolve the name). The proxy itself is the
operator's choice, like a webhook: its own address is not checked.

Which proxy: a source's ``proxy = "http://..."``, else, only when asked for
(``HttpSettings.proxy_from_env``, ``NEWS_ETL_PROXY_ENV=1``), the environment's ``HTTPS_PROXY`` /
``HTTP_PROXY`` / ``ALL_PROXY`` honouring ``NO_PROXY``. requests' own ``trust_env`` stays off: it
would forward plain-http requests by absolute URI and read ``.netrc``.
"""

from __future__ import annotations

import base64
import socket
import urllib.request
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import unquote, urlsplit

from ..redact import redact

__all__ = ["Proxy", "ProxyError", "environment_proxy", "parse_proxy", "open_tunnel"]

MAX_REPLY = 16 * 1024  # bytes of a proxy's answer to CONNECT we read before giving up on it


class ProxyError(ValueError):
    """A proxy URL that cannot be used; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Proxy:
    url: str  # as configured, credentials included
    host: str
    port: int
    authorization: str | None = None  # the Proxy-Authorization header's value

    @property
    def shown(self) -> str:
        """The URL with its password masked, for messages."""
        return redact(self.url)


def parse_proxy(url: str) -> Proxy:
    """``"http://user:pw@127.0.0.1:3128"`` -> Proxy("...", "127.0.0.1", 3128, "Basic dXNlcjpwdw==");
    ProxyError for anything but an http:// proxy with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ProxyError(f"not a proxy URL: {redact(url)!r}") from None
    if parts.scheme != "http":
        raise ProxyError(f"proxy must be http://HOST:PORT (an http forward proxy; TLS to the target still runs "
                         f"end to end through it), got {redact(url)!r}")
    if not parts.hostname:
        raise ProxyError(f"no host in proxy URL {redact(url)!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ProxyError(f"a proxy URL is http://HOST:PORT, without a path: {redact(url)!r}")
    authorization = None
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(secret).decode("ascii")
    return Proxy(url.strip(), parts.hostname, port or 80, authorization)


def environment_proxy(url: str, env: Mapping[str, str] | None = None) -> str | None:
    """The proxy the environment names for ``url`` (``https_proxy``, ``http_proxy``, ``all_proxy``,
    lower or upper case), or None when there is none or ``no_proxy`` exempts its host."""
    proxies = urllib.request.getproxies_environment() if env is None else _from(env)
    parts = urlsplit(url)
    found = proxies.get(parts.scheme) or proxies.get("all")
    if not found:
        return None
    host = parts.hostname or ""
    if env is None:
        bypass = urllib.request.proxy_bypass_environment(host)
    else:
        bypass = urllib.request.proxy_bypass_environment(host, proxies)
    return None if bypass else found


def _from(env: Mapping[str, str]) -> dict[str, str]:
    """``getproxies_environment`` over a given mapping (lower case wins, as in urllib)."""
    found: dict[str, str] = {}
    for name, value in env.items():
        if value and name.lower().endswith("_proxy") and name.upper() == name:
            found[name[:-6].lower()] = value
    for name, value in env.items():
        if value and name.lower().endswith("_proxy") and name.lower() == name:
            found[name[:-6]] = value
    return found


def open_tunnel(proxy: Proxy, address: str, port: int, timeout: float | None,
                source_address=None, socket_options=None) -> socket.socket:
    """A socket to ``proxy`` tunnelled to ``address``:``port`` (an address, never a name).
    OSError (the proxy cannot be reached, or refuses the tunnel) names the proxy."""
    from urllib3.util.connection import create_connection
    sock = create_connection((proxy.host, proxy.port), timeout, source_address=source_address,
                             socket_options=socket_options)
    try:
        target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if proxy.authorization:
            lines.append(f"Proxy-Authorization: {proxy.authorization}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        status = _reply_status(sock)
        if status[0] != 200:
            raise OSError(f"proxy {proxy.shown} refused the tunnel: {status[1]}")
        return sock
    except BaseException:
        sock.close()
        raise


def _reply_status(sock: socket.socket) -> tuple[int, str]:
    """(status, status line) of the proxy's answer, read to the end of its headers and no further
    (one byte at a time: what follows belongs to the tunnel)."""
    reply = b""
    while not reply.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise OSError("proxy closed the connection before answering CONNECT")
        reply += byte
        if len(reply) > MAX_REPLY:
            raise OSError(f"proxy's answer to CONNECT is over {MAX_REPLY} bytes")
    line = reply.split(b"\r\n", 1)[0].decode("latin-1")
    fields = line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise OSError(f"proxy's answer to CONNECT is not HTTP: {line[:80]!r}")
    return int(fields[1]), line[:200]
