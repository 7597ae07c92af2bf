"""Polite, bounded HTTP GET: one identifying User-Agent, conditional requests, a pause between
requests to the same host, retries only where a retry can help, a cap on body size and on the
wall-clock time of a response, and an address check at every redirect hop (no requests to
private, link-local or loopback addresses; see ``addresses``).

Connections go to the address that was checked (``pinning``), so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot redirect a request.

Side effects come in through the constructor (session factory, sleep, clocks, DNS resolver) so
tests can run on recorded responses and fake time.
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol
from urllib.parse import urljoin

import requests
import urllib3.exceptions

from .addresses import Address, Resolver, address_problem, check_url, resolves_to_loopback, site_key, url_host
from .errors import FetchError
from .pinning import PinnedAdapter, Pins, response_deadline
from .session import LeanSession

__all__ = ["ErrorKeeper", "FetchError", "HttpClient", "HttpSettings", "Pacer", "Response", "address_problem", "check_url",
           "http_date", "parse_retry_after", "resolves_to_loopback", "site_key"]

MiB = 1024 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({408, 425, 429})
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Every HTTP default in one place. ``user_agent`` may name ``{contact_url}``."""

    contact_url: str = "https://github.com/news-etl/news-etl"
    user_agent: str = "news-etl/0.1 (+{contact_url})"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # A slow trickle resets the read timeout on every byte; this bounds a whole response (headers
    # and body), checked before every recv. A response too slow or too big is not retried.
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
    verify_tls: bool | str = True  # or the path of a CA bundle (a private mirror, a test)
    # Environment proxies would route around the address check; off unless asked for.
    trust_env: bool = False

    @property
    def user_agent_header(self) -> str:
        """``user_agent`` with the contact URL filled in: ``news-etl/0.1 (+https://...)``."""
        return self.user_agent.replace("{contact_url}", self.contact_url)


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

class Pacer(Protocol):
    """Who keeps the per-host delay when it must hold across processes (``etl.load.host_pace.SharedPace``)."""

    def turn(self, host: str) -> None: ...          # block until a request to host may start
    def hold_off(self, host: str, seconds: float) -> None: ...  # the host sent Retry-After


@dataclass
class _Host:
    session: requests.Session
    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = float("-inf")


class HttpClient:
    """GET with politeness and safety. Safe to share between threads: requests to one host wait
    for each other (``per_host_delay``, ``per_host_concurrency``); different hosts do not. Each
    host has one session, so its connections are kept alive and reused.

    ``pacer``, when given, keeps the per-host delay instead of this client's memory (and hears
    every Retry-After), so several processes share it; the concurrency limit stays in memory."""

    def __init__(self, settings: HttpSettings | None = None,
                 session_factory: Callable[[], requests.Session] = LeanSession,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 resolve: Resolver = socket.getaddrinfo,
                 clock: Callable[[], float] = time.time, pacer: Pacer | None = None) -> None:
        self.settings = settings or HttpSettings()
        self._pacer = pacer
        self.resolve = resolve
        self._session_factory = session_factory
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        self._pins = Pins()
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
        """Fetch ``url``, following redirects ourselves so every hop passes ``check_url``.
        ``allowed_hosts`` names hosts (standard ports) and ``site_key`` host:port pairs."""
        headers = {"User-Agent": self.settings.user_agent_header, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for hop in range(self.settings.max_redirects + 1):
            addresses = self._check(current, allowed_hosts, allow_loopback, origin=url if hop else None)
            result = self._with_retries(current, headers, addresses[0])
            if isinstance(result, Response):
                return result
            current = result
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects", transient=False, kind="limit")

    def _check(self, url: str, allowed_hosts: frozenset[str] | None, allow_loopback: bool,
               origin: str | None) -> list[Address]:
        """``check_url``; a refused redirect target is reported against ``origin``, the URL asked for."""
        try:
            addresses = check_url(url, allowed_hosts, allow_loopback, self.resolve)
        except FetchError as exc:
            if origin and not exc.transient:
                raise FetchError(origin, f"redirect to a disallowed host ({exc.reason}: {url})",
                                 transient=False, kind="limit") from None
            raise
        if not addresses:
            raise FetchError(url, f"host {url_host(url)} has no address", transient=True)
        return addresses

    def _with_retries(self, url: str, headers: dict[str, str], address: Address) -> Response | str:
        """One hop: a Response, or the next URL when the server redirects."""
        for attempt in range(self.settings.retries + 1):
            try:
                return self._once(url, headers, address)
            except FetchError as exc:
                if not exc.transient or attempt == self.settings.retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.settings.max_retry_after:
                    raise
                self._sleep(max(backoff(self.settings, attempt), exc.retry_after or 0.0))
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str], address: Address) -> Response | str:
        name = url_host(url)
        host = self._host_state(name)
        with host.slots:
            if self._pacer is None:
                self._wait_turn(host)
            else:
                self._pacer.turn(name)
            # Any address pinned for this host passed the check; the connection goes to one of them.
            self._pins.pin(name, str(address))
            deadline = self._monotonic() + self.settings.total_timeout
            # Every recv of this response, headers and body, waits at most until the deadline.
            with response_deadline(deadline, self.settings.read_timeout, self._monotonic):
                try:
                    raw = host.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                           verify=self.settings.verify_tls,
                                           timeout=(self.settings.connect_timeout, self.settings.read_timeout))
                except requests.exceptions.RequestException as exc:
                    if self._monotonic() >= deadline:
                        raise FetchError(url, f"headers took over {self.settings.total_timeout:g} s",
                                         transient=False, kind="limit") from None
                    raise _request_error(url, exc) from None
            with raw:
                try:
                    return self._handle(url, raw, deadline)
                except FetchError as exc:
                    if exc.retry_after and self._pacer is not None:
                        # Capped: a longer pause would park every worker's threads on this host;
                        # past the cap the scheduler moves the source's next attempt instead.
                        self._pacer.hold_off(name, min(exc.retry_after, self.settings.max_retry_after))
                    raise

    def _host_state(self, name: str) -> _Host:
        with self._hosts_lock:
            host = self._hosts.get(name)
            if host is None:
                host = _Host(self._new_session(), threading.Semaphore(max(1, self.settings.per_host_concurrency)))
                self._hosts[name] = host
            return host

    def _new_session(self) -> requests.Session:
        session = self._session_factory()
        session.trust_env = self.settings.trust_env
        if isinstance(session, requests.Session):
            # One pool per host, as large as the requests that may run at once on it.
            size = max(1, self.settings.per_host_concurrency)
            for prefix in ("http://", "https://"):
                session.mount(prefix, PinnedAdapter(self._pins, pool_connections=1, pool_maxsize=size))
        return session

    def _wait_turn(self, host: _Host) -> None:
        # Reserve the next start time under the lock, sleep outside it: concurrent callers
        # line up per_host_delay apart without holding each other's locks while sleeping.
        with host.lock:
            now = self._monotonic()
            start = max(now, host.next_start)
            host.next_start = start + self.settings.per_host_delay
        if start > now:
            self._sleep(start - now)

    def _handle(self, url: str, raw: requests.Response, deadline: float) -> Response | str:
        status = raw.status_code
        if status in _REDIRECTS:
            location = raw.headers.get("location")
            if not location:
                raise FetchError(url, f"HTTP {status} redirect without Location", transient=False, status=status)
            return urljoin(url, location)
        if status == 304:
            _keep_alive(raw)
            return _response(url, raw, b"", not_modified=True)
        if 200 <= status < 300:
            body = self._read_body(url, raw, deadline)
            _keep_alive(raw)
            return _response(url, raw, body)
        transient = status in _RETRY_STATUSES or status >= 500
        retry_after = parse_retry_after(raw.headers.get("retry-after"), self._server_now(raw))
        raise FetchError(url, f"HTTP {status}", transient=transient, status=status, retry_after=retry_after)

    def _server_now(self, raw: requests.Response) -> float:
        # A Retry-After date is relative to the server's clock, which its Date header tells.
        date = http_date(raw.headers.get("date"))
        return self._clock() if date is None else date

    def _read_body(self, url: str, raw: requests.Response, deadline: float) -> bytes:
        """The body, refused as soon as it passes max_bytes or the deadline: the rest is never
        read. Both refusals are permanent: the same server would only waste the same time again."""
        limit = self.settings.max_bytes
        too_big = FetchError(url, f"body over {_size(limit)}", transient=False, status=raw.status_code, kind="limit")
        declared = raw.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and "content-encoding" not in raw.headers:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := self._read_some(url, raw, deadline):
                size += len(chunk)
                if size > limit:
                    raise too_big
                chunks.append(chunk)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if self._monotonic() >= deadline:
                raise self._too_slow(url, raw) from None
            raise _body_error(url, exc) from None
        return b"".join(chunks)

    def _read_some(self, url: str, raw: requests.Response, deadline: float) -> bytes:
        # read1: at most one recv per call (read(n) would wait for n bytes of a 1 byte/s trickle).
        if self._monotonic() >= deadline:
            raise self._too_slow(url, raw)
        if isinstance(raw.raw, urllib3.BaseHTTPResponse):
            return raw.raw.read1(_CHUNK, decode_content=True)
        return raw.raw.read(_CHUNK)  # a plain file object standing in for the network

    def _too_slow(self, url: str, raw: requests.Response) -> FetchError:
        return FetchError(url, f"body took over {self.settings.total_timeout:g} s", transient=False, kind="limit",
                          status=raw.status_code)


def _keep_alive(raw: requests.Response) -> None:
    """Give a fully read response's connection back to its pool; closing the response (as the
    ``with`` does) would close the socket, and every request would pay a new connection. Only
    called when nothing is left unread (a 304, or a body read to its end)."""
    if isinstance(raw.raw, urllib3.BaseHTTPResponse):
        raw.raw.release_conn()


def _response(url: str, raw: requests.Response, body: bytes, not_modified: bool = False) -> Response:
    headers = {k.lower(): v for k, v in raw.headers.items()}
    return Response(url=url, status=raw.status_code, headers=headers, body=body, etag=headers.get("etag"),
                    last_modified=headers.get("last-modified"), not_modified=not_modified)


def _request_error(url: str, exc: requests.exceptions.RequestException) -> FetchError:
    # SSLError is a ConnectionError subclass but a bad certificate does not fix itself.
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchError(url, f"TLS error: {_first_line(exc)}", transient=False)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return FetchError(url, f"undecodable compressed body: {_first_line(exc)}", transient=False, kind="parse")
    # A read timeout in the middle of the body reaches us as a ConnectionError.
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc):
        return FetchError(url, "timeout", transient=True)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return FetchError(url, f"connection error: {_first_line(exc)}", transient=True)
    return FetchError(url, f"request failed: {_first_line(exc)}", transient=False)


def _body_error(url: str, exc: BaseException) -> FetchError:
    """An error while reading a body, from requests, urllib3 or the socket."""
    if isinstance(exc, requests.exceptions.RequestException):
        return _request_error(url, exc)
    if isinstance(exc, urllib3.exceptions.DecodeError):
        return FetchError(url, f"undecodable compressed body: {_first_line(exc)}", transient=False, kind="parse")
    if isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)) or "timed out" in str(exc):
        return FetchError(url, "timeout", transient=True)
    return FetchError(url, f"connection error: {_first_line(exc)}", transient=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n} bytes"


class ErrorKeeper:
    """The client as ``fetch_source`` sees it, keeping the last FetchError per requested URL: a
    RunReport's error is text, and the scheduling (service and queue alike) needs the error's
    ``retry_after``."""

    def __init__(self, client: HttpClient) -> None:
        self._client = client
        self.resolve = client.resolve
        self._errors: dict[str, FetchError] = {}
        self._lock = threading.Lock()

    def get(self, url: str, **kwargs):
        try:
            return self._client.get(url, **kwargs)
        except FetchError as exc:
            with self._lock:
                self._errors[url] = exc
            raise

    def pop_error(self, url: str | None) -> FetchError | None:
        with self._lock:
            return self._errors.pop(url or "", None)
