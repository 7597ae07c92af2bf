"""Real news text for the lexicon builder and the benchmark, with fixed splits.

Fars News (600 documents): every fifth document (index % 5 == 4) is held out; build_lexicon.py
reads only the training split. Varzesh3 (500 sports documents, another outlet, never read by
build_lexicon.py): even-indexed documents are "dev" (look at its errors when changing rules),
odd-indexed ones are "held-out" (report it; do not tune on it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

DEFAULT_DATA = Path("/work/shared/data")
HELD_OUT_EVERY = 5
ZWNJ = "\u200c"
# A writer who types "می شود" or "کتاب ها" with a space does not use ZWNJ reliably; a text with
# either is not a fair reference for the writer's own ZWNJ (see reliable()).
_SPACED_AFFIX = re.compile(r"(?<!\S)(?:ن?می) |\s(?:ها|های|هایی|ترین|تر|ای|اند)(?=\s|$|[.،,:؛!؟)»])")


def documents(data: Path, outlet: str = "fars-news") -> list[dict]:
    """All documents of one outlet's folder, in file order (fars-news-1.json first)."""
    docs = []
    for path in sorted((data / outlet).glob("*.json")):
        docs.extend(json.loads(path.read_text(encoding="utf-8")))
    return docs


def texts(doc: dict) -> list[str]:
    """Title, abstract and paragraphs of one document, empty ones dropped."""
    return [t for t in [doc.get("title"), doc.get("abstract"), *doc.get("paragraphs", [])] if t]


def is_held_out(index: int) -> bool:
    return index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


def train_texts(data: Path) -> list[str]:
    return [t for i, d in enumerate(documents(data)) if not is_held_out(i) for t in texts(d)]


def lexicon_texts(data: Path) -> list[str]:
    """What build_lexicon.py reads: the texts of the tuning splits, Fars train and Varzesh3 dev
    (never a held-out one)."""
    return train_texts(data) + varzesh3_texts(data)["dev"]


def split_texts(data: Path) -> dict[str, list[str]]:
    """{"train": [...], "held-out": [...]}: every Fars text of every document, by split."""
    splits: dict[str, list[str]] = {"train": [], "held-out": []}
    for i, doc in enumerate(documents(data)):
        splits["held-out" if is_held_out(i) else "train"].extend(texts(doc))
    return splits


def varzesh3_texts(data: Path) -> dict[str, list[str]]:
    """{"dev": [...], "held-out": [...]}: Varzesh3 texts, even documents dev, odd ones held out."""
    splits: dict[str, list[str]] = {"dev": [], "held-out": []}
    for i, doc in enumerate(documents(data, "varzesh3")):
        splits["held-out" if i % 2 else "dev"].extend(texts(doc))
    return splits


def reliable(text: str) -> bool:
    """Whether a text is a fair reference for its writer's ZWNJ: it has one, and no prefix or
    suffix written apart. Chosen without the lexicon or the rules, so it favours neither."""
    return ZWNJ in text and not _SPACED_AFFIX.search(text)
