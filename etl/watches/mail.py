"""E-mail a message to a watch's addresses through the SMTP server of the settings (``smtplib``).

The settings come from the environment, read once by the command that delivers
(``smtp_settings``): ``NEWS_ETL_SMTP_HOST`` (no host: no mail), ``NEWS_ETL_SMTP_PORT`` (587),
``NEWS_ETL_SMTP_STARTTLS`` (``true`` unless ``false``/``0``/``no``), ``NEWS_ETL_SMTP_USER``,
``NEWS_ETL_SMTP_PASSWORD``, ``NEWS_ETL_SMTP_FROM``. The password is never shown: not in a repr,
not in a log line, not in an error.

Persian reads right-to-left in common mail clients: the message is ``multipart/alternative``
with a UTF-8 text part (each line opened by a RIGHT-TO-LEFT MARK, so a plain-text client
aligns it right) and an HTML part with ``dir="rtl" lang="fa"``; the subject is RFC 2047 encoded
by the ``email`` package. The Message-ID is the message's key, so every attempt of one message
is the same message to a client that deduplicates.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Mapping, Sequence

from .message import Message

__all__ = ["MailError", "SmtpSettings", "build_email", "send_email", "smtp_settings"]

RLM = "\u200f"


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "news-etl@localhost"
    timeout: float = 30.0


class MailError(Exception):
    """One attempt failed (a retry may help: the server may be back, the settings fixed)."""


def smtp_settings(env: Mapping[str, str]) -> SmtpSettings | None:
    """The SMTP settings from ``env``; None without ``NEWS_ETL_SMTP_HOST``. A bad port is a ConfigError."""
    from ..config import ConfigError
    host = env.get("NEWS_ETL_SMTP_HOST", "").strip()
    if not host:
        return None
    port = env.get("NEWS_ETL_SMTP_PORT", "587").strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"NEWS_ETL_SMTP_PORT: expected a port number, got {port!r}")
    starttls = env.get("NEWS_ETL_SMTP_STARTTLS", "true").strip().lower() not in ("false", "0", "no", "off")
    return SmtpSettings(host=host, port=int(port), starttls=starttls, user=env.get("NEWS_ETL_SMTP_USER") or None,
                        password=env.get("NEWS_ETL_SMTP_PASSWORD") or None,
                        sender=env.get("NEWS_ETL_SMTP_FROM") or "news-etl@localhost")


def build_email(message: Message, sender: str, to: Sequence[str]) -> EmailMessage:
    mail = EmailMessage()
    first = message.hits[0]
    mail["Subject"] = (f"[{message.watch}] {len(message.hits)} خبر تازه" if message.digest
                       else f"[{message.watch}] {first.title}")
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = f"<{message.key}@news-etl>"
    mail["Content-Language"] = "fa"
    mail["X-News-ETL-Watch"] = message.watch
    mail.set_content(_text(message), charset="utf-8")
    mail.add_alternative(_html(message), subtype="html", charset="utf-8")
    return mail


def _text(message: Message) -> str:
    blocks = []
    for hit in message.hits:
        lines = [hit.title, message.snippet(hit), " · ".join(x for x in (hit.source, hit.agency) if x),
                 hit.url or ""]
        blocks.append("\n".join(RLM + line for line in lines if line))
    return "\n\n".join(blocks) + f"\n\n{RLM}news-etl watch: {message.watch} ({message.query})\n"


def _html(message: Message) -> str:
    items = "".join(
        '<div style="margin-bottom:1.2em"><h3 style="margin:0">'
        + (f'<a href="{html.escape(hit.url)}">{html.escape(hit.title)}</a>' if hit.url else html.escape(hit.title))
        + f"</h3><p style=\"margin:.3em 0\">{html.escape(message.snippet(hit))}</p>"
        f'<small>{html.escape(" · ".join(x for x in (hit.source, hit.agency) if x))}</small></div>'
        for hit in message.hits)
    return (f'<!DOCTYPE html><html dir="rtl" lang="fa"><head><meta charset="utf-8"></head>'
            f'<body dir="rtl" style="text-align:right;font-family:Tahoma,sans-serif">{items}'
            f'<p><small>news-etl watch: {html.escape(message.watch)}</small></p></body></html>')


def send_email(settings: SmtpSettings, mail: EmailMessage) -> None:
    """One SMTP session for one message; MailError names the server and why (never the password)."""
    where = f"SMTP {settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"{where}: login as {settings.user!r} refused ({exc.smtp_code})") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"{where}: {type(exc).__name__}: {_first(exc)}") from None
    except (OSError, ssl.SSLError) as exc:
        raise MailError(f"{where}: {exc.strerror or type(exc).__name__}") from None


def _first(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0][:200] if text else ""
