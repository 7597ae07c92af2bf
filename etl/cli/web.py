"""``news-etl serve``: the read-only web page and JSON API (etl/web), run by uvicorn.

It never writes to the database (not even the schema upgrade other commands do on start), so
it can run under a read-only role; binding beyond loopback requires a token.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..load.db import describe, make_engine
from .common import PROG, UsageError
from .db import settings_of

def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # imported here: the other commands do not need the web stack loaded

    from ..web import TOKEN_ENV, BindError, check_bind, check_schema, create_app
    from ..web.server import ServeLimits, default_max_connections, quiet_tokens, uvicorn_options
    token = args.token or os.environ.get(TOKEN_ENV) or None
    try:
        check_bind(args.host, token)
    except BindError as exc:
        raise UsageError(str(exc)) from None
    settings = settings_of(args)
    if settings.database_is_default:
        print(f"{PROG}: serving the embedded SQLite database ./news.db "
              "(set DATABASE_URL or --database-url for PostgreSQL)", file=sys.stderr)
    engine = make_engine(settings.database_url)
    check_schema(engine)
    print(f"{PROG}: serving {describe(engine)} on http://{_url_host(args.host)}:{args.port}/"
          + (" (token required)" if token else ""), file=sys.stderr)
    limits = ServeLimits(args.max_connections or default_max_connections(), args.per_client, args.head_timeout)
    config = uvicorn.Config(create_app(engine, token=token), host=args.host, port=args.port,
                            log_level="info", server_header=False, proxy_headers=False, **uvicorn_options(limits))
    quiet_tokens()  # after Config: it sets up uvicorn's loggers
    uvicorn.Server(config).run()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
