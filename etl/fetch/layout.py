"""The parts of a Persian news page around its main text: the over-title (روتیتر) and the lead (لید).

Persian agencies print the lead in its own element between the headline and the body
(``<p class="summary introtext" itemprop="description">`` before ``<div class="item-text"
itemprop="articleBody">``), and the over-title in another (``.rutitr``, ``.kicker``, an ``h3`` above
the ``h1``). An extractor that keeps only the body container loses the lead; ``assemble`` puts it
back first, once. Pure: BeautifulSoup trees and strings in, strings out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

__all__ = ["PageParts", "assemble", "page_parts", "text_key"]

_KICKER_CLASSES = {"rutitr", "rotitr", "roo-titr", "kicker", "uptitle", "up-title", "overtitle",
                   "over-title", "pretitle", "surtitle", "supertitle", "news-rutitr"}
_LEAD_CLASSES = {"lead", "introtext", "summary", "news-lead", "lid", "abstract", "subtitle",
                 "news_lead", "teaser", "item-lead", "sapo", "standfirst"}
# Chrome that can carry a lead-like class (a "summary" of the comments box, a sidebar teaser).
# (Not <form>: ASP.NET sites wrap the whole page in one; not <header>: it holds the article's head.)
_CHROME = {"nav", "footer", "aside"}
_CHROME_CLASS = re.compile(r"related|sidebar|most-|comment|footer|menu|ticker", re.I)
_KICKER_MAX = 150
_LEAD_MIN = 20
# "بیشتر بخوانید:" introduces links to other articles inside the body; "انتهای پیام" closes agency copy.
_READ_MORE = re.compile(r"^\s*(?:بیشتر\s+بخوانید|بخوانید|مطالب\s+مرتبط|اخبار\s+مرتبط|پیشنهاد\s+(?:ما|سردبیر))\s*[:：]?\s*$")
_END_MARK = re.compile(r"^\s*/?\s*انتهای\s+(?:پیام|خبر)\s*/?\s*$")
# What a text comparison ignores: spacing, ZWNJ/ZWJ, kashida, diacritics, and the usual punctuation.
_KEY_DROP = re.compile(r"[\s\u200c\u200d\u200e\u200f\u0640\u064b-\u065f\u0670.,:;!?؟،؛«»\"'()\-…–—_/]+")
_KEY_MAP = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "ۀ": "ه"})
_WORD = re.compile(r"[^\s\u200c.,:;!?؟،؛«»\"'()\-…]+")
_DESCRIPTION_KEYS = ("og:description", "description", "twitter:description")
# A description is the lead only if most of its words are the article's (a site slogan is not).
_DESCRIPTION_OVERLAP = 0.6


@dataclass(frozen=True, slots=True)
class PageParts:
    """What the page shows around the body: ``kicker`` (over-title), ``lead``, ``description``."""

    kicker: str | None = None
    lead: str | None = None
    description: str | None = None


def text_key(text: str) -> str:
    """Text reduced to what identifies it: ``"نتیجه‌بخش، بود."`` and ``"نتيجه بخش بود"`` -> ``"نتیجهبخشبود"``."""
    return _KEY_DROP.sub("", text.translate(_KEY_MAP))


def page_parts(soup: BeautifulSoup) -> PageParts:
    """The over-title, the lead element's text and the description metadata of a page."""
    h1 = soup.find("h1")
    return PageParts(kicker=_kicker(soup, h1), lead=_lead(soup, h1), description=_description(soup))


def _kicker(soup: BeautifulSoup, h1: Tag | None) -> str | None:
    for element in soup.find_all(True, class_=lambda c: c and c.lower() in _KICKER_CLASSES):
        if not _in_chrome(element):
            text = _text(element)
            if 0 < len(text) <= _KICKER_MAX:
                return text
    # Without a class, the over-title is the heading right above the headline.
    before = h1.find_previous_sibling(True) if h1 else None
    if before is not None and before.name in {"h2", "h3", "h4", "h5", "h6"}:
        text = _text(before)
        return text if 0 < len(text) <= _KICKER_MAX else None
    return None


def _lead(soup: BeautifulSoup, h1: Tag | None) -> str | None:
    """The first lead-like element after the headline (before it sit the over-title and the menu)."""
    candidates = h1.find_all_next(True) if h1 else soup.find_all(True)
    for element in candidates:
        if element.name == "meta" or not _is_lead_element(element) or _in_chrome(element):
            continue
        text = _text(element)
        if len(text) >= _LEAD_MIN:
            return text
    return None


def _is_lead_element(element: Tag) -> bool:
    classes = {c.lower() for c in element.get("class") or ()}
    if element.get("itemprop", "").lower() == "description":
        return True
    # "item-summary" wraps the lead and its picture; the lead itself is the element inside.
    return bool(classes & _LEAD_CLASSES) and element.find(["p", "div", "h2", "h3"]) is None


def _in_chrome(element: Tag) -> bool:
    for parent in element.parents:
        if parent.name in _CHROME or _CHROME_CLASS.search(" ".join(parent.get("class") or ())):
            return True
    return False


def _description(soup: BeautifulSoup) -> str | None:
    for key in _DESCRIPTION_KEYS:
        meta = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
        content = " ".join((meta.get("content") or "").split()) if meta else ""
        if content:
            return content
    return None


def _text(element: Tag) -> str:
    return " ".join(element.get_text(" ").split())


def assemble(body: str, parts: PageParts, title: str | None = None) -> str:
    """``body`` (one paragraph a line) with the lead first, once, and without page chrome: the
    over-title or the headline repeated as a first line, "بیشتر بخوانید" labels, "انتهای پیام"."""
    lines = [line for line in body.split("\n") if line.strip()]
    lines = _drop_chrome(lines, parts.kicker, title)
    lead = parts.lead or _description_lead(parts.description, lines, title)
    return "\n".join(_lead_first(lines, lead) if lead else lines)


def _drop_chrome(lines: list[str], kicker: str | None, title: str | None) -> list[str]:
    heads = {text_key(t) for t in (kicker, title) if t} - {""}
    while lines and text_key(lines[0]) in heads:
        lines = lines[1:]
    lines = [line for line in lines if not _READ_MORE.match(line)]
    while lines and _END_MARK.match(lines[-1]):
        lines = lines[:-1]
    return lines


def _lead_first(lines: list[str], lead: str) -> list[str]:
    """The lead as the first line: kept where the body already has it (moved up), else added."""
    key = text_key(lead)
    for index, line in enumerate(lines):
        if text_key(line) == key:
            return [line] + lines[:index] + lines[index + 1:]
    if lines and text_key(lines[0]).startswith(key):
        return lines  # the body's first paragraph opens with the lead's words
    return [lead] + lines


def _description_lead(description: str | None, lines: list[str], title: str | None) -> str | None:
    """The description, when it is a lead the body lacks: not the title, not a cut of the body
    (``"... نخستین جمله ..."``), and mostly in the article's own words."""
    if not description or not lines:
        return None
    key = text_key(description)
    body_key = text_key("".join(lines))
    if len(key) < _LEAD_MIN or key == text_key(title or "") or key in body_key:
        return None
    words = {w.translate(_KEY_MAP) for w in _WORD.findall(description)}
    body_words = {w.translate(_KEY_MAP) for w in _WORD.findall("\n".join(lines))}
    if len(words & body_words) < _DESCRIPTION_OVERLAP * len(words):
        return None
    return description
