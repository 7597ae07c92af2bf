"""Archive backfill through sitemaps: discover (robots.txt, sitemaps), select (date pruning,
pure), sitemap (parsing, pure), walk and frontier (the resumable state), run (the task)."""

from .run import CrawlJob, CrawlReport, crawl_root, run_crawl, scheduled_window
from .select import Window

__all__ = ["CrawlJob", "CrawlReport", "Window", "crawl_root", "run_crawl", "scheduled_window"]
