"""A local outlet for `sources discover` tests: a home page naming feeds in its head and in its
links, a page listing feeds, a robots.txt with sitemaps, a news sitemap, and the usual decoys: a
feed in another language, a dead feed (404), a stale feed, the same feed at a second address.
Dates are relative to ``now`` so the site is always fresh."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}
TEXT = {"Content-Type": "text/plain"}
PERSIAN = ["بازدید رئیس‌جمهور از پروژه‌های نیمه‌تمام در استان گیلان", "گزارش بانک مرکزی از تورم ماه گذشته",
           "پیروزی تیم ملی والیبال در نخستین دیدار", "برگزاری نشست خبری سخنگوی دولت", "کاهش دمای هوا در تهران"]
ENGLISH = ["President visits unfinished projects", "Central bank reports inflation", "National team wins opener"]


def rss(base: str, prefix: str, titles: list[str], n: int, newest: datetime, lead: str = "لید کوتاه خبر") -> bytes:
    items = "".join(
        f"<item><title>{titles[i % len(titles)]} {i}</title><link>{base}/fa/news/{prefix}{i}</link>"
        f"<guid>{base}/fa/news/{prefix}{i}</guid><description>{lead} {i}</description>"
        f"<pubDate>{format_datetime(newest - timedelta(hours=i))}</pubDate></item>" for i in range(n))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{prefix}</title>'
            f"{items}</channel></rss>").encode()


def serve_outlet(server, now: datetime | None = None) -> str:
    """Routes the outlet on ``server``; returns its home page address."""
    now = now or datetime.now(timezone.utc)
    base = server.base
    server.route("/", 200, HTML, f"""<!DOCTYPE html><html lang="fa" dir="rtl"><head><title>خبرگزاری نمونه</title>
<link rel="alternate" type="application/rss+xml" title="همه خبرها" href="/fa/rss/allnews">
<link rel="alternate" type="application/rss+xml" title="English" href="{base}/en/rss">
<link rel="stylesheet" href="/style.css"></head><body>
<nav><a href="/fa/news/1">خبر</a> <a href="/rss-help">خوراک‌ها</a> <a href="/old/feed.xml">RSS قدیمی</a></nav>
</body></html>""".encode())
    server.route("/rss-help", 200, HTML, """<html><body><h1>فهرست خوراک‌ها</h1><ul>
<li><a href="/fa/rss/allnews">همه خبرها</a></li><li><a href="/fa/rss/sport">ورزشی</a></li>
<li><a href="/fa/rss/archive.xml">بایگانی</a></li></ul></body></html>""".encode())
    server.route("/fa/rss/allnews", 200, RSS, rss(base, "a", PERSIAN, 30, now - timedelta(minutes=5)))
    server.route("/rss", 200, RSS, rss(base, "a", PERSIAN, 30, now - timedelta(minutes=5)))  # the same feed
    server.route("/fa/rss/sport", 200, RSS, rss(base, "s", PERSIAN[2:3], 8, now - timedelta(hours=1)))
    server.route("/fa/rss/archive.xml", 200, RSS, rss(base, "z", PERSIAN, 10, now - timedelta(days=900)))
    server.route("/en/rss", 200, RSS, rss(base, "e", ENGLISH, 30, now - timedelta(minutes=1), lead="A short lead"))
    server.route("/robots.txt", 200, TEXT,
                 f"User-agent: *\nDisallow: /search\nSitemap: {base}/sitemap_index.xml\n".encode())
    month = now.strftime("%Y-%m")
    server.route("/sitemap_index.xml", 200, XML, f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemap-{month}.xml</loc><lastmod>{now.date().isoformat()}</lastmod></sitemap>
<sitemap><loc>{base}/sitemap-news.xml</loc><lastmod>{now.date().isoformat()}</lastmod></sitemap>
</sitemapindex>""".encode())
    news = "".join(f"""<url><loc>{base}/fa/news/a{i}</loc><news:news><news:publication>
<news:name>نمونه</news:name><news:language>fa</news:language></news:publication>
<news:publication_date>{(now - timedelta(hours=i)).isoformat(timespec="seconds")}</news:publication_date>
<news:title>{PERSIAN[i % 5]}</news:title></news:news></url>""" for i in range(12))
    server.route("/sitemap-news.xml", 200, XML, f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{news}</urlset>""".encode())
    monthly = "".join(f"<url><loc>{base}/fa/news/m{i}</loc><lastmod>{(now - timedelta(days=i)).date()}</lastmod></url>"
                      for i in range(40))
    server.route(f"/sitemap-{month}.xml", 200, XML, f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{monthly}</urlset>""".encode())
    return server.url("/")
