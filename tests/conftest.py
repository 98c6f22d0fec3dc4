"""Shared fixtures: a migrated database per test session, a clean one per test, an app and
a test client that sends CSRF tokens like a browser does."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import event, text

os.environ.setdefault("MARKETPLACE_ENV", "testing")

from marketplace import create_app  # noqa: E402
from marketplace.extensions import db  # noqa: E402
from marketplace.models import Base  # noqa: E402
from tests.dbutil import fresh_database, using_postgres  # noqa: E402

TEST_PASSWORD = "correct-horse-battery-staple-9"


class CSRFClient(FlaskClient):
    """A test client that behaves like a browser against a real server.

    Each request runs in its own application context, as under a WSGI server (the ``app``
    fixture keeps a context pushed for factories; without this, Flask-Login's per-request
    cache in ``g`` would carry a signed-in user from one request, or client, to the next).
    Form posts carry a valid CSRF token, as a real browser's do.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.get("csrf_token")
            if not raw:
                raw = os.urandom(20).hex()
                sess["csrf_token"] = raw
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def post(self, *args, csrf: bool = True, **kwargs):  # type: ignore[no-untyped-def]
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": "testing"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("marketplace")
    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(path / "instance")
    return path


@pytest.fixture(scope="session")
def migrated_db(session_tmp: Path) -> Iterator[str]:
    """A database migrated to head once per run: a template file (SQLite) or a database (PG)."""
    with fresh_database(session_tmp, "suite") as url:
        _migrate(url, session_tmp)
        yield url


def _clean(url: str, tmp: Path, template: str) -> str:
    if using_postgres():
        return url
    target = tmp / "test.sqlite3"
    shutil.copyfile(template.removeprefix("sqlite:///"), target)
    return f"sqlite:///{target}"


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app of the run: each test builds a new app, and
    compiling the GOV.UK templates again for each one would dominate the run time."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CACHE = _MemoryBytecodeCache()


def _sqlite_no_sync(dbapi_connection: Any, _record: Any) -> None:
    # A throwaway test database needs no fsync on every commit.
    dbapi_connection.execute("PRAGMA synchronous = OFF")


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def app_factory(migrated_db: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build an app on a clean database; accepts configuration overrides."""
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        url = _clean(migrated_db, tmp_path, migrated_db)
        config = {"SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": "testing",
                  "BASE_URL": "http://marketplace.test"}
        config.update(overrides)
        application = create_app(config)
        application.test_client_class = CSRFClient
        application.jinja_env.bytecode_cache = _TEMPLATE_CACHE
        if not using_postgres():
            with application.app_context():
                event.listen(db.engine, "connect", _sqlite_no_sync)
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.session.remove()
            if using_postgres():
                _truncate_all()
            db.engine.dispose()


@pytest.fixture
def app(app_factory) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    application = app_factory()
    with application.app_context():
        yield application


@pytest.fixture
def client(app: Flask) -> CSRFClient:
    return app.test_client()  # type: ignore[return-value]


def csrf_from(html: str) -> str:
    """The CSRF token a rendered form carries."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = TEST_PASSWORD, **kwargs):  # type: ignore[no-untyped-def]
    """Sign in through the real form."""
    return client.post("/sign-in", data={"email": email, "password": password}, **kwargs)


@pytest.fixture
def login(client: CSRFClient):  # type: ignore[no-untyped-def]
    def do(user, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
        response = sign_in(client, user.email, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return client

    return do
