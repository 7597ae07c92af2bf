"""Archive backfill through sitemaps: discover (robots.txt, sitemaps), select (date pruning,
pure), sitemap (parsing, pure), walk and frontier (the resumable state), run (the task).

The names below are loaded from their modules on first use (PEP 562): the pure parts
(``etl.crawl.select``) must not pull in the page extractor that ``run`` needs.
"""

from importlib import import_module

_HOMES = {"CrawlJob": "run", "CrawlReport": "run", "crawl_root": "run", "run_crawl": "run",
          "scheduled_window": "run", "Window": "select"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
