"""Defaults that the command line shows in its help and the library uses: one place, no imports,
so that building the command line's parser (``news-etl -V``, ``--help``) loads nothing else."""

BATCH_SIZE = 500            # articles per transaction in a backfill
# Records in one line-range shard of a queued JSONL/CSV backfill: about 15 s of one worker's time at
# a few hundred articles/s, so a killed worker's shard costs little to redo, and a million-article
# dump is 200 jobs.
SHARD_RECORDS = 5000
EXPORT_FORMATS = ("jsonl", "csv", "parquet")
HEALTH_FACTOR = 3.0         # a source is late after this many times its longest interval
HEALTH_TOLERANCE = 3        # ... and failing after this many failed passes in a row
LEXICON_MIN_COUNT = 1       # sightings of a ZWNJ spelling before `lexicon learn` keeps it
CONCURRENCY = 64            # sources polled at once by `fetch` and the local `run`
