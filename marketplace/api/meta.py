"""API: the index, the OpenAPI document and the calling token's identity."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for

from marketplace.api import bp, core

ME = {
    "type": "object",
    "required": ["id", "email", "full_name", "roles", "organisation", "token"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "full_name": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "organisation": {"type": ["object", "null"], "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["council", "supplier"]}}},
        "token": {"type": "object", "required": ["name", "scope", "expires_at"], "properties": {
            "name": {"type": "string"}, "scope": {"type": "string", "enum": ["read", "write"]},
            "expires_at": {"type": "string", "format": "date-time"}}},
    },
}

PATHS: dict[str, Any] = {
    "/": {"get": {
        "operationId": "apiIndex", "tags": ["Meta"], "summary": "Where to start",
        "security": [{}],
        "responses": {"200": {"description": "Links to the API's documents", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ApiIndex"}}}},
            "429": {"$ref": "#/components/responses/TooManyRequests"}}}},
    "/openapi.json": {"get": {
        "operationId": "openApiDocument", "tags": ["Meta"], "summary": "This document",
        "security": [{}],
        "responses": {"200": {"description": "The OpenAPI 3.1 document", "content": {
            "application/json": {"schema": {"type": "object"}}}},
            "429": {"$ref": "#/components/responses/TooManyRequests"}}}},
    "/me": {"get": {
        "operationId": "whoAmI", "tags": ["Meta"],
        "summary": "The person and token making the call",
        "security": [{"bearerAuth": []}],
        "responses": {"200": {"description": "The caller", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Me"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "429": {"$ref": "#/components/responses/TooManyRequests"}}}},
}

SCHEMAS: dict[str, Any] = {
    "Me": ME,
    "ApiIndex": {"type": "object", "required": ["openapi", "documentation"], "properties": {
        "openapi": {"type": "string"}, "documentation": {"type": "string"},
        "challenges": {"type": "string"}, "suppliers": {"type": "string"},
        "ocds_releases": {"type": "string"}}},
}


@bp.get("/")
@core.public
def index() -> Response:
    root = url_for("api.index", _external=True)
    return jsonify({
        "openapi": url_for("api.openapi_document", _external=True),
        "documentation": url_for("developers.api", _external=True),
        "challenges": root + "challenges",
        "suppliers": root + "suppliers",
        "ocds_releases": request.host_url + "ocds/releases.json",
    })


@bp.get("/openapi.json")
@core.public
def openapi_document() -> Response:
    from marketplace.api.openapi import document

    return jsonify(document())


@bp.get("/me")
@core.signed_in
def me() -> Response:
    user = core.require_actor()
    token = core.current_token()
    assert token is not None
    org = user.organisation
    return jsonify({
        "id": user.id, "email": user.email, "full_name": user.full_name,
        "roles": sorted(user.roles),
        "organisation": {"id": org.id, "name": org.name, "kind": str(org.kind)} if org else None,
        "token": {"name": token.name, "scope": token.scope,
                  "expires_at": core.iso(token.expires_at)},
    })
