"""The one error the fetch layer raises: it names the URL, says whether a retry can help, and
what kind of failure it is (``etl.models.FAILURE_KINDS``), so the run record and the due policy
get a typed ``Failure`` instead of text to parse."""

from __future__ import annotations

from ..models import Failure

__all__ = ["FetchError"]


class FetchError(Exception):
    """A URL that could not be fetched; ``transient`` says whether trying again later can help.
    ``kind`` defaults to ``http`` when the server answered with a status, else ``network``;
    ``blocked_by`` names the bot wall's vendor when a wall answered (kind ``blocked``)."""

    def __init__(self, url: str, reason: str, *, transient: bool, status: int | None = None,
                 retry_after: float | None = None, kind: str | None = None, blocked_by: str | None = None) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        self.kind = kind or ("blocked" if blocked_by else "http" if status is not None else "network")
        self.blocked_by = blocked_by

    def __str__(self) -> str:
        kind = "transient" if self.transient else "permanent"
        return f"{self.url}: {self.reason} ({kind})".replace("\n", " ")

    @property
    def failure(self) -> Failure:
        return Failure(self.kind, str(self), self.transient, self.retry_after, self.status, self.blocked_by)
