"""What one article page may cost to extract, judged on its bytes before any parser sees them.

Extraction builds trees: BeautifulSoup's (lead, over-title, date, a selector) and trafilatura's
lxml one, and both cost time and memory per element: about 5 s and 100 MB per MB of ordinary
markup; three crawled pages of 200,000 nested ``<div>`` s took 29.5 s and 236 MB here (103 s and
1.25 GB in the adversarial trial). A service polling hundreds of feeds must not be pushed out of memory by one
page, so a page is extracted only within ``PAGE_BUDGET``; past it, the item fails with its
location and the limit it passed, and the rest of the pass goes on.

The structure is measured by a scan of the tags (no tree, stops as soon as a limit is passed):
elements opened, and nesting depth, not counting void elements (``<br>``) and elements whose end
tag may be left out (``<p>``, ``<li>``, ``<td>`` ...), so a sloppy page is not judged deeper than
it is. lxml itself stops reading at 255 levels (the text below is lost), so nothing deeper can
yield text anyway. Pure: bytes in, a reason or None out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["PAGE_BUDGET", "PageBudget", "page_over_budget"]

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PageBudget:
    """Just under the limits, a page's extraction took 3.5 s and peaked at 151 MB (an ordinary page:
    0.35 s, 65 MB; ``bench/hostile/run.py --only budget``)."""

    max_bytes: int = 5 * MIB     # of markup as served; inline scripts count but cost little
    max_elements: int = 30_000   # real article pages have 1,000 to 5,000
    max_depth: int = 256         # lxml reads no deeper


PAGE_BUDGET = PageBudget()

_TAG = re.compile(rb"<(!--|/?)([A-Za-z][A-Za-z0-9:_-]*)?")
_VOID = frozenset(b"area base basefont bgsound br col command embed frame hr image img input isindex keygen "
                  b"link meta param source track wbr".split())
# End tags a page may leave out (the parser closes them itself): not counted as nesting.
_OPTIONAL_END = frozenset(b"p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption rb rt rtc rp "
                          b"html head body".split())
# Their content is text, not tags: skipped to their end tag.
_RAW_TEXT = frozenset(b"script style textarea title xmp iframe noembed noframes plaintext".split())


def page_over_budget(body: bytes, budget: PageBudget = PAGE_BUDGET) -> str | None:
    """Why extracting ``body`` would pass the budget, or None.

    ``b"<div>" * 300`` -> ``"page nested over 256 levels deep (the extraction budget)"``.
    """
    if len(body) > budget.max_bytes:
        return f"page of {len(body) / 1e6:.1f} MB is over the {budget.max_bytes // MIB} MiB extraction budget"
    return _structure_problem(body, budget)


def _structure_problem(body: bytes, budget: PageBudget) -> str | None:
    depth = elements = pos = 0
    while match := _TAG.search(body, pos):
        marker, name = match.group(1), (match.group(2) or b"").lower()
        if marker == b"!--":
            end = body.find(b"-->", match.end())
            if end < 0:
                return None  # the rest is one comment
            pos = end + 3
            continue
        close = body.find(b">", match.end())
        if not name or close < 0:
            pos = match.end()
            if close < 0:
                return None
            continue
        pos = close + 1
        if marker == b"/":
            if name not in _VOID and name not in _OPTIONAL_END and depth:
                depth -= 1
            continue
        elements += 1
        if elements > budget.max_elements:
            return f"page has over {budget.max_elements:,} elements (the extraction budget)"
        if name in _RAW_TEXT:
            end = _end_tag(name).search(body, pos)
            if end is None:
                return None
            pos = end.end()
        elif name not in _VOID and name not in _OPTIONAL_END and body[close - 1:close] != b"/":
            depth += 1
            if depth > budget.max_depth:
                return f"page nested over {budget.max_depth} levels deep (the extraction budget)"
    return None


@lru_cache(maxsize=None)
def _end_tag(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"</" + re.escape(name) + rb"\s*>", re.IGNORECASE)
