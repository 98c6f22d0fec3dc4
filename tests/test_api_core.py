"""What every API call shares: tokens only (never cookies), scopes, refusals as problem+json,
rate limits per token and conditional GETs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from marketplace.extensions import db
from marketplace.models import ApiToken, Role, User, utcnow
from marketplace.services import tokens
from tests.api_support import ApiClient, api, token_for
from tests.factories import council_user, supplier_user
from tests.team_admin_support import browser


def _problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["detail"]
    return body


def test_me_with_a_token(app: Flask) -> None:
    user = council_user(Role.CHALLENGE_OWNER)
    response = api(app, user, "read").get("/api/v1/me")
    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == user.email
    assert body["roles"] == [Role.CHALLENGE_OWNER.value]
    assert body["organisation"]["kind"] == "council"
    assert body["token"]["scope"] == "read"
    assert "Set-Cookie" not in response.headers


def test_no_token_is_401_with_a_challenge(app: Flask) -> None:
    response = ApiClient(app).get("/api/v1/me")
    body = _problem(response, 401)
    assert "personal access token" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer mkt_not-a-real-token", "Bearer nonsense",
                                    "Basic dXNlcjpwYXNz", "Bearer"])
def test_unknown_or_malformed_tokens_are_401(app: Flask, header: str) -> None:
    response = app.test_client().get("/api/v1/me", headers={"Authorization": header})
    _problem(response, 401)
    # A bad token is refused even where no token is needed: the caller must know it is bad.
    public = app.test_client().get("/api/v1/openapi.json", headers={"Authorization": header})
    if header in {"Bearer mkt_not-a-real-token", "Bearer nonsense"}:
        _problem(public, 401)


def test_revoked_expired_and_suspended_tokens_are_refused(app: Flask) -> None:
    user = council_user(Role.CHALLENGE_OWNER)
    revoked = tokens.create_token(user, "revoked", "read", 30)
    tokens.revoke_token(user, revoked.token.id)
    assert "revoked" in _problem(ApiClient(app, revoked.secret).get("/api/v1/me"), 401)[
        "detail"]

    expired = tokens.create_token(user, "expired", "read", 30)
    db.session.execute(update(ApiToken).where(ApiToken.id == expired.token.id).values(
        created_at=utcnow() - timedelta(days=40), expires_at=utcnow() - timedelta(days=10)))
    db.session.commit()
    assert "expired" in _problem(ApiClient(app, expired.secret).get("/api/v1/me"), 401)[
        "detail"]

    live = token_for(user, "read")
    assert ApiClient(app, live).get("/api/v1/me").status_code == 200
    db.session.execute(update(User).where(User.id == user.id).values(
        suspended_at=utcnow(), suspended_reason="test"))
    db.session.commit()
    assert "suspended" in _problem(ApiClient(app, live).get("/api/v1/me"), 401)["detail"]


def test_the_session_cookie_is_ignored_by_the_api(app: Flask) -> None:
    user = council_user(Role.CHALLENGE_OWNER)
    signed_in = browser(app, user)
    assert signed_in.get("/dashboard").status_code == 200
    _problem(signed_in.get("/api/v1/me", headers={"Accept": "application/json"}), 401)


def test_a_read_token_cannot_write_and_a_write_token_needs_no_csrf(app: Flask) -> None:
    owner = council_user(Role.CHALLENGE_OWNER)
    read = api(app, owner, "read")
    body = _problem(read.post("/api/v1/challenges", json={"title": "Gritting routes"}), 403)
    assert "only read" in body["detail"]
    assert "insufficient_scope" in read.post("/api/v1/challenges", json={}).headers[
        "WWW-Authenticate"]
    # No CSRF token is sent: the bearer token is the credential.
    response = api(app, owner, "write").post("/api/v1/challenges",
                                             json={"title": "Gritting routes"})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_wrong_kind_of_organisation_is_403(app: Flask) -> None:
    bidder = supplier_user(Role.BIDDER)
    _problem(api(app, bidder).post("/api/v1/challenges", json={"title": "Gritting"}), 403)


def test_last_use_is_recorded(app: Flask) -> None:
    user = council_user(Role.EVALUATOR)
    made = tokens.create_token(user, "ci", "read", 30)
    assert made.token.last_used_at is None
    ApiClient(app, made.secret).get("/api/v1/me")
    db.session.expire_all()
    assert db.session.get(ApiToken, made.token.id).last_used_at is not None


def test_only_the_hash_is_stored(app: Flask) -> None:
    made = tokens.create_token(council_user(Role.EVALUATOR), "ci", "read", 30)
    stored = db.session.get(ApiToken, made.token.id)
    assert made.secret.startswith("mkt_") and len(made.secret) > 40
    assert stored.token_hash != made.secret and made.secret not in stored.token_hash
    assert made.secret.startswith(stored.prefix)


def test_unknown_api_paths_and_methods_are_problems(app: Flask) -> None:
    client = ApiClient(app)
    _problem(client.get("/api/v1/no-such-thing"), 404)
    _problem(client.delete("/api/v1/openapi.json"), 405)


def test_bodies_must_be_json_objects(app: Flask) -> None:
    owner = api(app, council_user(Role.CHALLENGE_OWNER))
    _problem(owner.post("/api/v1/challenges", data="title=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    _problem(owner.post("/api/v1/challenges", json=["a list"]), 400)


def test_conditional_get_with_etag(app: Flask) -> None:
    client = ApiClient(app)
    first = client.get("/api/v1/openapi.json")
    assert first.status_code == 200 and first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/api/v1/openapi.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_rate_limit_is_per_token(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(API_RATE_LIMIT="3 per minute")
    with app.app_context():
        user = council_user(Role.CHALLENGE_OWNER)
        first, second = api(app, user, "read"), api(app, user, "read")
        for _ in range(3):
            assert first.get("/api/v1/me").status_code == 200
        limited = first.get("/api/v1/me")
        _problem(limited, 429)
        assert limited.headers.get("Retry-After")
        # Another token of the same person has its own allowance.
        assert second.get("/api/v1/me").status_code == 200


def test_per_token_limits_are_kept_in_redis_when_configured(app_factory) -> None:  # type: ignore[no-untyped-def]
    """With several worker processes the counters must be shared: Redis holds them, keyed by
    the token (its hash, never the secret)."""
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379 ({exc})")
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
                      API_RATE_LIMIT="2 per minute")
    with app.app_context():
        made = tokens.create_token(council_user(Role.EVALUATOR), "redis", "read", 30)
        key = made.token.token_hash[:32]
        try:
            client = ApiClient(app, made.secret)
            assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
            stored = [k.decode() for k in connection.scan_iter(match=f"*{key}*")]
            assert stored, "the token's counter is not in Redis"
            assert not any(made.secret in k for k in stored)
        finally:
            for stale in connection.scan_iter(match=f"*{key}*"):
                connection.delete(stale)
            connection.close()


def test_leaving_the_organisation_or_being_suspended_revokes_tokens(app: Flask) -> None:
    from marketplace.services import admin as admin_service
    from marketplace.services import organisations

    org_admin = council_user(Role.ORG_ADMIN)
    leaver = council_user(Role.PROCUREMENT_OFFICER, organisation=org_admin.organisation)
    suspended = council_user(Role.EVALUATOR, organisation=org_admin.organisation)
    leaver_token, suspended_token = token_for(leaver), token_for(suspended)

    organisations.remove_member(org_admin, leaver.id)
    assert "revoked" in _problem(ApiClient(app, leaver_token).get("/api/v1/me"), 401)["detail"]

    from tests.factories import admin_user

    admin_service.suspend_user(admin_user(), suspended.id, "Left the council")
    _problem(ApiClient(app, suspended_token).get("/api/v1/me"), 401)
    stored = db.session.scalars(select(ApiToken).where(ApiToken.user_id == suspended.id)).all()
    assert stored and all(t.revoked_at is not None for t in stored)
