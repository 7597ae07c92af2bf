"""Fars News text for the lexicon builder and the benchmark, with one fixed train/held-out split.

Documents are split by their position in the sorted files: every fifth document (index % 5 == 4)
is held out. build_lexicon.py reads only the training split; run.py reports both.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_DATA = Path("/work/shared/data")
HELD_OUT_EVERY = 5


def documents(data: Path) -> list[dict]:
    """All Fars documents, in file order (fars-news-1.json first)."""
    docs = []
    for path in sorted((data / "fars-news").glob("*.json")):
        docs.extend(json.loads(path.read_text(encoding="utf-8")))
    return docs


def texts(doc: dict) -> list[str]:
    """Title, abstract and paragraphs of one document, empty ones dropped."""
    return [t for t in [doc.get("title"), doc.get("abstract"), *doc.get("paragraphs", [])] if t]


def is_held_out(index: int) -> bool:
    return index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


def train_texts(data: Path) -> list[str]:
    return [t for i, d in enumerate(documents(data)) if not is_held_out(i) for t in texts(d)]


def split_texts(data: Path) -> dict[str, list[str]]:
    """{"train": [...], "held-out": [...]}: every text of every document, by split."""
    splits: dict[str, list[str]] = {"train": [], "held-out": []}
    for i, doc in enumerate(documents(data)):
        splits["held-out" if is_held_out(i) else "train"].extend(texts(doc))
    return splits
