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
from typing import BinaryIO, Callable, Mapping, Protocol
from urllib.parse import urljoin

import requests
import urllib3.exceptions

from .addresses import Address, Resolver, address_problem, check_url, resolves_to_loopback, site_key, url_host
from .errors import FetchError
from .pinning import PinnedAdapter, Pins, response_deadline
from .proxy import Proxy, ProxyError, environment_proxy, parse_proxy
from .session import LeanSession
from .walls import CHALLENGE_STATUSES, HEAD_BYTES, wall_of

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
    # requests' own reading of the environment (proxies forwarded by absolute URI, .netrc) would
    # route around the address check: always off. Proxies go through ``etl.fetch.proxy`` instead.
    trust_env: bool = False
    # The environment's *_proxy variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY), honoured
    # for sources without a proxy of their own; empty unless asked for (NEWS_ETL_PROXY_ENV=1).
    environment_proxies: tuple[tuple[str, str], ...] = ()

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
    if value.isdecimal():  # not isdigit: "²" is a digit that float() refuses
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


@dataclass(frozen=True, slots=True)
class _Body:
    """How one request's body is read: at most ``limit`` bytes (decoded), refused past it or,
    with ``cut``, cut there; into memory, or into the file ``into`` (from its start on each try)."""

    limit: int
    cut: bool = False
    into: BinaryIO | None = None


@dataclass
class _Host:
    slots: threading.Semaphore
    sessions: dict[str | None, requests.Session] = field(default_factory=dict)  # by proxy URL (None: direct)
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
        self._proxies: dict[str, Proxy] = {}
        self._hosts_lock = threading.Lock()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._hosts_lock:
            hosts, self._hosts = list(self._hosts.values()), {}
        for host in hosts:
            for session in host.sessions.values():
                session.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            allowed_hosts: frozenset[str] | None = None, allow_loopback: bool = False,
            max_bytes: int | None = None, cut: bool = False, into: BinaryIO | None = None,
            proxy: str | None = None) -> Response:
        """Fetch ``url``, following redirects ourselves so every hop passes ``check_url``.
        ``allowed_hosts`` names hosts (standard ports) and ``site_key`` host:port pairs.

        ``proxy`` (``http://HOST:PORT``, a source's own) carries every hop through a tunnel to the
        checked address (``etl.fetch.proxy``); without it, the environment's proxy when the
        settings honour it (``environment_proxies``), else none.

        ``max_bytes`` replaces the settings' body cap for this request (a sitemap's is larger);
        with ``cut``, a longer body is cut there instead of refused (robots.txt: the rest is
        ignored); with ``into``, the body goes to that file instead of memory (``body`` is then
        empty), so a 50 MB sitemap never sits in memory whole."""
        headers = {"User-Agent": self.settings.user_agent_header, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        body = _Body(self.settings.max_bytes if max_bytes is None else max_bytes, cut, into)
        current = url
        for hop in range(self.settings.max_redirects + 1):
            addresses = self._check(current, allowed_hosts, allow_loopback, origin=url if hop else None)
            result = self._with_retries(current, headers, addresses[0], body, self._proxy_for(current, proxy))
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

    def _proxy_for(self, url: str, configured: str | None) -> Proxy | None:
        """The proxy of this hop, parsed once per URL: the source's, else the environment's."""
        chosen = configured or (environment_proxy(url, dict(self.settings.environment_proxies))
                                if self.settings.environment_proxies else None)
        if not chosen:
            return None
        with self._hosts_lock:
            parsed = self._proxies.get(chosen)
        if parsed is None:
            try:
                parsed = parse_proxy(chosen)
            except ProxyError as exc:
                raise FetchError(url, str(exc), transient=False, kind="limit") from None
            with self._hosts_lock:
                self._proxies[chosen] = parsed
        return parsed

    def _with_retries(self, url: str, headers: dict[str, str], address: Address, body: _Body,
                      proxy: Proxy | None = None) -> Response | str:
        """One hop: a Response, or the next URL when the server redirects."""
        for attempt in range(self.settings.retries + 1):
            try:
                return self._once(url, headers, address, body, proxy)
            except FetchError as exc:
                # A wall answers the same way at once: asking again only looks more like a bot.
                if not exc.transient or exc.kind == "blocked" or attempt == self.settings.retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.settings.max_retry_after:
                    raise
                self._sleep(max(backoff(self.settings, attempt), exc.retry_after or 0.0))
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str], address: Address, body: _Body,
              proxy: Proxy | None = None) -> Response | str:
        name = url_host(url)
        host = self._host_state(name)
        session = self._session(host, proxy)
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
                    raw = session.get(url, headers=headers, stream=True, allow_redirects=False,
                                           verify=self.settings.verify_tls,
                                           timeout=(self.settings.connect_timeout, self.settings.read_timeout))
                except requests.exceptions.RequestException as exc:
                    if self._monotonic() >= deadline:
                        raise FetchError(url, f"headers took over {self.settings.total_timeout:g} s",
                                         transient=False, kind="limit") from None
                    raise _request_error(url, exc) from None
            with raw:
                try:
                    return self._handle(url, raw, deadline, body)
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
                host = _Host(threading.Semaphore(max(1, self.settings.per_host_concurrency)))
                self._hosts[name] = host
            return host

    def _session(self, host: _Host, proxy: Proxy | None) -> requests.Session:
        """The host's session for this route (direct, or through one proxy): connections kept
        alive on one route are never reused on another."""
        key = proxy.url if proxy else None
        with self._hosts_lock:
            session = host.sessions.get(key)
            if session is None:
                session = host.sessions[key] = self._new_session(proxy)
            return session

    def _new_session(self, proxy: Proxy | None = None) -> requests.Session:
        session = self._session_factory()
        session.trust_env = self.settings.trust_env
        if isinstance(session, requests.Session):
            # One pool per host, as large as the requests that may run at once on it.
            size = max(1, self.settings.per_host_concurrency)
            for prefix in ("http://", "https://"):
                session.mount(prefix, PinnedAdapter(self._pins, proxy, pool_connections=1, pool_maxsize=size))
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

    def _handle(self, url: str, raw: requests.Response, deadline: float, plan: _Body) -> Response | str:
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
            body, whole, head, size = self._read_body(url, raw, deadline, plan)
            if whole:  # a cut body leaves the rest unread: that connection cannot be reused
                _keep_alive(raw)
            self._check_wall(url, raw, head, size)  # a challenge page is never handed on as the site's
            return _response(url, raw, body)
        if status in CHALLENGE_STATUSES:
            # Only a small prefix is read: enough to tell a challenge page from an ordinary refusal.
            try:
                _, whole, head, size = self._read_body(url, raw, deadline, _Body(HEAD_BYTES, cut=True))
            except FetchError:  # a body that breaks off says nothing more than its status
                whole, head, size = False, b"", 0
            self._check_wall(url, raw, head, size if whole else None)
        transient = status in _RETRY_STATUSES or status >= 500
        raise FetchError(url, f"HTTP {status}", transient=transient, status=status, retry_after=self._retry_after(raw))

    def _retry_after(self, raw: requests.Response) -> float | None:
        return parse_retry_after(raw.headers.get("retry-after"), self._server_now(raw))

    def _check_wall(self, url: str, raw: requests.Response, head: bytes, size: int | None) -> None:
        """Raise the ``blocked`` FetchError when a bot wall answered instead of the site. Transient
        (a wall may lift), but never retried within the request (``_with_retries``)."""
        headers = {k.lower(): v for k, v in raw.headers.items()}
        wall = wall_of(raw.status_code, headers, head, size)
        if wall is not None:
            raise FetchError(url, wall.reason, transient=True, status=raw.status_code, kind="blocked",
                             retry_after=self._retry_after(raw), blocked_by=wall.vendor)

    def _server_now(self, raw: requests.Response) -> float:
        # A Retry-After date is relative to the server's clock, which its Date header tells.
        date = http_date(raw.headers.get("date"))
        return self._clock() if date is None else date

    def _read_body(self, url: str, raw: requests.Response, deadline: float,
                   plan: _Body) -> tuple[bytes, bool, bytes, int]:
        """The body, whether it was read to its end, its first ``HEAD_BYTES`` (also when it went
        to a file) and the bytes read. Refused as soon as it passes the limit
        (unless ``plan.cut``) or the deadline: the rest is never read. Both refusals are
        permanent: the same server would only waste the same time again."""
        limit = plan.limit
        too_big = FetchError(url, f"body over {_size(limit)}", transient=False, status=raw.status_code, kind="limit")
        declared = raw.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and "content-encoding" not in raw.headers and not plan.cut:
            raise too_big
        sink = _Sink(plan.into)
        try:
            while chunk := self._read_some(url, raw, deadline):
                if sink.size + len(chunk) > limit:
                    if not plan.cut:
                        raise too_big
                    sink.write(chunk[:limit - sink.size])
                    return sink.value(), False, sink.head, sink.size
                sink.write(chunk)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if self._monotonic() >= deadline:
                raise self._too_slow(url, raw) from None
            raise _body_error(url, exc) from None
        return sink.value(), True, sink.head, sink.size

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


class _Sink:
    """Where body chunks go: a list in memory, or a file (emptied first: a retry starts over).
    The first ``HEAD_BYTES`` are kept in memory either way, for the wall check."""

    def __init__(self, into: BinaryIO | None) -> None:
        self.into, self.chunks, self.size, self.head = into, [], 0, b""
        if into is not None:
            into.seek(0)
            into.truncate()

    def write(self, chunk: bytes) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[:HEAD_BYTES - len(self.head)]
        self.size += len(chunk)
        if self.into is None:
            self.chunks.append(chunk)
        else:
            self.into.write(chunk)

    def value(self) -> bytes:
        if self.into is not None:
            self.into.flush()
        return b"".join(self.chunks)


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
        return FetchError(url, f"connection error: {_connection_reason(exc)}", transient=True)
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


def _connection_reason(exc: requests.exceptions.RequestException) -> str:
    """What our connection code said, without the pool's wrapping around it: ``"failed to connect
    to 127.0.0.1 through proxy http://u:***@p:3128: proxy ... refused the tunnel: HTTP/1.1 407 ..."``."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        text = str(reason)
        return _first_line(Exception(text.split("): ", 1)[1] if "): " in text else text))
    return _first_line(exc)


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
