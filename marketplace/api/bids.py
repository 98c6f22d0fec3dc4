"""API: sealed bids.

Suppliers' bidders and organisation admins list their organisation's bids, start one for an
open challenge, change its working copy, see what stops it being submitted, submit it (each
submission freezes a numbered version with a receipt) and withdraw it; all through
``marketplace.services.bids``, so the rules are the pages' rules (another supplier's bid does
not exist, nothing changes after the deadline, every change is audited and says nothing of
what the bid contains).

A challenge's procurement officers list its submitted bids, as last submitted, once the
deadline has passed and the bids were opened for evaluation (``bids_for_council``, which
refuses and audits any earlier attempt). Reading a bid's content is recorded as opening it
(``bid.opened``), as on the council's bid page.

Attachments (PDF uploads) are not part of the API: upload, remove and download them on the
bid pages. A bid's JSON lists the names, sizes and checksums of its attachments.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import url_for

from marketplace.api import bp, core
from marketplace.api.openapi import PAGE_PARAMETERS, page_of
from marketplace.api.suppliers import (
    ID,
    MAX_ID,
    NOT_MODIFIED,
    STRING_OR_NULL,
    TOKEN_ONLY,
    errors,
    id_parameter,
    json_content,
    query_choice,
    read_body,
    service_field,
    unprocessable,
)
from marketplace.extensions import db
from marketplace.models import BID_STATUS_LABELS, Bid, BidVersion, ChallengeStatus, utcnow
from marketplace.services import bids as service
from marketplace.services import challenges as challenge_service
from marketplace.services.bids import BidChanges, RequirementAnswer
from marketplace.services.errors import ValidationFailed

BIDDERS = service.BIDDER_ROLES
OFFICER = challenge_service.OFFICER
ANSWER_MAX = 100_000  # characters; the word limit (at most 5,000 words) is the service's
EVIDENCE_MAX = 5000
TEXT_MAX = 10_000  # team, availability, conflict details (as the bid forms)
PRICE_TEXT_MAX = 40
MAX_KEYS = 200


# Output ---------------------------------------------------------------------------------------

def _price(value: Any) -> float | int | None:
    if value is None or value == "":
        return None
    try:
        return core.number(Decimal(str(value)))
    except InvalidOperation:
        return None


def _version_json(version: BidVersion) -> dict[str, Any]:
    return {"number": version.number, "received_at": core.iso(version.received_at),
            "receipt": version.receipt}


def _challenge_json(bid: Bid) -> dict[str, Any]:
    challenge = bid.challenge
    return {
        "id": challenge.id,
        "title": challenge.title,
        "status": challenge.status.value,
        "submission_deadline": core.iso(challenge.submission_deadline),
        "criteria": [{"id": c.id, "name": c.name, "weight": c.weight,
                      "word_limit": c.word_limit} for c in challenge.criteria],
        "requirements": [{"id": r.id, "kind": r.kind, "text": r.text}
                         for r in challenge.requirements],
        "links": {"page": url_for("challenges.detail", challenge_id=challenge.id,
                                  _external=True)},
    }


def _links(bid: Bid) -> dict[str, str]:
    def link(endpoint: str) -> str:
        return url_for(endpoint, bid_id=bid.id, _external=True)

    return {"self": link("api.bids_get"), "problems": link("api.bids_problems"),
            "submit": link("api.bids_submit"), "withdraw": link("api.bids_withdraw"),
            "page": link("bids.edit")}


def bid_json(bid: Bid) -> dict[str, Any]:
    """The supplier's own bid: its working copy, status, versions and latest receipt."""
    now = utcnow()
    versions = list(bid.versions)
    latest = next((v for v in versions if v.number == bid.submitted_version), None)
    return {
        "id": bid.id,
        "challenge": _challenge_json(bid),
        "status": bid.status_at(now),
        "created_at": core.iso(bid.created_at),
        "changed_at": core.iso(bid.changed_at),
        "submitted_at": core.iso(bid.submitted_at),
        "submitted_version": bid.submitted_version,
        "withdrawn_at": core.iso(bid.withdrawn_at),
        "answers": {str(k): str(v) for k, v in (bid.answers or {}).items()},
        "requirements": {str(k): {"met": (v or {}).get("met"),
                                  "evidence": (v or {}).get("evidence") or ""}
                         for k, v in (bid.requirements or {}).items()},
        "price": core.number(bid.price),
        "price_warning": service.price_warning(bid),
        "team": bid.team or "",
        "availability": bid.availability or "",
        "has_conflict": bid.has_conflict,
        "conflict_details": bid.conflict_details or "",
        "terms_accepted": bool(bid.terms_accepted),
        "attachments": [{"id": a.id, "name": a.original_name, "size": a.size_bytes,
                         "sha256": a.sha256, "uploaded_at": core.iso(a.uploaded_at)}
                        for a in bid.current_attachments],
        "versions": [_version_json(v) for v in versions],
        "receipt": _version_json(latest) if latest is not None and bid.withdrawn_at is None
        else None,
        "links": _links(bid),
    }


def summary_json(bid: Bid) -> dict[str, Any]:
    """A line of the supplier's bid list."""
    challenge = bid.challenge
    return {
        "id": bid.id,
        "challenge": {"id": challenge.id, "title": challenge.title,
                      "status": challenge.status.value,
                      "submission_deadline": core.iso(challenge.submission_deadline)},
        "status": bid.status,
        "price": core.number(bid.price),
        "created_at": core.iso(bid.created_at),
        "changed_at": core.iso(bid.changed_at),
        "submitted_at": core.iso(bid.submitted_at),
        "submitted_version": bid.submitted_version,
        "withdrawn_at": core.iso(bid.withdrawn_at),
        "links": {"self": url_for("api.bids_get", bid_id=bid.id, _external=True)},
    }


def problems_json(found: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"field": service_field(name), "detail": message} for name, message in found]


def council_json(bid: Bid, version: BidVersion) -> dict[str, Any]:
    """A submitted bid as its supplier last submitted it (the version, not the working copy)."""
    content = version.content or {}
    return {
        "id": bid.id,
        "supplier": {"id": bid.supplier_id, "name": bid.supplier.name},
        "version": version.number,
        "received_at": core.iso(version.received_at),
        "content": {
            "answers": {str(k): str(v) for k, v in (content.get("answers") or {}).items()},
            "requirements": {str(k): {"met": (v or {}).get("met"),
                                      "evidence": (v or {}).get("evidence") or ""}
                             for k, v in (content.get("requirements") or {}).items()},
            "price": _price(content.get("price")),
            "team": content.get("team") or "",
            "availability": content.get("availability") or "",
            "has_conflict": content.get("has_conflict"),
            "conflict_details": content.get("conflict_details") or "",
            "terms_accepted": bool(content.get("terms_accepted")),
            "attachments": [{"id": a.get("id"), "name": a.get("name"), "size": a.get("size"),
                             "sha256": a.get("sha256")}
                            for a in content.get("attachments") or []],
        },
        "links": {"page": url_for("bids.council_bid", bid_id=bid.id, _external=True)},
    }


# Input ----------------------------------------------------------------------------------------

ANSWER_TEXT: dict[str, Any] = {"type": ["string", "null"], "maxLength": ANSWER_MAX}
REQUIREMENT_INPUT: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"met": {"type": ["boolean", "null"]},
                   "evidence": {"type": ["string", "null"], "maxLength": EVIDENCE_MAX}}}

BID_FIELDS = ("answers", "requirements", "price", "team", "availability", "has_conflict",
              "conflict_details", "terms_accepted")


def _key_id(key: str) -> int | None:
    """A criterion or requirement id used as an object key ("12"), or None."""
    if not key.isascii() or not key.isdigit() or len(key) > 10:
        return None
    value = int(key)
    return value if 1 <= value <= MAX_ID else None


def _keyed(fields: core.Fields, data: dict[str, Any], name: str, ids: list[int]
           ) -> dict[int, Any] | None:
    """An object keyed by id, or a list in the challenge's published order (handy for scripts
    that know the challenge but not its ids)."""
    raw = data.get(name)
    if raw is None:
        return {}
    if isinstance(raw, list):
        if len(raw) > len(ids):
            fields.error(name, f"{name} has {len(raw)} items but the challenge has "
                               f"{len(ids)}")
            return None
        return dict(zip(ids, raw, strict=False))
    if not isinstance(raw, dict):
        fields.error(name, f"{name} must be an object keyed by id, or a list in order")
        return None
    if len(raw) > MAX_KEYS:
        fields.error(name, f"{name} can have at most {MAX_KEYS} entries")
        return None
    found: dict[int, Any] = {}
    for key, value in raw.items():
        number = _key_id(key)
        if number is None:
            fields.error(name, f"The keys of {name} must be ids, like \"12\"")
            continue
        found[number] = value
    return found


def _answers(fields: core.Fields, data: dict[str, Any], ids: list[int]
             ) -> dict[int, str] | None:
    raw = _keyed(fields, data, "answers", ids)
    if raw is None:
        return None
    answers: dict[int, str] = {}
    for number, text in raw.items():
        path = f"answers.{number}"
        if text is None:
            text = ""
        if not isinstance(text, str):
            fields.error(path, f"{path} must be a string")
        elif len(text) > ANSWER_MAX:
            fields.error(path, f"{path} must be {ANSWER_MAX:,} characters or fewer")
        else:
            answers[number] = text
    return answers


def _requirements(fields: core.Fields, data: dict[str, Any], ids: list[int]
                  ) -> dict[int, RequirementAnswer] | None:
    raw = _keyed(fields, data, "requirements", ids)
    if raw is None:
        return None
    responses: dict[int, RequirementAnswer] = {}
    for number, value in raw.items():
        path = f"requirements.{number}"
        if not isinstance(value, dict):
            fields.error(path, f"{path} must be an object with met and evidence")
            continue
        row = core.Fields(value, allowed=("met", "evidence"))
        met = row.boolean("met")
        evidence = row.text("evidence", max_length=EVIDENCE_MAX)
        for problem in row.errors:
            fields.error(f"{path}.{problem['field']}", problem["detail"])
        responses[number] = RequirementAnswer(met=met, evidence=evidence or "")
    return responses


def bid_changes(bid: Bid, data: dict[str, Any], fields: core.Fields) -> BidChanges:
    """``BidChanges`` from a JSON object: an absent field is left alone."""
    changes = BidChanges()
    if fields.has("answers"):
        changes.answers = _answers(fields, data, [c.id for c in bid.challenge.criteria])
    if fields.has("requirements"):
        changes.requirements = _requirements(
            fields, data, [r.id for r in bid.challenge.requirements])
    if fields.has("price"):
        price = data["price"]
        changes.set_price = True
        if price is None or (isinstance(price, str) and len(price) <= PRICE_TEXT_MAX):
            changes.price = price
        elif isinstance(price, int | float) and not isinstance(price, bool):
            changes.price = str(price)
        elif isinstance(price, str):
            fields.error("price", f"price must be {PRICE_TEXT_MAX} characters or fewer")
        else:
            fields.error("price", "price must be a number of pounds, like 12500.50, or text "
                                  "like \"£12,500.50\"")
    for name in ("team", "availability"):
        if fields.has(name):
            setattr(changes, name, fields.text(name, max_length=TEXT_MAX) or "")
    if fields.has("has_conflict") or fields.has("conflict_details"):
        # The service sets both together: keep the one not sent.
        changes.set_conflict = True
        changes.has_conflict = (fields.boolean("has_conflict") if fields.has("has_conflict")
                                else bid.has_conflict)
        changes.conflict_details = (
            fields.text("conflict_details", max_length=TEXT_MAX) or ""
            if fields.has("conflict_details") else bid.conflict_details)
    if fields.has("terms_accepted"):
        if data["terms_accepted"] is None:
            fields.error("terms_accepted", "terms_accepted must be true or false")
        changes.terms_accepted = fields.boolean("terms_accepted")
    return changes


def _no_fields() -> None:
    """Actions take an empty JSON object."""
    _data, fields = read_body(())
    fields.done()


# Supplier routes ------------------------------------------------------------------------------

supplier_route = core.roles(*BIDDERS, kind="supplier")


@bp.get("/bids")
@supplier_route
def bids_list():
    """The caller's organisation's bids, newest first (optionally of one status)."""
    status = query_choice("status", BID_STATUS_LABELS)
    number, per_page = core.page_params()
    bids = service.bids_for_supplier(core.require_actor())
    if status is not None:
        now = utcnow()
        bids = [b for b in bids if b.status_at(now) == status]
    page = core.Page(number, per_page, len(bids))
    return core.paged([summary_json(b) for b in bids[page.offset:page.offset + per_page]],
                      page)


@bp.post(f"/challenges/<{ID}:challenge_id>/bids")
@supplier_route
def bids_start(challenge_id: int):
    """Start the organisation's (only) bid for an open challenge: an empty draft."""
    actor = core.require_actor()
    _no_fields()
    existing = service.bid_for(actor, challenge_id)
    if existing is None:
        started = utcnow()
        bid = service.start_bid(actor, challenge_id)
        # A colleague may have started it at the same moment: then it is theirs, not new.
        existing = bid if bid.created_at < started or bid.created_by_id != actor.id else None
    if existing is not None:
        url = url_for("api.bids_get", bid_id=existing.id, _external=True)
        raise core.ApiError(409, f"Your organisation already has a bid for this challenge: "
                                 f"{url}", headers={"Location": url})
    return core.created(bid_json(bid), url_for("api.bids_get", bid_id=bid.id, _external=True))


@bp.get(f"/bids/<{ID}:bid_id>")
@supplier_route
def bids_get(bid_id: int):
    """One of the organisation's bids (another supplier's is not found)."""
    return bid_json(service.get_own_bid(core.require_actor(), bid_id))


@bp.patch(f"/bids/<{ID}:bid_id>")
@supplier_route
def bids_patch(bid_id: int):
    """Change parts of the working copy (until the deadline)."""
    actor = core.require_actor()
    bid = service.get_own_bid(actor, bid_id)
    data, fields = read_body(BID_FIELDS)
    changes = bid_changes(bid, data, fields)
    fields.done()
    try:
        service.save_bid(actor, bid_id, changes)
    except ValidationFailed as err:
        raise unprocessable(err) from err
    db.session.expire_all()
    return bid_json(service.get_own_bid(actor, bid_id))


@bp.get(f"/bids/<{ID}:bid_id>/problems")
@supplier_route
def bids_problems(bid_id: int):
    """What stops the working copy being submitted, each naming its JSON field."""
    bid = service.get_own_bid(core.require_actor(), bid_id)
    found = service.problems(bid)
    is_open = bid.challenge.status_at(utcnow()) == ChallengeStatus.OPEN
    return {"bid_id": bid.id, "complete": not found, "can_submit": is_open and not found,
            "problems": problems_json(found), "price_warning": service.price_warning(bid)}


@bp.post(f"/bids/<{ID}:bid_id>/submit")
@supplier_route
def bids_submit(bid_id: int):
    """Submit (or resubmit) the working copy before the deadline; the bid comes back with its
    new receipt. A 422 lists everything still missing."""
    actor = core.require_actor()
    # Someone else's bid is not found, whatever was sent.
    service.get_own_bid(actor, bid_id)
    _no_fields()
    try:
        service.submit_bid(actor, bid_id)
    except ValidationFailed as err:
        found = service.problems(service.get_own_bid(actor, bid_id))
        if not found:
            raise unprocessable(err) from err
        raise core.ApiError(422, f"The bid cannot be submitted yet: {len(found)} thing"
                                 f"{'' if len(found) == 1 else 's'} to do",
                            errors=problems_json(found)) from err
    db.session.expire_all()
    return bid_json(service.get_own_bid(actor, bid_id))


@bp.post(f"/bids/<{ID}:bid_id>/withdraw")
@supplier_route
def bids_withdraw(bid_id: int):
    """Withdraw a submitted bid before the deadline (it can be submitted again)."""
    actor = core.require_actor()
    service.get_own_bid(actor, bid_id)
    _no_fields()
    service.withdraw_bid(actor, bid_id)
    db.session.expire_all()
    return bid_json(service.get_own_bid(actor, bid_id))


# Council route --------------------------------------------------------------------------------

@bp.get(f"/challenges/<{ID}:challenge_id>/bids")
@core.roles(OFFICER, kind="council")
def bids_council_list(challenge_id: int):
    """The challenge's submitted bids, as last submitted, in the order received: for its
    procurement officers after the deadline, once the bids were opened. Each bid on the page
    is opened through ``open_bid_for_council`` (audited as ``bid.opened``)."""
    actor = core.require_actor()
    number, per_page = core.page_params()
    # Refuses (and audits) when the bids are not open to this person.
    total, items = service.open_bids_for_council(
        actor, challenge_id, (number - 1) * per_page, per_page, council_json)
    page = core.Page(number, per_page, total)
    return core.paged(items, page, challenge_id=challenge_id)


# OpenAPI --------------------------------------------------------------------------------------

def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


DATETIME = {"type": "string", "format": "date-time"}
DATETIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
NUMBER_OR_NULL = {"type": ["number", "null"]}
STATUSES = list(BID_STATUS_LABELS)
CHALLENGE_STATUSES = [s.value for s in ChallengeStatus]
REQUIREMENT_ANSWER = {"type": "object", "required": ["met", "evidence"],
                      "properties": {"met": {"type": ["boolean", "null"]},
                                     "evidence": {"type": "string"}}}
ATTACHMENT = {"type": "object", "required": ["id", "name", "size", "sha256"],
              "properties": {"id": {"type": ["integer", "null"]},
                             "name": STRING_OR_NULL, "size": {"type": ["integer", "null"]},
                             "sha256": STRING_OR_NULL, "uploaded_at": DATETIME}}
BID_CHALLENGE = {
    "type": "object",
    "required": ["id", "title", "status", "submission_deadline"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "status": {"type": "string", "enum": CHALLENGE_STATUSES},
        "submission_deadline": DATETIME_OR_NULL,
        "criteria": {"type": "array", "items": {
            "type": "object", "required": ["id", "name", "weight", "word_limit"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                           "weight": {"type": "integer"}, "word_limit": {"type": "integer"}}}},
        "requirements": {"type": "array", "items": {
            "type": "object", "required": ["id", "kind", "text"],
            "properties": {"id": {"type": "integer"},
                           "kind": {"type": "string", "enum": ["essential", "nice_to_have"]},
                           "text": {"type": "string"}}}},
        "links": {"type": "object"},
    },
}
URI = {"type": "string", "format": "uri"}
VERSION = {"type": "object", "required": ["number", "received_at", "receipt"],
           "properties": {"number": {"type": "integer"}, "received_at": DATETIME,
                          "receipt": {"type": "string"}}}

SCHEMAS: dict[str, Any] = {
    "Bid": {
        "type": "object",
        "description": "Your organisation's bid: its working copy, status, submitted versions "
                       "and the receipt of the version that counts. Answers and requirement "
                       "responses are keyed by the criterion or requirement id. Attachments "
                       "are managed on the bid pages only.",
        "required": ["id", "challenge", "status", "created_at", "changed_at", "submitted_at",
                     "submitted_version", "withdrawn_at", "answers", "requirements", "price",
                     "price_warning", "team", "availability", "has_conflict",
                     "conflict_details", "terms_accepted", "attachments", "versions",
                     "receipt", "links"],
        "properties": {
            "id": {"type": "integer"},
            "challenge": BID_CHALLENGE,
            "status": {"type": "string", "enum": STATUSES},
            "created_at": DATETIME,
            "changed_at": DATETIME,
            "submitted_at": DATETIME_OR_NULL,
            "submitted_version": {"type": "integer", "minimum": 0},
            "withdrawn_at": DATETIME_OR_NULL,
            "answers": {"type": "object", "additionalProperties": {"type": "string"}},
            "requirements": {"type": "object", "additionalProperties": REQUIREMENT_ANSWER},
            "price": NUMBER_OR_NULL,
            "price_warning": STRING_OR_NULL,
            "team": {"type": "string"},
            "availability": {"type": "string"},
            "has_conflict": {"type": ["boolean", "null"]},
            "conflict_details": {"type": "string"},
            "terms_accepted": {"type": "boolean"},
            "attachments": {"type": "array", "items": ATTACHMENT},
            "versions": {"type": "array", "items": VERSION},
            "receipt": {"oneOf": [VERSION, {"type": "null"}]},
            "links": {"type": "object", "additionalProperties": URI},
        },
    },
    "BidSummary": {
        "type": "object",
        "required": ["id", "challenge", "status", "price", "created_at", "changed_at",
                     "submitted_at", "submitted_version", "withdrawn_at", "links"],
        "properties": {
            "id": {"type": "integer"},
            "challenge": BID_CHALLENGE,
            "status": {"type": "string", "enum": STATUSES},
            "price": NUMBER_OR_NULL,
            "created_at": DATETIME,
            "changed_at": DATETIME,
            "submitted_at": DATETIME_OR_NULL,
            "submitted_version": {"type": "integer"},
            "withdrawn_at": DATETIME_OR_NULL,
            "links": {"type": "object", "additionalProperties": URI},
        },
    },
    "BidPage": page_of("#/components/schemas/BidSummary"),
    "BidChanges": {
        "type": "object",
        "additionalProperties": False,
        "description": "Parts of the working copy to change; an absent field is left alone. "
                       "`answers` and `requirements` change only the ids sent. Problems name "
                       "the JSON field, like `answers.12` or `requirements.7`.",
        "properties": {
            "answers": {
                "description": "Criterion id to answer text (within its word limit), or a "
                               "list of answers in the order the criteria are published",
                "oneOf": [
                    {"type": "object", "maxProperties": MAX_KEYS,
                     "propertyNames": {"pattern": "^[1-9][0-9]{0,8}$"},
                     "additionalProperties": ANSWER_TEXT},
                    {"type": "array", "maxItems": MAX_KEYS, "items": ANSWER_TEXT},
                    {"type": "null"}]},
            "requirements": {
                "description": "Requirement id to whether you meet it and your evidence, or a "
                               "list in the order the challenge lists its `requirements`",
                "oneOf": [
                    {"type": "object", "maxProperties": MAX_KEYS,
                     "propertyNames": {"pattern": "^[1-9][0-9]{0,8}$"},
                     "additionalProperties": REQUIREMENT_INPUT},
                    {"type": "array", "maxItems": MAX_KEYS, "items": REQUIREMENT_INPUT},
                    {"type": "null"}]},
            "price": {"type": ["number", "string", "null"], "minimum": 0,
                      "maxLength": PRICE_TEXT_MAX,
                      "description": "Pounds, at most 2 decimal places: 12500.5 or "
                                     "\"£12,500.50\"; null clears it"},
            "team": {"type": ["string", "null"], "maxLength": TEXT_MAX},
            "availability": {"type": ["string", "null"], "maxLength": TEXT_MAX},
            "has_conflict": {"type": ["boolean", "null"]},
            "conflict_details": {"type": ["string", "null"], "maxLength": TEXT_MAX},
            "terms_accepted": {"type": "boolean"},
        },
    },
    "BidProblems": {
        "type": "object",
        "required": ["bid_id", "complete", "can_submit", "problems", "price_warning"],
        "properties": {
            "bid_id": {"type": "integer"},
            "complete": {"type": "boolean", "description": "Nothing is missing"},
            "can_submit": {"type": "boolean",
                           "description": "Complete, and the challenge is open"},
            "problems": {"type": "array", "items": {
                "type": "object", "required": ["field", "detail"],
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}}}},
            "price_warning": STRING_OR_NULL,
        },
    },
    "SubmittedBid": {
        "type": "object",
        "description": "A bid as its supplier last submitted it",
        "required": ["id", "supplier", "version", "received_at", "content", "links"],
        "properties": {
            "id": {"type": "integer"},
            "supplier": {"type": "object", "required": ["id", "name"],
                         "properties": {"id": {"type": "integer"},
                                        "name": {"type": "string"}}},
            "version": {"type": "integer"},
            "received_at": DATETIME,
            "content": {
                "type": "object",
                "required": ["answers", "requirements", "price", "team", "availability",
                             "has_conflict", "conflict_details", "terms_accepted",
                             "attachments"],
                "properties": {
                    "answers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "requirements": {"type": "object",
                                     "additionalProperties": REQUIREMENT_ANSWER},
                    "price": NUMBER_OR_NULL,
                    "team": {"type": "string"},
                    "availability": {"type": "string"},
                    "has_conflict": {"type": ["boolean", "null"]},
                    "conflict_details": {"type": "string"},
                    "terms_accepted": {"type": "boolean"},
                    "attachments": {"type": "array", "items": ATTACHMENT},
                },
            },
            "links": {"type": "object", "additionalProperties": URI},
        },
    },
}
SCHEMAS["SubmittedBidPage"] = page_of("#/components/schemas/SubmittedBid")
SCHEMAS["SubmittedBidPage"]["properties"]["challenge_id"] = {"type": "integer"}

EMPTY_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": False, "maxProperties": 0}}}}
BID_ID = id_parameter("bid_id", "bid")
CHALLENGE_ID = id_parameter("challenge_id", "challenge")
PAGING = list(PAGE_PARAMETERS)


def _bid_response(description: str) -> dict[str, Any]:
    return json_content(_ref("Bid"), description)


PATHS: dict[str, Any] = {
    "/bids": {
        "get": {
            "operationId": "listOwnBids",
            "tags": ["Bids"],
            "summary": "Your organisation's bids",
            "description": "Newest first. For a supplier's bidders and organisation admins.",
            "security": TOKEN_ONLY,
            "parameters": [
                {"name": "status", "in": "query", "required": False,
                 "description": "Only bids with this status",
                 "schema": {"type": "string", "enum": STATUSES}},
                *PAGING,
            ],
            "responses": {
                "200": json_content(_ref("BidPage"), "A page of bids"),
                "304": NOT_MODIFIED,
                **errors(400, 401, 403, 429),
            },
        },
    },
    "/challenges/{challenge_id}/bids": {
        "post": {
            "operationId": "startBid",
            "tags": ["Bids"],
            "summary": "Start your organisation's bid for an open challenge",
            "description": "An empty draft. Each supplier has one bid per challenge: if yours "
                           "exists the answer is 409 with its address in `Location`.",
            "security": TOKEN_ONLY,
            "parameters": [CHALLENGE_ID],
            "requestBody": EMPTY_BODY,
            "responses": {
                "201": _bid_response("The new draft (its address in Location)"),
                **errors(400, 401, 403, 404, 409, 415, 422, 429),
            },
        },
        "get": {
            "operationId": "listChallengeBids",
            "tags": ["Bids"],
            "summary": "A challenge's submitted bids (its procurement officers)",
            "description": "Only after the submission deadline and once a procurement "
                           "officer opened the bids for evaluation; before that the answer is "
                           "403 and the attempt is audited. Each bid shows the version its "
                           "supplier last submitted; reading one is recorded as opening it.",
            "security": TOKEN_ONLY,
            "parameters": [CHALLENGE_ID, *PAGING],
            "responses": {
                "200": json_content(_ref("SubmittedBidPage"), "A page of submitted bids"),
                "304": NOT_MODIFIED,
                **errors(400, 401, 403, 404, 429),
            },
        },
    },
    "/bids/{bid_id}": {
        "get": {
            "operationId": "getOwnBid",
            "tags": ["Bids"],
            "summary": "One of your organisation's bids",
            "security": TOKEN_ONLY,
            "parameters": [BID_ID],
            "responses": {
                "200": _bid_response("The bid"),
                "304": NOT_MODIFIED,
                **errors(401, 403, 404, 429),
            },
        },
        "patch": {
            "operationId": "updateOwnBid",
            "tags": ["Bids"],
            "summary": "Change your bid's working copy",
            "description": "Until the deadline (409 after it). A submitted bid changed "
                           "afterwards must be submitted again for the change to count.",
            "security": TOKEN_ONLY,
            "parameters": [BID_ID],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("BidChanges")}}},
            "responses": {
                "200": _bid_response("The bid as saved"),
                **errors(400, 401, 403, 404, 409, 415, 422, 429),
            },
        },
    },
    "/bids/{bid_id}/problems": {
        "get": {
            "operationId": "getOwnBidProblems",
            "tags": ["Bids"],
            "summary": "What stops your bid being submitted",
            "security": TOKEN_ONLY,
            "parameters": [BID_ID],
            "responses": {
                "200": json_content(_ref("BidProblems"), "Everything still missing"),
                "304": NOT_MODIFIED,
                **errors(401, 403, 404, 429),
            },
        },
    },
    "/bids/{bid_id}/submit": {
        "post": {
            "operationId": "submitOwnBid",
            "tags": ["Bids"],
            "summary": "Submit (or resubmit) your bid",
            "description": "Freezes the working copy as a numbered version and issues a "
                           "receipt (`receipt` in the answer; it is emailed too). A 422 lists "
                           "everything still missing; after the deadline the answer is 409.",
            "security": TOKEN_ONLY,
            "parameters": [BID_ID],
            "requestBody": EMPTY_BODY,
            "responses": {
                "200": _bid_response("The bid with its new receipt"),
                **errors(400, 401, 403, 404, 409, 415, 422, 429),
            },
        },
    },
    "/bids/{bid_id}/withdraw": {
        "post": {
            "operationId": "withdrawOwnBid",
            "tags": ["Bids"],
            "summary": "Withdraw your submitted bid",
            "description": "Before the deadline; it can be submitted again. 409 for a bid "
                           "that is not submitted or after the deadline.",
            "security": TOKEN_ONLY,
            "parameters": [BID_ID],
            "requestBody": EMPTY_BODY,
            "responses": {
                "200": _bid_response("The withdrawn bid"),
                **errors(400, 401, 403, 404, 409, 415, 422, 429),
            },
        },
    },
}
