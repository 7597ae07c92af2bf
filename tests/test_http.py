"""HttpClient on recorded responses (``responses``: no connection is ever made), fake time and a
fake resolver; address checks on the check function itself; charset decoding on bytes."""

from __future__ import annotations

import io
import socket
import threading
import time
from dataclasses import replace

import pytest
import requests
import responses

from etl.fetch.decode import DecodeError, decode_html, declared_charset, looks_like_mojibake
from etl.fetch.http import (
    FetchError, HttpClient, HttpSettings, check_url, parse_retry_after, resolves_to_loopback,
)

PUBLIC = "93.184.215.14"
EPOCH = 1_767_870_000.0  # 2026-01-08T11:00:00Z, the fake wall clock
UA = "news-etl/0.1 (+https://github.com/news-etl/news-etl)"


def resolver(table: dict[str, str | list[str]] | None = None):
    """A getaddrinfo stand-in: hosts in ``table`` get their addresses, others a public one."""
    table = table or {}

    def resolve(host, port, family=0, type=0, *args):
        if host == "nxdomain.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = table.get(host, PUBLIC)
        addresses = [addresses] if isinstance(addresses, str) else addresses
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0))
                for a in addresses]
    return resolve


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(fake_time: FakeTime, table=None, **settings) -> HttpClient:
    settings.setdefault("per_host_delay", 0.0)
    return HttpClient(HttpSettings(**settings), sleep=fake_time.sleep, monotonic=fake_time.monotonic,
                      resolve=resolver(table), clock=lambda: EPOCH)


# --- requests and responses ----------------------------------------------------------------

def test_sends_identifying_user_agent(rsps, fake_time):
    rsps.get("https://www.mehrnews.com/rss", body=b"<rss/>")
    response = make_client(fake_time).get("https://www.mehrnews.com/rss")
    assert rsps.calls[0].request.headers["User-Agent"] == UA
    assert response.status == 200 and response.body == b"<rss/>"


def test_user_agent_template_follows_contact_url():
    settings = HttpSettings()
    assert settings.user_agent_header == UA
    assert replace(settings, contact_url="https://example.org/bot").user_agent_header == (
        "news-etl/0.1 (+https://example.org/bot)")


def test_user_agent_names_configured_contact(rsps, fake_time):
    rsps.get("https://www.isna.ir/rss", body=b"")
    make_client(fake_time, contact_url="https://example.org/bot").get("https://www.isna.ir/rss")
    assert rsps.calls[0].request.headers["User-Agent"] == "news-etl/0.1 (+https://example.org/bot)"


def test_conditional_get_sends_validators_and_reads_304(rsps, fake_time):
    rsps.get("https://www.isna.ir/rss", status=304, headers={"ETag": '"v2"'})
    response = make_client(fake_time).get("https://www.isna.ir/rss", etag='"v1"',
                                           last_modified="Thu, 08 Jan 2026 10:00:00 GMT")
    sent = rsps.calls[0].request.headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Thu, 08 Jan 2026 10:00:00 GMT"
    assert response.not_modified and response.status == 304 and response.body == b""
    assert response.etag == '"v2"'


def test_no_conditional_headers_without_validators(rsps, fake_time):
    rsps.get("https://www.isna.ir/rss", body=b"x", headers={"ETag": '"a"', "Last-Modified": "Thu, 08 Jan 2026 10:00:00 GMT"})
    response = make_client(fake_time).get("https://www.isna.ir/rss")
    assert "If-None-Match" not in rsps.calls[0].request.headers
    assert "If-Modified-Since" not in rsps.calls[0].request.headers
    assert (response.etag, response.last_modified) == ('"a"', "Thu, 08 Jan 2026 10:00:00 GMT")
    assert response.headers["etag"] == '"a"'  # lowercased keys


def test_retries_503_with_exponential_backoff(rsps, fake_time):
    url = "https://www.tasnimnews.com/fa/rss"
    rsps.get(url, status=503)
    rsps.get(url, status=503)
    rsps.get(url, body=b"ok")
    response = make_client(fake_time).get(url)
    assert response.body == b"ok"
    assert fake_time.sleeps == [1.0, 2.0]
    assert len(rsps.calls) == 3


def test_retry_after_seconds_is_honoured(rsps, fake_time):
    url = "https://www.farsnews.ir/rss"
    rsps.get(url, status=503, headers={"Retry-After": "7"})
    rsps.get(url, body=b"ok")
    assert make_client(fake_time).get(url).body == b"ok"
    assert fake_time.sleeps == [7.0]


def test_429_retry_after_http_date_counts_from_server_date(rsps, fake_time):
    url = "https://www.farsnews.ir/rss"
    rsps.get(url, status=429, headers={"Date": "Thu, 08 Jan 2026 10:00:00 GMT",
                                       "Retry-After": "Thu, 08 Jan 2026 10:00:30 GMT"})
    rsps.get(url, body=b"ok")
    assert make_client(fake_time).get(url).body == b"ok"
    assert fake_time.sleeps == [30.0]


def test_retry_after_beyond_cap_gives_up_with_the_hint(rsps, fake_time):
    url = "https://www.farsnews.ir/rss"
    rsps.get(url, status=503, headers={"Retry-After": "3600"})
    with pytest.raises(FetchError) as err:
        make_client(fake_time, max_retry_after=120).get(url)
    assert err.value.transient and err.value.status == 503 and err.value.retry_after == 3600
    assert fake_time.sleeps == [] and len(rsps.calls) == 1


def test_retries_exhausted_is_transient(rsps, fake_time):
    url = "https://www.irna.ir/rss"
    rsps.get(url, status=502)
    with pytest.raises(FetchError) as err:
        make_client(fake_time, retries=2).get(url)
    assert (err.value.transient, err.value.status, err.value.reason) == (True, 502, "HTTP 502")
    assert len(rsps.calls) == 3 and fake_time.sleeps == [1.0, 2.0]


def test_backoff_is_capped(rsps, fake_time):
    url = "https://www.irna.ir/rss"
    rsps.get(url, status=500)
    with pytest.raises(FetchError):
        make_client(fake_time, retries=5, backoff_base=10, backoff_cap=25).get(url)
    assert fake_time.sleeps == [10, 20, 25, 25, 25]


def test_404_is_permanent_and_not_retried(rsps, fake_time):
    url = "https://www.irna.ir/news/85000000/"
    rsps.get(url, status=404)
    with pytest.raises(FetchError) as err:
        make_client(fake_time).get(url)
    assert not err.value.transient and err.value.status == 404 and len(rsps.calls) == 1
    assert str(err.value) == f"{url}: HTTP 404 (permanent)"


@pytest.mark.parametrize("exc, reason", [
    (requests.exceptions.ConnectTimeout("connect timed out"), "timeout"),
    (requests.exceptions.ConnectionError("Connection refused"), "connection error: Connection refused"),
])
def test_connection_failures_are_transient_and_retried(rsps, fake_time, exc, reason):
    url = "https://www.irna.ir/rss"
    rsps.get(url, body=exc)
    with pytest.raises(FetchError) as err:
        make_client(fake_time, retries=1).get(url)
    assert err.value.transient and err.value.reason == reason and len(rsps.calls) == 2


def test_tls_error_is_permanent(rsps, fake_time):
    rsps.get("https://self-signed.example/rss", body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(FetchError) as err:
        make_client(fake_time).get("https://self-signed.example/rss")
    assert not err.value.transient and err.value.reason.startswith("TLS error") and len(rsps.calls) == 1


# --- size cap --------------------------------------------------------------------------------

class EndlessRaw(io.RawIOBase):
    """A body that never ends, counting how much of it was read."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"x" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


def test_body_over_cap_is_refused_while_streaming(rsps, fake_time):
    raw = EndlessRaw()
    rsps.get("https://www.mehrnews.com/huge", body=io.BufferedReader(raw))
    with pytest.raises(FetchError) as err:
        make_client(fake_time, max_bytes=100_000).get("https://www.mehrnews.com/huge")
    assert not err.value.transient and err.value.reason == "body over 100000 bytes"
    assert raw.served < 100_000 + 256 * 1024  # stopped near the cap, not at the end


def test_declared_length_over_cap_is_refused_before_reading(rsps, fake_time):
    raw = EndlessRaw()
    rsps.get("https://www.mehrnews.com/huge", body=io.BufferedReader(raw),
             headers={"Content-Length": str(20 * 1024 * 1024)})
    with pytest.raises(FetchError) as err:
        make_client(fake_time).get("https://www.mehrnews.com/huge")
    assert err.value.reason == "body over 15 MiB" and not err.value.transient
    assert raw.served == 0


# --- redirects -------------------------------------------------------------------------------

def test_follows_redirects_and_reports_final_url(rsps, fake_time):
    rsps.get("http://mehrnews.com/rss", status=301, headers={"Location": "https://www.mehrnews.com/rss"})
    rsps.get("https://www.mehrnews.com/rss", status=302, headers={"Location": "/rss/all"})
    rsps.get("https://www.mehrnews.com/rss/all", body=b"<rss/>")
    response = make_client(fake_time).get("http://mehrnews.com/rss")
    assert response.url == "https://www.mehrnews.com/rss/all" and response.body == b"<rss/>"


def test_redirect_limit(rsps, fake_time):
    for n in range(7):
        rsps.get(f"https://loop.example/{n}", status=302, headers={"Location": f"/{n + 1}"})
    with pytest.raises(FetchError) as err:
        make_client(fake_time, max_redirects=5).get("https://loop.example/0")
    assert err.value.reason == "more than 5 redirects" and not err.value.transient
    assert len(rsps.calls) == 6


def test_redirect_to_disallowed_host_is_refused_without_contacting_it(rsps, fake_time):
    rsps.get("https://www.mehrnews.com/news/1", status=302, headers={"Location": "https://tracker.example/x"})
    rsps.get("https://tracker.example/x", body=b"never")
    with pytest.raises(FetchError) as err:
        make_client(fake_time).get("https://www.mehrnews.com/news/1",
                                   allowed_hosts=frozenset({"www.mehrnews.com", "mehrnews.com"}))
    assert err.value.reason == ("redirect to a disallowed host (host tracker.example not allowed: "
                                "https://tracker.example/x)")
    assert err.value.url == "https://www.mehrnews.com/news/1" and not err.value.transient
    assert [c.request.url for c in rsps.calls] == ["https://www.mehrnews.com/news/1"]


def test_redirect_to_private_address_is_refused_without_contacting_it(rsps, fake_time):
    rsps.get("https://www.mehrnews.com/rss", status=307, headers={"Location": "http://intranet.example/admin"})
    rsps.get("http://intranet.example/admin", body=b"secret")
    client = make_client(fake_time, table={"intranet.example": "10.0.0.5"})
    with pytest.raises(FetchError) as err:
        client.get("https://www.mehrnews.com/rss")
    assert "private address 10.0.0.5" in err.value.reason
    assert err.value.reason.startswith("redirect to a disallowed host")
    assert len(rsps.calls) == 1


def test_metadata_endpoint_is_refused_before_any_request(rsps, fake_time):
    with pytest.raises(FetchError) as err:
        make_client(fake_time).get("http://169.254.169.254/latest/meta-data/")
    assert "link-local" in err.value.reason and len(rsps.calls) == 0


# --- politeness and threads ------------------------------------------------------------------

def test_waits_between_requests_to_the_same_host_only(rsps, fake_time):
    for url in ("https://www.isna.ir/a", "https://www.isna.ir/b", "https://www.irna.ir/a"):
        rsps.get(url, body=b"")
    client = make_client(fake_time, per_host_delay=1.5)
    client.get("https://www.isna.ir/a")
    client.get("https://www.isna.ir/b")
    client.get("https://www.irna.ir/a")
    assert fake_time.sleeps == [1.5]


class CountingSession(requests.Session):
    """Answers every GET itself after a short real pause, tracking how many run at once."""

    lock = threading.Lock()
    active: dict[str, int] = {}
    peak: dict[str, int] = {}
    created = 0

    def __init__(self) -> None:
        super().__init__()
        with CountingSession.lock:
            CountingSession.created += 1

    def get(self, url, **kwargs):
        host = url.split("/")[2]
        with self.lock:
            self.active[host] = self.active.get(host, 0) + 1
            self.peak[host] = max(self.peak.get(host, 0), self.active[host])
        time.sleep(0.05)
        with self.lock:
            self.active[host] -= 1
        response = requests.Response()
        response.status_code, response.url, response.raw = 200, url, io.BytesIO(b"ok")
        return response


def test_per_host_concurrency_and_one_session_per_host():
    CountingSession.active, CountingSession.peak, CountingSession.created = {}, {}, 0
    client = HttpClient(HttpSettings(per_host_delay=0, per_host_concurrency=2),
                        session_factory=CountingSession, resolve=resolver())
    urls = [f"https://{host}/{n}" for host in ("www.isna.ir", "www.irna.ir") for n in range(6)]
    threads = [threading.Thread(target=client.get, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert CountingSession.peak == {"www.isna.ir": 2, "www.irna.ir": 2}
    assert CountingSession.created == 2
    client.close()


# --- address checks (the function itself; nothing is contacted) -------------------------------

@pytest.mark.parametrize("address, kind", [
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.254", "private"),
    ("192.168.1.1", "private"), ("fc00::1", "private"), ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
    ("::ffff:10.0.0.1", "private"), ("100.64.0.1", "non-global"),
])
def test_check_url_refuses_non_public_addresses(address, kind):
    with pytest.raises(FetchError) as err:
        check_url("https://news.example/rss", resolve=resolver({"news.example": address}))
    assert f"resolves to {kind} address" in err.value.reason and not err.value.transient


@pytest.mark.parametrize("literal", ["http://10.0.0.1/", "http://[fe80::1]/", "http://127.0.0.1:8080/"])
def test_check_url_refuses_ip_literals_without_resolving(literal):
    def no_dns(*args):
        raise AssertionError("an IP literal needs no DNS")
    with pytest.raises(FetchError):
        check_url(literal, resolve=no_dns)


def test_check_url_refuses_if_any_address_is_private():
    with pytest.raises(FetchError):
        check_url("https://news.example/", resolve=resolver({"news.example": [PUBLIC, "192.168.0.10"]}))


def test_check_url_accepts_public_and_allowed_loopback():
    check_url("https://news.example/", resolve=resolver())
    check_url("https://news.example/", resolve=resolver({"news.example": "2606:4700::6810:84e5"}))
    check_url("http://mirror.local/", allow_loopback=True, resolve=resolver({"mirror.local": "127.0.0.1"}))
    check_url("http://[::1]:8000/", allow_loopback=True)


def test_allow_loopback_does_not_allow_private():
    with pytest.raises(FetchError):
        check_url("http://nas.local/", allow_loopback=True, resolve=resolver({"nas.local": "192.168.1.2"}))


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "scheme 'file' not allowed"),
    ("gopher://news.example/", "scheme 'gopher' not allowed"),
    ("http:///no-host", "no host in URL"),
])
def test_check_url_refuses_other_schemes(url, reason):
    with pytest.raises(FetchError) as err:
        check_url(url, resolve=resolver())
    assert err.value.reason == reason


def test_check_url_allowed_hosts():
    hosts = frozenset({"www.mehrnews.com", "mehrnews.com"})
    check_url("https://mehrnews.com/news/1", hosts, resolve=resolver())
    with pytest.raises(FetchError) as err:
        check_url("https://en.mehrnews.com/news/1", hosts, resolve=resolver())
    assert err.value.reason == "host en.mehrnews.com not allowed"


def test_dns_failure_is_transient():
    with pytest.raises(FetchError) as err:
        check_url("https://nxdomain.example/", resolve=resolver())
    assert err.value.transient and "DNS lookup" in err.value.reason


def test_resolves_to_loopback():
    assert resolves_to_loopback("http://127.0.0.1:8080/rss")
    assert resolves_to_loopback("http://mirror/", resolver({"mirror": ["127.0.0.1", "::1"]}))
    assert not resolves_to_loopback("http://mixed/", resolver({"mixed": ["127.0.0.1", PUBLIC]}))
    assert not resolves_to_loopback("https://www.mehrnews.com/rss", resolver())


@pytest.mark.parametrize("value, expected", [
    ("120", 120.0), (" 5 ", 5.0), ("Thu, 08 Jan 2026 11:01:00 GMT", 60.0),
    ("Thu, 08 Jan 2026 10:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None),
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, EPOCH) == expected


def test_fetch_error_is_one_line_naming_the_url():
    err = FetchError("https://www.isna.ir/rss", "HTTP 503\nService Unavailable", transient=True, status=503)
    assert str(err) == "https://www.isna.ir/rss: HTTP 503 Service Unavailable (transient)"


# --- charset decoding ------------------------------------------------------------------------

PERSIAN = "<html><body><p>ایران: گزارش ویژه درباره کشاورزی پایدار و چهارمحال</p></body></html>"
PERSIAN_1256 = PERSIAN.replace("ی", "ي")  # windows-1256 has no Persian yeh; old sites use Arabic yeh


@pytest.mark.parametrize("body, content_type, expected", [
    (PERSIAN.encode("utf-8"), "text/html; charset=utf-8", PERSIAN),
    (PERSIAN.encode("utf-8"), "text/html; charset=iso-8859-1", PERSIAN),  # server default label
    (PERSIAN.encode("utf-8"), "text/html; charset=windows-1256", PERSIAN),
    (PERSIAN_1256.encode("cp1256"), "text/html; charset=utf-8", PERSIAN_1256),
    (PERSIAN_1256.encode("cp1256"), "text/html; charset=ISO-8859-1", PERSIAN_1256),
    (PERSIAN_1256.encode("cp1256"), "text/html", PERSIAN_1256),
    (PERSIAN_1256.encode("cp1256"), None, PERSIAN_1256),
    (PERSIAN.encode("utf-8"), "text/html; charset=x-made-up", PERSIAN),
    ("\ufeff".encode() + PERSIAN.encode("utf-8"), "text/html; charset=windows-1256", PERSIAN),
    (PERSIAN.encode("utf-16"), None, PERSIAN),
    ("<p>café crème</p>".encode("cp1252"), "text/html; charset=iso-8859-1", "<p>café crème</p>"),
    (b"<p>plain</p>", None, "<p>plain</p>"),
])
def test_decode_html_trusts_labels_only_when_bytes_agree(body, content_type, expected):
    text = decode_html(body, content_type)
    assert text == expected and "\ufffd" not in text


def test_decode_html_reads_meta_charset():
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
            f'</head>{PERSIAN_1256}</html>')
    assert declared_charset(page.encode("cp1256")) == "windows-1256"
    assert decode_html(page.encode("cp1256"), None) == page


def test_decode_html_reads_xml_declaration():
    doc = f'<?xml version="1.0" encoding="windows-1256"?><rss><title>{PERSIAN_1256}</title></rss>'
    assert declared_charset(doc.encode("cp1256")) == "windows-1256"
    assert decode_html(doc.encode("cp1256"), "text/xml") == doc


def test_decode_html_broken_after_bom_is_an_error():
    with pytest.raises(DecodeError) as err:
        decode_html(b"\xef\xbb\xbf<p>\xff\xfe\xfa</p>", None)
    assert "byte-order mark" in err.value.reason


def test_mojibake_is_recognised():
    assert looks_like_mojibake("ایران".encode("utf-8").decode("latin-1") * 2)
    assert looks_like_mojibake("گزارش ویژه".encode("utf-8").decode("cp1252"))
    assert not looks_like_mojibake(PERSIAN)
    assert not looks_like_mojibake("café crème, Øresund, Ÿ")
