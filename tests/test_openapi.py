"""The OpenAPI document is valid, describes every ``/api/v1`` route (and nothing else), and a
property-based run of schemathesis against the WSGI app finds no server error and no response
that breaks the document."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace import create_app
from marketplace.api.openapi import document
from marketplace.models import Role
from tests.api_support import token_for
from tests.bid_support import open_challenge, submitted_bid
from tests.factories import council_user, supplier_user

METHODS = {"get", "post", "patch", "put", "delete"}


def _document(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return document()


@pytest.fixture(scope="module")
def route_app() -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "ENV_NAME": "testing"})


def test_the_document_is_valid_openapi_3_1(route_app: Flask) -> None:
    doc = _document(route_app)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def _flask_routes(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((method.lower(), path))
    return found


def test_every_api_route_is_documented_and_every_operation_exists(route_app: Flask) -> None:
    doc = _document(route_app)
    documented = {(method, path) for path, item in doc["paths"].items()
                  for method in item if method in METHODS}
    routes = _flask_routes(route_app)
    assert len(routes) >= 20
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations with no route"


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_every_operation_is_described(route_app: Flask) -> None:
    doc = _document(route_app)
    ids = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            ids.append(operation["operationId"])
            assert operation.get("summary"), (method, path)
            assert operation.get("tags"), (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            if "{" in path:
                parameters = [_resolve(doc, p) for p in operation.get("parameters", [])
                              + item.get("parameters", [])]
                declared = {p["name"] for p in parameters if p["in"] == "path"}
                assert declared == set(re.findall(r"{([a-z_]+)}", path)), (method, path)
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_the_document_is_served(app: Flask) -> None:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["paths"] == _document(app)["paths"]


# --------------------------------------------------------------------------- schemathesis

@pytest.fixture
def fuzz_world(app_factory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An app with a council and a supplier holding write tokens, an open challenge and a
    submitted bid, so generated calls meet real objects as well as missing ones."""
    app = app_factory(API_RATE_LIMIT="100000 per minute")
    with app.app_context():
        owner = council_user(Role.CHALLENGE_OWNER, Role.PROCUREMENT_OFFICER)
        bidder = supplier_user(Role.BIDDER, Role.ORG_ADMIN)
        challenge = open_challenge(owner)
        submitted_bid(bidder, challenge.id, attachment=False)
        headers = {
            "council": {"Authorization": f"Bearer {token_for(owner, 'write')}"},
            "supplier": {"Authorization": f"Bearer {token_for(bidder, 'write')}"},
            "anonymous": {},
        }
    return {"app": app, "headers": headers}


def _schema() -> Any:
    # Built from the document of an app that never touches a database; the calls go to the
    # fixture's app (schemathesis's pytest fixture loader does not support pytest 9).
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "ENV_NAME": "testing"})
    return schemathesis.openapi.from_dict(_document(app))


schema = _schema()

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_api_fuzz(case: Any, fuzz_world: dict[str, Any]) -> None:
    """Every operation, as a council, a supplier and an anonymous caller."""
    app = fuzz_world["app"]
    for headers in fuzz_world["headers"].values():
        case.call_and_validate(app=app, headers=headers, checks=CHECKS)
