"""API: the public supplier directory and profiles, and the calling supplier's own profile.

The same use cases as the supplier pages (``marketplace.services.suppliers``): the directory
lists verified suppliers only, a profile page shows only what the public page shows, and a
supplier's organisation admins and bidders read and change their own profile through
``update_profile`` (one transaction, audited). The JSON fields of a profile are the fields of
``ProfileChanges``.

This module also holds the small input helpers the bids and matches modules share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask import request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload, selectinload

from marketplace import reference
from marketplace.api import bp, core
from marketplace.api.openapi import PAGE_PARAMETERS, page_of
from marketplace.extensions import db
from marketplace.models import (
    CERTIFICATION_LABELS,
    SIZE_LABELS,
    Certification,
    Organisation,
    SupplierProfile,
)
from marketplace.services import suppliers as service
from marketplace.services.errors import ValidationFailed
from marketplace.services.suppliers import (
    CaseStudyInput,
    CertificationInput,
    DirectoryParams,
    ProfileChanges,
)

# Shared input helpers -------------------------------------------------------------------------

MAX_ID = core.MAX_ID
# Ids in paths are plain ints; the access rules check their range (``core.PATH_IDS``).
ID = "int"


def id_parameter(name: str, what: str) -> dict[str, Any]:
    """The OpenAPI description of an id in the path."""
    return {"name": name, "in": "path", "required": True, "description": f"The {what}'s id",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


def bad_text(value: str) -> str | None:
    """Why a string cannot be stored (a NUL byte, a lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def scan_text(fields: core.Fields, value: Any, path: str) -> None:
    """Add a problem for every string anywhere in ``value`` that cannot be stored."""
    if isinstance(value, str):
        problem = bad_text(value)
        if problem:
            fields.error(path, f"{path} {problem}")
    elif isinstance(value, dict):
        for key, item in value.items():
            key_problem = bad_text(str(key))
            if key_problem:
                fields.error(path or "body", f"{path or 'The body'} has a key that "
                                             f"{key_problem}")
                continue
            scan_text(fields, item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            scan_text(fields, item, f"{path}[{index}]")


def read_body(allowed: Iterable[str]) -> tuple[dict[str, Any], core.Fields]:
    """The JSON body (415/400 otherwise), with unknown fields and unstorable text noted."""
    data = core.json_body()
    fields = core.Fields(data, allowed=allowed)
    for key, value in data.items():
        scan_text(fields, value, key)
    return data, fields


def query_text(name: str, max_length: int) -> str:
    """A text query parameter ("" when absent); a 400 problem when it is unusable."""
    value = request.args.get(name) or ""
    problem = bad_text(value)
    if problem:
        raise core.bad_param(name, problem)
    if len(value) > max_length:
        raise core.bad_param(name, f"must be {max_length:,} characters or fewer")
    return value


def query_choice(name: str, choices: Iterable[str]) -> str | None:
    """A query parameter that must be one of ``choices`` (None when absent or empty)."""
    value = query_text(name, 200).strip()
    if not value:
        return None
    options = list(choices)
    if value not in options:
        shown = ", ".join(options[:8]) + (", ..." if len(options) > 8 else "")
        raise core.bad_param(name, f"must be one of: {shown}")
    return value


def query_region(name: str = "region") -> str | None:
    """A UK region (any case; "UK wide" and "East" are understood), or None."""
    value = query_text(name, 200).strip()
    if not value:
        return None
    region = reference.normalise_region(value)
    if region is None:
        raise core.bad_param(name, "must be an ITL1 region, like North West or Wales, or UK-wide")
    return region


def service_field(field: str | None, renames: dict[str, str] | None = None) -> str:
    """The JSON field a service problem names: ``case_study_2_title`` is
    ``case_studies[1].title``, ``answer_12`` is ``answers.12``."""
    if not field:
        return "body"
    match = re.fullmatch(r"(case_study|certification)_(\d+)_(\w+)", field)
    if match:
        group = "case_studies" if match.group(1) == "case_study" else "certifications"
        return f"{group}[{int(match.group(2)) - 1}].{match.group(3)}"
    match = re.fullmatch(r"(answer|requirement|evidence)_(\d+)", field)
    if match:
        group = "answers" if match.group(1) == "answer" else "requirements"
        return f"{group}.{match.group(2)}"
    return (renames or {}).get(field, field)


def unprocessable(err: ValidationFailed) -> core.ApiError:
    """A service validation refusal as a 422 problem naming the JSON field."""
    return core.ApiError(422, err.message,
                         errors=[{"field": service_field(err.field), "detail": err.message}])


# Output ---------------------------------------------------------------------------------------

def _size(profile: SupplierProfile) -> str | None:
    return profile.size if profile.size in SIZE_LABELS else None


def certification_json(cert: Certification, today: date) -> dict[str, Any]:
    return {"kind": cert.kind, "name": cert.name, "label": cert.label,
            "expires_on": core.iso(cert.expires_on),
            "expired": service.certification_expired(cert, today)}


def _links(org_id: int) -> dict[str, str]:
    return {"self": url_for("api.suppliers_detail", supplier_id=org_id, _external=True),
            "page": url_for("suppliers.detail", supplier_id=org_id, _external=True)}


def summary_json(profile: SupplierProfile, today: date) -> dict[str, Any]:
    """A directory entry: what the directory page shows of a supplier."""
    org = profile.organisation
    return {
        "id": org.id,
        "name": org.name,
        "size": _size(profile),
        "is_sme": profile.is_sme,
        "description": profile.description or "",
        "regions": list(profile.regions or []),
        "capabilities": list(profile.capabilities or []),
        # Only certifications that have not expired, as the directory shows them.
        "certifications": [certification_json(c, today) for c in profile.certifications
                           if not service.certification_expired(c, today)],
        "updated_at": core.iso(profile.updated_at),
        "links": _links(org.id),
    }


def public_json(profile: SupplierProfile, today: date) -> dict[str, Any]:
    """A supplier's public profile: what its public page shows."""
    org = profile.organisation
    cpv = reference.load_cpv()
    return {
        "id": org.id,
        "name": org.name,
        "listed": service.is_listed(org),
        "size": _size(profile),
        "is_sme": profile.is_sme,
        "description": profile.description or "",
        "companies_house_number": profile.companies_house_number,
        "regions": list(profile.regions or []),
        "website": profile.website,
        "capabilities": list(profile.capabilities or []),
        "case_studies": [_case_study_json(c) for c in profile.case_studies],
        "cpv_codes": [{"code": code, "label": cpv[code].label if code in cpv else ""}
                      for code in profile.cpv_codes or []],
        "certifications": [certification_json(c, today) for c in profile.certifications],
        "contact": {"name": profile.contact_name, "email": profile.contact_email,
                    "phone": profile.contact_phone},
        "updated_at": core.iso(profile.updated_at),
        "links": _links(org.id),
    }


def _case_study_json(study: Any) -> dict[str, Any]:
    return {"title": study.title, "client": study.client, "outcome": study.outcome,
            "measure": study.measure, "year": study.year}


def own_json(org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
    """The caller's own profile, field for field as ``PATCH /supplier/profile`` takes it."""
    return {
        "id": org.id,
        "name": org.name,
        "status": org.status,
        "listed": service.is_listed(org),
        "companies_house_number": profile.companies_house_number if profile else None,
        "size": _size(profile) if profile else None,
        "website": profile.website if profile else None,
        "description": (profile.description or "") if profile else "",
        "regions": list(profile.regions or []) if profile else [],
        "capabilities": list(profile.capabilities or []) if profile else [],
        "cpv_codes": list(profile.cpv_codes or []) if profile else [],
        "case_studies": [_case_study_json(c) for c in profile.case_studies] if profile else [],
        "certifications": [{"kind": c.kind, "name": c.name,
                            "expires_on": core.iso(c.expires_on)}
                           for c in profile.certifications] if profile else [],
        "contact_name": profile.contact_name if profile else None,
        "contact_email": profile.contact_email if profile else None,
        "contact_phone": profile.contact_phone if profile else None,
        "updated_at": core.iso(profile.updated_at) if profile else None,
        "links": {"self": url_for("api.supplier_profile_get", _external=True),
                  "public": url_for("api.suppliers_detail", supplier_id=org.id,
                                    _external=True)},
    }


# The directory --------------------------------------------------------------------------------

Q_MAX = 200


def _divisions() -> list[str]:
    return [d.division for d in reference.cpv_divisions()]


def _certification_choices() -> list[str]:
    return [k for k in CERTIFICATION_LABELS if k != "other"]


def directory_params() -> DirectoryParams:
    """The directory's filters from the query string; a 400 problem for one it cannot use
    (the page ignores them instead)."""
    q = " ".join(query_text("q", Q_MAX).split())
    return DirectoryParams(q=q, region=query_region(), size=query_choice("size", SIZE_LABELS),
                           certification=query_choice("certification",
                                                      _certification_choices()),
                           division=query_choice("division", _divisions()))


@bp.get("/suppliers")
@core.public
def suppliers_index():
    """Listed suppliers matching the search and filters, by name (the directory's query)."""
    params = directory_params()
    number, per_page = core.page_params()
    stmt, corrections = service.directory_query(params)
    total = db.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = core.Page(number, per_page, total)
    profiles = list(db.session.scalars(
        stmt.order_by(Organisation.name_key, Organisation.id)
        .options(lazyload(SupplierProfile.case_studies),
                 selectinload(SupplierProfile.certifications))
        .limit(per_page).offset(page.offset)))
    today = service.uk_today()
    from marketplace.services import search

    return core.paged([summary_json(p, today) for p in profiles], page,
                      spelling=search.spelling(corrections))


@bp.get(f"/suppliers/<{ID}:supplier_id>")
@core.public
def suppliers_detail(supplier_id: int):
    """A listed supplier's public profile (its own people may see it before it is listed)."""
    profile = service.public_profile(supplier_id, core.actor())
    return public_json(profile, service.uk_today())


# The caller's own profile ---------------------------------------------------------------------

TEXT_FIELDS = {"name": 400, "companies_house_number": 40, "size": 20, "website": 400,
               "description": 10_000, "contact_name": 400, "contact_email": 400,
               "contact_phone": 80}
LIST_FIELDS = {"regions": (50, 200), "capabilities": (200, 2000), "cpv_codes": (200, 100)}
CASE_STUDY_FIELDS = ("title", "outcome", "client", "measure")
CASE_STUDY_MAX = {"title": 400, "client": 400, "outcome": 10_000, "measure": 10_000}
PROFILE_FIELDS = (*TEXT_FIELDS, *LIST_FIELDS, "case_studies", "certifications")
MAX_ROWS = 20


def _rows(fields: core.Fields, name: str, allowed: tuple[str, ...]
          ) -> list[tuple[str, core.Fields]] | None:
    """Each object of a list field, read with its own Fields (problems prefixed)."""
    rows = fields.objects(name, max_items=MAX_ROWS)
    if rows is None:
        return None
    return [(f"{name}[{n}]", core.Fields(row, allowed=allowed)) for n, row in enumerate(rows)]


def _merge(fields: core.Fields, prefix: str, row: core.Fields) -> None:
    for problem in row.errors:
        fields.error(f"{prefix}.{problem['field']}", problem["detail"])


def profile_changes(data: dict[str, Any], fields: core.Fields) -> ProfileChanges:
    """``ProfileChanges`` from a JSON object: an absent field is left alone; null or "" clears
    it (null clears a list too)."""
    changes = ProfileChanges()
    for name, limit in TEXT_FIELDS.items():
        if fields.has(name):
            setattr(changes, name, fields.text(name, max_length=limit) or "")
    for name, (items, length) in LIST_FIELDS.items():
        if fields.has(name):
            setattr(changes, name, fields.strings(name, max_items=items, max_length=length)
                    or [])
    if fields.has("case_studies"):
        studies = []
        for prefix, row in _rows(fields, "case_studies", (*CASE_STUDY_FIELDS, "year")) or []:
            values = {k: row.text(k, max_length=CASE_STUDY_MAX[k]) for k in CASE_STUDY_FIELDS}
            year = row.integer("year", minimum=0, maximum=9999)
            _merge(fields, prefix, row)
            studies.append(CaseStudyInput(
                title=values["title"] or "", outcome=values["outcome"] or "",
                client=values["client"], measure=values["measure"], year=year))
        changes.case_studies = studies
    if fields.has("certifications"):
        certifications = []
        for prefix, row in _rows(fields, "certifications", ("kind", "name", "expires_on")) or []:
            kind = row.text("kind", max_length=100)
            name = row.text("name", max_length=400)
            expires_on = row.date("expires_on")
            _merge(fields, prefix, row)
            certifications.append(CertificationInput(kind=kind or "", name=name,
                                                     expires_on=expires_on))
        changes.certifications = certifications
    return changes


EDITORS = service.EDITOR_ROLES


@bp.get("/supplier/profile")
@core.roles(*EDITORS, kind="supplier")
def supplier_profile_get():
    """The caller's supplier profile (empty fields until something is saved)."""
    org, profile = service.own_profile(core.require_actor())
    return own_json(org, profile)


@bp.patch("/supplier/profile")
@core.roles(*EDITORS, kind="supplier")
def supplier_profile_patch():
    """Change parts of the caller's profile, as the profile pages do (``update_profile``)."""
    actor = core.require_actor()
    data, fields = read_body(PROFILE_FIELDS)
    changes = profile_changes(data, fields)
    fields.done()
    org, _ = service.own_profile(actor)
    try:
        service.update_profile(actor, org.id, changes)
    except ValidationFailed as err:
        raise unprocessable(err) from err
    db.session.expire_all()
    org, profile = service.own_profile(actor)
    return own_json(org, profile)


# OpenAPI --------------------------------------------------------------------------------------

def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    """The shared problem responses for ``codes``."""
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
             409: "Conflict", 415: "UnsupportedMediaType", 422: "Unprocessable",
             429: "TooManyRequests"}
    return {str(code): _response(names[code]) for code in codes}


NOT_MODIFIED = {"description": "Not modified (the ETag sent in If-None-Match still matches)"}
TOKEN_ONLY = [{"bearerAuth": []}]

STRING_OR_NULL = {"type": ["string", "null"]}
SIZES = list(SIZE_LABELS)
CERTIFICATION_KINDS = list(CERTIFICATION_LABELS)


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


LINKS = {"type": "object", "required": ["self"],
         "properties": {"self": {"type": "string", "format": "uri"},
                        "page": {"type": "string", "format": "uri"},
                        "public": {"type": "string", "format": "uri"}}}

CERTIFICATION = {
    "type": "object",
    "required": ["kind", "name", "label", "expires_on", "expired"],
    "properties": {
        "kind": {"type": "string", "enum": CERTIFICATION_KINDS},
        "name": STRING_OR_NULL,
        "label": {"type": "string"},
        "expires_on": {"type": ["string", "null"], "format": "date"},
        "expired": {"type": "boolean"},
    },
}

CASE_STUDY = {
    "type": "object",
    "required": ["title", "client", "outcome", "measure", "year"],
    "properties": {"title": {"type": "string"}, "client": STRING_OR_NULL,
                   "outcome": {"type": "string"}, "measure": STRING_OR_NULL,
                   "year": {"type": ["integer", "null"]}},
}

SIZE_OR_NULL = {"type": ["string", "null"], "enum": [*SIZES, None]}

SCHEMAS: dict[str, Any] = {
    "SupplierSummary": {
        "type": "object",
        "description": "A supplier in the directory: what the directory page shows",
        "required": ["id", "name", "size", "is_sme", "description", "regions", "capabilities",
                     "certifications", "updated_at", "links"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "size": SIZE_OR_NULL,
            "is_sme": {"type": "boolean"},
            "description": {"type": "string"},
            "regions": {"type": "array", "items": {"type": "string"}},
            "capabilities": {"type": "array", "items": {"type": "string"}},
            "certifications": {"type": "array", "items": _ref("SupplierCertification"),
                               "description": "Certifications that have not expired"},
            "updated_at": {"type": "string", "format": "date-time"},
            "links": LINKS,
        },
    },
    "SupplierCertification": CERTIFICATION,
    "SupplierCaseStudy": CASE_STUDY,
    "SupplierDirectoryPage": {
        **page_of("#/components/schemas/SupplierSummary"),
        "description": "A page of the directory. `spelling` lists the typo corrections used "
                       "(a query word and the near spellings searched instead)",
    },
    "SupplierProfile": {
        "type": "object",
        "description": "A supplier's public profile: what its public page shows",
        "required": ["id", "name", "listed", "size", "is_sme", "description",
                     "companies_house_number", "regions", "website", "capabilities",
                     "case_studies", "cpv_codes", "certifications", "contact", "updated_at",
                     "links"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "listed": {"type": "boolean",
                       "description": "False only when its own people preview it before the "
                                      "marketplace team verifies it"},
            "size": SIZE_OR_NULL,
            "is_sme": {"type": "boolean"},
            "description": {"type": "string"},
            "companies_house_number": STRING_OR_NULL,
            "regions": {"type": "array", "items": {"type": "string"}},
            "website": STRING_OR_NULL,
            "capabilities": {"type": "array", "items": {"type": "string"}},
            "case_studies": {"type": "array", "items": _ref("SupplierCaseStudy")},
            "cpv_codes": {"type": "array", "items": {
                "type": "object", "required": ["code", "label"],
                "properties": {"code": {"type": "string"}, "label": {"type": "string"}}}},
            "certifications": {"type": "array", "items": _ref("SupplierCertification")},
            "contact": {"type": "object", "required": ["name", "email", "phone"],
                        "properties": {"name": STRING_OR_NULL, "email": STRING_OR_NULL,
                                       "phone": STRING_OR_NULL}},
            "updated_at": {"type": "string", "format": "date-time"},
            "links": LINKS,
        },
    },
    "OwnSupplierProfile": {
        "type": "object",
        "description": "The caller's own profile, with the fields PATCH takes",
        "required": ["id", "name", "status", "listed", "companies_house_number", "size",
                     "website", "description", "regions", "capabilities", "cpv_codes",
                     "case_studies", "certifications", "contact_name", "contact_email",
                     "contact_phone", "updated_at", "links"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "verified", "rejected"]},
            "listed": {"type": "boolean"},
            "companies_house_number": STRING_OR_NULL,
            "size": SIZE_OR_NULL,
            "website": STRING_OR_NULL,
            "description": {"type": "string"},
            "regions": {"type": "array", "items": {"type": "string"}},
            "capabilities": {"type": "array", "items": {"type": "string"}},
            "cpv_codes": {"type": "array", "items": {"type": "string"}},
            "case_studies": {"type": "array", "items": _ref("SupplierCaseStudy")},
            "certifications": {"type": "array", "items": {
                "type": "object", "required": ["kind", "name", "expires_on"],
                "properties": {"kind": {"type": "string"}, "name": STRING_OR_NULL,
                               "expires_on": {"type": ["string", "null"], "format": "date"}}}},
            "contact_name": STRING_OR_NULL,
            "contact_email": STRING_OR_NULL,
            "contact_phone": STRING_OR_NULL,
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
            "links": LINKS,
        },
    },
    "SupplierProfileChanges": {
        "type": "object",
        "additionalProperties": False,
        "description": (
            "Parts of the profile to change. An absent field is left alone; null or an empty "
            "string clears it. Lists replace the whole list. Problems name the JSON field, "
            "like `case_studies[1].title`."),
        "properties": {
            "name": {"type": ["string", "null"], "maxLength": 200},
            "companies_house_number": {"type": ["string", "null"], "maxLength": 20,
                                       "description": "8 characters, like 01234567 or "
                                                      "SC123456"},
            "size": {"type": ["string", "null"], "enum": [*SIZES, "", None]},
            "website": {"type": ["string", "null"], "maxLength": 300},
            "description": {"type": ["string", "null"], "maxLength": 5000},
            "regions": {"type": ["array", "null"], "maxItems": 50,
                        "items": {"type": "string", "maxLength": 200}},
            "capabilities": {"type": ["array", "null"], "maxItems": 20,
                             "items": {"type": "string", "maxLength": 300}},
            "cpv_codes": {"type": ["array", "null"], "maxItems": 50,
                          "items": {"type": "string", "maxLength": 100}},
            "case_studies": {"type": ["array", "null"], "maxItems": 5, "items": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "title": {"type": ["string", "null"], "maxLength": 200},
                    "outcome": {"type": ["string", "null"], "maxLength": 10000},
                    "client": {"type": ["string", "null"], "maxLength": 200},
                    "measure": {"type": ["string", "null"], "maxLength": 10000},
                    "year": {"type": ["integer", "null"], "minimum": 1950,
                             "maximum": 9999}}}},
            "certifications": {"type": ["array", "null"], "maxItems": 5, "items": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "kind": {"type": ["string", "null"], "enum": [*CERTIFICATION_KINDS, "",
                                                                  None]},
                    "name": {"type": ["string", "null"], "maxLength": 200},
                    "expires_on": {"type": ["string", "null"], "format": "date"}}}},
            "contact_name": {"type": ["string", "null"], "maxLength": 200},
            "contact_email": {"type": ["string", "null"], "maxLength": 254},
            "contact_phone": {"type": ["string", "null"], "maxLength": 40},
        },
    },
}

SCHEMAS["SupplierDirectoryPage"]["properties"]["spelling"] = {
    "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}

DIRECTORY_PARAMETERS = [
    _query("q", "Words to look for in names, descriptions, capabilities, case studies and "
                "CPV labels (typos are tolerated)", {"type": "string", "maxLength": Q_MAX}),
    _query("region", "Suppliers working in this ITL1 region (UK-wide suppliers included)",
           {"type": "string", "enum": list(reference.REGIONS)}),
    _query("size", "Size band", {"type": "string", "enum": SIZES}),
    _query("certification", "Holds this certification, not expired",
           {"type": "string", "enum": [k for k in CERTIFICATION_KINDS if k != "other"]}),
    _query("division", "Has a CPV code in this division (two digits, like 72)",
           {"type": "string", "pattern": "^[0-9]{2}$"}),
    *PAGE_PARAMETERS,
]

PATHS: dict[str, Any] = {
    "/suppliers": {
        "get": {
            "operationId": "listSuppliers",
            "tags": ["Suppliers"],
            "summary": "Search the supplier directory",
            "description": "Verified suppliers matching the search and filters, by name. "
                           "Anyone may call this.",
            "parameters": DIRECTORY_PARAMETERS,
            "responses": {
                "200": json_content(_ref("SupplierDirectoryPage"), "A page of suppliers"),
                "304": NOT_MODIFIED,
                **errors(400, 401, 429),
            },
        },
    },
    "/suppliers/{supplier_id}": {
        "get": {
            "operationId": "getSupplier",
            "tags": ["Suppliers"],
            "summary": "A supplier's public profile",
            "description": "Only listed (verified) suppliers exist here, except that a "
                           "supplier's own people can preview its profile before then.",
            "parameters": [id_parameter("supplier_id", "supplier")],
            "responses": {
                "200": json_content(_ref("SupplierProfile"), "The public profile"),
                "304": NOT_MODIFIED,
                **errors(401, 404, 429),
            },
        },
    },
    "/supplier/profile": {
        "get": {
            "operationId": "getOwnSupplierProfile",
            "tags": ["Suppliers"],
            "summary": "Your organisation's supplier profile",
            "description": "For a supplier's organisation admins and bidders.",
            "security": TOKEN_ONLY,
            "responses": {
                "200": json_content(_ref("OwnSupplierProfile"), "Your profile"),
                "304": NOT_MODIFIED,
                **errors(401, 403, 429),
            },
        },
        "patch": {
            "operationId": "updateOwnSupplierProfile",
            "tags": ["Suppliers"],
            "summary": "Change your organisation's supplier profile",
            "description": "For a supplier's organisation admins and bidders, with a write "
                           "token. Every change is audited.",
            "security": TOKEN_ONLY,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("SupplierProfileChanges")}}},
            "responses": {
                "200": json_content(_ref("OwnSupplierProfile"), "The profile as saved"),
                **errors(400, 401, 403, 415, 422, 429),
            },
        },
    },
}
