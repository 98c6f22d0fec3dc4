"""Failing safe: with Redis unreachable (refused, stopped or hung) pages keep serving and the
sign-in rate limits still apply, per process, from memory; with the database unreachable every
page, signed in or not, answers quickly with the 503 page."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from marketplace import create_app
from marketplace.extensions import limiter
from tests.conftest import CSRFClient, sign_in
from tests.redis_support import free_port, redis_server

FAST = 1.5  # seconds: a Redis or database outage must not make a request slow


@pytest.fixture(autouse=True)
def _limiter_recovers() -> Iterator[None]:
    """The limiter is one object per process: leave it as found (storage not marked dead)."""
    yield
    limiter._storage_dead = False


def timed(call):  # type: ignore[no-untyped-def]
    began = time.monotonic()
    response = call()
    return response, time.monotonic() - began


def limited_app(app_factory, storage: str) -> Flask:  # type: ignore[no-untyped-def]
    return app_factory(RATELIMIT_STORAGE_URI=storage, LOGIN_RATE_LIMIT_ACCOUNT="2 per minute",
                       LOGIN_RATE_LIMIT_IP="100 per minute")


def attempts(app: Flask, email: str, n: int) -> list[tuple[int, float]]:
    """``n`` failed sign-ins for one account: (status, seconds) each."""
    client = app.test_client()
    found = []
    for _ in range(n):
        response, seconds = timed(lambda: sign_in(client, email, "wrong-password-xyz"))
        found.append((response.status_code, seconds))
    return found


def test_redis_refusing_connections_pages_serve_and_limits_hold(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = limited_app(app_factory, f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        client = app.test_client()
        for path in ("/", "/challenges", "/sign-in"):
            response, seconds = timed(lambda path=path: client.get(path))
            assert response.status_code == 200, path
            assert seconds < FAST, (path, seconds)
        tried = attempts(app, "someone@example.gov.uk", 3)
        assert [status for status, _ in tried] == [200, 200, 429]
        assert max(seconds for _, seconds in tried) < FAST


def test_redis_that_never_answers_costs_a_short_timeout(app_factory) -> None:  # type: ignore[no-untyped-def]
    # A socket that accepts connections (the kernel's backlog) but never replies: a hung Redis.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        app = limited_app(app_factory, f"redis://127.0.0.1:{hung.getsockname()[1]}/0")
        with app.app_context():
            response, seconds = timed(lambda: app.test_client().get("/challenges"))
            assert response.status_code == 200
            assert seconds < FAST, seconds
            tried = attempts(app, "hung@example.gov.uk", 3)
            assert [status for status, _ in tried] == [200, 200, 429]
            assert max(seconds for _, seconds in tried) < FAST


def test_redis_stopped_mid_run_limits_continue_in_memory(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with redis_server(tmp_path / "redis") as server:
        app = limited_app(app_factory, server.url)
        with app.app_context():
            assert [s for s, _ in attempts(app, "first@example.gov.uk", 3)] == [200, 200, 429]
            server.stop()
            # The same account, now counted in this process's memory.
            tried = attempts(app, "second@example.gov.uk", 3)
            assert [status for status, _ in tried] == [200, 200, 429]
            assert max(seconds for _, seconds in tried) < FAST
            response, seconds = timed(lambda: app.test_client().get("/challenges"))
            assert response.status_code == 200 and seconds < FAST


def test_redis_server_is_used_while_it_runs(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The fallback is only for outages: with Redis up the counters live in Redis, shared by
    every process."""
    import redis

    with redis_server(tmp_path / "redis") as server:
        app = limited_app(app_factory, server.url)
        with app.app_context():
            assert [s for s, _ in attempts(app, "shared@example.gov.uk", 3)] == [200, 200, 429]
        keys = redis.Redis.from_url(server.url).keys("*shared@example.gov.uk*")
        assert keys


@pytest.fixture
def unreachable_database_app(session_tmp: Path) -> Flask:
    """An app whose PostgreSQL server refuses connections."""
    app = create_app({
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none",
    })
    app.test_client_class = CSRFClient
    return app


def test_database_down_every_page_is_a_quick_503(unreachable_database_app: Flask) -> None:
    app = unreachable_database_app
    visitor = app.test_client()
    signed_in = app.test_client()
    with signed_in.session_transaction() as session:  # a browser that signed in earlier
        session["_user_id"] = "1"
        session["sid"] = "a-session-token"
    for client, path in ((visitor, "/challenges"), (visitor, "/challenges/1"),
                         (signed_in, "/dashboard"), (signed_in, "/supplier/bids")):
        response, seconds = timed(lambda client=client, path=path: client.get(path))
        assert response.status_code == 503, (path, response.status_code)
        assert "Sorry, the service is unavailable" in response.get_data(as_text=True)
        assert response.headers["Retry-After"] == "30"
        assert seconds < 5, (path, seconds)
    api, _ = timed(lambda: visitor.get("/api/v1/challenges"))
    assert api.status_code == 503
    assert api.mimetype == "application/problem+json" and api.json["status"] == 503
    health = visitor.get("/healthz")
    assert health.status_code == 503 and health.json["status"] == "unhealthy"


def test_database_engine_fails_fast_settings() -> None:
    from marketplace.config import load_config

    config = load_config(Path("/tmp"), {"ENV_NAME": "testing",
                                        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x/y"})
    options = config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["connect_args"]["connect_timeout"] <= 5
    sqlite = load_config(Path("/tmp"), {"ENV_NAME": "testing",
                                        "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"})
    assert sqlite["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert config["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] < 1



def test_a_change_a_constraint_refuses_is_a_409_not_an_outage(app_factory) -> None:  # type: ignore[no-untyped-def]
    """A unique constraint refusing a change no use case expected (two people at once) is a
    clear 409 page or problem, with nothing stored: not a 503 'database down' page."""
    from marketplace.extensions import db
    from marketplace.models import AllowedDomain

    app = app_factory()

    def clash() -> str:
        db.session.add(AllowedDomain(domain="clash.gov.uk"))
        db.session.add(AllowedDomain(domain="clash.gov.uk"))
        db.session.commit()
        return "stored"

    app.add_url_rule("/test-only/clash", "test_only_clash", clash, methods=["GET"])
    client = app.test_client()
    page = client.get("/test-only/clash")
    assert page.status_code == 409
    assert "clashed with another" in page.get_data(as_text=True)
    problem = client.get("/test-only/clash", headers={"Accept": "application/json"})
    assert problem.status_code == 409
    assert problem.mimetype == "application/problem+json"
    with app.app_context():
        assert db.session.query(AllowedDomain).filter_by(domain="clash.gov.uk").count() == 0
