"""The HTTP edge against hostile servers (issue 14): a deadline per recv, no retry of a body that
was too slow or too big, embedded IPv4 forms in the address check, and connections pinned to the
checked address (DNS rebinding), with TLS still verified on the host name.

Slow servers are real sockets on loopback with small deadlines, so each test takes about a second.
Nothing here is aimed at a non-loopback address: the address checks are on the check function.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field

import pytest
import requests

from etl.fetch.http import FetchError, HttpClient, HttpSettings, address_problem, check_url
from etl.fetch.addresses import embedded_ipv4
from etl.fetch.pinning import PinnedAdapter, Pins

import ipaddress


# --- a byte-at-a-time server ----------------------------------------------------------------

@dataclass
class Trickle:
    """A loopback server that sends ``head`` at once, then ``body`` one byte per ``pause`` s."""
    head: bytes
    body: bytes
    pause: float = 0.05
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    connections: int = 0
    sent: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    listener: socket.socket | None = None
    sni: list = field(default_factory=list)
    received: list = field(default_factory=list)

    def start(self) -> "Trickle":
        self.listener = socket.create_server((self.host, 0))
        self.listener.settimeout(0.1)
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._reply, args=(conn,), daemon=True).start()

    def _reply(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.received.append(conn.recv(65536))
            conn.sendall(self.head)
            for byte in self.body:
                if self.stop.wait(self.pause):
                    break
                conn.sendall(bytes([byte]))
                self.sent += 1
        except (OSError, ssl.SSLError):
            pass  # the client hung up, as it should
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@pytest.fixture
def trickle():
    servers: list[Trickle] = []

    def make(head: bytes, body: bytes, **kwargs) -> Trickle:
        servers.append(Trickle(head, body, **kwargs).start())
        return servers[-1]
    yield make
    for server in servers:
        server.close()


def slow_client(**settings) -> HttpClient:
    defaults = dict(per_host_delay=0.0, total_timeout=0.5, read_timeout=5.0, retries=3, backoff_base=0.01)
    return HttpClient(HttpSettings(**{**defaults, **settings}))


BODY = b"x" * 200  # 10 s at 20 bytes/s: far past the 0.5 s deadline


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 200\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n",  # close-delimited
], ids=["content-length", "close-delimited"])
def test_trickled_body_stops_at_the_deadline_and_is_not_retried(trickle, head):
    server = trickle(head, BODY)
    with pytest.raises(FetchError) as err, slow_client() as client:
        client.get(f"http://127.0.0.1:{server.port}/page", allow_loopback=True)
    assert err.value.reason == "body took over 0.5 s" and not err.value.transient
    assert server.connections == 1  # not retried
    assert server.sent < len(BODY) // 4  # stopped near the deadline, not at the end of the body


def test_trickled_chunked_body_stops_at_the_deadline(trickle):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    server = trickle(head, b"c8\r\n" + BODY + b"\r\n0\r\n\r\n")
    with pytest.raises(FetchError) as err, slow_client() as client:
        client.get(f"http://127.0.0.1:{server.port}/page", allow_loopback=True)
    assert not err.value.transient and server.connections == 1
    assert server.sent < len(BODY) // 4


def test_trickled_headers_stop_at_the_deadline_and_are_not_retried(trickle):
    # Each header byte comes well within the read timeout, so only the deadline can end this.
    server = trickle(b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"y" * 190 + b"\r\n\r\n")
    with pytest.raises(FetchError) as err, slow_client() as client:
        client.get(f"http://127.0.0.1:{server.port}/page", allow_loopback=True)
    assert err.value.reason == "headers took over 0.5 s" and not err.value.transient
    assert server.connections == 1 and server.sent < 50


def test_a_kept_alive_connection_serves_the_next_response_after_a_deadline_bound_one(http_server):
    # The deadline socket stands in only while a response is read; the pooled connection is reused.
    http_server.route("/a", 200, {"Content-Type": "text/plain"}, b"first")
    http_server.route("/b", 304, {"ETag": '"x"'}, b"")
    with slow_client(total_timeout=5.0) as client:
        assert client.get(http_server.url("/a"), allow_loopback=True).body == b"first"
        assert client.get(http_server.url("/b"), allow_loopback=True).not_modified
        assert client.get(http_server.url("/a"), allow_loopback=True).body == b"first"


def test_body_within_the_deadline_is_read_whole(trickle):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\n"
    server = trickle(head, b"hello", pause=0.01)
    with slow_client(total_timeout=5.0) as client:
        assert client.get(f"http://127.0.0.1:{server.port}/page", allow_loopback=True).body == b"hello"


def test_body_over_the_size_cap_is_not_retried(trickle):
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"
    server = trickle(head, b"y" * 3000, pause=0.0)
    with pytest.raises(FetchError) as err, slow_client(max_bytes=1000, total_timeout=5.0) as client:
        client.get(f"http://127.0.0.1:{server.port}/page", allow_loopback=True)
    assert err.value.reason == "body over 1000 bytes" and not err.value.transient
    assert server.connections == 1


# --- IPv4 addresses inside IPv6 forms ---------------------------------------------------------

@pytest.mark.parametrize("address, kind", [
    ("2002:7f00:1::", "loopback"),            # 6to4 of 127.0.0.1
    ("2002:a00:1::1", "private"),              # 6to4 of 10.0.0.1
    ("2002:a9fe:a9fe::", "link-local"),        # 6to4 of 169.254.169.254
    ("64:ff9b::7f00:1", "loopback"),           # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),      # NAT64 of the metadata address
    ("::127.0.0.1", "loopback"),               # IPv4-compatible
    ("::10.1.2.3", "private"),
    ("::ffff:127.0.0.1", "loopback"),          # IPv4-mapped
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo, client 10.0.0.1
])
def test_embedded_ipv4_forms_are_judged_by_the_ipv4_address(address, kind):
    assert address_problem(ipaddress.ip_address(address), allow_loopback=False) == kind
    with pytest.raises(FetchError) as err:
        check_url(f"http://[{address}]/")
    assert f"resolves to {kind} address" in err.value.reason


def test_embedded_ipv4_of_plain_and_public_forms():
    assert embedded_ipv4(ipaddress.ip_address("::1")) == []  # IPv6's own loopback
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::6810:84e5")) == []
    assert embedded_ipv4(ipaddress.ip_address("2002:5db8:d70e::")) == [ipaddress.ip_address("93.184.215.14")]
    assert address_problem(ipaddress.ip_address("64:ff9b::5db8:d70e"), allow_loopback=False) is None
    # Loopback inside 6to4 is still loopback: allowed only where loopback is.
    assert address_problem(ipaddress.ip_address("2002:7f00:1::"), allow_loopback=True) is None


# --- DNS rebinding: connect to the checked address -------------------------------------------

def resolving(table: dict[str, list[str]]):
    """A resolver answering from ``table`` and counting the questions."""
    asked: list[str] = []

    def resolve(host, port, family=0, type=0, *args):
        asked.append(host)
        answers = table[host]
        address = answers[min(len(asked) - 1, len(answers) - 1)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]
    resolve.asked = asked
    return resolve


def test_connection_goes_to_the_checked_address(trickle):
    # "feed.test" exists only in the injected resolver: a connection that resolved the name
    # again (through the system) would fail; one pinned to the checked address reaches the server.
    server = trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok", pause=0.0, host="127.0.0.2")
    resolve = resolving({"feed.test": ["127.0.0.2"]})
    with HttpClient(HttpSettings(per_host_delay=0.0), resolve=resolve) as client:
        response = client.get(f"http://feed.test:{server.port}/rss", allow_loopback=True)
    assert response.body == b"ok" and resolve.asked == ["feed.test"]
    assert f"Host: feed.test:{server.port}".encode() in server.received[0]


def test_a_second_dns_answer_is_checked_before_it_is_used(trickle):
    # The rebinding attack: a first answer that passes, then one that must not be contacted.
    server = trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok", pause=0.0, host="127.0.0.2")
    resolve = resolving({"feed.test": ["127.0.0.2", "127.0.0.3"]})
    with HttpClient(HttpSettings(per_host_delay=0.0), resolve=resolve) as client:
        client.get(f"http://feed.test:{server.port}/rss", allow_loopback=True)
        with pytest.raises(FetchError) as err:
            client.get(f"http://feed.test:{server.port}/rss")  # loopback not allowed this time
    assert "resolves to loopback address 127.0.0.3" in err.value.reason
    assert server.connections == 1


def test_pinned_adapter_refuses_a_host_it_has_no_checked_address_for(trickle):
    server = trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok", pause=0.0)
    session = requests.Session()
    session.mount("http://", PinnedAdapter(Pins()))
    with pytest.raises(requests.exceptions.ConnectionError, match="no checked address"):
        session.get(f"http://127.0.0.1:{server.port}/", timeout=5)
    assert server.connections == 0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for feed.test (key and cert in one PEM file)."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=feed.test",
                    "-addext", "subjectAltName=DNS:feed.test"], check=True, capture_output=True)
    return key, cert


def tls_server(trickle, certificate) -> Trickle:
    key, cert = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok", pause=0.0, host="127.0.0.2",
                     tls=context)
    context.sni_callback = lambda sock, name, ctx: server.sni.append(name) and None
    return server


def test_tls_keeps_sni_and_certificate_checks_on_the_host_name(trickle, certificate):
    server = tls_server(trickle, certificate)
    resolve = resolving({"feed.test": ["127.0.0.2"]})
    settings = HttpSettings(per_host_delay=0.0, verify_tls=str(certificate[1]))
    with HttpClient(settings, resolve=resolve) as client:
        assert client.get(f"https://feed.test:{server.port}/", allow_loopback=True).body == b"ok"
    assert server.sni == ["feed.test"]


def test_tls_certificate_for_another_name_is_refused(trickle, certificate):
    # Same address, another name: the certificate (for feed.test) does not match, so no body is read.
    server = tls_server(trickle, certificate)
    resolve = resolving({"other.test": ["127.0.0.2"]})
    settings = HttpSettings(per_host_delay=0.0, verify_tls=str(certificate[1]))
    with pytest.raises(FetchError) as err, HttpClient(settings, resolve=resolve) as client:
        client.get(f"https://other.test:{server.port}/", allow_loopback=True)
    assert "TLS error" in err.value.reason and not err.value.transient
    assert server.sni == ["other.test"]
