"""The OpenAPI 3.1 document of ``/api/v1``, assembled from each endpoint module's ``PATHS`` and
``SCHEMAS`` plus the shared components below."""

from __future__ import annotations

import copy
from typing import Any

from flask import current_app

PROBLEM = {
    "type": "object",
    "description": "An RFC 9457 problem. Validation problems list each field at fault.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "detail"],
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}


RESPONSES = {
    "BadRequest": _problem_response("The request is malformed (a bad parameter or body)"),
    "Unauthorized": _problem_response("No token, or a token that is unknown, expired or "
                                      "revoked"),
    "Forbidden": _problem_response("The token's scope or its person's roles do not allow this"),
    "NotFound": _problem_response("No such object, or one the caller may not know about"),
    "Conflict": _problem_response("The object is not in a state that allows this"),
    "UnsupportedMediaType": _problem_response("The body is not JSON"),
    "Unprocessable": _problem_response("The data breaks a rule; `errors` names each field"),
    "TooManyRequests": _problem_response("Too many calls with this token; wait and retry"),
}

PAGE_LINKS = {
    "type": "object",
    "required": ["self", "first", "last"],
    "properties": {k: {"type": "string", "format": "uri"}
                   for k in ("self", "first", "last", "prev", "next")},
}

PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
    {"name": "per_page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
]


def page_of(item_ref: str) -> dict[str, Any]:
    """The schema of a paged list of ``item_ref`` (a ``#/components/schemas/...`` ref)."""
    return {"type": "object",
            "required": ["items", "page", "per_page", "total", "pages", "links"],
            "properties": {"items": {"type": "array", "items": {"$ref": item_ref}},
                           "page": {"type": "integer"}, "per_page": {"type": "integer"},
                           "total": {"type": "integer"}, "pages": {"type": "integer"},
                           "links": {"$ref": "#/components/schemas/PageLinks"}}}


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy each call)."""
    from marketplace.api import bids, challenges, matches, meta, suppliers

    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Problem": PROBLEM, "PageLinks": PAGE_LINKS}
    for module in (meta, challenges, suppliers, bids, matches):
        paths.update(module.PATHS)
        schemas.update(module.SCHEMAS)
    base = current_app.config["BASE_URL"].rstrip("/")
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {
            "title": f"{current_app.config['SERVICE_NAME']} API",
            "version": "1",
            "description": (
                "Challenges, supplier profiles, bids and matches, through the same rules as "
                "the pages. Authenticate with a personal access token from your account "
                "settings: `Authorization: Bearer <token>`. Read tokens can only GET. Errors "
                "are `application/problem+json`. Lists are paged with `page` and `per_page` "
                "and carry `links` (also in a `Link` header). Reads carry an `ETag`: send it "
                "back in `If-None-Match` to get `304 Not Modified`."),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": f"{base}/api/v1"}],
        "security": [{"bearerAuth": []}, {}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A personal access token (mkt_...)"}},
            "schemas": schemas,
            "responses": RESPONSES,
            "parameters": {"page": PAGE_PARAMETERS[0], "per_page": PAGE_PARAMETERS[1]},
        },
    })
