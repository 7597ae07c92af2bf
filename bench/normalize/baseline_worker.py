"""Time another version's normalize_text over texts, for run.py's same-run speed comparison.

    python baseline_worker.py TREE REPEAT < texts.json

TREE holds an ``etl`` package (run.py extracts a git ref there). Reads a JSON list of strings on
stdin, writes {"version", "seconds"} on stdout: the best of REPEAT runs, each starting with an
empty word memo, CPU seconds (``time.process_time``), import and JSON excluded.
"""

import json
import sys
import time


def main() -> None:
    tree, repeat = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, tree)
    from etl.clean import text, zwnj

    texts = json.load(sys.stdin)
    text.normalize_text("گرم کردن")  # load the lexicon before timing
    seconds = float("inf")
    for _ in range(repeat):
        zwnj.clear_memo()
        start = time.process_time()
        for value in texts:
            text.normalize_text(value)
        seconds = min(seconds, time.process_time() - start)
    json.dump({"version": text.RULES_VERSION, "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main()
