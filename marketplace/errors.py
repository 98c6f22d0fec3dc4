"""Error pages, and problem+json for machine clients."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from marketplace.extensions import db
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


def register_error_handlers(app: Flask) -> None:
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

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database(err: Exception):  # type: ignore[no-untyped-def]
        log.error("database unavailable: %s", type(err).__name__)
        db.session.rollback()
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
