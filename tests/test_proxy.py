"""Proxies without weakening the address check (issue 26): a source's ``proxy`` and, only when
NEWS_ETL_PROXY_ENV asks, HTTPS_PROXY/HTTP_PROXY/NO_PROXY. Every request through a proxy is a
CONNECT tunnel to the address the check approved (never the host name), http and https alike;
the Host header, SNI and the certificate stay on the name. A tiny forward proxy on loopback
(tests/proxyserver.py) records what it was asked."""

from __future__ import annotations

import socket

import pytest

from conftest import invoke
from etl.config import ConfigError, parse_config
from etl.fetch.http import FetchError, HttpClient, HttpSettings
from etl.fetch.proxy import ProxyError, environment_proxy, parse_proxy
from proxyserver import TunnelProxy
from test_http_defences import certificate, resolving, tls_server, trickle  # noqa: F401 (fixtures)

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
FEED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        '<item><title>خبر از راه پراکسی</title><link>http://outlet.test/1</link><guid>g1</guid></item>'
        '</channel></rss>').encode()


@pytest.fixture
def proxy():
    server = TunnelProxy().start()
    yield server
    server.close()


def client(resolve=socket.getaddrinfo, **settings) -> HttpClient:
    return HttpClient(HttpSettings(per_host_delay=0.0, retries=0, **settings), resolve=resolve)


def test_a_request_through_the_proxy_tunnels_to_the_checked_address_not_the_name(http_server, proxy):
    http_server.route("/rss", 200, RSS, FEED)
    resolve = resolving({"outlet.test": ["127.0.0.1"]})
    with client(resolve) as http:
        response = http.get(f"http://outlet.test:{http_server.port}/rss", allow_loopback=True, proxy=proxy.url)
    assert response.body == FEED
    # The proxy was asked for the address we checked, so its own DNS cannot send us elsewhere ...
    assert proxy.connects == [f"CONNECT 127.0.0.1:{http_server.port} HTTP/1.1"]
    # ... and the site still sees its own name.
    assert http_server.requests[0].headers["host"] == f"outlet.test:{http_server.port}"


def test_the_address_check_holds_through_a_proxy(proxy):
    """A name that resolves to a private address is refused before anything is sent, proxy or not."""
    resolve = resolving({"outlet.test": ["10.1.2.3"]})
    with pytest.raises(FetchError) as err, client(resolve) as http:
        http.get("http://outlet.test/rss", proxy=proxy.url)
    assert "resolves to private address 10.1.2.3" in err.value.reason and err.value.kind == "limit"
    assert proxy.connects == []


def test_https_through_the_proxy_keeps_sni_and_the_certificate_on_the_name(trickle, certificate, proxy):  # noqa: F811
    server = tls_server(trickle, certificate)
    resolve = resolving({"feed.test": ["127.0.0.2"]})
    with client(resolve, verify_tls=str(certificate[1])) as http:
        assert http.get(f"https://feed.test:{server.port}/", allow_loopback=True, proxy=proxy.url).body == b"ok"
    assert proxy.connects == [f"CONNECT 127.0.0.2:{server.port} HTTP/1.1"]
    assert server.sni == ["feed.test"]


def test_proxy_credentials_are_sent_and_masked_in_errors(http_server):
    http_server.route("/rss", 200, RSS, FEED)
    guarded = TunnelProxy(credentials=("reader", "s3cret")).start()
    try:
        with client() as http:
            assert http.get(http_server.url("/rss"), allow_loopback=True, proxy=guarded.url).body == FEED
            wrong = guarded.url.replace("s3cret", "wrong")
            with pytest.raises(FetchError) as err:
                http.get(http_server.url("/rss"), allow_loopback=True, proxy=wrong)
    finally:
        guarded.close()
    assert guarded.headers[0]["proxy-authorization"] == "Basic cmVhZGVyOnMzY3JldA=="
    assert "407 Proxy Authentication Required" in str(err.value) and "reader:***@" in str(err.value)
    assert "wrong" not in str(err.value) and err.value.kind == "network"


def test_an_unreachable_proxy_is_a_transient_network_error_naming_it(http_server):
    with pytest.raises(FetchError) as err, client() as http:
        http.get(http_server.url("/rss"), allow_loopback=True, proxy="http://127.0.0.1:9")
    assert err.value.transient and "through proxy http://127.0.0.1:9" in err.value.reason


def test_environment_proxies_are_honoured_only_when_asked(http_server, proxy):
    http_server.route("/rss", 200, RSS, FEED)
    url = http_server.url("/rss")
    with client() as http:  # HTTP_PROXY in the process environment is not read: settings only
        http.get(url, allow_loopback=True)
    assert proxy.connects == []
    with client(environment_proxies=(("HTTP_PROXY", proxy.url),)) as http:
        http.get(url, allow_loopback=True)
    assert proxy.connects == [f"CONNECT 127.0.0.1:{http_server.port} HTTP/1.1"]
    with client(environment_proxies=(("HTTP_PROXY", proxy.url), ("NO_PROXY", "127.0.0.1"))) as http:
        http.get(url, allow_loopback=True)  # NO_PROXY exempts the host: direct
    assert len(proxy.connects) == 1


def test_a_sources_own_proxy_beats_the_environments(http_server, proxy):
    http_server.route("/rss", 200, RSS, FEED)
    other = TunnelProxy().start()
    try:
        with client(environment_proxies=(("HTTP_PROXY", other.url),)) as http:
            http.get(http_server.url("/rss"), allow_loopback=True, proxy=proxy.url)
    finally:
        other.close()
    assert len(proxy.connects) == 1 and other.connects == []


def test_fetch_uses_a_sources_proxy_and_the_environment_only_with_news_etl_proxy_env(http_server, proxy, tmp_path):
    http_server.route("/rss", 200, RSS, FEED)
    db = ["--database-url", f"sqlite:///{tmp_path / 'news.db'}"]
    direct = tmp_path / "direct.toml"
    direct.write_text(f'[[sources]]\nname = "o"\nkind = "feed"\nurl = "{http_server.url("/rss")}"\n')
    assert invoke(*db, "--config", str(direct), "fetch", env={"HTTP_PROXY": proxy.url}).returncode == 0
    assert proxy.connects == []  # the environment's proxy is not used unless asked for
    assert invoke(*db, "--config", str(direct), "fetch",
                  env={"HTTP_PROXY": proxy.url, "NEWS_ETL_PROXY_ENV": "1"}).returncode == 0
    assert len(proxy.connects) == 1
    own = tmp_path / "own.toml"
    own.write_text(direct.read_text() + f'proxy = "{proxy.url}"\n')
    assert invoke(*db, "--config", str(own), "fetch").returncode == 0
    assert len(proxy.connects) == 2
    bad = invoke(*db, "--config", str(direct), "fetch", env={"NEWS_ETL_PROXY_ENV": "maybe"})
    assert bad.returncode == 2 and "NEWS_ETL_PROXY_ENV" in bad.stderr


@pytest.mark.parametrize("value, why", [
    ("socks5://127.0.0.1:1080", "proxy must be http://HOST:PORT"),
    ("https://proxy.example:3128", "proxy must be http://HOST:PORT"),
    ("http://:3128", "no host"),
    ("http://proxy.example:3128/path", "without a path"),
    ("http://proxy.example:99999", "not a proxy URL"),
])
def test_a_bad_proxy_in_the_sources_file_is_a_one_line_error(value, why):
    with pytest.raises(ConfigError) as err:
        parse_config({"sources": [{"name": "a", "kind": "feed", "url": "https://x.example/rss", "proxy": value}]},
                     "sources.toml")
    assert str(err.value).startswith("sources.toml: source 'a': key 'proxy': ") and why in str(err.value)


def test_proxy_is_an_option_of_feeds_and_sites_only():
    with pytest.raises(ConfigError, match="not an option of kind 'files'"):
        parse_config({"sources": [{"name": "a", "kind": "files", "path": "x", "proxy": "http://p:1"}]}, "s.toml")
    config = parse_config({"sources": [{"name": "a", "kind": "site", "url": "https://x.example/",
                                        "proxy": "http://user:pw@p.example:3128"}]}, "s.toml")
    assert config.sources[0].proxy == "http://user:pw@p.example:3128"


def test_parse_proxy_and_environment_proxy():
    assert parse_proxy("http://p.example").port == 80
    assert parse_proxy("http://u%40x:p%3Aw@p.example:3128").authorization == "Basic dUB4OnA6dw=="
    with pytest.raises(ProxyError):
        parse_proxy("not a url at all")
    env = {"HTTPS_PROXY": "http://s:1", "http_proxy": "http://h:1", "NO_PROXY": ".internal.example"}
    assert environment_proxy("https://news.example/rss", env) == "http://s:1"
    assert environment_proxy("http://news.example/rss", env) == "http://h:1"
    assert environment_proxy("https://feeds.internal.example/rss", env) is None
    assert environment_proxy("https://news.example/rss", {}) is None
