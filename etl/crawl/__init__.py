"""Archive backfill through sitemaps, the parts: discover (robots.txt, sitemaps), select (date
pruning, pure), sitemap (parsing, pure), walk (the walk of a site's sitemaps), page (a crawled page
-> an Article), slowdown (the pace of one crawl). The crawl itself is a task (``etl.tasks.crawl``);
its frontier is a table (``etl.load.frontier``).
"""
