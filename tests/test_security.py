"""Security behaviour: sign-in rate limits, open redirects, CSRF, headers and cookies, output
escaping, configuration safety and the health check."""

from __future__ import annotations

import json
import re
import stat
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text

from marketplace import create_app
from marketplace.config import ConfigError, load_config
from marketplace.extensions import db
from marketplace.models import AuditEvent, Organisation, OutboxEmail, User, UserSession
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import admin_user, council_user, supplier_user

EVIL = "evil.example"




def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def count(model: object, *where: object) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# Rate limiting ----------------------------------------------------------------------------


TOO_MANY = "You have tried too many times. Wait a few minutes before you try again"


def test_failed_sign_ins_for_one_account_are_limited(app_factory):
    app = app_factory(LOGIN_RATE_LIMIT_ACCOUNT="3 per minute",
                      LOGIN_RATE_LIMIT_IP="100 per minute")
    with app.app_context():
        user = council_user("challenge_owner")
        client = app.test_client()
        for _ in range(3):
            assert sign_in(client, user.email, "wrong-password-xyz").status_code == 200

        blocked = sign_in(client, user.email, "wrong-password-xyz")
        assert blocked.status_code == 429
        text = page_text(blocked)
        assert "Too many attempts" in text and TOO_MANY in text
        assert 'href="/password/forgot"' in text
        assert blocked.headers["Content-Type"].startswith("text/html")
        assert int(blocked.headers["Retry-After"]) > 0

        # The right password does not get through while the account is locked...
        assert sign_in(app.test_client(), user.email).status_code == 429
        # ...whatever the spelling of the address, and from any browser.
        assert sign_in(app.test_client(), f"  {user.email.upper()} ").status_code == 429
        assert count(UserSession) == 0

        # Another account from the same address is not affected.
        other = council_user("challenge_owner")
        assert sign_in(client, other.email).status_code == 302


def test_an_app_with_limits_off_does_not_switch_them_off_for_the_next(app_factory):
    app_factory(RATELIMIT_ENABLED=False)  # say, a benchmark's app in the same process
    app = app_factory(LOGIN_RATE_LIMIT_ACCOUNT="1 per minute",
                      LOGIN_RATE_LIMIT_IP="100 per minute")
    with app.app_context():
        user = council_user("challenge_owner")
        client = app.test_client()
        assert sign_in(client, user.email, "wrong-password-xyz").status_code == 200
        assert sign_in(client, user.email, "wrong-password-xyz").status_code == 429


def test_default_account_limit(app, client):
    from limits import parse

    allowed = parse(app.config["LOGIN_RATE_LIMIT_ACCOUNT"]).amount
    assert 3 <= allowed <= 10
    user = council_user("challenge_owner")
    codes = [sign_in(client, user.email, "wrong-password-xyz").status_code
             for _ in range(allowed + 1)]
    assert codes == [200] * allowed + [429]


def test_rate_limited_json_clients_get_problem_json(app_factory):
    app = app_factory(LOGIN_RATE_LIMIT_ACCOUNT="1 per minute",
                      LOGIN_RATE_LIMIT_IP="100 per minute")
    with app.app_context():
        client = app.test_client()
        sign_in(client, "someone@example.gov.uk", "wrong-password-xyz")
        blocked = sign_in(client, "someone@example.gov.uk", "wrong-password-xyz",
                          headers={"Accept": "application/json"})
        assert blocked.status_code == 429
        assert blocked.mimetype == "application/problem+json"
        body = json.loads(blocked.get_data())
        assert body["status"] == 429
        assert body["title"] == "Too many attempts"
        assert TOO_MANY in body["detail"]


def test_successful_sign_ins_do_not_count_against_the_account(app_factory):
    app = app_factory(LOGIN_RATE_LIMIT_ACCOUNT="2 per minute",
                      LOGIN_RATE_LIMIT_IP="100 per minute")
    with app.app_context():
        user = council_user("challenge_owner")
        client = app.test_client()
        for _ in range(4):
            assert sign_in(client, user.email).status_code == 302
            assert client.post("/sign-out").status_code == 302
        assert sign_in(client, user.email, "wrong-password-xyz").status_code == 200
        assert sign_in(client, user.email).status_code == 302


def test_unknown_accounts_are_limited_too(app_factory):
    """Probing an address that has no account looks the same as probing a real one."""
    app = app_factory(LOGIN_RATE_LIMIT_ACCOUNT="2 per minute",
                      LOGIN_RATE_LIMIT_IP="100 per minute")
    with app.app_context():
        client = app.test_client()
        codes = [sign_in(client, "ghost@example.gov.uk", "wrong-password-xyz").status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]


def test_sign_ins_from_one_address_are_limited_across_accounts(app_factory):
    app = app_factory(LOGIN_RATE_LIMIT_IP="3 per minute", LOGIN_RATE_LIMIT_ACCOUNT="2 per minute")
    with app.app_context():
        users = [council_user("challenge_owner") for _ in range(6)]
        client = app.test_client()
        for user in users[:3]:
            assert sign_in(client, user.email, "wrong-password-xyz").status_code == 200

        blocked = sign_in(client, users[3].email, "wrong-password-xyz")
        assert blocked.status_code == 429
        assert TOO_MANY in page_text(blocked)
        # Successful sign-ins count against the address as well.
        assert sign_in(client, users[4].email).status_code == 429
        # A forged X-Forwarded-For does not buy new attempts (no trusted proxy configured).
        spoofed = sign_in(client, users[4].email,
                          headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"})
        assert spoofed.status_code == 429
        # Another client address is not blocked. (users[4] is not used here: its refused
        # attempts were answered with 429, which counts against the account.)
        elsewhere = sign_in(app.test_client(), users[5].email,
                            environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert elsewhere.status_code == 302
        # Only sign-in posts are limited: pages still load.
        assert client.get("/sign-in").status_code == 200


def test_registration_posts_are_limited(app_factory):
    app = app_factory(SENSITIVE_RATE_LIMIT="2 per minute")
    with app.app_context():
        client = app.test_client()
        data = {"full_name": "A", "email": "x@example.com", "password": "short",
                "password_confirm": "short", "organisation_choice": "new",
                "organisation_name": "X Ltd"}
        codes = [client.post("/register/supplier", data=data).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert client.get("/register/supplier").status_code == 200


@pytest.fixture
def redis_db15():  # type: ignore[no-untyped-def]
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379 ({exc})")
    yield connection
    connection.close()


def test_rate_limits_work_with_real_redis_storage(app_factory, redis_db15):
    marker = uuid.uuid4().hex[:12]
    # Unique client address and accounts keep this run's counters apart from any other.
    ip = f"10.{int(marker[:2], 16)}.{int(marker[2:4], 16)}.{int(marker[4:6], 16)}"
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
                      LOGIN_RATE_LIMIT_ACCOUNT="2 per minute",
                      LOGIN_RATE_LIMIT_IP="3 per minute")
    try:
        with app.app_context():
            client = app.test_client()
            env = {"REMOTE_ADDR": ip}
            victim = f"victim-{marker}@example.gov.uk"
            codes = [sign_in(client, victim, "wrong-password-xyz", environ_base=env).status_code
                     for _ in range(3)]
            assert codes == [200, 200, 429]
            # The refused attempt stopped at the account limit, so the address has used 2 of
            # its 3 attempts.
            assert sign_in(client, f"other-{marker}@example.gov.uk", "wrong-password-xyz",
                           environ_base=env).status_code == 200
            assert sign_in(client, f"third-{marker}@example.gov.uk", "wrong-password-xyz",
                           environ_base=env).status_code == 429

            keys = [k.decode() for k in redis_db15.scan_iter(match=f"*{marker}*")]
            keys += [k.decode() for k in redis_db15.scan_iter(match=f"*{ip}*")]
            assert any(victim in k for k in keys), "account counter not stored in Redis"
            assert any(ip in k for k in keys), "address counter not stored in Redis"
    finally:
        for pattern in (f"*{marker}*", f"*{ip}/*"):
            for key in redis_db15.scan_iter(match=pattern):
                redis_db15.delete(key)


# Open redirects ---------------------------------------------------------------------------


def assert_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location, location
    assert not parts.scheme and not parts.netloc, location
    assert not any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in location), location
    assert EVIL not in (parts.netloc or ""), location


MALICIOUS_NEXT = [
    f"//{EVIL}",
    f"///{EVIL}",
    f"/\\{EVIL}",
    f"\\\\{EVIL}",
    f"\\/{EVIL}",
    f"\t//{EVIL}",
    f"/\t/{EVIL}",
    f" //{EVIL}",
    f"https://{EVIL}",
    f"http:/{EVIL}",
    f"https:{EVIL}",
    f"HTTPS://{EVIL}/dashboard",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    f"{EVIL}",
    f"%2F%2F{EVIL}",
    f"//{EVIL}@marketplace.test",
    f"/\x00/{EVIL}",
    f"/\r\nLocation: https://{EVIL}",
]


@pytest.mark.parametrize("target", MALICIOUS_NEXT)
def test_sign_in_never_redirects_off_site(client, target):
    user = council_user("challenge_owner")
    response = sign_in(client, user.email, query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


@pytest.mark.parametrize(
    "raw_query",
    [f"next=%2F%2F{EVIL}", f"next=/%2F{EVIL}", f"next=%5C%5C{EVIL}", f"next=/%5C{EVIL}",
     f"next=%09//{EVIL}", f"next=/%09/{EVIL}", f"next=https%3A%2F%2F{EVIL}",
     f"next=/%2F%2F{EVIL}", f"next=%2F%252F{EVIL}", f"next=/%252F%252F{EVIL}",
     f"next=%E3%80%82//{EVIL}"],
)
def test_encoded_next_values_stay_on_site(client, raw_query):
    user = council_user("challenge_owner")
    response = sign_in(client, user.email, query_string=raw_query)
    assert response.status_code == 302
    assert_on_site(response.headers["Location"])


def test_next_in_the_form_body_is_checked_too(client):
    user = council_user("challenge_owner")
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD,
                                             "next": f"//{EVIL}"})
    assert response.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("target", ["/admin", "/account", "/account/password?x=1#part",
                                    "/organisation"])
def test_local_next_is_honoured(client, target):
    user = admin_user()
    response = sign_in(client, user.email, query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_protected_page_round_trip(client):
    user = council_user("challenge_owner")
    bounce = client.get("/account?tab=sessions")
    assert bounce.status_code == 302
    sign_in_url = bounce.headers["Location"]
    assert sign_in_url.startswith("/sign-in?next=")
    form = client.get(sign_in_url)
    assert sign_in_url == "/sign-in?next=/account?tab%3Dsessions"
    assert f'action="{sign_in_url}"' in page_text(form)  # the form keeps the target
    response = client.post(sign_in_url, data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/account?tab=sessions"


def test_signed_in_visit_to_sign_in_page_checks_next(client, login):
    login(council_user("challenge_owner"))
    assert client.get(f"/sign-in?next=//{EVIL}").headers["Location"] == "/dashboard"
    assert client.get("/sign-in?next=/account").headers["Location"] == "/account"


def test_sign_in_form_drops_an_unsafe_next(client):
    page = page_text(client.get("/sign-in", query_string={"next": f"https://{EVIL}"}))
    assert EVIL not in page


# CSRF -------------------------------------------------------------------------------------


CSRF_MESSAGE = "Your form expired or was sent from another site"


def test_sign_in_without_csrf_token_is_refused(app, client):
    user = council_user("challenge_owner")
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD},
                           csrf=False)
    assert response.status_code == 400
    text = page_text(response)
    assert CSRF_MESSAGE in text and "reload the page" in text
    assert count(UserSession) == 0
    assert client.get("/dashboard").status_code == 302


def test_registration_without_csrf_token_creates_nothing(client):
    data = {"full_name": "Ada Lovelace", "email": "ada@analytical.example.com",
            "password": TEST_PASSWORD, "password_confirm": TEST_PASSWORD,
            "organisation_choice": "new", "organisation_name": "Analytical Engines Ltd",
            "organisation": "0"}
    response = client.post("/register/supplier", data=data, csrf=False)
    assert response.status_code == 400
    assert CSRF_MESSAGE in page_text(response)
    for model in (User, Organisation, OutboxEmail, AuditEvent):
        assert count(model) == 0, model


def test_csrf_token_of_another_session_is_refused(app, client):
    victim = app.test_client()
    victims_token = victim.csrf_token()
    user = council_user("challenge_owner")
    response = client.post("/sign-in", csrf=False, data={
        "email": user.email, "password": TEST_PASSWORD, "csrf_token": victims_token})
    assert response.status_code == 400
    response = client.post("/sign-in", csrf=False, data={
        "email": user.email, "password": TEST_PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert count(UserSession) == 0


def test_sign_out_needs_a_csrf_token(client, login):
    login(council_user("challenge_owner"))
    response = client.post("/sign-out", csrf=False)
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 200  # still signed in
    assert count(UserSession, UserSession.revoked_at.is_not(None)) == 0


def test_csrf_failure_as_problem_json(client):
    response = client.post("/sign-in", data={"email": "a@b.gov.uk", "password": "x"},
                           csrf=False, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert CSRF_MESSAGE in json.loads(response.get_data())["detail"]


# Headers, cookies and escaping ------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def test_security_headers_on_pages(client, login):
    first = client.get("/sign-in")
    second = client.get("/sign-in")
    for response in (first, second):
        headers = response.headers
        csp = csp_directives(headers["Content-Security-Policy"])
        assert csp["default-src"] == ["'self'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers  # only in production

    nonces = []
    for response in (first, second):
        script_src = csp_directives(response.headers["Content-Security-Policy"])["script-src"]
        assert "'self'" in script_src
        nonce = [s for s in script_src if s.startswith("'nonce-")]
        assert len(nonce) == 1
        value = nonce[0].removeprefix("'nonce-").rstrip("'")
        assert len(value) >= 16
        assert f'nonce="{value}"' in page_text(response)  # inline scripts carry it
        nonces.append(value)
    assert nonces[0] != nonces[1]  # a fresh nonce for every response

    login(council_user("challenge_owner"))
    dashboard = client.get("/dashboard")
    assert dashboard.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in dashboard.headers["Content-Security-Policy"]


def test_error_pages_carry_the_headers(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_static_files_may_be_cached(client):
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_flags(client):
    response = client.get("/sign-in")
    cookies = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith("marketplace_session=")]
    assert cookies, "the sign-in page sets the session cookie (it holds the CSRF secret)"
    flags = [f.strip().lower() for f in cookies[0].split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/" in flags


def test_session_cookie_after_sign_in_is_short_lived_and_flagged(client):
    user = council_user("challenge_owner")
    response = sign_in(client, user.email)
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("marketplace_session="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered
    assert "expires=" in lowered  # permanent, bounded by PERMANENT_SESSION_LIFETIME
    assert not any(c.lower().startswith("remember_token") for c in
                   response.headers.getlist("Set-Cookie"))


def test_production_cookies_are_secure(tmp_path, monkeypatch):
    for name in ("SESSION_COOKIE_SECURE", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(tmp_path, {"ENV_NAME": "production", "SECRET_KEY": "k" * 40})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["PREFERRED_URL_SCHEME"] == "https"


def verified_user_from_registration(client, **fields: str) -> None:  # type: ignore[no-untyped-def]
    data = {"full_name": "Ada Lovelace", "email": "ada@analytical.example.com",
            "password": TEST_PASSWORD, "password_confirm": TEST_PASSWORD,
            "organisation_choice": "new", "organisation_name": "Analytical Engines Ltd",
            "organisation": "0", **fields}
    response = client.post("/register/supplier", data=data)
    assert response.status_code == 302, page_text(response)[:3000]
    db.session.expire_all()
    message = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id.desc())).first()
    path = re.search(r"http://marketplace\.test(/verify-email/\S+)", message.body_text).group(1)
    assert client.get(path).status_code == 200
    assert sign_in(client, data["email"]).status_code == 302


def test_user_text_is_escaped(client):
    verified_user_from_registration(
        client, full_name="<script>alert(1)</script>",
        organisation_name='Evil <img src=x onerror=alert(1)> "Ltd"')
    for path in ("/dashboard", "/account", "/organisation"):
        response = client.get(path)
        assert response.status_code == 200, path
        text = page_text(response)
        assert "<script>alert(1)</script>" not in text, path
        assert "<img src=x" not in text, path
    dashboard = page_text(client.get("/dashboard"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dashboard
    assert "&lt;img src=x onerror=alert(1)&gt;" in dashboard


def test_user_text_in_error_summary_is_escaped(client):
    response = client.post("/register/supplier", data={
        "full_name": "<b>bold</b>", "email": "<script>@x", "password": "short",
        "password_confirm": "short", "organisation_choice": "new",
        "organisation_name": "<i>x</i>"})
    text = page_text(response)
    assert "<b>bold</b>" not in text and "<script>@x" not in text and "<i>x</i>" not in text


# Configuration ----------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """No secrets or service URLs from the surrounding environment; a private instance dir."""
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI",
                 "SESSION_COOKIE_SECURE", "FORCE_HTTPS", "MAIL_SERVER"):
        monkeypatch.delenv(name, raising=False)
    instance = tmp_path / "instance"
    monkeypatch.setenv("MARKETPLACE_INSTANCE_PATH", str(instance))
    return instance


def test_production_refuses_to_start_without_secret_key(clean_env, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY must be set outside development"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not (clean_env / "secret_key").exists()


def test_production_is_the_default_profile(clean_env, monkeypatch):
    monkeypatch.delenv("MARKETPLACE_ENV", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.mark.parametrize("key", ["short", "x" * 31])
def test_production_refuses_a_short_secret_key(clean_env, monkeypatch, key):
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="at least 32 characters"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_config(clean_env, {"ENV_NAME": "production", "SECRET_KEY": key})


def test_production_accepts_a_long_secret_key(clean_env, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    config = load_config(clean_env)
    assert config["ENV_NAME"] == "production" and config["SECRET_KEY"] == "s" * 32
    assert not config.get("TESTING")


def test_unknown_profile_is_refused(clean_env, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_ENV", "staging")
    with pytest.raises(ConfigError, match="development, testing or production"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_development_writes_a_private_random_key(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETPLACE_ENV", "development")
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key_file = clean_env / "secret_key"
    assert key_file.exists()
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert first.secret_key == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    again = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert again.secret_key == key  # kept across restarts

    elsewhere = tmp_path / "other-instance"
    monkeypatch.setenv("MARKETPLACE_INSTANCE_PATH", str(elsewhere))
    other = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert other.secret_key != key  # each installation gets its own
    assert Path(elsewhere / "secret_key").read_text().strip() == other.secret_key


def test_development_uses_an_explicit_key_when_given(clean_env, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_ENV", "development")
    monkeypatch.setenv("SECRET_KEY", "an-explicit-development-key-of-some-length")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.secret_key == "an-explicit-development-key-of-some-length"
    assert not (clean_env / "secret_key").exists()


# Health check -----------------------------------------------------------------------------


def alembic_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from marketplace.config import PROJECT_ROOT

    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return head


def test_healthz_reports_database_and_migration(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data())
    assert body["status"] == "ok" and body["database"] == "ok"
    head = alembic_head()
    assert body["migration"] == {"current": head, "head": head, "up_to_date": True}


def test_healthz_is_unhealthy_when_migrations_are_behind(client):
    current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.session.execute(text("UPDATE alembic_version SET version_num = 'oldrevision'"))
    db.session.commit()
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        body = json.loads(response.get_data())
        assert body["status"] == "unhealthy"
        assert body["migration"]["current"] == "oldrevision"
        assert body["migration"]["up_to_date"] is False
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
        db.session.commit()


def test_healthz_is_not_rate_limited(app_factory):
    app = app_factory()
    with app.app_context():
        client = app.test_client()
        assert all(client.get("/healthz").status_code == 200 for _ in range(40))


def test_supplier_cannot_reach_admin(client, login):
    login(supplier_user("org_admin"))
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_an_unmapped_domain_refusal_is_its_status_not_a_500(app_factory):
    """A Conflict or ValidationFailed that no view mapped still reaches the person as its own
    status and message (page or problem+json), never a 500."""
    from marketplace.services.errors import Conflict, ValidationFailed

    application = app_factory()

    def conflicted():  # type: ignore[no-untyped-def]
        raise Conflict("The award has already been decided")

    def invalid():  # type: ignore[no-untyped-def]
        raise ValidationFailed("Enter a reason", field="reason")

    application.add_url_rule("/test-conflict", "test_conflict", conflicted)
    application.add_url_rule("/test-invalid", "test_invalid", invalid)
    client = application.test_client()
    page = client.get("/test-conflict")
    assert page.status_code == 409
    assert "The award has already been decided" in page.get_data(as_text=True)
    problem = client.get("/test-invalid", headers={"Accept": "application/json"})
    assert problem.status_code == 422
    assert problem.mimetype == "application/problem+json"
    assert json.loads(problem.get_data())["detail"] == "Enter a reason"
