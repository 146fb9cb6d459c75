"""The web panel as a browser uses it: log in, read the CSRF token, preview, confirm."""

from __future__ import annotations

import re

from multisms.db import session_scope
from multisms.models import Batch

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


class Panel:
    """A logged-in browser, as far as the server can tell: cookies plus the form's CSRF token."""

    def __init__(self, client, headers: dict | None = None):
        self.client = client
        self.headers = headers or {}
        self._token = None

    def login(self, password: str = PASSWORD, headers: dict | None = None):
        headers = {**self.headers, **(headers or {})}
        page = self.client.get("/panel/login", headers=headers)
        response = self.client.post("/panel/login", data={"password": password, "csrf_token": token_in(page)},
                                    headers=headers)
        self._token = None
        return response

    def token(self) -> str:
        if self._token is None:
            self._token = token_in(self.client.get("/panel/"))
        return self._token

    def post(self, path: str, **form):
        return self.client.post(path, data={"csrf_token": self.token(), **form})

    def preview(self, numbers: str, body: str, **form):
        return self.post("/panel/preview", numbers=numbers, body=body, **form)

    def confirm(self, numbers: str, body: str, **form):
        """Preview, then press Confirm on what the preview rendered (its hidden fields and nonce)."""
        page = self.preview(numbers, body, **form)
        assert page.status_code == 200 and NONCE.search(page.text), page.text
        return self.post("/panel/confirm", nonce=NONCE.search(page.text).group(1), numbers=numbers, body=body,
                         **form)

    def cookie(self) -> str:
        return self.client.get_cookie("multisms_panel").value


def token_in(response) -> str:
    return TOKEN.search(response.text).group(1)


def stored(settings) -> list[Batch]:
    with session_scope(settings.database_url) as session:
        return session.query(Batch).order_by(Batch.id).all()
