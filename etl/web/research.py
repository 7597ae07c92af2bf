"""The analysis pages and their JSON twins: /trends, /terms, /outlets, /stories, each beside
/api/... (the same JSON as the CLI's ``--json``) and, for tables, a .csv link (the CLI's
``--csv``). Every handler calls the same etl/analysis/ function as the CLI; no SQL here.
Also the home page: the latest articles and the last 30 days' volume per source.
"""

from __future__ import annotations

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..analysis import periods
from ..analysis.errors import AnalysisError
from ..analysis.outlets import outlets
from ..analysis.stories import stories
from ..analysis.tables import csv_text
from ..analysis.terms import terms
from ..analysis.trends import trends
from ..load.queries import articles_per_day, latest_articles, source_names
from ..load.search import QueryError
from .chart import charts, window
from .data import sources_state
from .params import ParamError
from .present import fa_digits
from .research_params import Research, one_query, research_request
from .trend_chart import chart

LATEST = 20
REFUSED = (ParamError, AnalysisError, QueryError)


class ResearchPages:
    """Handlers over the app's ``Web`` (its engine, clock and templates)."""

    def __init__(self, web):
        self.web = web
        web.env.filters.update(day=day_label, delay=delay_text)

    # --- computing, shared by a page, its JSON and its CSV ---------------------------------

    def _trends(self, conn: Connection, req: Research):
        if not req.queries:
            raise ParamError("q: missing (the words to search for; repeat q for several queries)")
        return trends(conn, list(req.queries), req.filters, req.by, req.calendar)

    def _terms(self, conn: Connection, req: Research):
        return terms(conn, one_query(req), req.filters, req.limit, req.sample)

    def _outlets(self, conn: Connection, req: Research):
        return outlets(conn, one_query(req), req.filters)

    def _stories(self, conn: Connection, req: Research):
        return stories(conn, req.filters, req.limit)

    # --- answers ----------------------------------------------------------------------------

    def page(self, name: str, compute, limit: int = 30, needs_query: bool = True):
        """An HTML page: the form alone without a query, the result with one, a 400 naming a bad field."""
        def handler(request: Request) -> Response:
            params = request.query_params
            with self.web.engine.connect() as conn:
                names = source_names(conn)
                context = {"form": params, "sources": names, "result": None, "error": None, "chart": None,
                           "query_string": request.url.query}
                try:
                    req = research_request(params, limit)
                    context["request"] = req
                    if req.queries or not needs_query:
                        context["result"] = compute(conn, req)
                except REFUSED as exc:
                    context["error"] = str(exc)
                    return self.web.render(f"{name}.html", 400, **context)
            if name == "trends" and context["result"] is not None:
                context["chart"] = chart(context["result"])
            return self.web.render(f"{name}.html", **context)
        return handler

    def json(self, compute, limit: int = 30):
        def handler(request: Request) -> Response:
            try:
                req = research_request(request.query_params, limit)
                with self.web.engine.connect() as conn:
                    return JSONResponse(compute(conn, req).as_json())
            except REFUSED as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return handler

    def csv(self, compute, filename: str, limit: int = 30):
        def handler(request: Request) -> Response:
            try:
                req = research_request(request.query_params, limit)
                with self.web.engine.connect() as conn:
                    found = compute(conn, req)
            except REFUSED as exc:
                return Response(f"error: {exc}\n", status_code=400, media_type="text/plain; charset=utf-8")
            return Response(csv_text(found.columns(), found.rows()), media_type="text/csv; charset=utf-8",
                            headers={"content-disposition": f'attachment; filename="{filename}"'})
        return handler

    def home(self, request: Request) -> Response:
        """The latest articles and each source's articles per Tehran day over the last 30 days."""
        with self.web.engine.connect() as conn:
            latest = latest_articles(conn, LATEST)
            names = [r["name"] for r in sources_state(conn, self.web.now())]
            days, start, end = window(self.web.now())
            volume = charts(articles_per_day(conn, start, end), days, names)
        return self.web.render("home.html", latest=latest, charts=[c for c in volume if c.total], form={})


def day_label(day, calendar: str = "gregorian") -> str:
    """A Tehran day in the chosen calendar, ASCII digits as the CLI prints it: ``1404-10-18``."""
    return periods.label(day, "day", calendar) if day else "—"


def delay_text(span) -> str:
    """``timedelta(minutes=82)`` -> ``"۱ ساعت و ۲۲ دقیقه"``."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{fa_digits(n)} {unit}" for n, unit in ((days, "روز"), (hours, "ساعت"), (mins, "دقیقه")) if n]
    return " و ".join(parts) or "کمتر از یک دقیقه"


def routes(web) -> list[Route]:
    pages = ResearchPages(web)
    return [
        Route("/", pages.home),
        Route("/trends", pages.page("trends", pages._trends)),
        Route("/trends.csv", pages.csv(pages._trends, "trends.csv")),
        Route("/api/trends", pages.json(pages._trends)),
        Route("/terms", pages.page("terms", pages._terms)),
        Route("/terms.csv", pages.csv(pages._terms, "terms.csv")),
        Route("/api/terms", pages.json(pages._terms)),
        Route("/outlets", pages.page("outlets", pages._outlets)),
        Route("/outlets.csv", pages.csv(pages._outlets, "outlets.csv")),
        Route("/api/outlets", pages.json(pages._outlets)),
        Route("/stories", pages.page("stories", pages._stories, limit=20, needs_query=False)),
        Route("/api/stories", pages.json(pages._stories, limit=20)),
    ]
