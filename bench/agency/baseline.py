"""The attribution reader news-etl used before etl/clean/agency.py (etl/clean/text.py, commit 16af272),
kept verbatim as the baseline of bench/agency/run.py."""

from __future__ import annotations

import re

from etl.clean.text import normalize_text

# A lead attribution opens agency copy: "به گزارش خبرگزاری مهر،", "به گزارش ایسنا،",
# "خبرگزاری فارس:", "به گزارش خبرنگار ورزشی خبرگزاری فارس از تبریز،". The phrase ends at the
# first comma or colon.
_LEAD = re.compile(r"\s*(?:به\s+گزارش|به\s+نقل\s+از|(?=خبرگزاری\s))\s*([^،,:؛\n]{1,120})[،,:؛]")
_NAMED = re.compile(r"خبرگزاری\s+([^\s(]+(?:\s+[^\s(]+)?)(?:\s*\(([^)\s]+)\))?")
# Agencies named without the word خبرگزاری ("به گزارش خبرنگار فارس").
AGENCIES = frozenset(
    "مهر فارس ایسنا ایرنا ایلنا تسنیم ایبنا ایکنا شبستان رسا برنا آنا پانا مشرق تابناک خبرآنلاین"
    " میزان دانشجو یونیوز باشگاه".split()
)
# Two-word names after خبرگزاری that have a usual short name.
_LONG_NAMES = {"جمهوری اسلامی": "ایرنا", "دانشجویان ایران": "ایسنا", "کار ایران": "ایلنا"}


def lead_agency(text: str) -> str | None:
    """The agency a lead attribution names: ``"به گزارش خبرگزاری مهر، ..."`` -> ``"مهر"``."""
    match = _LEAD.match(text or "")
    if not match:
        return None
    phrase = normalize_text(match.group(1))
    named = _NAMED.search(phrase)
    if named:
        if named.group(2):  # "خبرگزاری جمهوری اسلامی (ایرنا)"
            return named.group(2)
        first, _, rest = named.group(1).partition(" ")
        return _LONG_NAMES.get(named.group(1), first)
    words = phrase.split()
    known = [w for w in words if w in AGENCIES]
    if known:
        return known[0]
    return words[0] if len(words) == 1 else None
