"""NORMALIZER_VERSION must change whenever normalize_text's output does.

The integrator's reload-skipping recleans a stored item only when the version it was cleaned
under differs, so a rule or lexicon change without a version bump would leave stale text. The
fingerprint covers the packaged lexicon files and the output on every real text in tests/data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from etl.clean import lexicon, text
from etl.clean.text import normalize_text

DATA = Path(__file__).parent / "data"
# RULES_VERSION -> fingerprint. After a deliberate change: bump RULES_VERSION in
# etl/clean/text.py and put the new pair here (the failure message prints the fingerprint).
PINNED = ("2026.12.6", "eaf8e0bc9b035dd3")


def _real_texts() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted((DATA / "seed").glob("*.txt"))]
    for folder in ("fars-news", "varzesh3"):
        for path in sorted((DATA / folder).glob("*.json")):
            for doc in json.loads(path.read_text(encoding="utf-8")):
                texts += [t for t in [doc.get("title"), doc.get("abstract"), *doc.get("paragraphs", [])] if t]
    return texts


def fingerprint() -> str:
    digest = hashlib.sha256()
    data = Path(lexicon.__file__).parent / "data"
    for name in ("zwnj_lexicon.txt", "stems.txt", "never_split.txt", "verb_stems.txt", "apart.txt"):
        digest.update((data / name).read_bytes())
    for value in _real_texts():
        digest.update(normalize_text(value).encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def test_rules_version_is_bumped_when_the_output_changes():
    assert text.NORMALIZER_VERSION == text.RULES_VERSION  # no learned lexicon in use
    current = (text.RULES_VERSION, fingerprint())
    assert current == PINNED, (
        f"normalize_text's output or the packaged lexicon changed: bump RULES_VERSION in "
        f"etl/clean/text.py and set PINNED = ({text.RULES_VERSION!r} bumped, {current[1]!r}) here")
