"""A requests.Session whose GET skips the per-call merging that this client never needs.

``Session.request`` merges the call's settings into the session's (headers, cookies, params, auth,
proxies, hooks) through generic helpers that check each value against typing protocols; for a
304, which is all a warm pass gets, that cost more CPU than sending the request and reading its
answer. ``LeanSession.get`` builds the same PreparedRequest directly: the session's headers with
the call's on top, the session's cookies (kept per host, as before), credentials in the URL, the
session's hooks; then ``Session.send`` as usual, so cookies from the answer are still stored.
With ``trust_env`` or session proxies it is a plain Session (the environment's proxies and netrc
need the full merge).
"""

from __future__ import annotations

import requests

__all__ = ["LeanSession"]


class LeanSession(requests.Session):
    def get(self, url, **kwargs):  # type: ignore[override]
        if self.trust_env or self.proxies or self.auth or self.params or self.cert:
            return super().get(url, **kwargs)
        prepared = self.prepare_get(url, kwargs.pop("headers", None))
        kwargs.setdefault("proxies", {})
        return self.send(prepared, **kwargs)

    def prepare_get(self, url: str, headers: dict[str, str] | None = None) -> requests.PreparedRequest:
        """What ``prepare_request(Request("GET", url, headers))`` gives for this session."""
        prepared = requests.PreparedRequest()
        prepared.prepare(method="GET", url=url, headers={**self.headers, **(headers or {})},
                         cookies=self.cookies, hooks=self.hooks)
        return prepared
