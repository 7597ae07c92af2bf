"""POST a message to a watch's webhook: one attempt, bounded, signed when the watch has a secret.

Why not the product's fetcher (etl/fetch/http.py): it is built for GET of strangers' pages, so it
refuses loopback and private addresses and follows redirects (each one checked). A webhook is the
operator's own choice, and a desk's receiver is often on loopback or the office network, so the
address is allowed as written; the rest of the discipline is kept here: connect and read
timeouts, no redirect followed (a 3xx is a failure naming where it pointed, since following it
could post the body to a place nobody configured), no proxy from the environment, and the
answer's body read no further than ``MAX_ANSWER`` bytes (only its status matters).

The signature: ``X-News-ETL-Signature: sha256=HEX``, HMAC-SHA256 of the exact body bytes with the
secret from the variable ``secret_env`` names. The receiver recomputes it over the raw body and
compares in constant time (README "Watching for news").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import requests
import urllib3.exceptions

from .message import Message, redacted_url

__all__ = ["MAX_ANSWER", "WebhookError", "WebhookOptions", "post_message", "signature"]

MAX_ANSWER = 64 * 1024  # bytes of the receiver's answer read at most (it is not used)


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    user_agent: str = "news-etl/0.1 (watch delivery)"


class WebhookError(Exception):
    """One attempt failed: ``"http://127.0.0.1:8000/…: HTTP 500"``. Every failure is worth a retry
    (bounded by the delivery policy): a receiver that is down, or mistaken, may be fixed."""


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``body`` keyed with ``secret`` (UTF-8)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def headers_of(message: Message, body: bytes, secret: str | None, options: WebhookOptions) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": options.user_agent,
               "Idempotency-Key": message.key, "X-News-ETL-Watch": message.watch,
               "X-News-ETL-Event": "digest" if message.digest else "match"}
    if secret is not None:
        headers["X-News-ETL-Signature"] = signature(secret, body)
    return headers


def post_message(session: requests.Session, url: str, message: Message, secret: str | None,
                 options: WebhookOptions = WebhookOptions()) -> int:
    """POST the message; returns the 2xx status, raises WebhookError otherwise."""
    body = message.body()
    shown = redacted_url(url)
    try:
        response = session.post(url, data=body, headers=headers_of(message, body, secret, options),
                                timeout=(options.connect_timeout, options.read_timeout),
                                allow_redirects=False, stream=True)
    except requests.Timeout:
        raise WebhookError(f"{shown}: no answer within {options.connect_timeout:g}+{options.read_timeout:g} s") from None
    except requests.RequestException as exc:
        raise WebhookError(f"{shown}: {_reason(exc)}") from None
    with response:
        try:
            response.raw.read(MAX_ANSWER, decode_content=False)  # drained up to the cap, then dropped
        except (OSError, urllib3.exceptions.HTTPError):  # a slow or broken answer body: the status is known
            pass
    if 300 <= response.status_code < 400:
        where = redacted_url(response.headers.get("Location", "")) if response.headers.get("Location") else "nowhere"
        raise WebhookError(f"{shown}: HTTP {response.status_code} redirect to {where} not followed")
    if not 200 <= response.status_code < 300:
        raise WebhookError(f"{shown}: HTTP {response.status_code}")
    return response.status_code


def _reason(exc: requests.RequestException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect" + (": connection refused" if "refused" in text.lower() else "")
    return type(exc).__name__


def new_session() -> requests.Session:
    """A session for webhooks: no proxy or netrc from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session
