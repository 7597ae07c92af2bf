"""HTML fragments (feed descriptions, dump fields) to plain text with paragraph breaks."""

from __future__ import annotations

import html
import re

from bs4 import BeautifulSoup

_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|<!--")
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote",
           "section", "article", "header", "footer", "figure", "figcaption", "table", "ul", "ol", "pre")
_DROP = ("script", "style", "noscript", "template", "iframe")


def looks_like_html(text: str) -> bool:
    """``"<p>سلام</p>" -> True``; ``"a < b > c" -> False``."""
    return bool(_TAG_RE.search(text))


def html_to_text(text: str) -> str:
    """Markup to text, one line per block: ``"<p>الف</p><p>ب&nbsp;پ</p>" -> "الف\\nب پ"``.

    Text without tags only has its entities decoded, so ``"a < b"`` survives.
    """
    if not looks_like_html(text):
        return html.unescape(text) if "&" in text else text
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (line.strip() for line in soup.get_text().replace("\xa0", " ").splitlines())
    return "\n".join(line for line in lines if line)
