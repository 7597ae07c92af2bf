"""One helper for the promise that every error is one line (in the CLI and in the database)."""

from __future__ import annotations

__all__ = ["first_line", "one_line"]


def one_line(text: str | None) -> str | None:
    """Join a multi-line message into one line, so a report, a log line or ``ingest_errors.reason``
    stays one line: ``"invalid JSON: parse error\\n  {x\\n   ^\\n" -> "invalid JSON: parse error {x ^"``.

    Only line breaks and the blanks around them go; other characters (ZWNJ among them) are kept.
    """
    if text is None:
        return None
    lines = [line.strip() for line in text.splitlines()]
    return " ".join(line for line in lines if line)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (a database driver's own message when SQLAlchemy
    wraps one): ``OperationalError('connection refused\\nIs the server running?') -> "connection refused"``."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
