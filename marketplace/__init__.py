"""Council Innovation Marketplace: the Flask application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, session
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace.config import PROJECT_ROOT, load_config
from marketplace.extensions import csrf, db, limiter, login_manager, migrate, talisman

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application. ``overrides`` replace configuration values (used by tests)."""
    instance_path = Path(os.environ.get("MARKETPLACE_INSTANCE_PATH", PROJECT_ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.update(load_config(instance_path, overrides))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        instance_path.mkdir(parents=True, exist_ok=True)

    from marketplace.logging import configure_logging

    configure_logging(app)
    trusted_proxies = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
    if trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies, x_host=trusted_proxies
        )

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    # The limiter is one object for the process and keeps "enabled" from the last app that
    # set it, so every app states it (an app made with limits off must not switch them off
    # for the next one).
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    production = app.config["ENV_NAME"] == "production"
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=production,
        strict_transport_security_max_age=31536000,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CSP,
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )

    from govuk_frontend_wtf.main import WTFormsHelpers

    WTFormsHelpers(app)
    from marketplace import caching, page_cache

    caching.init_app(app)
    page_cache.init_app(app)  # after Talisman, whose before-request hook makes the nonce
    _configure_login(app)
    _register_blueprints(app)
    _register_headers(app)

    from marketplace.errors import register_error_handlers
    from marketplace.templating import register_template_helpers

    register_error_handlers(app)
    register_template_helpers(app)

    from marketplace.cli import register_cli

    register_cli(app)

    # Background jobs (email delivery and the rest): on Redis with RQ when REDIS_URL is set,
    # else in this process after the request.
    from marketplace import jobs

    jobs.init_app(app)

    return app


def _configure_login(app: Flask) -> None:
    from marketplace.api.core import is_api_request, load_user_from_request
    from marketplace.services.accounts import session_user

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = None  # server-side session rows do this job

    @login_manager.user_loader
    def _load_user(user_id: str):  # type: ignore[no-untyped-def]
        if is_api_request():
            return None  # the API takes tokens only, never the browser's session cookie
        return session_user(user_id, session.get("sid"))

    login_manager.request_loader(load_user_from_request)


def _register_blueprints(app: Flask) -> None:
    from marketplace import api
    from marketplace.views import (
        account,
        admin,
        auth,
        bids,
        challenges,
        council,
        developers,
        evaluation,
        main,
        opendata,
        organisation,
        reports,
        suppliers,
    )

    for module in (main, auth, account, organisation, admin, challenges, council, bids,
                   suppliers, evaluation, reports, opendata, developers, api):
        app.register_blueprint(module.bp)


def _register_headers(app: Flask) -> None:
    from flask import request

    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.endpoint != "static":
            # Pages can carry personal data: never store them in shared caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
