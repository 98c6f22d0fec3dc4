"""The API page for people, /developers/api, built from the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, render_template

from marketplace.api.openapi import document
from marketplace.views.developers import inline, reference
from tests.factories import council_user

HEADINGS = ("Authentication", "What a token can do", "Rate limits", "Errors", "Lists and pages",
            "Caching with ETags", "Open data without a token")


def _headings(page: str) -> list[tuple[int, str]]:
    return [(int(level), re.sub(r"<[^>]+>|\s+", " ", text).strip())
            for level, text in re.findall(r"<h([1-6])[^>]*>(.*?)</h\1>", page, re.S)]


def test_the_page_renders_for_anyone(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/developers/api")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    headings = _headings(page)
    assert [text for level, text in headings if level == 1] == [
        f"{app.config['SERVICE_NAME']} API"]
    titles = [text for _, text in headings]
    for heading in HEADINGS:
        assert heading in titles, heading
    # Heading levels never skip one (h2 after h1, h3 after h2...).
    levels = [level for level, _ in headings]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), headings
    for path in ("/api/v1/openapi.json", "/ocds/releases.json", "/challenges/feed.atom",
                 "/challenges/awards.atom"):
        assert f'href="{path}"' in page, path
    assert "application/problem+json" in page
    assert "If-None-Match" in page and "per_page" in page
    assert app.config["API_RATE_LIMIT"] in page
    assert "Sign in and create a token" in page


def test_every_documented_operation_is_listed(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/developers/api").get_data(as_text=True)
    doc = document()
    assert doc["paths"], "the document has no paths"
    for path, item in doc["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                assert f"<code>{method.upper()} {path}</code>" in page, (method, path)
    for section in reference(doc):
        assert f'id="{section.anchor}"' in page
    assert "GET /me" in page and "A token (read or write)" in page


def test_signed_in_people_get_a_link_to_their_tokens(app: Flask, login) -> None:  # type: ignore[no-untyped-def]
    page = login(council_user("challenge_owner")).get("/developers/api").get_data(as_text=True)
    assert 'href="/account/tokens"' in page


def test_the_rate_limit_comes_from_the_configuration(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(API_RATE_LIMIT="42 per hour")
    with app.app_context():
        page = app.test_client().get("/developers/api").get_data(as_text=True)
    assert "The limit is 42 per hour for each token" in page


def test_the_footer_links_to_the_page(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/").get_data(as_text=True)
    assert 'href="/developers/api"' in page


SAMPLE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Sample API", "version": "1"},
    "servers": [{"url": "http://marketplace.test/api/v1"}],
    "security": [{"bearerAuth": []}, {}],
    "tags": [{"name": "Widgets", "description": "Things with <b>parts</b>"}],
    "paths": {
        "/widgets/{widget_id}": {
            "parameters": [{"name": "widget_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "get": {"operationId": "getWidget", "tags": ["Widgets"], "summary": "One widget",
                    "security": [{"bearerAuth": []}],
                    "parameters": [{"$ref": "#/components/parameters/page"}],
                    "responses": {"200": {"description": "The widget"},
                                  "404": {"$ref": "#/components/responses/NotFound"}}},
            "patch": {"operationId": "changeWidget", "tags": ["Widgets"],
                      "summary": "Change <script>a widget</script>",
                      "security": [{"bearerAuth": []}],
                      "requestBody": {"required": True, "content": {"application/json": {
                          "schema": {"$ref": "#/components/schemas/WidgetChange"}}}},
                      "responses": {"200": {"description": "Changed"}}},
        },
        "/ping": {"get": {"summary": "Untagged and public", "security": [{}],
                          "responses": {"200": {"description": "Pong"}}}},
    },
    "components": {
        "parameters": {"page": {"name": "page", "in": "query", "required": False,
                                "schema": {"type": "integer", "minimum": 1,
                                           "maximum": 100000, "default": 1}}},
        "responses": {"NotFound": {"description": "No such widget"}},
        "schemas": {
            "WidgetChange": {"type": "object", "additionalProperties": False,
                             "required": ["name"], "properties": {
                                 "name": {"type": "string", "minLength": 1, "maxLength": 200,
                                          "description": "What it is `called`"},
                                 "colour": {"type": ["string", "null"],
                                            "enum": ["red", "blue", None]},
                                 "parts": {"type": "array", "maxItems": 5,
                                           "items": {"$ref": "#/components/schemas/Part"}},
                                 "due": {"type": "string", "format": "date-time"}}},
            "Part": {"type": "object", "properties": {"id": {"type": "integer"}}},
        },
    },
}


def test_reference_reads_parameters_bodies_and_responses() -> None:
    sections = reference(SAMPLE)
    assert [s.tag for s in sections] == ["Widgets", "Other"]
    widgets = sections[0]
    assert widgets.anchor == "tag-widgets"
    assert widgets.description == "Things with &lt;b&gt;parts&lt;/b&gt;"
    get, patch = widgets.operations
    assert (get.method, get.path, get.anchor) == ("GET", "/widgets/{widget_id}", "op-getwidget")
    assert get.access == "A token (read or write)"
    assert [(p.name, p.location, p.required, p.type) for p in get.parameters] == [
        ("widget_id", "path", True, "integer, at least 1"),
        ("page", "query", False, "integer, 1 to 100,000; default 1"),
    ]
    assert [(r.status, r.description) for r in get.responses] == [
        ("200", "The widget"), ("404", "No such widget")]
    assert get.body == [] and get.body_type == ""

    assert patch.access == "A token with write access"
    assert patch.body_type == "application/json: WidgetChange object"
    fields = {f.name: f for f in patch.body}
    assert fields["name"].required
    assert fields["name"].type == "string, not empty; up to 200 characters"
    assert fields["name"].description == "What it is <code>called</code>"
    assert not fields["colour"].required
    assert fields["colour"].type == 'string, one of "red", "blue", or null'
    assert fields["parts"].type == "array of Part object, up to 5 items"
    assert fields["due"].type == "string (date-time)"

    [ping] = sections[1].operations
    assert ping.access == "No token needed" and ping.anchor == "op-get-ping"


def test_the_page_escapes_what_the_document_says(app: Flask) -> None:
    with app.test_request_context("/developers/api"):
        page = render_template(
            "developers/api.html", doc=SAMPLE, sections=reference(SAMPLE),
            api_base="http://marketplace.test/api/v1", rate_limit="10 per minute",
            max_days=366, default_days=90, per_page_default=20, per_page_max=100,
            problem_example="{}")
    assert "<script>a widget" not in page and "&lt;script&gt;a widget" in page
    assert "Things with &lt;b&gt;parts&lt;/b&gt;" in page
    assert "<code>PATCH /widgets/{widget_id}</code>" in page
    assert 'id="op-changewidget"' in page


def test_backticks_become_code_and_everything_else_is_escaped() -> None:
    assert inline("send `<b>` here") == "send <code>&lt;b&gt;</code> here"
    assert inline("an odd ` tick <i>") == "an odd ` tick &lt;i&gt;"
    assert inline(None) == ""
