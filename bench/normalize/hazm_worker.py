"""Run hazm's Normalizer over texts, inside hazm's own virtualenv (Python 3.12).

Reads a JSON list of strings on stdin, writes {"version", "seconds", "texts"} on stdout.
``seconds`` covers normalization only (no import, no JSON): the best of ``argv[1]`` runs (default 1).
"""

import json
import sys
import time
from importlib.metadata import version

from hazm import Normalizer


def main() -> None:
    texts = json.load(sys.stdin)
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    normalizer = Normalizer()
    normalizer.normalize("گرم کردن")  # warm up lazy tables so the timing is steady state
    seconds = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = [normalizer.normalize(t) for t in texts]
        seconds = min(seconds, time.perf_counter() - start)
    json.dump({"version": version("hazm"), "seconds": seconds, "texts": out}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
