"""The httpx client for calls out of the service (providers, webhooks): it keeps no cookies.

httpx's client stores every ``Set-Cookie`` a server answers and sends it back on the next
request, whoever that request is for. A provider or a webhook receiver could set a cookie on
one user's call and see it come back with another's: a way to link the users of this server
that no API needs (providers and receivers authenticate by key or signature). So the client's
jar is one that is always empty and learns nothing; storing a response's cookies was also ~4 %
of the gateway's CPU per provider call (a ``urllib`` request built to ask the jar).
"""

from __future__ import annotations

import httpx


class _EmptyJar(httpx.Cookies):
    """Cookies that stay empty: nothing is extracted from a response, nothing is added to a
    request (an explicit ``Cookie`` header a caller sets is left alone)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("this client keeps no cookies")


class CookielessClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose cookie jar is always empty (see the module's docstring)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _EMPTY

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("this client keeps no cookies")


_EMPTY = _EmptyJar()
