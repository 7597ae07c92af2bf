"""Commands that load data: backfill (here, or queued for the workers) and fetch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Config, Source
from ..display import ProgressLine, shown, to_json
from ..errors import one_line
from ..models import RunReport
from ..tasks.backfill import Backfill, run_backfill, with_pattern
from ..tasks.context import Context
from .common import EXIT_FAILED, EXIT_OK, PROG, UsageError, http_settings, quiet, utcnow
from .db import open_db, settings_of


def cmd_backfill(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    if not any(p.exists() for p in paths):
        raise UsageError(f"no such file or directory: {', '.join(map(str, paths))}")
    if args.queue:
        return _queue_backfill(args, paths)
    # Missing paths among existing ones are not fatal: the run records each as a failed item
    # (named in the report and in `errors --run`) and loads the rest, exit 1.
    engine, config = open_db(args)
    source = config.source(args.source)
    in_config = source is not None
    if source is None:  # an ad-hoc source (it still reads attributions with the file's [agencies])
        source = Source(name=args.source, kind="files", path=str(next(p for p in paths if p.exists())))
    quiet_progress = args.json or args.no_progress or quiet(args)
    progress = ProgressLine(enabled=False if quiet_progress else None)
    job = Backfill(source=with_pattern(source, args.pattern), paths=paths, in_config=in_config,
                   batch_size=args.batch_size, cleaners=args.cleaners, reclean=args.reclean, alerts=args.alert)
    try:
        report = run_backfill(Context(engine, utcnow, agencies=config.agencies), job, progress)
    finally:
        progress.close()
    _print_report(args, report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _queue_backfill(args: argparse.Namespace, paths: list[Path]) -> int:
    """Defer the shards and return; the workers load them (each shard is one backfill run)."""
    from ..executors.queue import conninfo_of, defer_shards, ensure_queue_schema, make_app
    from ..tasks.backfill import shards_of
    settings = settings_of(args)
    try:
        conninfo = conninfo_of(settings.database_url)
    except ValueError as exc:
        raise UsageError(f"--queue: {exc}; load here without --queue") from None
    engine, _ = open_db(args)
    ensure_queue_schema(engine)
    engine.dispose()
    app = make_app(conninfo, None)
    with app.open():
        shards = shards_of(paths, args.files_per_shard, args.shard_size, args.pattern)
        count = defer_shards(app, args.source, shards, args.pattern, args.batch_size, alert=args.alert)
    print(shown(f"{PROG}: deferred {count} shard(s) of {args.source} to the queue; `{PROG} runs --source "
                f"{args.source}` shows their progress"))
    return EXIT_OK


def _print_report(args: argparse.Namespace, report: RunReport) -> None:
    if args.json:
        print(to_json(_one_line_report(report)))
        return
    if not quiet(args):
        _explain(report)
    print(report.line())


def _one_line_report(report: RunReport) -> dict:
    data = report.as_dict()
    data["error"] = one_line(data["error"])
    for error in data["errors"]:
        error["reason"] = one_line(error["reason"])
    return data


def _explain(report: RunReport) -> None:
    """Each failure and each skipped file by name, on stderr; the counts go to stdout."""
    for error in report.errors:
        print(shown(f"{PROG}: failed: {error.location}: {one_line(error.reason)}"), file=sys.stderr)
    if report.failed > len(report.errors):
        print(f"{PROG}: ... {report.failed - len(report.errors)} more; see `{PROG} errors --run {report.run_id}`",
              file=sys.stderr)
    for skipped in report.skipped_files:
        print(shown(f"{PROG}: skipped: {skipped.location}: {skipped.reason}"), file=sys.stderr)
    if report.skipped > len(report.skipped_files):
        print(f"{PROG}: skipped {report.skipped - len(report.skipped_files)} more file(s) that are not article files",
              file=sys.stderr)
    if report.error:
        print(shown(f"{PROG}: error: run {report.run_id} stopped: {one_line(report.error)}"), file=sys.stderr)


def cmd_fetch(args: argparse.Namespace) -> int:
    engine, config = open_db(args)
    feeds = _chosen_feeds(config, args.names)
    # Imported here: the fetch path brings the crawl stack (trafilatura, lxml: 0.6 s), which a
    # backfill never uses.
    from ..executors.once import run_once
    from ..fetch.http import HttpClient

    with HttpClient(http_settings()) as client:
        reports = run_once(Context(engine, utcnow, client, config.agencies), feeds, settings_of(args).concurrency)
    if args.json:
        print(to_json({"sources": [_one_line_report(r) for r in reports], "total": _total(reports).as_dict()}))
    else:
        for report in reports:
            if not quiet(args):
                _explain(report)
            failed = f"  [failed: {one_line(report.error)}]" if report.error else ""
            print(shown(f"{report.source}: {report.line()}{failed}"))
        if len(reports) > 1:
            print(f"total: {_total(reports).line()}")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def _chosen_feeds(config: Config, names: list[str]) -> list[Source]:
    feeds = {s.name: s for s in config.sources if s.kind == "feed"}
    others = {s.name: s for s in config.sources if s.kind != "feed"}
    for name in names:
        if name in others:
            raise UsageError(f"{name!r} is a {others[name].kind} source, not a feed: load it with "
                             f"`{PROG} backfill {others[name].path} --source {name}` or let `{PROG} run` watch it")
        if name not in feeds:
            raise UsageError(f"no feed source named {name!r} in the sources file")
    chosen = [feeds[n] for n in names] if names else [s for s in feeds.values() if s.enabled]
    if not chosen:
        raise UsageError("no enabled feed sources in the sources file")
    return chosen


def _total(reports: list[RunReport]) -> RunReport:
    total = RunReport(kind="fetch", source="*")
    for report in reports:
        total.add(report)
        total.failure = report.failure or total.failure
    return total
