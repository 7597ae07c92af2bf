"""A news site on loopback for crawl tests and the crawl bench: robots.txt with a Disallow, a
three-level sitemap index over two Jalali years (1402-1403, 2023-03-21 .. 2025-03-20, about 5,000
articles), and article pages built from the real Fars News texts in tests/data/fars-news.

What real sites do, one sub-sitemap each: gzip files, a ``.gz`` already decompressed, a ``.gz``
that is an HTML error page, CDATA-wrapped ``<loc>``, namespace-less XML, no ``<lastmod>``,
news:publication_date instead of a date in the URL; Gregorian dates in 1402's URLs, Jalali
dates in 1403's.

    site = CrawlSite(per_day=7).serve(http_server)
    site.expected(since, until)   # the article URLs a crawl of that range must store
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import jdatetime

from etl.clean.dates import TEHRAN

DATA = Path(__file__).parent / "data"
FIRST_DAY = date(2023, 3, 21)   # 1402/01/01
LAST_DAY = date(2025, 3, 20)    # 1403/12/30
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


@dataclass(frozen=True)
class Post:
    id: int
    path: str
    published: datetime  # aware UTC
    title: str
    paragraphs: tuple[str, ...]
    sitemap: str

    @property
    def lastmod(self) -> datetime:
        return self.published + timedelta(hours=2)


@dataclass
class CrawlSite:
    per_day: int = 7
    posts: list[Post] = field(default_factory=list)
    sitemaps: dict[str, bytes] = field(default_factory=dict)  # path -> body as served
    page_log: list[str] = field(default_factory=list)          # page paths answered
    # Kill switch for resume tests: the request for page number ``hold_at`` waits until released.
    hold_at: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    base: str = ""

    def build(self, base: str) -> CrawlSite:
        self.base = base
        texts = _texts()
        day, n = FIRST_DAY, 0
        while day <= LAST_DAY:
            for k in range(self.per_day):
                n += 1
                self.posts.append(_post(n, day, k, self.per_day, texts[n % len(texts)]))
            day += timedelta(days=1)
        self._sitemaps()
        return self

    def serve(self, server) -> CrawlSite:
        self.build(server.base)
        robots = (f"User-agent: *\nDisallow: /private/\n\nSitemap: {server.base}/sitemap_index.xml\n").encode()
        server.route("/robots.txt", 200, {"Content-Type": "text/plain"}, robots)
        for path, body in self.sitemaps.items():
            server.route(path, 200, _sitemap_headers(path, body), body)
        for post in self.posts:
            server.route(post.path, self._page_route(post))
        return self

    def expected(self, since: datetime, until: datetime) -> dict[str, Post]:
        """path -> post for the articles a crawl of ``[since, until)`` must store (robots allows them)."""
        return {p.path: p for p in self.posts if since <= p.published < until and not p.path.startswith("/private/")}

    def sitemaps_holding(self, since: datetime, until: datetime) -> set[str]:
        """The urlset sitemaps listing at least one article of the range."""
        return {p.sitemap for p in self.posts if since <= p.published < until}

    def _page_route(self, post: Post):
        def reply(request):
            if self.hold_at is not None and len(self.page_log) + 1 == self.hold_at:
                self.held.set()
                self.release.wait(30)
                return 503, {"Content-Type": "text/plain"}, b"held"
            self.page_log.append(post.path)
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page_html(post).encode("utf-8")
        return reply

    # --- sitemaps ------------------------------------------------------------------------

    def _sitemaps(self) -> None:
        groups: dict[str, list[Post]] = {}
        for post in self.posts:
            groups.setdefault(post.sitemap, []).append(post)
        years: dict[str, list[str]] = {"1402": [], "1403": []}
        for path, posts in groups.items():
            self.sitemaps[path] = self._urlset(path, posts)
            years[path.split("/")[2]].append(path)
        video = "/sitemaps/1403/video-1403-01.xml.gz"
        self.sitemaps[video] = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
        years["1403"].insert(1, video)
        for year, paths in years.items():
            self.sitemaps[f"/sitemaps/index-{year}.xml"] = self._index(paths, groups)
        self.sitemaps["/sitemap_index.xml"] = self._index([f"/sitemaps/index-{y}.xml" for y in years], groups)

    def _index(self, paths: list[str], groups: dict[str, list[Post]]) -> bytes:
        items = []
        for path in paths:
            newest = self._newest(path, groups)
            # posts-2024-03 comes without <lastmod>, as many index generators write them.
            lastmod = "" if newest is None or path.endswith("posts-2024-03.xml") else \
                f"<lastmod>{newest.isoformat()}</lastmod>"
            items.append(f"<sitemap><loc>{self.base}{path}</loc>{lastmod}</sitemap>")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex {NS}>{"".join(items)}</sitemapindex>'.encode()

    def _newest(self, path: str, groups: dict[str, list[Post]]) -> datetime | None:
        if path in groups:
            return max(p.lastmod for p in groups[path])
        year = path.rsplit("-", 1)[-1].split(".")[0]
        members = [p for key, posts in groups.items() if f"/{year}/" in key for p in posts]
        return max(p.lastmod for p in members) if members else None

    def _urlset(self, path: str, posts: list[Post]) -> bytes:
        rows = [self._url(path, post) for post in posts]
        ns = "" if path.endswith("posts-2024-02.xml") else f" {NS} {NEWS_NS}"  # namespace-less
        text = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset{ns}>\n{"".join(rows)}</urlset>\n'.encode()
        # 1403's sitemaps are gzip files, except one served already decompressed.
        return gzip.compress(text, mtime=0) if path.endswith(".gz") and "1403-02" not in path else text

    def _url(self, path: str, post: Post) -> str:
        loc = f"{self.base}{post.path}"
        loc = f"<![CDATA[{loc}]]>" if "1403-01" in path else escape(loc)
        lastmod = "" if path.endswith("posts-2024-03.xml") else f"<lastmod>{post.lastmod.isoformat()}</lastmod>"
        news = ""
        if "1403-02" in path:  # no date in these URLs: news:publication_date says it
            news = (f"<news:news><news:publication><news:name>Fars</news:name><news:language>fa</news:language>"
                    f"</news:publication><news:publication_date>{post.published.isoformat()}</news:publication_date>"
                    f"<news:title>{escape(post.title)}</news:title></news:news>")
        return f"<url><loc>{loc}</loc>{lastmod}{news}</url>\n"


def _texts() -> list[tuple[str, tuple[str, ...]]]:
    records = json.loads((DATA / "fars-news" / "fars-news-1.json").read_text(encoding="utf-8"))
    return [(r["title"], tuple(p for p in r["paragraphs"] if p.strip())) for r in records
            if r.get("title") and any(p.strip() for p in r.get("paragraphs", []))]


def _post(n: int, day: date, k: int, per_day: int, text: tuple[str, tuple[str, ...]]) -> Post:
    local = datetime.combine(day, time(8), TEHRAN) + timedelta(minutes=int(k * 720 / per_day) + n % 7)
    published = local.astimezone(timezone.utc)
    j = jdatetime.date.fromgregorian(date=day)
    title = f"{text[0]} ({n})"
    lead = f"گزارش شماره {n}: این خبر در بایگانی نگه‌داری می‌شود."  # ZWNJ in می‌شود and نگه‌داری
    paragraphs = (lead, *text[1])
    if j.year == 1402:
        path, sitemap = f"/news/{day:%Y/%m/%d}/{n}/story", f"/sitemaps/1402/posts-{day:%Y-%m}.xml"
    else:
        path = f"/fa/news/{j.year}/{j.month:02d}/{j.day:02d}/{n}/story"
        sitemap = f"/sitemaps/1403/posts-{j.year}-{j.month:02d}.xml.gz"
        if j.month == 2:
            path = f"/news/{n}/story"
        if n % 50 == 0:
            path = "/private" + path  # listed in the sitemap, but robots.txt disallows it
    return Post(n, path, published, title, paragraphs, sitemap)


def page_html(post: Post) -> str:
    tehran = post.published.astimezone(TEHRAN)
    jalali = jdatetime.datetime.fromgregorian(datetime=tehran.replace(tzinfo=None))
    body = "".join(f"<p>{escape(p)}</p>" for p in post.paragraphs)
    return (f'<!DOCTYPE html><html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>{escape(post.title)} - Fars</title>'
            f'<meta property="og:title" content="{escape(post.title, {chr(34): "&quot;"})}">'
            f'<meta property="article:published_time" content="{tehran.isoformat()}"></head>'
            f'<body><nav><a href="/">خانه</a> | <a href="/archive">آرشیو</a></nav><article><h1>{escape(post.title)}</h1>'
            f'<div class="date">{jalali:%Y/%m/%d - %H:%M}</div>{body}</article>'
            f'<footer>کلیه حقوق محفوظ است</footer></body></html>')


def _sitemap_headers(path: str, body: bytes) -> dict[str, str]:
    if body.startswith(b"\x1f\x8b"):
        return {"Content-Type": "application/x-gzip"}
    if body.lstrip().lower().startswith(b"<!doctype html"):
        return {"Content-Type": "text/html"}
    return {"Content-Type": "application/xml"}
