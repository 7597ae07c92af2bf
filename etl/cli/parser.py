"""The command line's parser: every command, its options and its example, with the handler
named as ``"module:function"`` inside ``etl.cli``. Building it imports nothing of the library,
so ``-V`` and ``--help`` answer at once; ``etl.cli.main`` imports a handler's module only when
its command runs, so each command loads what it uses (``search`` never loads the crawl stack)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import __version__
from ..defaults import (BATCH_SIZE, EXPORT_FORMATS, HEALTH_FACTOR, HEALTH_TOLERANCE, LEXICON_MIN_COUNT,
                        SHARD_RECORDS)
from .common import (PROG, Formatter, add_command, concurrency_arg, date_arg, factor, filter_args,
                     listing_args, non_negative, positive, seconds)

__all__ = ["build_parser"]

LEXICON_ENV = "NEWS_ETL_LEXICON"
WORKER_QUEUES = ("all", "backfill", "polls", "schedule")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], formatter_class=Formatter,
        description="Ingest Persian-language news into PostgreSQL (or SQLite): fetch -> clean -> load.",
        epilog="Example:\n  news-etl backfill tests/data/seed --source samples",
    )
    parser.add_argument("-V", "--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (_ingest, _inspect, _query, _analysis, _service, _lexicon, _web, _crawl, _worker, _watches):
        group(sub, common)
    return parser


def _common() -> argparse.ArgumentParser:
    # SUPPRESS lets the options stand before or after the subcommand without overwriting each other.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", default=argparse.SUPPRESS, metavar="URL",
                        help="SQLAlchemy URL (default: $DATABASE_URL, else sqlite:///news.db)")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                        help="sources file (default: $NEWS_ETL_CONFIG, else config/sources.toml in the working "
                             "directory; it must exist: --config /dev/null for none)")
    talk = common.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                      help="print only errors on stderr (no SQLite notice, no counts or progress)")
    talk.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                      help="also print debug logging and what was opened, on stderr")
    return common


def _group(sub, name: str, help_: str, example: str, common) -> tuple[argparse.ArgumentParser, object]:
    """A command with subcommands (``db upgrade``); alone it prints its help (exit 2)."""
    group = add_command(sub, name, "common:print_usage", help_, example, [common])
    group.set_defaults(usage_of=group)
    return group, group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")


def _ingest(sub, common) -> None:
    p = add_command(sub, "backfill", "ingest:cmd_backfill", "load articles from files, folders and .zip/.tar.gz archives",
                    "news-etl backfill tests/data/fars-news --source fars", [common])
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (recursive) or archive")
    p.add_argument("--source", required=True, metavar="NAME",
                   help="source the articles belong to (a name from the sources file, or a new one)")
    p.add_argument("--pattern", metavar="GLOB", help="only files whose name matches, e.g. '*.jsonl'")
    p.add_argument("--batch-size", type=positive, default=BATCH_SIZE, metavar="N", help="articles per transaction")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress line, even on a terminal")
    p.add_argument("--cleaners", "--workers", dest="cleaners", type=non_negative, default=None, metavar="N",
                   help="cleaning processes beside this one (default: one per core but one; 0 cleans in this "
                        "process; --workers is its older name)")
    p.add_argument("--reclean", action="store_true",
                   help="clean every item again, also those whose input and cleaner version are unchanged")
    p.add_argument("--queue", action="store_true",
                   help="PostgreSQL: split the input into shards (files, zip members, line ranges of a large "
                        "JSONL/CSV) and defer one job per shard to `news-etl worker`s instead of loading here; "
                        "`news-etl runs` shows their progress")
    p.add_argument("--alert", action="store_true",
                   help="match the loaded articles against the watches and deliver their hits (by default a "
                        "backfill alerts nobody, so loading an archive does not flood a desk)")
    p.add_argument("--files-per-shard", type=positive, default=1, metavar="N", help="files in one queued shard")
    p.add_argument("--shard-size", type=positive, default=SHARD_RECORDS, metavar="N",
                   help=f"with --queue: records in one line-range shard of a JSONL/CSV file (default {SHARD_RECORDS:,})")

    p = add_command(sub, "fetch", "ingest:cmd_fetch", "fetch the enabled feed sources (or the named ones) once",
                    "news-etl fetch mehr isna --json", [common])
    p.add_argument("names", nargs="*", metavar="NAME", help="feed sources to fetch (default: every enabled feed)")
    concurrency_arg(p)
    p.add_argument("--json", action="store_true", help="print the reports as one JSON object")


def _inspect(sub, common) -> None:
    p = add_command(sub, "sources", "inspect:cmd_sources",
                    "list sources with their fetch state and article counts; `sources discover URL` finds an "
                    "outlet's feeds and sitemaps", "news-etl sources --json", [common])
    listing_args(p)
    sources_sub = p.add_subparsers(dest="sources_command", metavar="COMMAND")  # optional: alone it lists
    d = add_command(sources_sub, "discover", "discover:cmd_discover",
                    "find an outlet's feeds and sitemaps from its address, fetch each once, say why each is kept "
                    "or dropped, and print a ready [[sources]] table (--add appends it to the sources file)",
                    "news-etl sources discover https://www.isna.ir/ --add isna", [common])
    d.add_argument("url", metavar="URL", help="the outlet's home page (or any page of it, or a feed)")
    d.add_argument("--add", metavar="NAME",
                   help="append the proposed source under this name to the sources file (--config), once it "
                        "passes the file's checks")
    d.add_argument("--json", action="store_true",
                   help='print {"feeds": [...], "sitemaps": [...], "source": {...}}, each list best first')
    d.add_argument("--proxy", metavar="URL", help="fetch through this http proxy (and propose it for the source)")
    d.add_argument("--per-host-delay", type=seconds, default=1.0, metavar="SECONDS",
                   help="minimum pause between requests to one host")

    p = add_command(sub, "runs", "inspect:cmd_runs", "list recent ingest runs with their counts",
                    "news-etl runs --limit 5", [common])
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="how many runs, newest first")
    p.add_argument("--source", metavar="NAME", help="only runs of this source")
    listing_args(p)
    p.add_argument("--repair", action="store_true",
                   help="first mark 'aborted' the runs left 'running' by a killed process")

    p = add_command(sub, "errors", "inspect:cmd_errors", "list items that failed to load, with their location and reason",
                    "news-etl errors --run 3", [common])
    p.add_argument("--run", type=positive, metavar="ID", help="only failures of this run (it must exist)")
    p.add_argument("--limit", type=positive, default=50, metavar="N", help="how many failures, newest first")
    listing_args(p)

    _, db_sub = _group(sub, "db", "database maintenance: upgrade, schema, precount", "news-etl db upgrade", common)
    add_command(db_sub, "upgrade", "inspect:cmd_db_upgrade",
                "create the schema or upgrade it in place, keeping all data (every command also does this on start)",
                "news-etl db upgrade --database-url postgresql://postgres@127.0.0.1/news", [common])
    add_command(db_sub, "schema", "inspect:cmd_db_schema", "print the PostgreSQL schema (what sql/schema.sql holds)",
                "news-etl db schema > sql/schema.sql", [common])
    p = add_command(db_sub, "precount", "inspect:cmd_db_precount",
                    "count queries ahead for trends (PostgreSQL): their matching articles per day, kept exact by "
                    "triggers on every write; without a query, list those counted",
                    "news-etl db precount 'ایران' 'تهران'", [common])
    p.add_argument("queries", nargs="*", metavar="QUERY", help="queries as `search` takes them")
    p.add_argument("--forget", action="store_true", help="stop counting these queries ahead")
    p.add_argument("--json", action="store_true", help="list the counted queries as JSON")


def _query(sub, common) -> None:
    p = add_command(sub, "articles", "query:cmd_articles", "list the latest articles",
                    "news-etl articles --source fars --limit 5", [common])
    p.add_argument("--limit", type=positive, default=10, metavar="N", help="how many articles, latest first")
    p.add_argument("--source", metavar="NAME", help="only articles of this source")
    listing_args(p)

    p = add_command(sub, "search", "query:cmd_search",
                    "search articles; any spelling variant (ZWNJ, Arabic yeh/kaf, digits) finds the same; "
                    "\"quoted\" = phrase",
                    'news-etl search \'"وزارت خارجه" میشود\' --since 1404/01/01 --limit 5', [common])
    p.add_argument("query", help="words (all must match) and \"quoted phrases\"")
    filter_args(p)
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="how many results, best first")
    listing_args(p, "print JSON (published time in UTC and Tehran, URLs as stored)")

    p = add_command(sub, "show", "query:cmd_show", "print one article with its revision history and near-duplicates",
                    "news-etl show 42", [common])
    p.add_argument("id", type=positive, help="article id")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add_command(sub, "export", "query:cmd_export",
                    "export articles as JSONL, CSV or Parquet (backfill reads them back)",
                    "news-etl export --format jsonl --source fars --since 2025-01-01 --output fars.jsonl", [common])
    p.add_argument("--format", choices=EXPORT_FORMATS, default="jsonl", help="output format")
    p.add_argument("--output", metavar="FILE", help="write here (default: standard output; Parquet needs a file)")
    p.add_argument("--excel", action="store_true",
                   help="CSV for Excel: a UTF-8 byte-order mark and CRLF line ends, so Persian text opens readable")
    filter_args(p)


def _analysis_filters(parser: argparse.ArgumentParser, calendar: bool = True) -> None:
    parser.add_argument("--source", nargs="+", dest="sources", metavar="NAME", help="only articles of these sources")
    parser.add_argument("--agency", metavar="NAME", help="only articles whose lead credits this agency (e.g. مهر)")
    parser.add_argument("--since", type=date_arg, metavar="DATE", help="published at or after (ISO or Jalali)")
    parser.add_argument("--until", type=date_arg, metavar="DATE", help="published before (ISO or Jalali)")
    if calendar:
        parser.add_argument("--calendar", default="gregorian", metavar="NAME",
                            help="gregorian or jalali: how days and months are labelled (default gregorian)")


def _output(parser: argparse.ArgumentParser, csv: bool = True) -> None:
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    if csv:
        out.add_argument("--csv", action="store_true", help="print CSV (the web page's .csv links give the same)")
    parser.add_argument("--wide", action="store_true",
                        help="full text in every column (also the case when standard output is not a terminal)")


def _analysis(sub, common) -> None:
    p = add_command(sub, "trends", "analysis:cmd_trends",
                    "attention over time: per Tehran day, week (from Saturday) or month, the articles matching each "
                    "query, all articles under the same filters, and the share",
                    "news-etl trends 'تحریم' 'انتخابات' --by month --calendar jalali --since 1404/01/01", [common])
    p.add_argument("queries", nargs="+", metavar="QUERY", help="queries as `search` takes them (one series each)")
    p.add_argument("--by", default="day", metavar="PERIOD", help="day, week or month (default day)")
    _analysis_filters(p)
    _output(p)

    p = add_command(sub, "terms", "analysis:cmd_terms",
                    "the words and two-word phrases most characteristic of the articles matching a query, against the "
                    "other articles under the same filters (weighted log-odds, informative Dirichlet prior)",
                    "news-etl terms 'تحریم' --since 1404/01/01 --limit 20", [common])
    p.add_argument("query", metavar="QUERY", help="a query as `search` takes it")
    p.add_argument("--limit", type=positive, default=30, metavar="N", help="how many terms (default 30)")
    p.add_argument("--sample", type=positive, default=5000, metavar="N",
                   help="read at most N matching articles, and as many others (default 5000; drawn only when there are more)")
    _analysis_filters(p, calendar=False)
    _output(p)

    p = add_command(sub, "outlets", "analysis:cmd_outlets",
                    "per source and per agency: the articles matching a query, their share of the outlet's articles, "
                    "the first and last match",
                    "news-etl outlets 'تحریم' --since 1404/01/01 --calendar jalali", [common])
    p.add_argument("query", metavar="QUERY", help="a query as `search` takes it")
    _analysis_filters(p)
    _output(p)

    p = add_command(sub, "stories", "analysis:cmd_stories",
                    "the stories most outlets carried (near-duplicate clusters): who published first, each other "
                    "outlet's delay, and which copies credit the first one's agency",
                    "news-etl stories --since 1404/10/01 --limit 10", [common])
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="how many stories (default 20)")
    _analysis_filters(p)
    _output(p, csv=False)


def _service(sub, common) -> None:
    p = add_command(sub, "run", "service:cmd_run",
                    "run the service: fetch every enabled source on its schedule until SIGTERM "
                    "(SIGHUP reloads the sources file)",
                    "news-etl run --log-json --metrics-port 9108", [common])
    concurrency_arg(p)
    p.add_argument("--grace", type=seconds, default=30.0, metavar="SECONDS",
                   help="on SIGTERM, wait this long for running passes to commit")
    p.add_argument("--log-json", action="store_true", help="log JSON lines instead of key=value text (times in UTC)")
    p.add_argument("--metrics-port", type=_port, metavar="PORT", help="serve Prometheus metrics on this port")
    p.add_argument("--metrics-addr", default="127.0.0.1", metavar="ADDR",
                   help="address for the metrics server (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--http-retries", type=non_negative, default=1, metavar="N",
                   help="retries within one pass for transient HTTP errors (default 1; the schedule retries later)")
    p.add_argument("--per-host-delay", type=seconds, default=1.0, metavar="SECONDS",
                   help="minimum pause between requests to one host")
    p.add_argument("--executor", choices=("local", "procrastinate"), default="local",
                   help="local: this process schedules (SQLite too); procrastinate: the shared PostgreSQL "
                        "schedule, dispatch and a worker in this process (see README \"Scaling\")")

    p = add_command(sub, "status", "status:cmd_status",
                    "check the service's health: exit 0 when the database answers and every enabled source is "
                    "neither failing nor late, 1 when a source is, 3 when the database cannot be reached",
                    "news-etl status --max-failures 5 --json", [common])
    p.add_argument("--factor", type=factor, default=HEALTH_FACTOR,
                   help="a source is late after this many times its longest interval without success")
    p.add_argument("--max-failures", type=positive, default=HEALTH_TOLERANCE, metavar="N",
                   help="a source is failing after N failed passes in a row (or when every attempt so far failed)")
    listing_args(p, "print the health of the database and of each source as JSON")


def _lexicon(sub, common) -> None:
    _, lex_sub = _group(sub, "lexicon", "ZWNJ spellings learned from stored articles: learn",
                        "news-etl lexicon learn --output learned.tsv", common)
    p = add_command(lex_sub, "learn", "lexicon:cmd_lexicon_learn",
                    f"write a learned lexicon from the stored articles; later cleaning uses it when ${LEXICON_ENV} "
                    "names it",
                    f"news-etl lexicon learn --output learned.tsv && {LEXICON_ENV}=learned.tsv news-etl backfill "
                    "old.json --source old", [common])
    p.add_argument("--output", type=Path, required=True, metavar="FILE", help="the lexicon file to write")
    p.add_argument("--source", metavar="NAME", help="only articles of this source")
    p.add_argument("--min-count", type=positive, default=LEXICON_MIN_COUNT,
                   help=f"times a spelling must be seen (and 3x more often than any other; default {LEXICON_MIN_COUNT})")


def _web(sub, common) -> None:
    p = add_command(sub, "serve", "web:cmd_serve",
                    "serve the read-only web page (search, articles, sources) and its JSON API",
                    "news-etl serve --port 8080   (then open http://127.0.0.1:8080/)", [common])
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other needs a token)")
    p.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    p.add_argument("--token", default=None,
                   help="require this token (Authorization: Bearer, or ?token= once); default $NEWS_ETL_WEB_TOKEN")
    p.add_argument("--max-connections", type=positive, default=None, metavar="N",
                   help="open connections at most; more are closed at once (default: the open-file limit less 128)")
    p.add_argument("--per-client", type=non_negative, default=32, metavar="N",
                   help="open connections from one client address at most; 0 for none (behind a reverse proxy)")
    p.add_argument("--head-timeout", type=seconds, default=10.0, metavar="SECONDS",
                   help="a request's line and headers must arrive within this (default 10)")


def _crawl(sub, common) -> None:
    p = add_command(sub, "crawl", "crawl:cmd_crawl",
                    "crawl a site's sitemaps for the articles of a date range (resumable: the same command "
                    "again goes on where it stopped)",
                    "news-etl crawl tasnim --since 1403/03/01 --until 1403/06/01", [common])
    p.add_argument("source", metavar="SOURCE", help="a feed or site source from the sources file")
    p.add_argument("--since", type=date_arg, metavar="DATE", help="published at or after (ISO or Jalali)")
    p.add_argument("--until", type=date_arg, metavar="DATE", help="published before (ISO or Jalali; default: now)")
    p.add_argument("--resume", action="store_true", help="go on with the source's last crawl (its range by default)")
    p.add_argument("--dry-run", action="store_true", help="walk the sitemaps and count the pages; fetch no page")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    p.add_argument("--per-host-delay", type=seconds, default=1.0, metavar="SECONDS",
                   help="minimum pause between requests to the site (default 1; robots.txt Crawl-delay may ask more)")
    p.add_argument("--queue", action="store_true",
                   help="PostgreSQL: defer the crawl to `news-etl worker`s in slices (the walk, then batches of "
                        "pages) instead of crawling here; `news-etl runs --source SOURCE` shows their progress")


def _worker(sub, common) -> None:
    p = add_command(sub, "worker", "worker:cmd_worker",
                    "run a procrastinate worker: poll due sources from the shared PostgreSQL schedule (scale-out)",
                    "news-etl worker --database-url postgresql+psycopg://etl@db/news --concurrency 16", [common])
    p.add_argument("--concurrency", type=positive, default=8, metavar="N", help="tasks run at once (default 8)")
    p.add_argument("--queues", type=_queues, default="all", metavar="QUEUE[,QUEUE]",
                   help="'polls' (sources' passes), 'schedule' (dispatch and maintenance), 'backfill' (queued "
                        "backfill shards, files, crawl slices), several separated by commas, or 'all' (default)")
    p.add_argument("--no-listen-notify", action="store_true",
                   help="poll the queue instead of holding a LISTEN connection (needed behind pgbouncer "
                        "transaction pooling)")
    p.add_argument("--per-host", type=positive, default=2, metavar="N",
                   help="polls of one host at once across all workers (default 2)")
    p.add_argument("--per-host-delay", type=seconds, default=1.0, metavar="SECONDS",
                   help="minimum pause between requests to one host, across all workers (kept in the "
                        "database, table host_pace; default 1.0)")
    p.add_argument("--log-json", action="store_true", help="log JSON lines instead of key=value text")
    p.add_argument("--metrics-port", type=_port, metavar="PORT",
                   help="serve Prometheus metrics (the queue's depth, oldest job, stalled jobs, workers) on this port")
    p.add_argument("--metrics-addr", default="127.0.0.1", metavar="ADDR",
                   help="address for the metrics server (default 127.0.0.1; 0.0.0.0 in a container)")


def _watches(sub, common) -> None:
    p = add_command(sub, "watches", "watches:cmd_watches",
                    "list the watches of the sources file ([[watches]]) with their hits and the state of their "
                    "deliveries", "news-etl watches --json", [common])
    listing_args(p)

    p = add_command(sub, "watch", "watches:cmd_watch", "print a watch's latest hits, newest first",
                    "news-etl watch oil-ministry --limit 5", [common])
    p.add_argument("name", metavar="NAME", help="the watch's name")
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="how many hits, newest first")
    listing_args(p)


def _queues(value: str) -> str:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKER_QUEUES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown queue {', '.join(unknown) or value!r} "
                                         f"(choose from {', '.join(WORKER_QUEUES)}, comma-separated)")
    return ",".join(names)


def _port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"not a port: {value}")
    return number
