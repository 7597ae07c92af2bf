"""Polite, bounded HTTP GET: one identifying User-Agent, conditional requests, a pause between
requests to the same host, retries only where a retry can help, a cap on body size, and an
address check at every redirect hop (no requests to private, link-local or loopback addresses).

Side effects come in through the constructor (session factory, sleep, clocks, DNS resolver) so
tests can run on recorded responses and fake time.

Known limitation: the address check resolves the host, then ``requests`` resolves it again to
connect. A DNS server that answers differently the second time (DNS rebinding) can slip past the
check. Closing that gap needs a connection adapter that connects to the checked address.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping
from urllib.parse import urljoin, urlsplit

import requests

__all__ = ["FetchError", "HttpClient", "HttpSettings", "Response", "address_problem", "check_url",
           "http_date", "parse_retry_after", "resolves_to_loopback"]

MiB = 1024 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({408, 425, 429})
_CHUNK = 64 * 1024

Resolver = Callable[..., list]


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Every HTTP default in one place. ``user_agent`` may name ``{contact_url}``."""

    contact_url: str = "https://github.com/news-etl/news-etl"
    user_agent: str = "news-etl/0.1 (+{contact_url})"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # A slow trickle resets the read timeout on every byte; this bounds a whole response.
    total_timeout: float = 120.0
    max_bytes: int = 15 * MiB
    max_redirects: int = 5
    retries: int = 3
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    # A server asking for a longer pause than this gets a transient error (with retry_after) instead
    # of a sleeping worker: the scheduler comes back later.
    max_retry_after: float = 120.0
    per_host_delay: float = 1.0
    per_host_concurrency: int = 2
    verify_tls: bool = True
    # Environment proxies would route around the address check; off unless asked for.
    trust_env: bool = False

    @property
    def user_agent_header(self) -> str:
        """``user_agent`` with the contact URL filled in: ``news-etl/0.1 (+https://...)``."""
        return self.user_agent.replace("{contact_url}", self.contact_url)


class FetchError(Exception):
    """A URL that could not be fetched; ``transient`` says whether trying again later can help."""

    def __init__(self, url: str, reason: str, *, transient: bool, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason
        self.transient = transient
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        kind = "transient" if self.transient else "permanent"
        return f"{self.url}: {self.reason} ({kind})".replace("\n", " ")


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # keys lowercased
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


# --- address safety -------------------------------------------------------------------------

def check_url(url: str, allowed_hosts: Iterable[str] | None = None, allow_loopback: bool = False,
              resolve: Resolver = socket.getaddrinfo) -> None:
    """Raise FetchError unless ``url`` is http(s), its host is allowed, and every address it
    resolves to is a public one (loopback too when ``allow_loopback``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(url, f"scheme {parts.scheme or '(none)'!r} not allowed", transient=False)
    host = _host(url)
    if not host:
        raise FetchError(url, "no host in URL", transient=False)
    if allowed_hosts is not None and host not in allowed_hosts:
        raise FetchError(url, f"host {host} not allowed", transient=False)
    for address in _addresses(url, host, resolve):
        problem = address_problem(address, allow_loopback)
        if problem:
            raise FetchError(url, f"host {host} resolves to {problem} address {address}", transient=False)


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> str | None:
    """``"private"``, ``"loopback"``, ... for an address we must not contact, else None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    # Order matters: loopback and link-local addresses are "private" too, and say more.
    for name in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{name}"):
            if name == "loopback" and allow_loopback:
                return None
            return name.replace("_", "-")
    return None if address.is_global else "non-global"


def resolves_to_loopback(url: str, resolve: Resolver = socket.getaddrinfo) -> bool:
    """Whether every address of ``url``'s host is loopback (a local test server or mirror)."""
    host = _host(url)
    if not host:
        return False
    try:
        addresses = _addresses(url, host, resolve)
    except FetchError:
        return False
    return bool(addresses) and all(a.is_loopback for a in addresses)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _addresses(url: str, host: str, resolve: Resolver) -> list:
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


# --- Retry-After and backoff ------------------------------------------------------------------

def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: ``"120" -> 120.0``; an HTTP date is counted from
    ``now`` (epoch seconds); junk -> None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = http_date(value)
    return None if when is None else max(0.0, when - now)


def http_date(value: str | None) -> float | None:
    """Epoch seconds from an HTTP date (``"Wed, 21 Oct 2015 07:28:00 GMT"``), or None."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value.strip()).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def backoff(settings: HttpSettings, attempt: int) -> float:
    """Exponential: base, 2*base, 4*base, ... capped."""
    return min(settings.backoff_cap, settings.backoff_base * (2 ** attempt))


# --- the client -------------------------------------------------------------------------------

@dataclass
class _Host:
    session: requests.Session
    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = float("-inf")


class HttpClient:
    """GET with politeness and safety. Safe to share between threads: requests to one host wait
    for each other (``per_host_delay``, ``per_host_concurrency``); different hosts do not."""

    def __init__(self, settings: HttpSettings | None = None,
                 session_factory: Callable[[], requests.Session] = requests.Session,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 resolve: Resolver = socket.getaddrinfo,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings or HttpSettings()
        self.resolve = resolve
        self._session_factory = session_factory
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._hosts_lock:
            hosts, self._hosts = list(self._hosts.values()), {}
        for host in hosts:
            host.session.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            allowed_hosts: frozenset[str] | None = None, allow_loopback: bool = False) -> Response:
        """Fetch ``url``, following redirects ourselves so every hop passes ``check_url``."""
        headers = {"User-Agent": self.settings.user_agent_header, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for hop in range(self.settings.max_redirects + 1):
            self._check(current, allowed_hosts, allow_loopback, origin=url if hop else None)
            result = self._with_retries(current, headers)
            if isinstance(result, Response):
                return result
            current = result
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects", transient=False)

    def _check(self, url: str, allowed_hosts: frozenset[str] | None, allow_loopback: bool,
               origin: str | None) -> None:
        """``check_url``; a refused redirect target is reported against ``origin``, the URL asked for."""
        try:
            check_url(url, allowed_hosts, allow_loopback, self.resolve)
        except FetchError as exc:
            if origin and not exc.transient:
                raise FetchError(origin, f"redirect to a disallowed host ({exc.reason}: {url})",
                                 transient=False) from None
            raise

    def _with_retries(self, url: str, headers: dict[str, str]) -> Response | str:
        """One hop: a Response, or the next URL when the server redirects."""
        for attempt in range(self.settings.retries + 1):
            try:
                return self._once(url, headers)
            except FetchError as exc:
                if not exc.transient or attempt == self.settings.retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.settings.max_retry_after:
                    raise
                self._sleep(max(backoff(self.settings, attempt), exc.retry_after or 0.0))
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str]) -> Response | str:
        host = self._host_state(_host(url))
        with host.slots:
            self._wait_turn(host)
            try:
                raw = host.session.get(
                    url, headers=headers, stream=True, allow_redirects=False, verify=self.settings.verify_tls,
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout))
            except requests.exceptions.RequestException as exc:
                raise _request_error(url, exc) from None
            with raw:
                return self._handle(url, raw)

    def _host_state(self, name: str) -> _Host:
        with self._hosts_lock:
            host = self._hosts.get(name)
            if host is None:
                session = self._session_factory()
                session.trust_env = self.settings.trust_env
                host = _Host(session, threading.Semaphore(max(1, self.settings.per_host_concurrency)))
                self._hosts[name] = host
            return host

    def _wait_turn(self, host: _Host) -> None:
        # Reserve the next start time under the lock, sleep outside it: concurrent callers
        # line up per_host_delay apart without holding each other's locks while sleeping.
        with host.lock:
            now = self._monotonic()
            start = max(now, host.next_start)
            host.next_start = start + self.settings.per_host_delay
        if start > now:
            self._sleep(start - now)

    def _handle(self, url: str, raw: requests.Response) -> Response | str:
        status = raw.status_code
        if status in _REDIRECTS:
            location = raw.headers.get("location")
            if not location:
                raise FetchError(url, f"HTTP {status} redirect without Location", transient=False, status=status)
            return urljoin(url, location)
        if status == 304:
            return _response(url, raw, b"", not_modified=True)
        if 200 <= status < 300:
            return _response(url, raw, self._read_body(url, raw))
        transient = status in _RETRY_STATUSES or status >= 500
        retry_after = parse_retry_after(raw.headers.get("retry-after"), self._server_now(raw))
        raise FetchError(url, f"HTTP {status}", transient=transient, status=status, retry_after=retry_after)

    def _server_now(self, raw: requests.Response) -> float:
        # A Retry-After date is relative to the server's clock, which its Date header tells.
        date = http_date(raw.headers.get("date"))
        return self._clock() if date is None else date

    def _read_body(self, url: str, raw: requests.Response) -> bytes:
        """The body, refused as soon as it passes max_bytes: the rest is never read."""
        limit = self.settings.max_bytes
        too_big = FetchError(url, f"body over {_size(limit)}", transient=False, status=raw.status_code)
        declared = raw.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and "content-encoding" not in raw.headers:
            raise too_big
        deadline = self._monotonic() + self.settings.total_timeout
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in raw.iter_content(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_big
                if self._monotonic() > deadline:
                    raise FetchError(url, f"body took over {self.settings.total_timeout:g} s", transient=True,
                                     status=raw.status_code)
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise _request_error(url, exc) from None
        return b"".join(chunks)


def _response(url: str, raw: requests.Response, body: bytes, not_modified: bool = False) -> Response:
    headers = {k.lower(): v for k, v in raw.headers.items()}
    return Response(url=url, status=raw.status_code, headers=headers, body=body, etag=headers.get("etag"),
                    last_modified=headers.get("last-modified"), not_modified=not_modified)


def _request_error(url: str, exc: requests.exceptions.RequestException) -> FetchError:
    # SSLError is a ConnectionError subclass but a bad certificate does not fix itself.
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchError(url, f"TLS error: {_first_line(exc)}", transient=False)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return FetchError(url, f"undecodable compressed body: {_first_line(exc)}", transient=False)
    # A read timeout in the middle of the body reaches us as a ConnectionError.
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc):
        return FetchError(url, "timeout", transient=True)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return FetchError(url, f"connection error: {_first_line(exc)}", transient=True)
    return FetchError(url, f"request failed: {_first_line(exc)}", transient=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n} bytes"
