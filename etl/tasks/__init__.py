"""The work, and only the work: every unit an executor runs, each a plain function over typed
inputs (a ``Context``: database, HTTP client, clock) that returns a ``RunReport``, is idempotent,
and knows nothing of who runs it. One run life cycle (``lifecycle``) and one due policy (``due``)
serve them all.

* ``poll.poll_feed``: one feed source (and its full-text pages)
* ``files.files_pass`` / ``files.load_file``: a files source's new and changed files
* ``crawl.crawl`` / ``crawl_walk`` / ``crawl_pages``: a site's archive through its sitemaps, whole or in slices
* ``backfill.run_backfill`` / ``load_shard``: files, folders, archives, a queued shard
* ``passes.run_pass`` / ``end_pass``: a source's scheduled pass, whatever its kind, and its next attempt
"""
