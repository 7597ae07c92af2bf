"""The first proposal of the labels of tests/data/agency_leads.tsv, before they were read by hand.

    .venv/bin/python bench/agency/propose_labels.py varzesh3|fars > proposals.tsv

A plain pattern, independent of etl/clean/agency.py: the lead (abstract and first three
paragraphs) is searched for the first attribution phrase (به گزارش / به نقل از / خبرگزاری فارس:),
else an interview phrase (در گفت‌وگو با ...); the words after it are matched against a short list
of outlet names. Prints kind, index, link, proposed label ('-': none) and the phrase read. Every
proposal that was not the outlet's own house phrase was then checked by reading the lead.
"""

import json
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
OPEN = re.compile(r"([بی]ه[\s\u200c]*گزارش|به[\s\u200c]*نقل[\s\u200c]*(?:از)?|خبرگزار[یي]\s*فارس\s*[،:ـ\-–])([^،,:؛\n]{0,80})")
INTERVIEW = re.compile(r"((?:گفت[\s\u200c\u200e]*و[\s\u200c\u200e]*گو|گفتگو|مصاحبه)(?:\s+اختصاصی)?\s+با)([^،,:؛\n]{0,60})")
NAMES = [(r"و+ر+زش[\s\u200c\"]*\"?\s*سه", "ورزش سه"), (r"فارس", "فارس"), (r"تسنیم", "تسنیم"), (r"ایسنا", "ایسنا"),
         (r"ایرنا", "ایرنا"), (r"\bمهر\b", "مهر"), (r"خبرگزاری فرانسه", "خبرگزاری فرانسه"), (r"رویترز", "رویترز"),
         (r"تابناک", "تابناک"), (r"واحد مرکزی خبر", "صدا و سیما"), (r"باشگاه خبرنگاران", "باشگاه خبرنگاران جوان"),
         (r"دیلی\s?میل", "دیلی‌میل"), (r"^\s*(?:سایت\s+)?گل\b", "گل")]


def propose(lines: list[str]) -> tuple[str, str]:
    """(label, phrase) for a lead's lines."""
    for pattern in (OPEN, INTERVIEW):
        for line in lines:
            match = pattern.search(line)
            if match:
                phrase = match.group(1) if match.group(1).startswith("خبرگزار") else match.group(2)
                label = next((name for rx, name in NAMES if re.search(rx, phrase)), "-")
                return label, phrase.strip()[:50]
    return "-", ""


def main(kind: str) -> None:
    if kind == "varzesh3":
        docs = json.loads((DATA / "varzesh3" / "varzesh3-1.json").read_text(encoding="utf-8"))
        chosen = range(len(docs))
    else:
        docs = []
        for name in ("fars-news-1.json", "fars-news-2.json"):
            docs += json.loads((DATA / "fars-news" / name).read_text(encoding="utf-8"))
        # Not the articles of agency_labels.tsv (index % 6 == 0): every third of the others.
        chosen = [i for i in range(len(docs)) if i % 6 != 0][::3]
    for index in chosen:
        doc = docs[index]
        lines = [line for line in [doc.get("abstract") or ""] + doc["paragraphs"][:3] if line]
        label, phrase = propose(lines)
        print(f"{kind}\t{index}\t{doc['link']}\t{label}\t{phrase}")


if __name__ == "__main__":
    main(sys.argv[1])
