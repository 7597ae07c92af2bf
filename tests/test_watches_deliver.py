"""Delivering the watches' hits (etl/tasks/deliver.py) to a real local webhook receiver and a real
local SMTP server (aiosmtpd): at least once, one Idempotency-Key per (watch, article), retries
with backoff, failed for good after the last attempt, digests, signatures, no redirect followed."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import logging
from datetime import timedelta

from sqlalchemy import text

from conftest import NOW, free_port, invoke, scalar
from etl.load.batch import load_batch
from etl.models import RunReport
from etl.tasks.context import Context
from etl.tasks.deliver import DeliveryPolicy, Senders, deliver
from etl.watches.mail import SmtpSettings
from etl.watches.model import Watch
from etl.watches.webhook import WebhookOptions
from httpserver import endless_body, hang
from test_watches_match import article, source_id, watch_on

FAST = DeliveryPolicy(attempts=3, backoff_base=10.0, webhook=WebhookOptions(connect_timeout=2, read_timeout=2))


class Clock:
    def __init__(self):
        self.at = NOW

    def __call__(self):
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def setup(engine, watch: Watch, n: int = 2, clock: Clock | None = None):
    sid = source_id(engine)
    watch_on(engine, watch)
    report = RunReport(kind="fetch", source="irna")
    load_batch(engine, sid, report, [article(i, f"نفت {i}", f"قیمت نفت روز {i}") for i in range(1, n + 1)], [],
               NOW, alerts=True)
    assert report.hits == n
    clock = clock or Clock()
    return Context(engine, clock), clock


def statuses(engine):
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text("SELECT channel, status, attempts FROM watch_deliveries")))


def test_a_webhook_failing_twice_gets_each_hit_once_more_with_one_key_per_article(engine, http_server):
    http_server.route("/hook", [(500, {}, b"no"), (500, {}, b"no"), (200, {}, b"ok")])
    watch = Watch("oil", "نفت", webhook=http_server.url("/hook?token=s3cret"), secret_env="OIL_SECRET")
    context, clock = setup(engine, watch, n=1)
    senders = Senders(env={"OIL_SECRET": "k3y"})
    assert deliver(context, [watch], senders, FAST).retried == 1
    assert deliver(context, [watch], senders, FAST).sent == 0  # backing off: not due yet
    clock.advance(10)
    assert deliver(context, [watch], senders, FAST).retried == 1
    clock.advance(20)
    assert deliver(context, [watch], senders, FAST).sent == 1
    posts = [r for r in http_server.requests if r.method == "POST"]
    assert len(posts) == 3 and len({p.headers["idempotency-key"] for p in posts}) == 1
    body = posts[-1].body
    sent = json.loads(body)
    assert sent["watch"] == "oil" and sent["event"] == "match" and sent["idempotency_key"] == posts[0].headers["idempotency-key"]
    assert {"id", "url", "title", "agency", "source", "published_at", "snippet"} <= set(sent["article"])
    assert sent["article"]["source"] == "irna" and "نفت" in sent["article"]["snippet"]
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(posts[-1].headers["x-news-etl-signature"], expected)
    assert statuses(engine) == [("webhook", "sent", 2)]
    assert deliver(context, [watch], senders, FAST).sent == 0  # nothing twice


def test_a_webhook_that_never_answers_ends_failed_and_status_says_so(engine, http_server, tmp_path, db_url):
    http_server.route("/hook", hang(http_server, 10))
    watch = Watch("slow", "نفت", webhook=http_server.url("/hook"))
    policy = DeliveryPolicy(attempts=2, backoff_base=1.0, webhook=WebhookOptions(connect_timeout=1, read_timeout=0.3))
    context, clock = setup(engine, watch, n=1)
    assert deliver(context, [watch], Senders(), policy).retried == 1
    clock.advance(5)
    report = deliver(context, [watch], Senders(), policy)
    assert report.failed == 1 and "no answer within" in report.errors[0]
    assert statuses(engine) == [("webhook", "failed", 2)]
    config = tmp_path / "sources.toml"
    config.write_text(f'[[watches]]\nname = "slow"\nquery = "نفت"\nwebhook = "{http_server.url("/hook")}"\n',
                      encoding="utf-8")
    done = invoke("--database-url", db_url, "--config", str(config), "status", "--json")
    health = json.loads(done.stdout)
    assert done.returncode == 1 and health["watches"][0]["watch"] == "slow"
    assert health["watches"][0]["failed"] == 1 and "no answer" in health["watches"][0]["last_error"]
    plain = invoke("--database-url", db_url, "--config", str(config), "status")
    assert "watch slow: webhook: 1 delivery(ies) failed" in plain.stdout


def test_a_redirect_is_not_followed_and_the_answer_is_read_no_further_than_the_cap(engine, http_server):
    http_server.route("/moved", 302, {"Location": http_server.url("/elsewhere")}, b"")
    http_server.route("/big", 200, {"Content-Type": "text/plain"}, endless_body(http_server, limit=32 * 1024 * 1024))
    moved, big = Watch("moved", "نفت", webhook=http_server.url("/moved")), Watch("big", "نفت", webhook=http_server.url("/big"))
    context, _ = setup(engine, moved, n=1)
    watch_on(engine, moved, big)
    report = deliver(context, [moved], Senders(), FAST)
    assert report.retried == 1 and "302 redirect" in report.errors[0] and "not followed" in report.errors[0]
    assert "/elsewhere" not in http_server.paths()
    sid = source_id(engine)
    load_batch(engine, sid, RunReport(kind="fetch", source="irna"), [article(9, "نفت ۹", "نفت")], [], NOW, alerts=True)
    assert deliver(context, [big], Senders(), FAST).sent == 1  # its one hit (it came after); the answer dropped early
    assert http_server.bytes_streamed < 32 * 1024 * 1024


def test_a_digest_groups_the_hits_of_its_period_in_one_message(engine, http_server):
    http_server.route("/hook", [(503, {}, b""), (200, {}, b"ok")])
    watch = Watch("busy", "نفت", webhook=http_server.url("/hook"), digest=600)
    context, clock = setup(engine, watch, n=3)
    assert deliver(context, [watch], Senders(), FAST).sent == 0  # the oldest hit has not waited 10 minutes
    assert not http_server.requests
    clock.advance(601)
    assert deliver(context, [watch], Senders(), FAST).retried == 1
    clock.advance(10)
    assert deliver(context, [watch], Senders(), FAST).sent == 1
    posts = [r for r in http_server.requests if r.method == "POST"]
    bodies = [json.loads(p.body) for p in posts]
    assert [b["event"] for b in bodies] == ["digest", "digest"] and len(bodies[1]["articles"]) == 3
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert statuses(engine) == [("webhook", "sent", 1)] * 3


def test_a_missing_signing_secret_is_never_sent_unsigned(engine, http_server):
    http_server.route("/hook", 200, {}, b"ok")
    watch = Watch("signed", "نفت", webhook=http_server.url("/hook"), secret_env="NOT_SET_ANYWHERE")
    context, _ = setup(engine, watch, n=1)
    report = deliver(context, [watch], Senders(env={}), FAST)
    assert report.retried == 1 and "$NOT_SET_ANYWHERE is not set" in report.errors[0]
    assert not http_server.requests



def test_an_email_per_hit_reads_right_to_left_in_utf8_and_no_secret_is_logged(engine, smtp_server, caplog):
    controller, received = smtp_server
    watch = Watch("mail", "نفت", email=("desk@example.org", "night@example.org"))
    context, _ = setup(engine, watch, n=2)
    smtp = SmtpSettings(host="127.0.0.1", port=controller.port, starttls=False, user=None, password="hunter2",
                        sender="news-etl@example.org")
    caplog.set_level(logging.DEBUG)
    assert deliver(context, [watch], Senders(smtp=smtp), FAST).sent == 2
    assert len(received.messages) == 2
    rcpts, raw = received.messages[0]
    assert rcpts == ["desk@example.org", "night@example.org"]
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"].startswith("[mail] نفت")
    html = mail.get_body(("html",)).get_content()
    plain = mail.get_body(("plain",)).get_content()
    assert 'dir="rtl"' in html and 'lang="fa"' in html and "قیمت نفت" in html
    assert plain.startswith("\u200f") and "قیمت نفت" in plain
    assert mail.get_body(("html",)).get_content_charset() == "utf-8"
    assert "hunter2" not in caplog.text and "hunter2" not in repr(smtp)


def test_mail_without_an_smtp_server_fails_saying_which_settings(engine):
    watch = Watch("mail", "نفت", email=("desk@example.org",))
    context, _ = setup(engine, watch, n=1)
    report = deliver(context, [watch], Senders(smtp=None), FAST)
    assert report.retried == 1 and "NEWS_ETL_SMTP_HOST" in report.errors[0]


def test_an_error_never_shows_the_webhook_path_or_query(engine):
    port = free_port()  # nothing listens there
    watch = Watch("closed", "نفت", webhook=f"http://127.0.0.1:{port}/hooks/T0/XyZsecret?token=abc")
    context, _ = setup(engine, watch, n=1)
    report = deliver(context, [watch], Senders(), FAST)
    assert report.retried == 1
    stored = scalar(engine, "SELECT last_error FROM watch_deliveries")
    assert "XyZsecret" not in stored and "token" not in stored and f"127.0.0.1:{port}/…" in stored
