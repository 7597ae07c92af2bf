"""The idempotent units of work, each returning a RunReport; no executor knows their insides and
they know no executor. ``poll`` fetches one feed source and stores its next attempt; ``backfill``
loads one shard of files."""

from .backfill import load_shard, shards_of
from .poll import poll_source

__all__ = ["load_shard", "poll_source", "shards_of"]
