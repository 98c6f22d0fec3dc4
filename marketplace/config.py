"""Configuration read from environment variables.

``MARKETPLACE_ENV`` selects the profile: ``development`` (the embedded default used by
``make run``), ``testing`` or ``production`` (the default, which refuses to start without a
``SECRET_KEY``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

DEFAULT_COUNCIL_DOMAINS = "gov.uk,gov.scot,gov.wales,nhs.uk,nhs.scot,nhs.wales,hscni.net"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a usable configuration."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _standstill_days(value: str | None) -> int:
    """Working days of standstill after an award decision: at least the Procurement Act 2023's
    eight."""
    try:
        days = 8 if value is None or not value.strip() else int(value)
    except ValueError:
        days = 0
    if days < 8:
        raise ConfigError("STANDSTILL_WORKING_DAYS must be a whole number of at least 8 (the "
                          f"Procurement Act 2023 minimum), not {value!r}")
    return days


def _dev_secret_key(instance_path: Path) -> str:
    """Return a random per-installation key kept in ``instance/secret_key`` (development only)."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def sqlalchemy_url(url: str) -> str:
    """A database URL with the psycopg 3 driver named for ``postgres://`` and
    ``postgresql://`` URLs (as hosting platforms give them); others unchanged."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _seconds(value: str | None, default: float) -> float:
    try:
        seconds = float(value) if value else default
    except ValueError as exc:
        raise ConfigError(f"Expected a number of seconds, not {value!r}") from exc
    if seconds <= 0:
        raise ConfigError(f"Expected a positive number of seconds, not {value!r}")
    return seconds


def _engine_options(url: str, env: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """SQLAlchemy engine options: a dead connection is found before use (pre-ping) and, on
    PostgreSQL, an unreachable server fails a request within seconds (connect timeout) and a
    runaway statement is stopped (statement timeout, off unless DATABASE_STATEMENT_TIMEOUT_MS
    is set), so the error page answers instead of the worker hanging."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        connect_args: dict[str, Any] = {
            "connect_timeout": int(_seconds(env.get("DATABASE_CONNECT_TIMEOUT_SECONDS"), 3))}
        statement_ms = (env.get("DATABASE_STATEMENT_TIMEOUT_MS") or "").strip()
        if statement_ms:
            if not statement_ms.isdigit():
                raise ConfigError("DATABASE_STATEMENT_TIMEOUT_MS must be a whole number of "
                                  f"milliseconds, not {statement_ms!r}")
            connect_args["options"] = f"-c statement_timeout={int(statement_ms)}"
        options["connect_args"] = connect_args
        # A request waits at most this long for a free pooled connection.
        options["pool_timeout"] = _seconds(env.get("DATABASE_POOL_TIMEOUT_SECONDS"), 10)
    return options


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from the environment and optional overrides."""
    env = os.environ
    overrides = dict(overrides or {})
    profile = overrides.get("ENV_NAME") or env.get("MARKETPLACE_ENV", "production")
    if profile not in {"development", "testing", "production"}:
        raise ConfigError(
            f"MARKETPLACE_ENV must be development, testing or production, not {profile!r}"
        )
    production = profile == "production"

    secret_key = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret_key:
        if profile == "development":
            secret_key = _dev_secret_key(instance_path)
        elif profile == "testing":
            secret_key = secrets.token_urlsafe(32)
        else:
            raise ConfigError(
                "SECRET_KEY must be set outside development "
                "(set MARKETPLACE_ENV=development for a local installation)"
            )
    if production and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production")

    default_db = f"sqlite:///{instance_path / 'marketplace.sqlite3'}"
    database_url = sqlalchemy_url(env.get("DATABASE_URL", default_db))

    redis_url = env.get("REDIS_URL") or None

    config: dict[str, Any] = {
        "ENV_NAME": profile,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, env),
        "REDIS_URL": redis_url,
        "SERVICE_NAME": env.get("SERVICE_NAME", "Council Innovation Marketplace"),
        "SERVICE_PHASE": env.get("SERVICE_PHASE", "Beta"),
        "FEEDBACK_EMAIL": env.get("FEEDBACK_EMAIL", "marketplace-feedback@example.org"),
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),
        # Sessions and cookies
        "SESSION_COOKIE_NAME": "marketplace_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "PERMANENT_SESSION_LIFETIME": int(env.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "REMEMBER_COOKIE_DURATION": 0,
        "WTF_CSRF_TIME_LIMIT": int(env.get("CSRF_TIME_LIMIT_SECONDS", 8 * 3600)),
        "WTF_CSRF_ENABLED": True,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "FORCE_HTTPS": _bool(env.get("FORCE_HTTPS"), False),
        # Accounts
        "COUNCIL_EMAIL_DOMAINS": [
            d.strip().lower().lstrip(".")
            for d in env.get("COUNCIL_EMAIL_DOMAINS", DEFAULT_COUNCIL_DOMAINS).split(",")
            if d.strip()
        ],
        "EMAIL_TOKEN_MAX_AGE": int(env.get("EMAIL_TOKEN_MAX_AGE_SECONDS", 3 * 24 * 3600)),
        "PASSWORD_RESET_MAX_AGE": int(env.get("PASSWORD_RESET_MAX_AGE_SECONDS", 3600)),
        "INVITATION_MAX_AGE_DAYS": int(env.get("INVITATION_MAX_AGE_DAYS", 14)),
        "PASSWORD_MIN_LENGTH": 10,
        # Challenges: the shortest time between publication and the submission deadline.
        "CHALLENGE_MIN_DAYS": int(env.get("CHALLENGE_MIN_DAYS", 10)),
        # Award: working days between the award decision and the contract (the standstill).
        "STANDSTILL_WORKING_DAYS": _standstill_days(env.get("STANDSTILL_WORKING_DAYS")),
        # Open data: the OCDS ocid prefix registered for this publisher ("ocds-" + 6 characters).
        "OCDS_PREFIX": env.get("OCDS_PREFIX", "ocds-cimkt0"),
        "OCDS_PUBLISHER_NAME": env.get("OCDS_PUBLISHER_NAME") or env.get(
            "SERVICE_NAME", "Council Innovation Marketplace"),
        # API: personal access tokens and their rate limit (Flask-Limiter syntax, per token).
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "600 per minute"),
        "API_TOKEN_MAX_DAYS": int(env.get("API_TOKEN_MAX_DAYS", 366)),
        "ARGON2_TIME_COST": int(env.get("ARGON2_TIME_COST", 3)),
        "ARGON2_MEMORY_COST": int(env.get("ARGON2_MEMORY_COST", 65536)),
        # Rate limits (Flask-Limiter syntax)
        "LOGIN_RATE_LIMIT_IP": env.get("LOGIN_RATE_LIMIT_IP", "30 per 15 minutes"),
        "LOGIN_RATE_LIMIT_ACCOUNT": env.get("LOGIN_RATE_LIMIT_ACCOUNT", "5 per 15 minutes"),
        "SENSITIVE_RATE_LIMIT": env.get("SENSITIVE_RATE_LIMIT", "10 per hour"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Redis down: each process keeps enforcing the same limits in its own memory (and
        # checks Redis again with a back-off); a dead or hung Redis costs milliseconds.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": {
            "socket_connect_timeout": _seconds(env.get("REDIS_TIMEOUT_SECONDS"), 0.25),
            "socket_timeout": _seconds(env.get("REDIS_TIMEOUT_SECONDS"), 0.25),
        },
        # Mail
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT", 25)),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_FROM": env.get("MAIL_FROM", "Council Innovation Marketplace <noreply@example.org>"),
        "MAIL_TIMEOUT": int(env.get("MAIL_TIMEOUT_SECONDS", 10)),
        # Uploads: bid attachments are PDFs of up to 10MB (the service checks them); a bigger
        # request is refused with a 413 page before it is read. Files live outside the web
        # root, in UPLOAD_FOLDER or the instance folder's "uploads".
        "MAX_CONTENT_LENGTH": 11 * 1024 * 1024,
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or None,
        # Shared cache of public data (search results, facets, supplier rankings; see
        # marketplace/caching.py): Redis when REDIS_URL is set, else one per process. Never
        # pages. A cache that fails is skipped, never an error.
        "CACHE_TYPE": env.get("CACHE_TYPE") or ("RedisCache" if redis_url else "SimpleCache"),
        "CACHE_REDIS_URL": env.get("CACHE_REDIS_URL") or redis_url,
        "CACHE_KEY_PREFIX": env.get("CACHE_KEY_PREFIX", "marketplace:cache:"),
        "CACHE_DEFAULT_TIMEOUT": int(env.get("CACHE_DEFAULT_TIMEOUT", 60)),
        "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        # Seconds a public search result or facet list may be served from the cache.
        "PUBLIC_CACHE_SECONDS": int(env.get("PUBLIC_CACHE_SECONDS", 30)),
        # Seconds a public challenge page may be served whole to visitors who are not signed
        # in (marketplace/page_cache.py; 0 turns it off).
        "PAGE_CACHE_SECONDS": int(env.get("PAGE_CACHE_SECONDS", 30)),
        # Seconds a suggested-supplier ranking may be served from the cache.
        "SUGGESTIONS_CACHE_SECONDS": int(env.get("SUGGESTIONS_CACHE_SECONDS", 300)),
        # Background jobs (marketplace/jobs.py): seconds between retries (one per value),
        # the longest a job may run, the worker's heartbeat, the grace after a missed one
        # before its job counts as abandoned and is retried, how often the worker looks for
        # such jobs, and the in-process schedule of the embedded mode ("off" stops it).
        "JOBS_RETRY_INTERVALS": env.get("JOBS_RETRY_INTERVALS") or "10,60,300,900",
        "JOBS_TIMEOUT": int(env.get("JOBS_TIMEOUT") or 600),
        "JOBS_MONITORING_INTERVAL": int(env.get("JOBS_MONITORING_INTERVAL") or 30),
        "JOBS_HEARTBEAT_GRACE": int(env.get("JOBS_HEARTBEAT_GRACE") or 60),
        "JOBS_MAINTENANCE_INTERVAL": int(env.get("JOBS_MAINTENANCE_INTERVAL") or 60),
        "JOBS_PERIODIC": env.get("JOBS_PERIODIC") or "on",
        "LOG_FORMAT": env.get("LOG_FORMAT", "json" if production else "text"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
    }
    if profile == "testing":
        config.update(
            {
                "TESTING": True,
                "ARGON2_TIME_COST": 1,
                "ARGON2_MEMORY_COST": 8192,
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )
    config.update(overrides)
    if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        # The options follow the database actually used (tests override the URL).
        config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(
            config["SQLALCHEMY_DATABASE_URI"], env)
    return config
