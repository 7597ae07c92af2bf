"""Deliver the watches' hits: a task of its own, run by both executors (``news-etl run``'s local
executor every few seconds and right after a pass that recorded hits; the queue's workers
likewise), idempotent and safe to run in several processes at once.

Each pending delivery belongs to a message: a hit alone, or for a ``digest`` watch all the hits
that waited one digest period. A message is leased (``claim_message``) before it is sent and its
outcome recorded after, each in its own short transaction, so:

- at least once: a task killed between the lease and the record leaves the lease to expire, and
  the message is sent again, with the same Idempotency-Key (the receiver deduplicates);
- a failed attempt is retried with exponential backoff (``DeliveryPolicy``), and after
  ``attempts`` failures the deliveries are marked failed, which ``news-etl status`` reports;
- two tasks never send one message at once: the lease is taken by an UPDATE that re-checks it.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping, Sequence

from ..load.watches import claim_message, due_messages, group_pending, hit_rows, record_attempt, watch_ids
from ..watches.mail import MailError, SmtpSettings, build_email, send_email
from ..watches.message import Message, hit_key
from ..watches.model import Watch
from ..watches.webhook import WebhookError, WebhookOptions, new_session, post_message
from .context import Context

__all__ = ["DeliveryPolicy", "DeliveryReport", "Senders", "deliver"]

log = logging.getLogger("etl.watches")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    attempts: int = 8  # failed attempts before a delivery is marked failed
    backoff_base: float = 2.0  # seconds before the first retry; doubled each time
    backoff_cap: float = 900.0
    lease: float = 30.0  # seconds a claimed message is held (longer than one attempt can take: 5 + 15 s)
    per_run: int = 200  # messages sent by one run at most per channel of a watch (the next run goes on)
    webhook: WebhookOptions = WebhookOptions()

    def retry_at(self, now: datetime, failures: int) -> datetime | None:
        """When to try again after ``failures`` failed attempts; None once they are all spent."""
        if failures >= self.attempts:
            return None
        return now + timedelta(seconds=min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1)))


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, one line each

    def line(self) -> str:
        return f"sent {self.sent}, retried {self.retried}, failed {self.failed}"


@dataclass
class Senders:
    """How messages leave: the webhook poster and the mailer (tests pass their own)."""

    smtp: SmtpSettings | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    post: Callable[[str, Message, str | None], object] | None = None
    mail: Callable[[SmtpSettings, object], None] = send_email

    def __post_init__(self) -> None:
        self._session = None

    def webhook(self, watch: Watch, message: Message, options: WebhookOptions) -> None:
        secret = None
        if watch.secret_env:
            secret = self.env.get(watch.secret_env)
            if not secret:  # never sent unsigned when a signature was asked for
                raise WebhookError(f"the signing secret ${watch.secret_env} is not set in this process")
        if self.post is not None:
            self.post(watch.webhook, message, secret)
            return
        if self._session is None:
            self._session = new_session()
        post_message(self._session, watch.webhook, message, secret, options)

    def email(self, watch: Watch, message: Message) -> None:
        if self.smtp is None:
            raise MailError("no SMTP server: set NEWS_ETL_SMTP_HOST (and _PORT, _STARTTLS, _USER, _PASSWORD, _FROM)")
        self.mail(self.smtp, build_email(message, self.smtp.sender, watch.email))


def deliver(context: Context, watches: Sequence[Watch], senders: Senders,
            policy: DeliveryPolicy = DeliveryPolicy()) -> DeliveryReport:
    """Send every due message of ``watches`` (the sources file's); never raises for a failed
    delivery (the report and the deliveries' rows say what failed)."""
    report = DeliveryReport()
    with context.engine.connect() as conn:
        ids = watch_ids(conn)
    for watch in watches:
        for channel in watch.channels:
            if watch.name in ids and not context.should_stop():
                _channel(context, watch, ids[watch.name], channel, senders, policy, report)
    return report


def _channel(context: Context, watch: Watch, watch_id: int, channel: str, senders: Senders,
             policy: DeliveryPolicy, report: DeliveryReport) -> None:
    engine = context.engine
    with engine.begin() as conn:
        group_pending(conn, watch_id, channel, context.now(), watch.digest, str(uuid.uuid4()))
    with engine.connect() as conn:
        messages = due_messages(conn, watch_id, channel, context.now(), policy.per_run)
    for label in messages:
        if context.should_stop():
            return
        now = context.now()
        with engine.begin() as conn:
            claim = claim_message(conn, watch_id, channel, label, now, now + timedelta(seconds=policy.lease))
        if claim is None:
            continue  # another delivery task has it
        with engine.connect() as conn:
            hits = hit_rows(conn, claim.hit_ids)
        error = _send(watch, channel, label, hits, senders, policy) if hits else None
        _record(context, watch, channel, claim, error, policy, report)


def _send(watch: Watch, channel: str, label: str, hits, senders: Senders, policy: DeliveryPolicy) -> str | None:
    """One attempt; the one-line reason it failed, or None."""
    digest = not label.startswith("hit-")
    message = Message(watch.name, watch.query, label if digest else hit_key(watch.name, hits[0].article_id),
                      hits, digest)
    try:
        if channel == "webhook":
            senders.webhook(watch, message, policy.webhook)
        else:
            senders.email(watch, message)
    except (WebhookError, MailError) as exc:
        return str(exc)
    return None


def _record(context: Context, watch: Watch, channel: str, claim, error: str | None, policy: DeliveryPolicy,
            report: DeliveryReport) -> None:
    now = context.now()
    retry_at = policy.retry_at(now, claim.attempts + 1) if error else None
    with context.engine.begin() as conn:
        record_attempt(conn, claim.delivery_ids, now, error, retry_at)
    fields = {"watch": watch.name, "channel": channel, "hits": len(claim.hit_ids), "attempt": claim.attempts + 1}
    if error is None:
        report.sent += 1
        log.info("delivered", extra={"fields": fields})
        return
    if len(report.errors) < 20:
        report.errors.append(f"{watch.name} {channel}: {error}")
    if retry_at is None:
        report.failed += 1
        log.error("delivery failed for good", extra={"fields": {**fields, "error": error}})
    else:
        report.retried += 1
        log.warning("delivery failed, will retry", extra={"fields": {**fields, "error": error,
                                                                      "retry_at": retry_at.isoformat()}})
