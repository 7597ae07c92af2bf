"""Connect to the address that was checked, not to whatever DNS answers next (DNS rebinding).

``check_url`` resolves a host and checks every address; ``Pins`` remembers the one to use, and
``PinnedAdapter`` makes requests/urllib3 open its sockets to that address while the request
still names the host: the Host header, TLS SNI and certificate verification all stay on the
hostname. A host with no pin is refused rather than resolved (fail closed).
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from .proxy import Proxy, open_tunnel

__all__ = ["DeadlineSocket", "PinnedAdapter", "Pins", "response_deadline"]

_local = threading.local()


@contextmanager
def response_deadline(deadline: float, read_timeout: float, monotonic: Callable[[], float]) -> Iterator[None]:
    """While inside, responses read on this thread's pinned connections stop at ``deadline``."""
    _local.bound = (deadline, read_timeout, monotonic)
    try:
        yield
    finally:
        _local.bound = None


class DeadlineSocket:
    """Stands in for a connection's socket while a response is read: each recv waits at most
    until the deadline, so a response trickled a byte at a time (headers, or a body with a
    Content-Length, chunked or close-delimited) ends on time, not a read timeout per byte later."""

    def __init__(self, sock, deadline: float, read_timeout: float, monotonic: Callable[[], float]) -> None:
        self._sock, self._deadline, self._read_timeout, self._monotonic = sock, deadline, read_timeout, monotonic

    def recv_into(self, buffer, *args) -> int:
        remaining = self._deadline - self._monotonic()
        if remaining <= 0:
            raise TimeoutError("response deadline passed")
        self._sock.settimeout(min(self._read_timeout, remaining))
        return self._sock.recv_into(buffer, *args)

    def makefile(self, *args, **kwargs):
        # http.client reads a response through sock.makefile(): route that reader's recvs here.
        reader = self._sock.makefile(*args, **kwargs)
        getattr(reader, "raw", reader)._sock = self  # the SocketIO under the buffer (or unbuffered)
        return reader

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class Pins:
    """Host name -> the checked address its next connections go to. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._addresses: dict[str, str] = {}

    def pin(self, host: str, address: str) -> None:
        with self._lock:
            self._addresses[host.rstrip(".").lower()] = address

    def address(self, host: str) -> str | None:
        with self._lock:
            return self._addresses.get(host.rstrip(".").lower().strip("[]"))


def _pinned_connection(base: type[HTTPConnection], pins: Pins, proxy: Proxy | None) -> type[HTTPConnection]:
    class Pinned(base):  # type: ignore[valid-type, misc]
        def _new_conn(self) -> socket.socket:
            # urllib3's own _new_conn would resolve self.host again; self.host stays the name,
            # which is what the Host header, SNI and the certificate check use.
            address = pins.address(self.host)
            if address is None:
                raise NewConnectionError(self, f"no checked address for {self.host}: refusing to resolve it")
            via = f" through proxy {proxy.shown}" if proxy else ""
            try:
                if proxy is not None:  # a tunnel to the checked address, asked for by that address
                    return open_tunnel(proxy, address, self.port, self.timeout, self.source_address,
                                       self.socket_options)
                return create_connection((address, self.port), self.timeout, source_address=self.source_address,
                                         socket_options=self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"connection to {self.host} ({address}){via} timed out") from exc
            except OSError as exc:
                raise NewConnectionError(self, f"failed to connect to {address}{via}: {exc}") from exc

        def getresponse(self):
            bound = getattr(_local, "bound", None)
            if bound is None or self.sock is None:
                return super().getresponse()
            real = self.sock
            self.sock = DeadlineSocket(real, *bound)
            try:
                return super().getresponse()
            finally:
                if isinstance(self.sock, DeadlineSocket):  # http.client may have closed it meanwhile
                    self.sock = real
    return Pinned


class PinnedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections go to ``pins.address(host)`` only; with ``proxy``,
    through a tunnel the proxy opens to that address (``etl.fetch.proxy``)."""

    def __init__(self, pins: Pins, proxy: Proxy | None = None, **kwargs) -> None:
        self._pins = pins
        self._proxy = proxy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        http = type("PinnedHTTPPool", (HTTPConnectionPool,),
                    {"ConnectionCls": _pinned_connection(HTTPConnection, self._pins, self._proxy)})
        https = type("PinnedHTTPSPool", (HTTPSConnectionPool,),
                     {"ConnectionCls": _pinned_connection(HTTPSConnection, self._pins, self._proxy)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}
