"""Near-duplicate detection for wire copy republished by several outlets: MinHash + LSH bands.

Pure functions; storing bands and looking candidates up in the database is the loader's part.
A new article is compared with the stored ones like this:

    sig = signature(article_text)            # None: too short to judge
    candidates = stored articles sharing any (band_index, bucket) in bands(sig)
    duplicates = [c for c in candidates if similarity(sig, c.signature) >= THRESHOLD]

Parameters, and why (figures from ``bench/dedup/run.py`` on the Fars News fixtures):

* Text is ``fold`` ed, so spelling variants (ي/ی, digits, ZWNJ or space) cannot hide a copy.
  Pass text that went through ``normalize_text`` (stored article text has): the folding of
  ``میشود`` and ``می‌شود`` agrees only after the normalizer has restored the ZWNJ.
* Word 3-shingles. Every edited word breaks ``SHINGLE`` shingles, so shorter shingles survive
  an outlet's edits better; but 2-shingles are common in Persian once folding splits ``می‌شود``
  into two words (distinct Fars articles reached Jaccard 0.13 with them), and 4-shingles lowered
  edited copies' scores (5th percentile 0.55 against 0.59) while distinct articles already stay
  under Jaccard 0.08 with 3-shingles.
* ``THRESHOLD = 0.5`` estimated Jaccard: two equal-length texts sharing two thirds of their
  shingles. Across all 177,310 pairs of distinct Fars articles the highest estimate is 0.08; a
  copy with another outlet's lead line, a word or two changed and a footer scores 0.89 at the
  median. Most copies under 0.5 are short items whose dropped first sentence was a third of the
  text or more. A lower threshold would gain little recall (0.4: +1 point) and lets templated
  but different items (daily market or weather reports) merge, which hides a story; a missed
  copy only shows one twice.
* 128 MinHash values in ``BANDS = 32`` bands of ``ROWS = 4``. The banding S-curve turns at
  (1/32)^(1/4) = 0.42, a little below THRESHOLD on purpose: a pair at Jaccard 0.5 shares a bucket
  with probability 0.87, at 0.6 with 0.99, at 0.07 with 0.0008. 42 bands of 3 rows raised the
  measured recall by 0.2 points only, for 40-60 times as many chance collisions per lookup at the
  Jaccard 0.02-0.03 of unrelated news sharing boilerplate.
* Measured (``bench/dedup/run.py``): no false positive among the distinct pairs (none above
  THRESHOLD, none sharing a bucket); recall 0.96 for a copy against its original and 0.93
  between two outlets' copies, 1.00 when the first sentence was a lead line (at most a fifth of
  the text); about 0.5 ms per 500-word signature.
* Hashes are blake2b and fixed multiply-shift permutations derived from constant strings, never
  Python's per-process salted ``hash()``: the same text gives the same signature and bands in
  every process, on every machine, so stored bands stay valid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .fold import fold

__all__ = ["BANDS", "MAX_SHINGLES", "MIN_WORDS", "NUM_PERM", "ROWS", "SHINGLE", "THRESHOLD", "Signature",
           "bands", "signature", "similarity"]

SHINGLE = 3
MIN_WORDS = 20
NUM_PERM = 128
BANDS = 32
ROWS = 4
THRESHOLD = 0.5
# Only the first MAX_SHINGLES shingles count: a 50,000-word text is a book chapter, not news (the
# longest of the 1,100 Fars and Varzesh3 fixtures has 10,098 words), so stored signatures stay
# valid, while a 200 MB body costs what a 50,000-word one does instead of 128 x 30 million
# values at once (25 GiB).
MAX_SHINGLES = 50_000
_BLOCK = 8192  # shingles hashed at once: 128 x 8192 x 8 bytes = 8 MiB of scratch at most

# Bumped whenever anything above or the hashing changes: stored signatures then stop loading.
_FORMAT = 1
_VALUE_BYTES = 4
_BUCKET_BITS = 63


@dataclass(frozen=True)
class Signature:
    """``NUM_PERM`` MinHash values, each below 2**32, of one text's folded word shingles."""

    values: tuple[int, ...]

    def to_bytes(self) -> bytes:
        """Storage form: a format byte, then the values as 4-byte big-endian (513 bytes)."""
        return bytes([_FORMAT]) + np.asarray(self.values, dtype=">u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """The inverse of ``to_bytes``; ``ValueError`` for another format or length."""
        if len(data) != 1 + NUM_PERM * _VALUE_BYTES or data[0] != _FORMAT:
            raise ValueError(f"not a format-{_FORMAT} signature of {NUM_PERM} values: {len(data)} bytes")
        return cls(tuple(np.frombuffer(data, dtype=">u4", offset=1).tolist()))


def signature(text: str, folded: bool = False) -> Signature | None:
    """MinHash of the text's folded word 3-shingles; ``None`` under ``MIN_WORDS`` words.

    ``signature("کوتاه")`` -> ``None``; a 31-word news sentence ->
    ``Signature(values=(10470571, 162078326, 9714777, ...))`` (128 values).
    """
    words = (text if folded else fold(text)).split()  # folded: the caller folded it already
    if len(words) < MIN_WORDS:
        return None
    hashes = _shingle_hashes(words[:MAX_SHINGLES + SHINGLE - 1])
    if len(hashes) <= _BLOCK:  # a news article: one block, no list of blocks to reduce
        minima = _min_hashes(hashes)
    else:
        minima = np.min([_min_hashes(hashes[i:i + _BLOCK]) for i in range(0, len(hashes), _BLOCK)], axis=0)
    return Signature(tuple(minima.tolist()))


def _min_hashes(hashes: np.ndarray) -> np.ndarray:
    """The NUM_PERM minima over one block of shingle hashes; the minimum of the blocks' minima is
    the minimum over all, so blocks change no value."""
    # Multiply-shift hashing: the top 32 bits of (a*x + b) mod 2**64, a odd, one (a, b) per row.
    with np.errstate(over="ignore"):
        mixed = _PERM_A * hashes[np.newaxis, :]
        mixed += _PERM_B
    mixed >>= np.uint64(32)
    return mixed.min(axis=1)


def bands(sig: Signature) -> list[tuple[int, int]]:
    """``(band_index, bucket)`` per band; a bucket is a 63-bit non-negative int (fits BIGINT).

    Two signatures whose ``ROWS`` values agree in some band share that band's bucket.
    """
    packed = np.asarray(sig.values, dtype=">u4").tobytes()
    width = ROWS * _VALUE_BYTES
    return [(band, _bucket(band, packed[band * width:(band + 1) * width])) for band in range(BANDS)]


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets: equal values / ``NUM_PERM``."""
    return sum(x == y for x, y in zip(a.values, b.values)) / NUM_PERM


def _shingle_hashes(words: list[str]) -> np.ndarray:
    """64-bit hash of each word 3-shingle: 20 words -> 18 hashes (uint64).

    Words are hashed once each (blake2b, cached: news reuses its vocabulary) and a shingle's
    hash is a fixed mix of its words' hashes: one blake2b per shingle took 2 µs a shingle.
    """
    word_hashes = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    count = len(words) - SHINGLE + 1
    with np.errstate(over="ignore"):
        combined = np.zeros(count, dtype=np.uint64)
        for position, weight in enumerate(_POSITION_WEIGHTS):
            # A different odd weight per position: "a b c" and "c b a" hash apart.
            combined += word_hashes[position:position + count] * weight
        return _mix64(combined)


@lru_cache(maxsize=1 << 16)
def _word_hash(word: str) -> int:
    """64-bit blake2b of a folded word: ``"کتاب"`` -> a fixed integer on every machine."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, elementwise: spreads every input bit over every output bit."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _bucket(band: int, rows: bytes) -> int:
    """A band's bucket: 63 bits of blake2b over the band number and its values."""
    digest = hashlib.blake2b(rows, digest_size=8, person=b"band%04d" % band).digest()
    return int.from_bytes(digest, "big") >> (64 - _BUCKET_BITS)


def _permutation_parameters(name: bytes) -> np.ndarray:
    """``NUM_PERM`` fixed 64-bit constants derived from ``name``, as a column (uint64).

    Derived by hashing, not drawn from a seeded generator, so no library version can change them.
    """
    values = [
        int.from_bytes(hashlib.blake2b(b"%s-%d" % (name, i), digest_size=8).digest(), "little")
        for i in range(NUM_PERM)
    ]
    return np.array(values, dtype=np.uint64)[:, np.newaxis]


# Multipliers must be odd for x -> a*x mod 2**64 to be a bijection.
_PERM_A = _permutation_parameters(b"news-etl-minhash-a") | np.uint64(1)
_PERM_B = _permutation_parameters(b"news-etl-minhash-b")
# One odd weight per word position in a shingle (SHINGLE of them): fixed, like everything here.
_POSITION_WEIGHTS = tuple(np.uint64(w) for w in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))
