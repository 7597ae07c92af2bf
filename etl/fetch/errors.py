"""The one error the fetch layer raises: it names the URL and says whether a retry can help."""

from __future__ import annotations

__all__ = ["FetchError"]


class FetchError(Exception):
    """A URL that could not be fetched; ``transient`` says whether trying again later can help."""

    def __init__(self, url: str, reason: str, *, transient: bool, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason
        self.transient = transient
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        kind = "transient" if self.transient else "permanent"
        return f"{self.url}: {self.reason} ({kind})".replace("\n", " ")
