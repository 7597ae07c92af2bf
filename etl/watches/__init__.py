"""Watches: saved searches that tell somebody when a new article matches them.

A watch is declared beside the sources (``[[watches]]`` in the sources file, ``model``), synced to
the ``watches`` table, and matched against every committed batch inside the batch's own
transaction (``etl.load.watches``: the ``watch_hits`` outbox), with ``search``'s own Persian-aware
matching. Its hits are delivered by a task of their own (``etl.tasks.deliver``): a webhook
(``webhook``), e-mail (``mail``), and an Atom feed served by ``news-etl serve`` (``atom``).
"""
