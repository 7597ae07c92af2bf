"""The read-only web application: HTML pages and their JSON twins over the library's read side.

``create_app(engine, now=...)`` builds it; ``news-etl serve`` runs it with uvicorn. Handlers are
plain functions (Starlette runs them in its thread pool, beside the synchronous engine); each
opens one read-only connection, calls etl/web/data.py, and renders a template or JSON.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.responses import JSONResponse as StarletteJSON
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..load.migrate import SchemaError, current_version
from ..load.queries import source_names
from ..load.runs import list_runs
from ..load.schema import SCHEMA_VERSION
from ..load.search import QueryError
from ..clean.urls import readable_url
from ..errors import first_line
from ..redact import redact
from . import api, present, research
from .auth import TokenGate
from .data import article_view, search_page, sources_page, watch_feed, watches_page
from .openapi import spec
from .params import ParamError, search_request

HERE = Path(__file__).parent
Clock = Callable[[], datetime]
MAX_RUNS = 200
# No script runs on these pages, ever: a <script> smuggled into a title is inert even if some
# template forgot to escape it. Styles and images only from this server.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def check_schema(engine: Engine) -> None:
    """The web page never writes, so it cannot upgrade the schema: refuse a database it does not know."""
    with engine.connect() as conn:
        version = current_version(conn)
    if version != SCHEMA_VERSION:
        found = "no news-etl schema" if version is None else f"schema version {version}"
        raise SchemaError(f"database has {found}, this news-etl expects version {SCHEMA_VERSION}: "
                          "run `news-etl db upgrade` (with a role that may write) first")


def _masked(value):
    """Every value a template prints, with URL passwords masked (a feed's URL, an error naming it)."""
    if isinstance(value, Markup):
        return Markup(redact(str(value)))  # redact adds no markup: still safe
    return redact(value) if isinstance(value, str) else value


class JSONResponse(StarletteJSON):
    """The API's JSON, with URL passwords masked as on the pages."""

    def render(self, content) -> bytes:
        return redact(super().render(content).decode("utf-8")).encode("utf-8")


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, finalize=_masked)
    env.filters.update(fa=present.fa_digits, when=present.tehran_time, iso=present.iso,
                       marked=present.marked, jalali=present.jalali_date)
    env.filters["readable"] = readable_url  # an article's address decoded, as `news-etl show` prints it
    env.globals["time_basis"] = present.time_basis
    return env


class Web:
    """The handlers, holding what they share: the engine, the clock and the templates."""

    def __init__(self, engine: Engine, now: Clock):
        readonly = {"postgresql_readonly": True} if engine.dialect.name == "postgresql" else {}
        self.engine = engine.execution_options(**readonly)
        self.now = now
        self.env = templates()

    def render(self, name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def search(self, request: Request) -> Response:
        """The search page; without a query, just the form. A bad field is a 400 naming it."""
        with self.engine.connect() as conn:
            names = source_names(conn)
            try:
                req = search_request(request.query_params)
                page = search_page(conn, req) if req.query else None
            except (ParamError, QueryError) as exc:
                return self.render("search.html", 400, form=request.query_params, page=None, sources=names,
                                   error=str(exc))
        return self.render("search.html", form=request.query_params, page=page, sources=names, error=None,
                           next_url=_page_url(request, page, +1), prev_url=_page_url(request, page, -1))

    def article(self, request: Request) -> Response:
        with self.engine.connect() as conn:
            article = article_view(conn, request.path_params["id"])
        if article is None:
            return self.render("error.html", 404, message=f"no article with id {request.path_params['id']}")
        return self.render("article.html", article=article)

    def sources(self, request: Request) -> Response:
        with self.engine.connect() as conn:
            page = sources_page(conn, self.now())
        return self.render("sources.html", page=page)

    def watches(self, request: Request) -> Response:
        with self.engine.connect() as conn:
            return self.render("watches.html", watches=watches_page(conn))

    def watch_atom(self, request: Request) -> Response:
        """A watch's newest hits as an Atom feed any feed reader can subscribe to."""
        name = request.path_params["name"]
        with self.engine.connect() as conn:
            feed = watch_feed(conn, name, str(request.url.remove_query_params("token")), self.now())
        if feed is None:
            return Response(f"no watch named {name!r}\n", status_code=404, media_type="text/plain")
        return Response(feed, media_type="application/atom+xml; charset=utf-8")

    def api_search(self, request: Request) -> Response:
        try:
            req = search_request(request.query_params)
            if not req.query:
                raise ParamError("q: missing (the words to search for)")
            with self.engine.connect() as conn:
                return JSONResponse(api.search_json(search_page(conn, req)))
        except (ParamError, QueryError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    def api_article(self, request: Request) -> Response:
        with self.engine.connect() as conn:
            article = article_view(conn, request.path_params["id"])
        if article is None:
            return JSONResponse({"error": f"no article with id {request.path_params['id']}"}, status_code=404)
        return JSONResponse(api.article_json(article))

    def api_sources(self, request: Request) -> Response:
        with self.engine.connect() as conn:
            return JSONResponse(api.sources_json(sources_page(conn, self.now())))

    def api_runs(self, request: Request) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit") or 20)
            if not 1 <= limit <= MAX_RUNS:
                raise ValueError
        except ValueError:
            return JSONResponse({"error": f"limit: must be a number from 1 to {MAX_RUNS}, got {params.get('limit')!r}"},
                                status_code=400)
        with self.engine.connect() as conn:
            return JSONResponse(api.runs_json(list_runs(conn, limit, params.get("source") or None)))


def _page_url(request: Request, page, step: int) -> str | None:
    """The same search one page further (``step=+1``) or back, when there is such a page."""
    if page is None or (step > 0 and not page.has_more) or page.request.page + step < 1:
        return None
    url = request.url.include_query_params(page=page.request.page + step)
    return f"{url.path}?{url.query}"


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every response."""

    def __init__(self, app):
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)
        await self.app(scope, receive, send_with_headers)


def _database_error(web: Web):
    """A database that fails mid-request is a 503 saying so (a retry may help), never a bare 500."""
    async def handler(request: Request, exc: SQLAlchemyError) -> Response:
        message = f"database unavailable (try again later): {first_line(exc)}"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=503)
        return web.render("error.html", 503, message=message)
    return handler


def create_app(engine: Engine, *, token: str | None = None, now: Clock = utcnow) -> Starlette:
    """The ASGI app; with ``token``, every request must present it (see etl/web/auth.py)."""
    web = Web(engine, now)
    routes = [
        *research.routes(web), Route("/search", web.search),
        Route("/articles/{id:int}", web.article), Route("/sources", web.sources),
        Route("/watches", web.watches), Route("/watches/{name}.atom", web.watch_atom),
        Route("/api/search", web.api_search), Route("/api/articles/{id:int}", web.api_article),
        Route("/api/sources", web.api_sources), Route("/api/runs", web.api_runs),
        Route("/api/openapi.json", lambda request: JSONResponse(spec())),
        Route("/favicon.ico", lambda request: RedirectResponse("/static/favicon.svg", 301)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    # Security headers outermost, so a token refusal carries them too.
    middleware = [Middleware(SecurityHeaders)] + ([Middleware(TokenGate, token=token)] if token else [])
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={SQLAlchemyError: _database_error(web)})
