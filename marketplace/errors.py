"""Error pages, and problem+json for machine clients."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, Response, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from marketplace.extensions import db, login_manager
from marketplace.services.errors import NotFound, PermissionDenied, ServiceError

log = logging.getLogger(__name__)

TITLES = {
    400: "There was a problem with your request",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That cannot be done now",
    413: "The file you sent is too big",
    422: "There was a problem with what you sent",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > (
        request.accept_mimetypes["text/html"]
    )


def problem(status: int, detail: str, title: str | None = None, **extra: object) -> Response:
    """An RFC 9457 problem+json response."""
    body = {"type": "about:blank", "title": title or TITLES.get(status, "Error"),
            "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def error_response(status: int, detail: str | None = None) -> Response | tuple[str, int]:
    title = TITLES.get(status, "Error")
    if wants_json():
        return problem(status, detail or title, title)
    template = f"errors/{status}.html" if status in {403, 404, 429, 500, 503} else (
        "errors/generic.html")
    return render_template(template, status=status, title=title, detail=detail), status


def _close_database_session(app: Flask) -> None:
    """End each request's database session without turning a lost connection into a 500.

    The page may already be rendered when the server goes away (a PostgreSQL restart): the
    rollback that ends the session then fails. Runs before Flask-SQLAlchemy's own teardown
    (registered later), which then finds nothing left to close."""

    @app.teardown_appcontext
    def _remove_session(exc: BaseException | None) -> None:
        try:
            db.session.remove()
        except DBAPIError as err:
            log.warning("database connection lost while ending the session: %s",
                        type(err).__name__)
            with contextlib.suppress(DBAPIError):
                db.session.remove()


def register_error_handlers(app: Flask) -> None:
    _close_database_session(app)

    @app.errorhandler(NotFound)
    def _not_found(err: NotFound):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return error_response(404, err.message)

    @app.errorhandler(PermissionDenied)
    def _denied(err: PermissionDenied):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return error_response(403, err.message)

    @app.errorhandler(ServiceError)
    def _service_error(err: ServiceError):  # type: ignore[no-untyped-def]
        # A domain refusal a view did not map to a form error (a conflict with the object's
        # state, a rule broken): its message, with its status, never a 500.
        db.session.rollback()
        if wants_json() and err.field:
            return problem(err.status_code, err.message,
                           errors=[{"field": err.field, "detail": err.message}])
        return error_response(err.status_code, err.message)

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):  # type: ignore[no-untyped-def]
        return error_response(
            400, "Your form expired or was sent from another site. Go back, reload the page "
                 "and try again.")

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):  # type: ignore[no-untyped-def]
        status = err.code or 500
        detail = err.description if status in {400, 405, 413, 429} else None
        if status == 413:
            detail = ("The file you sent is too big. Attachments must be PDFs smaller than "
                      "10MB. Go back and choose a smaller file.")
        if status == 429:
            detail = ("You have tried too many times. Wait a few minutes before you try again. "
                      "If you have forgotten your password you can reset it.")
        response = error_response(status, detail)
        if status == 405 and isinstance(response, tuple):
            return response[0], 405, {"Allow": ", ".join(err.valid_methods or [])}
        return response

    @app.errorhandler(IntegrityError)
    def _integrity(err: IntegrityError):  # type: ignore[no-untyped-def]
        # A database constraint refused the change (two people doing the same thing at once
        # that the use case did not expect): nothing was stored, and it is not an outage.
        log.warning("change refused by a database constraint: %s",
                    str(getattr(err, "orig", err)).splitlines()[0][:200])
        with contextlib.suppress(DBAPIError):
            db.session.rollback()
        return error_response(409, "This change clashed with another made at the same time, "
                                   "so nothing was saved. Reload the page and try again.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database(err: Exception):  # type: ignore[no-untyped-def]
        log.error("database unavailable: %s", type(err).__name__)
        try:
            db.session.rollback()
        except DBAPIError:
            with contextlib.suppress(DBAPIError):
                db.session.close()
        # The page is rendered as for a signed-out visitor: loading the user (or their roles
        # for the menu) would need the database that just failed.
        g._login_user = login_manager.anonymous_user()
        response = error_response(503, "The database is not answering. Try again shortly.")
        if isinstance(response, tuple):
            return response[0], 503, {"Retry-After": "30"}
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error")
        db.session.rollback()
        return error_response(500)
