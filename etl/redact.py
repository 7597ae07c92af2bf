"""Secrets out of everything shown: the password of a URL and access tokens in its query.

One function for every display edge: the CLI's tables, lines and JSON, the service's log lines,
the web page and its API, uvicorn's access log, error messages about a database URL. What is
stored and used stays as configured (a feed at ``https://user:PW@host/rss`` is still fetched
with its credentials); only what is shown changes. Pure, no imports beyond ``re``: the lightest
commands use it.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

# scheme://user:password@ -- the user stays (it names the account), the password goes. Stops at
# white space, so a URL inside a sentence is found and nothing past it is taken for its password.
_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@\s:]*:)[^/?#@\s]*@")
# Query parameters that are credentials by name (not ``key``: article URLs use it for ids).
_TOKEN = re.compile(r"([?&;](?:token|access_token|api_key|apikey|auth|password|secret)=)[^&#;\s\"'<>]+",
                    re.IGNORECASE)


def redact(text: str) -> str:
    """``"https://u:PW@h/feed?token=T&page=2: HTTP 503"`` -> ``"https://u:***@h/feed?token=***&page=2: HTTP 503"``."""
    if "://" not in text and "=" not in text:
        return text
    return _TOKEN.sub(r"\1***", _USERINFO.sub(r"\1***@", text))
