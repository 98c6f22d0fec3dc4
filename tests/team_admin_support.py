"""Helpers shared by the access-rule, audit, team and admin tests."""

from __future__ import annotations

import html
import re
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEvent, OutboxEmail, User
from tests.conftest import TEST_PASSWORD, CSRFClient, sign_in

T = TypeVar("T")


def browser(app: Flask, user: User | None = None, password: str = TEST_PASSWORD) -> CSRFClient:
    """A new browser, signed in through the real form when ``user`` is given."""
    client = CSRFClient(app, app.response_class, use_cookies=True)
    if user is not None:
        response = sign_in(client, user.email, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client


def fresh(model: type[T], ident: Any) -> T:
    """Reload a row from the database, ignoring whatever this session remembers."""
    db.session.expire_all()
    row = db.session.get(model, ident, populate_existing=True)
    assert row is not None, f"{model.__name__} {ident} is gone"
    return row


def outbox(to: str | None = None) -> list[OutboxEmail]:
    db.session.expire_all()
    stmt = select(OutboxEmail).order_by(OutboxEmail.id)
    if to is not None:
        stmt = stmt.where(OutboxEmail.to_address == to)
    return list(db.session.scalars(stmt))


def last_email(to: str) -> OutboxEmail:
    messages = outbox(to)
    assert messages, f"no email was queued for {to}"
    return messages[-1]


def link_in(body: str, path: str) -> str:
    """The path and query of the first absolute link in ``body`` whose path starts with ``path``."""
    for url in re.findall(r"https?://\S+", body):
        parts = urlsplit(url)
        if parts.path.startswith(path):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no link to {path} in:\n{body}")


def token_from(body: str, path: str) -> str:
    return link_in(body, path).rstrip("/").rsplit("/", 1)[-1]


def audit_events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def is_sign_in_redirect(response: Any, next_path: str | None = None) -> bool:
    """True for a redirect to the sign-in page carrying ``next`` (the page asked for)."""
    if response.status_code != 302:
        return False
    parts = urlsplit(response.headers["Location"])
    if parts.path != "/sign-in":
        return False
    nxt = parse_qs(parts.query).get("next")
    if next_path is None:
        return bool(nxt)
    return nxt == [next_path]


def text_of(response: Any) -> str:
    """The page's text with tags and runs of whitespace removed, for message assertions."""
    raw = response.get_data(as_text=True)
    raw = re.sub(r"<script.*?</script>", " ", raw, flags=re.S)
    raw = re.sub(r"<[^>]+>", " ", raw)
    return " ".join(html.unescape(raw).split())
