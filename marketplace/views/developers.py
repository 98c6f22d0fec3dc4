"""Pages for developers: the API described for people, from the same OpenAPI document that
machines read at ``/api/v1/openapi.json``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, render_template
from markupsafe import Markup, escape

from marketplace import access
from marketplace.api import core
from marketplace.api.openapi import document
from marketplace.services import tokens as token_service

bp = Blueprint("developers", __name__, url_prefix="/developers")

METHODS = ("get", "post", "put", "patch", "delete")
UNTAGGED = "Other"


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    type: str
    description: Markup


@dataclass(frozen=True)
class BodyField:
    name: str
    type: str
    required: bool
    description: Markup


@dataclass(frozen=True)
class Reply:
    status: str
    description: Markup


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: Markup
    description: Markup
    access: str
    parameters: list[Parameter] = field(default_factory=list)
    body: list[BodyField] = field(default_factory=list)
    body_type: str = ""
    responses: list[Reply] = field(default_factory=list)


@dataclass
class Section:
    tag: str
    anchor: str
    description: Markup
    operations: list[Operation] = field(default_factory=list)


def inline(text: object) -> Markup:
    """Text from the document, escaped, with its `backtick` spans shown as code."""
    parts = str(text or "").split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: show it as it is
        return escape(str(text or ""))
    return Markup("").join(escape(part) if i % 2 == 0 else Markup("<code>{}</code>").format(part)
                           for i, part in enumerate(parts))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


class _Resolver:
    """Follows local ``$ref`` pointers (``#/components/...``) of one document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def __call__(self, node: Any, depth: int = 0) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 20:
            target: Any = self.doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = target
            depth += 1
        return node if isinstance(node, dict) else {}

    @staticmethod
    def ref_name(node: Any) -> str | None:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            return node["$ref"].rsplit("/", 1)[-1]
        return None

    def type_of(self, schema: Any, depth: int = 0) -> str:
        """A short description of a schema's type and limits, for people."""
        name = self.ref_name(schema)
        node = self(schema)
        if depth > 3:
            return name or "object"
        for combiner in ("oneOf", "anyOf"):
            if isinstance(node.get(combiner), list):
                return " or ".join(self.type_of(part, depth + 1) for part in node[combiner])
        types = node.get("type")
        listed = [types] if isinstance(types, str) else list(types or [])
        nullable = "null" in listed
        listed = [t for t in listed if t != "null"]
        if not listed:
            listed = ["object"] if name or "properties" in node else ["any"]
        words = []
        for kind in listed:
            if kind == "array":
                words.append(f"array of {self.type_of(node.get('items', {}), depth + 1)}")
            elif kind == "object" and name:
                words.append(f"{name} object")
            elif "format" in node and kind == "string":
                words.append(f"string ({node['format']})")
            else:
                words.append(str(kind))
        text = " or ".join(words)
        limits = self.limits(node)
        if limits:
            text += f", {limits}"
        if nullable:
            text += ", or null"
        return text

    @staticmethod
    def limits(node: dict[str, Any]) -> str:
        parts = []
        if isinstance(node.get("enum"), list):
            parts.append("one of " + ", ".join(
                json.dumps(v, ensure_ascii=False) for v in node["enum"] if v is not None))
        if node.get("minLength") == 1:
            parts.append("not empty")
        elif node.get("minLength", 0) > 1:
            parts.append(f"at least {node['minLength']:,} characters")
        if "maxLength" in node:
            parts.append(f"up to {node['maxLength']:,} characters")
        if "minimum" in node and "maximum" in node:
            parts.append(f"{node['minimum']:,} to {node['maximum']:,}")
        elif "minimum" in node:
            parts.append(f"at least {node['minimum']:,}")
        elif "maximum" in node:
            parts.append(f"at most {node['maximum']:,}")
        if "maxItems" in node:
            parts.append(f"up to {node['maxItems']:,} items")
        if "default" in node:
            parts.append(f"default {json.dumps(node['default'])}")
        return "; ".join(parts)


def _access(operation: dict[str, Any], doc: dict[str, Any], method: str) -> str:
    security = operation.get("security", doc.get("security", []))
    anonymous = not security or any(not requirement for requirement in security)
    token = any(requirement for requirement in security)
    writes = method not in {"get"}
    if anonymous and token:
        return "No token needed; a token is checked when sent"
    if anonymous:
        return "No token needed"
    return "A token with write access" if writes else "A token (read or write)"


def _parameters(resolve: _Resolver, path_item: dict[str, Any], operation: dict[str, Any]
                ) -> list[Parameter]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        param = resolve(raw)
        if param.get("name"):
            merged[(param["name"], param.get("in", "query"))] = param
    return [Parameter(name=p["name"], location=p.get("in", "query"),
                      required=bool(p.get("required")),
                      type=resolve.type_of(p.get("schema", {})),
                      description=inline(p.get("description") or resolve(
                          p.get("schema", {})).get("description", "")))
            for p in merged.values()]


def _body(resolve: _Resolver, operation: dict[str, Any]) -> tuple[str, list[BodyField]]:
    request_body = resolve(operation.get("requestBody", {}))
    content = request_body.get("content", {})
    if not content:
        return "", []
    media = "application/json" if "application/json" in content else next(iter(content))
    raw_schema = content[media].get("schema", {})
    schema = resolve(raw_schema)
    required = set(schema.get("required", []))
    fields = [BodyField(name=name, type=resolve.type_of(prop), required=name in required,
                        description=inline(prop.get("description")
                                           or resolve(prop).get("description", "")))
              for name, prop in schema.get("properties", {}).items()]
    return f"{media}: {resolve.type_of(raw_schema)}", fields


def _responses(resolve: _Resolver, operation: dict[str, Any]) -> list[Reply]:
    return [Reply(status=str(status),
                  description=inline(reply.get("description")
                                     or resolve(reply).get("description", "")))
            for status, reply in sorted(operation.get("responses", {}).items(),
                                        key=lambda item: str(item[0]))]


def reference(doc: dict[str, Any]) -> list[Section]:
    """The document's operations grouped by their first tag, in the order tags are declared
    (or first used), each with its parameters, request body fields and responses."""
    resolve = _Resolver(doc)
    sections: dict[str, Section] = {}
    for tag in doc.get("tags", []):
        if tag.get("name"):
            sections[tag["name"]] = Section(tag["name"], "tag-" + _slug(tag["name"]),
                                            inline(tag.get("description")))
    used_anchors: set[str] = set()
    for path, path_item in doc.get("paths", {}).items():
        for method in METHODS:
            operation = path_item.get(method)
            if not isinstance(operation, dict):
                continue
            tag = (operation.get("tags") or [UNTAGGED])[0]
            section = sections.setdefault(tag, Section(tag, "tag-" + _slug(tag), Markup("")))
            anchor = "op-" + _slug(operation.get("operationId") or f"{method} {path}")
            while anchor in used_anchors:
                anchor += "-2"
            used_anchors.add(anchor)
            body_type, body = _body(resolve, operation)
            section.operations.append(Operation(
                method=method.upper(), path=path, anchor=anchor,
                summary=inline(operation.get("summary")),
                description=inline(operation.get("description")),
                access=_access(operation, doc, method),
                parameters=_parameters(resolve, path_item, operation),
                body=body, body_type=body_type,
                responses=_responses(resolve, operation)))
    return [s for s in sections.values() if s.operations]


PROBLEM_EXAMPLE = {
    "type": "about:blank",
    "title": "There was a problem with what you sent",
    "status": 422,
    "detail": "title: Enter title; budget_max: budget_max must be 2,000,000,000 or less",
    "errors": [
        {"field": "title", "detail": "Enter title"},
        {"field": "budget_max", "detail": "budget_max must be 2,000,000,000 or less"},
    ],
}


@bp.get("/api")
@access.public
def api():
    doc = document()
    base = doc["servers"][0]["url"] if doc.get("servers") else (
        current_app.config["BASE_URL"].rstrip("/") + "/api/v1")
    return render_template(
        "developers/api.html", doc=doc, sections=reference(doc), api_base=base,
        rate_limit=current_app.config["API_RATE_LIMIT"],
        max_days=token_service.max_days(), default_days=token_service.DEFAULT_DAYS,
        per_page_default=core.PER_PAGE_DEFAULT, per_page_max=core.PER_PAGE_MAX,
        problem_example=json.dumps(PROBLEM_EXAMPLE, indent=2))
