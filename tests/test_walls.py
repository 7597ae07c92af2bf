"""The bot-wall detector (etl/fetch/walls.py): challenge pages modelled on the real ones
(tests/data/walls/, minimal look-alikes) are walls with their vendor named; ordinary pages,
error pages and articles that merely mention a vendor are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.fetch.walls import SMALL_PAGE, Wall, wall_of

WALLS = Path(__file__).parent / "data" / "walls"
HTML = {"content-type": "text/html; charset=utf-8"}


def page(name: str) -> bytes:
    return (WALLS / name).read_bytes()


@pytest.mark.parametrize("name, status, headers, vendor", [
    ("arvancloud_challenge.html", 200, {"server": "ArvanCloud"}, "ArvanCloud"),
    ("arvancloud_challenge.html", 200, {}, "ArvanCloud"),  # no telling header: the page alone
    ("arvancloud_challenge.html", 429, {"server": "ArvanCloud"}, "ArvanCloud"),
    ("cloudflare_just_a_moment.html", 403, {"server": "cloudflare", "cf-mitigated": "challenge"}, "Cloudflare"),
    ("cloudflare_just_a_moment.html", 503, {"server": "cloudflare"}, "Cloudflare"),  # no cf-mitigated
    ("cloudflare_just_a_moment.html", 200, {}, "Cloudflare"),  # a proxy rewrote the status
    ("ddos_guard.html", 403, {"server": "ddos-guard"}, "DDoS-Guard"),
    ("sucuri_block.html", 403, {"server": "Sucuri/Cloudproxy", "x-sucuri-block": "1"}, "Sucuri"),
    ("incapsula_block.html", 403, {"x-iinfo": "1-2-3"}, "Imperva"),
    ("script_cookie_reload.html", 503, {}, "unknown"),
    ("script_cookie_reload.html", 200, {}, "unknown"),
])
def test_challenge_pages_are_walls_with_their_vendor(name, status, headers, vendor):
    wall = wall_of(status, {**HTML, **headers}, page(name))
    assert wall is not None and wall.vendor == vendor


def test_the_reason_names_the_vendor():
    assert Wall("ArvanCloud").reason == "blocked: ArvanCloud challenge"
    assert Wall("Sucuri", "block page").reason == "blocked: Sucuri block page"
    assert wall_of(403, {}, page("cloudflare_just_a_moment.html")).reason == "blocked: Cloudflare challenge"
    assert "vendor unknown" in Wall("unknown").reason


def test_cf_mitigated_alone_is_a_cloudflare_wall_whatever_the_body():
    assert wall_of(403, {"cf-mitigated": "challenge"}, b"").vendor == "Cloudflare"


@pytest.mark.parametrize("name, status, headers", [
    ("article_mentions_cloudflare.html", 200, {"server": "cloudflare", "cf-ray": "8f00-FRA"}),
    ("article_mentions_cloudflare.html", 200, {"server": "ArvanCloud"}),
    ("maintenance_503.html", 503, {"server": "nginx"}),
    ("maintenance_503.html", 503, {"server": "cloudflare"}),  # an origin error through Cloudflare
    ("meta_refresh_moved.html", 200, {}),
])
def test_news_and_ordinary_errors_are_not_walls(name, status, headers):
    assert wall_of(status, {**HTML, **headers}, page(name)) is None


def test_feeds_sitemaps_and_binary_bodies_are_not_walls():
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>arvancloud __arcsjs</title></channel></rss>'
    assert wall_of(200, {"server": "ArvanCloud"}, rss) is None
    assert wall_of(200, {}, b"\x1f\x8b\x08\x00" + bytes(64)) is None  # a gzipped sitemap
    assert wall_of(429, {"server": "ArvanCloud"}, b'{"error": "rate limited"}') is None
    assert wall_of(403, {}, b"") is None


def test_a_large_2xx_page_is_the_sites_own_even_with_a_challenge_mark():
    big = b"<html><body><p>" + "خبر ".encode() * (SMALL_PAGE // 4) + b"</p><script>_cf_chl_opt</script></body></html>"
    assert wall_of(200, HTML, big[:32768], size=len(big)) is None
    # An error status has no such rule: its first bytes decide.
    challenge = page("cloudflare_just_a_moment.html")
    assert wall_of(503, HTML, challenge, size=len(challenge) + SMALL_PAGE).vendor == "Cloudflare"
