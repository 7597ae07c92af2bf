"""Near-duplicate detection on real Fars News text: false positives, recall, speed.

    .venv/bin/python bench/dedup/run.py [--rewrites 300] [--seed 1]

Prints figures; asserts nothing. Article text is the body (paragraphs joined by newlines) after
``normalize_text``, as the loader stores it. Steps:
  1. a signature for every fixture article (bodies the fixture itself repeats are set aside);
  2. every pair of distinct articles: how many score at or above THRESHOLD, how many share a
     band bucket (either one is a false positive), overall and within one category;
  3. ``--rewrites`` synthetic republications of every article (new outlet lead line, first
     sentence dropped or cut, one to three words changed, an outlet footer): recall against the
     original (score >= THRESHOLD *and* a shared bucket, i.e. found by lookup and confirmed), and
     between two rewrites of the same story (two outlets), by article length;
  4. signature time per article (first pass with cold caches, then warm), for ~500-word bodies too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from etl.clean.dedup import BANDS, NUM_PERM, ROWS, THRESHOLD, bands, signature, similarity  # noqa: E402
from etl.clean.fold import fold  # noqa: E402
from etl.clean.text import normalize_text  # noqa: E402

FARS = REPO / "tests" / "data" / "fars-news"

LEADS = [
    "به گزارش خبرگزاری مهر،", "به گزارش ایسنا،", "خبرگزاری فارس:", "به گزارش تسنیم،",
    "به گزارش ایرنا،", "به گزارش خبرنگار ایلنا،", "به گزارش باشگاه خبرنگاران جوان،",
]
FOOTERS = ["انتهای پیام/", "/انتهای خبر", "منبع: ایسنا", "کد خبر: ۴۵۶۷۸۹", "بازنشر این خبر با ذکر منبع آزاد است."]
FILLERS = ["همچنین", "گفت", "اعلام کرد", "این", "امروز", "نیز", "افزود"]
SENTENCE_END = re.compile(r"(?<=[.!؟?])\s+")
LENGTHS = [(20, 100), (100, 300), (300, 10**9)]


def load_articles() -> tuple[list[tuple[str, str]], int]:
    """(category, normalized body) for every fixture article, and how many repeated an earlier body."""
    seen: set[str] = set()
    articles, repeats = [], 0
    for path in sorted(FARS.glob("*.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            body = normalize_text("\n".join(record["paragraphs"]))
            if body in seen:
                repeats += 1
                continue
            seen.add(body)
            articles.append((record.get("cat") or "", body))
    return articles, repeats


def rewrite(body: str, rng: random.Random) -> str:
    """The story as another outlet runs it: its lead line, first sentence dropped or cut, edits, footer."""
    sentences = SENTENCE_END.split(body.strip())
    first, rest = sentences[0], sentences[1:]
    choice = rng.random()
    if choice < 1 / 3 and rest:
        first = ""  # first sentence dropped
    elif choice < 2 / 3 and "،" in first:
        first = first.split("،", 1)[1]  # attribution clause cut, the news kept
    words = (rng.choice(LEADS) + " " + " ".join([first] + rest)).split(" ")
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(1, len(words))
        action = rng.random()
        if action < 0.5:
            words[position] = rng.choice(FILLERS)
        elif action < 0.75:
            del words[position]
        else:
            words.insert(position, rng.choice(FILLERS))
    footer = "\n" + rng.choice(FOOTERS) if rng.random() < 0.7 else ""
    return " ".join(w for w in words if w) + footer


def share_bucket(a_bands: set, b_bands: set) -> bool:
    return not a_bands.isdisjoint(b_bands)


def false_positives(articles, sigs, band_sets) -> None:
    matrix = np.array([s.values for s in sigs], dtype=np.uint32)
    above = same_cat_pairs = same_cat_above = either = 0
    scores = []
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, bs in enumerate(band_sets):
        for key in bs:
            buckets[key].append(i)
    colliding = {(a, b) for ids in buckets.values() for a, b in itertools.combinations(sorted(set(ids)), 2)}
    bucket_pairs = len(colliding)
    n = len(sigs)
    for i in range(n):
        row = (matrix[i + 1:] == matrix[i]).sum(axis=1) / NUM_PERM
        scores.extend(row.tolist())
        for offset, score in enumerate(row.tolist()):
            j = i + 1 + offset
            hit = score >= THRESHOLD
            above += hit
            either += hit or (i, j) in colliding
            if articles[i][0] and articles[i][0] == articles[j][0]:
                same_cat_pairs += 1
                same_cat_above += hit
    total = n * (n - 1) // 2
    scores.sort()
    print(f"distinct pairs: {total:,} ({same_cat_pairs:,} within one category)")
    print(f"  estimated Jaccard: median {statistics.median(scores):.3f}, "
          f"p99.9 {scores[int(0.999 * (total - 1))]:.3f}, max {scores[-1]:.3f}")
    print(f"  >= THRESHOLD {THRESHOLD}: {above} pairs ({above / total:.2e}); within a category: {same_cat_above}")
    print(f"  sharing a band bucket: {bucket_pairs} pairs ({bucket_pairs / total:.2e})")
    print(f"  false-positive rate (above threshold or sharing a bucket): {either}/{total:,} = {either / total:.2e}")


def recall(articles, sigs, band_sets, count: int, rng: random.Random) -> None:
    found = Counter()
    tried = Counter()
    pair_found = Counter()
    pair_tried = Counter()
    scores = []
    for (cat, body), sig, bset in zip(articles, sigs, band_sets):
        words = len(fold(body).split())
        bucket = next(f"{lo}-{hi - 1 if hi < 10**9 else ''} words" for lo, hi in LENGTHS if lo <= words < hi)
        # A first sentence longer than a fifth of the text is more than a lead line to drop.
        lead = "short first sentence" if len(SENTENCE_END.split(body)[0].split()) * 5 <= len(body.split()) \
            else "long first sentence"
        previous = None
        for _ in range(count):
            copy = signature(rewrite(body, rng))
            if copy is None:
                continue
            copy_bands = set(bands(copy))
            score = similarity(sig, copy)
            scores.append(score)
            hit = score >= THRESHOLD and share_bucket(bset, copy_bands)
            for key in (bucket, lead):
                tried[key] += 1
                found[key] += hit
            if previous is not None:
                pair_hit = similarity(previous[0], copy) >= THRESHOLD and share_bucket(previous[1], copy_bands)
                for key in (bucket, lead):
                    pair_tried[key] += 1
                    pair_found[key] += pair_hit
            previous = (copy, copy_bands)
    keys = [f"{lo}-{hi - 1 if hi < 10**9 else ''} words" for lo, hi in LENGTHS]
    total, pairs = sum(tried[k] for k in keys), sum(pair_tried[k] for k in keys)
    print(f"synthetic rewrites: {total:,} ({count} per article)")
    print(f"  estimated Jaccard to the original: median {statistics.median(scores):.3f}, "
          f"p5 {sorted(scores)[len(scores) // 20]:.3f}")
    print(f"  recall vs original (score >= {THRESHOLD} and a shared bucket): "
          f"{sum(found[k] for k in keys) / total:.4f}")
    print(f"  recall between two outlets' rewrites: {sum(pair_found[k] for k in keys) / pairs:.4f}")
    for key in keys + ["short first sentence", "long first sentence"]:
        if tried[key]:
            print(f"    {key:>20}: vs original {found[key] / tried[key]:.4f}, "
                  f"outlet vs outlet {pair_found[key] / max(1, pair_tried[key]):.4f} ({tried[key]:,} rewrites)")


def best_ms(bodies: list[str], repeats: int) -> float:
    """Fastest of ``repeats`` passes over the bodies, in ms per body (other load on the machine only slows)."""
    passes = []
    for _ in range(repeats):
        start = time.perf_counter()
        for body in bodies:
            signature(body)
        passes.append((time.perf_counter() - start) / len(bodies) * 1000)
    return min(passes)


def timing(bodies: list[str]) -> list:
    start = time.perf_counter()
    sigs = [signature(b) for b in bodies]
    cold = (time.perf_counter() - start) / len(bodies) * 1000
    warm = best_ms(bodies, 5)
    mid = [b for b in bodies if 450 <= len(fold(b).split()) <= 550]
    mid_ms = best_ms(mid, 20)
    sig = next(s for s in sigs if s)
    start = time.perf_counter()
    for _ in range(1000):
        bands(sig)
    bands_ms = (time.perf_counter() - start)
    words = statistics.median(len(fold(b).split()) for b in bodies)
    print(f"signature: {cold:.2f} ms/article on the first pass (cold word cache), {warm:.2f} ms warm "
          f"(median {words:.0f} folded words); {mid_ms:.2f} ms for the {len(mid)} bodies of 450-550 words")
    print(f"bands: {BANDS} per article ({ROWS} rows each), {bands_ms:.3f} ms to compute; "
          f"signature stored in {len(sig.to_bytes())} bytes")
    return sigs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rewrites", type=int, default=300, help="synthetic rewrites per article")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    articles, repeats = load_articles()
    print(f"{len(articles)} distinct Fars bodies ({repeats} repeated bodies in the fixture set aside)")
    sigs = timing([body for _, body in articles])
    kept = [(a, s) for a, s in zip(articles, sigs) if s is not None]
    print(f"bodies under the minimum length (no signature): {len(articles) - len(kept)}")
    articles, sigs = [a for a, _ in kept], [s for _, s in kept]
    band_sets = [set(bands(s)) for s in sigs]
    false_positives(articles, sigs, band_sets)
    recall(articles, sigs, band_sets, args.rewrites, random.Random(args.seed))
    print("chance of sharing a bucket at Jaccard J: "
          + ", ".join(f"{j}: {1 - (1 - j ** ROWS) ** BANDS:.3f}" for j in (0.1, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)))


if __name__ == "__main__":
    main()
