"""A tiny forward proxy on loopback for the proxy tests: CONNECT only (what news-etl sends, for
http and https targets alike), every request line and header recorded, an optional user and
password (407 without them). Tunnels only to loopback addresses: a test never reaches further.

    proxy = TunnelProxy().start()
    ... HttpClient().get(url, proxy=proxy.url) ...
    assert proxy.connects == ["CONNECT 127.0.0.1:8000 HTTP/1.1"]
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import threading
from dataclasses import dataclass, field

__all__ = ["TunnelProxy"]


@dataclass
class TunnelProxy:
    credentials: tuple[str, str] | None = None
    connects: list[str] = field(default_factory=list)  # request lines, in order
    headers: list[dict[str, str]] = field(default_factory=list)  # their headers, keys lowercased
    stop: threading.Event = field(default_factory=threading.Event)
    listener: socket.socket | None = None

    def start(self) -> "TunnelProxy":
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        threading.Thread(target=self._serve, daemon=True, name="tunnel-proxy").start()
        return self

    @property
    def url(self) -> str:
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"http://{auth}127.0.0.1:{self.listener.getsockname()[1]}"

    def close(self) -> None:
        self.stop.set()
        self.listener.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            self.connects.append(lines[0])
            self.headers.append(headers)
            method, target, _ = lines[0].split(" ", 2)
            if self.credentials and headers.get("proxy-authorization") != self._expected():
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or not ipaddress.ip_address(host.strip("[]")).is_loopback:
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._relay(conn, upstream)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def _expected(self) -> str:
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while not self.stop.is_set() and (data := source.recv(65536)):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for s in (source, sink):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join(timeout=5)
        upstream.close()
