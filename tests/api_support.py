"""Helpers for API tests: real tokens made through the service, and a client that sends them."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from marketplace.models import User
from marketplace.services import tokens


def token_for(user: User, scope: str = "write", name: str = "test", days: int = 30) -> str:
    """A new personal access token's secret for ``user``."""
    return tokens.create_token(user, name, scope, days).secret


class ApiClient:
    """A test client that sends a bearer token (or none) and JSON bodies."""

    def __init__(self, app: Flask, secret: str | None = None) -> None:
        self.client: FlaskClient = app.test_client()
        self.secret = secret

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        headers.update(extra or {})
        return headers

    def open(self, method: str, url: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Any:
        """Any request; ``json`` defaults to ``{}`` for writes without ``data``."""
        if method in {"POST", "PATCH", "PUT"} and "data" not in kwargs and kwargs.get(
                "json") is None:
            kwargs["json"] = {}
        # open(), not post(): the project's test client adds a CSRF token to form posts.
        return self.client.open(url, method=method, headers=self._headers(headers), **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open("GET", url, **kwargs)

    def post(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        return self.open("POST", url, json=json, **kwargs)

    def patch(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        return self.open("PATCH", url, json=json, **kwargs)

    def put(self, url: str, json: Any = None, **kwargs: Any) -> Any:
        return self.open("PUT", url, json=json, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.open("DELETE", url, **kwargs)


def api(app: Flask, user: User | None = None, scope: str = "write") -> ApiClient:
    """An API client acting as ``user`` with a fresh token (anonymous without one)."""
    return ApiClient(app, token_for(user, scope) if user is not None else None)
