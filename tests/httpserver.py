"""A real HTTP server on loopback for fetch tests: routes from a dict, every request recorded.

    def test_x(http_server):
        http_server.route("/feed.xml", 200, {"Content-Type": "application/rss+xml"}, b"<rss/>")
        client.get(http_server.url("/feed.xml"), allow_loopback=True)
        assert http_server.requests[0].headers["user-agent"].startswith("news-etl/")

A route is ``(status, headers, body)`` where body is bytes or a callable writing to the socket
file (for streaming or hanging), a list of such replies served in turn (the last one repeats),
or a callable ``(Recorded) -> reply`` deciding per request. The server stops at fixture teardown;
handlers that wait or stream watch its stop event and a byte budget, so nothing runs forever.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO, Callable, Union

import pytest

Body = Union[bytes, Callable[[BinaryIO], None]]
Reply = tuple[int, dict[str, str], Body]
Route = Union[Reply, list[Reply], Callable[["Recorded"], Reply]]

__all__ = ["LocalServer", "Recorded", "endless_body", "hang", "http_server", "second_server"]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # keys lowercased
    client_port: int = 0  # the client's end of the connection (which process asked: /proc/net/tcp)
    body: bytes = b""  # a POST's body (webhook tests)


@dataclass
class LocalServer:
    host: str = "127.0.0.1"
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    bytes_streamed: int = 0
    _served: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, status: int | Route = 200, headers: dict[str, str] | None = None,
              body: Body = b"") -> None:
        """``route(path, 200, {...}, b"...")``, or ``route(path, <list or callable>)``."""
        self.routes[path] = status if not isinstance(status, int) else (status, headers or {}, body)

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def start(self) -> LocalServer:
        self._httpd = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"httpserver-{self.host}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _reply(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            route = self.routes.get(request.path.split("?")[0])
            if route is None:
                return 404, {"Content-Type": "text/plain"}, b"not found"
            if callable(route):
                return route(request)
            if isinstance(route, list):
                index = self._served.get(request.path, 0)
                self._served[request.path] = index + 1
                return route[min(index, len(route) - 1)]
            return route


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: the body ends at close

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.do_GET(self.rfile.read(min(length, 1 << 20)), "POST")

        def do_GET(self, posted: bytes = b"", method: str = "GET") -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply_headers, body = server._reply(Recorded(method, self.path, headers, self.client_address[1],
                                                                 posted))
            self.send_response(status)
            for name, value in reply_headers.items():
                self.send_header(name, value)
            if isinstance(body, bytes) and "content-length" not in {k.lower() for k in reply_headers}:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                if isinstance(body, bytes):
                    self.wfile.write(body)
                else:
                    body(self.wfile)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up, as a size-capped or timed-out client should

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


def hang(server: LocalServer, seconds: float = 5.0) -> Callable[[Recorded], Reply]:
    """A route that answers nothing for ``seconds`` (or until the server stops), then 200."""
    def reply(request: Recorded) -> Reply:
        server.stopping.wait(seconds)
        return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<p>late</p>"
    return reply


def endless_body(server: LocalServer, limit: int = 64 * 1024 * 1024, chunk: int = 64 * 1024) -> Callable[[BinaryIO], None]:
    """A body that streams until the client hangs up (or ``limit`` bytes, so the test is
    bounded), counting what it sent in ``server.bytes_streamed``."""
    block = b"x" * chunk

    def write(wfile: BinaryIO) -> None:
        while server.bytes_streamed < limit and not server.stopping.is_set():
            wfile.write(block)
            server.bytes_streamed += chunk
    return write


@pytest.fixture
def http_server():
    server = LocalServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture
def second_server():
    """Another host on loopback (Linux routes all of 127/8 locally): a different site."""
    server = LocalServer("127.0.0.2").start()
    yield server
    server.stop()
