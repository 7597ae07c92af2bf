"""Which URLs may be fetched: http(s) only, hosts (and ports) of the feed's own site when asked,
and never an address that is private, link-local, loopback (unless allowed) or otherwise not
public, including IPv4 addresses hidden inside IPv6 forms (IPv4-mapped, IPv4-compatible, 6to4,
Teredo, NAT64).

Pure apart from the resolver, which is passed in (``socket.getaddrinfo`` by default).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Callable, Iterable
from urllib.parse import urlsplit

from .errors import FetchError

__all__ = ["Address", "address_problem", "check_url", "embedded_ipv4", "resolves_to_loopback", "site_key",
           "url_host"]

Resolver = Callable[..., list]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = frozenset({80, 443})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


def check_url(url: str, allowed_hosts: Iterable[str] | None = None, allow_loopback: bool = False,
              resolve: Resolver = socket.getaddrinfo) -> list[Address]:
    """The addresses ``url``'s host resolves to, every one of them checked; FetchError unless the
    URL is http(s), its host (and port) is allowed, and each address is public (loopback too when
    ``allow_loopback``). The caller connects to one of these addresses and no other."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(url, f"scheme {parts.scheme or '(none)'!r} not allowed", transient=False, kind="limit")
    host = url_host(url)
    if not host:
        raise FetchError(url, "no host in URL", transient=False, kind="limit")
    if allowed_hosts is not None:
        _check_site(url, host, allowed_hosts)
    addresses = _addresses(url, host, resolve)
    for address in addresses:
        problem = address_problem(address, allow_loopback)
        if problem:
            raise FetchError(url, f"host {host} resolves to {problem} address {address}", transient=False, kind="limit")
    return addresses


def site_key(host: str, port: int | None) -> str:
    """How a host on a non-standard port is named in ``allowed_hosts``: ``"127.0.0.1:8000"``
    (``"[::1]:8000"``); a host on 80/443 is its bare name."""
    if port is None or port in DEFAULT_PORTS:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_site(url: str, host: str, allowed: Iterable[str]) -> None:
    # Ports are part of the site: a feed on 127.0.0.1:8000 must not send its items to :5432.
    # A bare host admits the standard ports only (an http feed may link its https pages).
    allowed = frozenset(allowed)
    if host not in allowed and not any(a.startswith(f"{host}:") or a.startswith(f"[{host}]:") for a in allowed):
        raise FetchError(url, f"host {host} not allowed", transient=False, kind="limit")
    port = _port(url)
    if site_key(host, port) not in allowed:
        raise FetchError(url, f"port {port} of host {host} not allowed", transient=False, kind="limit")


def _port(url: str) -> int:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise FetchError(url, "invalid port in URL", transient=False, kind="limit") from None
    return port if port is not None else (443 if parts.scheme == "https" else 80)


def address_problem(address: Address, allow_loopback: bool) -> str | None:
    """``"private"``, ``"loopback"``, ... for an address we must not contact, else None.
    An IPv6 address that carries an IPv4 one is judged by what it carries."""
    embedded = embedded_ipv4(address)
    if embedded:
        problems = [_problem(a, allow_loopback) for a in embedded]
        return next((p for p in problems if p), None)
    return _problem(address, allow_loopback)


def embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 form reaches: ``::ffff:127.0.0.1``, ``::127.0.0.1``,
    ``2002:7f00:1::`` (6to4), ``64:ff9b::7f00:1`` (NAT64), Teredo (server and client);
    ``[]`` for a plain address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    if address.ipv4_mapped:
        return [address.ipv4_mapped]
    if address.sixtofour:
        return [address.sixtofour]
    if address.teredo:
        return list(address.teredo)
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        # :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _problem(address: Address, allow_loopback: bool) -> str | None:
    # Order matters: loopback and link-local addresses are "private" too, and say more.
    for name in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{name}"):
            if name == "loopback" and allow_loopback:
                return None
            return name.replace("_", "-")
    return None if address.is_global else "non-global"


def resolves_to_loopback(url: str, resolve: Resolver = socket.getaddrinfo) -> bool:
    """Whether every address of ``url``'s host is loopback (a local test server or mirror)."""
    host = url_host(url)
    if not host:
        return False
    try:
        addresses = _addresses(url, host, resolve)
    except FetchError:
        return False
    return bool(addresses) and all(a.is_loopback for a in addresses)


def url_host(url: str) -> str:
    """The lowercased host of ``url`` without a trailing dot; ``""`` when there is none."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _addresses(url: str, host: str, resolve: Resolver) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = resolve(host, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(url, f"DNS lookup for {host} failed: {exc}", transient=True) from None
    # IPv6 answers may carry a scope ("fe80::1%eth0"); the address is what is checked.
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
