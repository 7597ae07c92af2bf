"""The read-only web page: ``create_app(engine)`` (Starlette); ``news-etl serve`` runs it."""

from .app import check_schema, create_app
from .auth import TOKEN_ENV, BindError, check_bind, is_loopback

__all__ = ["TOKEN_ENV", "BindError", "check_bind", "check_schema", "create_app", "is_loopback"]
