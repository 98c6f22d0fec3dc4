"""API: matches between challenges and suppliers, with their score breakdowns.

- Suggested suppliers for a challenge: for the lead council's challenge owners and
  procurement officers, as on the suggested suppliers page (``suggestions.suggest_suppliers``,
  with the page's filters and weights). Suggestions use only what suppliers publish in their
  profiles, never anything about bids.
- Matching challenges for the calling supplier: the open challenges that fit its profile, as
  on the dashboard and profile pages (at most 10, each scoring at least the threshold, and
  none until the supplier is listed), with each one's breakdown.

Scores are out of 100; each component of a breakdown is a fraction from 0 to 1 (null when the
challenge gives nothing to compare, such as no outcomes).
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from marketplace import reference
from marketplace.api import bp, core
from marketplace.api.suppliers import (
    ID,
    NOT_MODIFIED,
    STRING_OR_NULL,
    TOKEN_ONLY,
    errors,
    id_parameter,
    json_content,
    query_choice,
    query_region,
)
from marketplace.forms.matching import COMPONENT_LABELS, COMPONENTS, DEFAULT_WEIGHTS
from marketplace.matching import Match, Weights
from marketplace.models import CERTIFICATION_LABELS, SIZE_LABELS, Challenge
from marketplace.services import challenges as challenge_service
from marketplace.services import suggestions
from marketplace.services import suppliers as supplier_service
from marketplace.services.suggestions import SuggestionFilters

EDITORS = challenge_service.EDITORS
WEIGHT_NAMES = {name: f"weight_{name}" for name in COMPONENTS}


# Output ---------------------------------------------------------------------------------------

def _spans(spans: Any) -> list[list[int]]:
    return [[span.start, span.end] for span in spans]


def match_json(match: Match) -> dict[str, Any]:
    """A match's score, breakdown per component, matched phrases and notes."""
    return {
        "score": round(match.score),
        "score_exact": round(float(match.score), 2),
        "breakdown": {name: match.breakdown.get(name) for name in COMPONENTS},
        "matched_phrases": [
            {"component": phrase.component,
             "challenge_phrase": phrase.challenge_phrase,
             "supplier_phrase": phrase.supplier_phrase,
             "strength": round(float(phrase.strength), 4),
             "challenge_spans": _spans(phrase.challenge_spans),
             "supplier_spans": _spans(phrase.supplier_spans),
             "shared": list(phrase.shared)}
            for phrase in match.explanation],
        "notes": list(match.notes),
    }


def _challenge_json(challenge: Challenge) -> dict[str, Any]:
    return {
        "id": challenge.id,
        "title": challenge.title,
        "summary": challenge.summary or "",
        "region": challenge.region,
        "council": challenge.lead_council.name if challenge.lead_council else None,
        "budget_max": challenge.budget_max,
        "submission_deadline": core.iso(challenge.submission_deadline),
        "links": {"page": url_for("challenges.detail", challenge_id=challenge.id,
                                  _external=True)},
    }


# Suggested suppliers --------------------------------------------------------------------------

def _weights() -> Weights | None:
    """The weights from the query string (None: the defaults); a 400 problem naming each bad
    one, as the page refuses them."""
    values: dict[str, int] = {}
    problems = []
    sent = False
    for name, param in WEIGHT_NAMES.items():
        label = COMPONENT_LABELS[name]
        try:
            value = core.query_int(param, DEFAULT_WEIGHTS[name], minimum=0, maximum=100)
        except core.ApiError:
            problems.append({"field": param, "detail": f"{label} weight must be a whole "
                                                       "number from 0 to 100"})
            continue
        values[name] = value
        sent = sent or param in request.args
    if problems:
        raise core.ApiError(400, "; ".join(p["detail"] for p in problems), errors=problems)
    if not sent:
        return None
    if not any(values.values()):
        raise core.bad_param("weight_capability", "At least one weight must be more than 0")
    return Weights(*(values[name] / 100 for name in COMPONENTS))


@bp.get(f"/challenges/<{ID}:challenge_id>/suggested-suppliers")
@core.roles(*EDITORS, kind="council")
def matches_suggested_suppliers(challenge_id: int):
    """The listed suppliers that best fit the challenge, best first, for the lead council's
    challenge owners and procurement officers (another council's challenge is not found; a
    co-sponsor is refused)."""
    filters = SuggestionFilters(
        region=query_region(), size=query_choice("size", SIZE_LABELS),
        certification=query_choice("certification",
                                   [k for k in CERTIFICATION_LABELS if k != "other"]))
    weights = _weights()
    page = suggestions.suggest_suppliers(core.require_actor(), challenge_id, filters, weights)
    used = page.weights
    return {
        "challenge_id": page.challenge.id,
        "considered": page.considered,
        "can_invite": page.can_invite,
        "filters": {"region": page.filters.region, "size": page.filters.size,
                    "certification": page.filters.certification},
        "weights": {name: round(getattr(used, name) * 100) for name in COMPONENTS},
        "items": [{
            "supplier": {
                "id": item.supplier_id, "name": item.name,
                "links": {"self": url_for("api.suppliers_detail", supplier_id=item.supplier_id,
                                          _external=True)}},
            **match_json(item.match),
            "invited_at": core.iso(item.invitation.created_at) if item.invitation else None,
        } for item in page.items],
    }


# Matching challenges for the calling supplier -----------------------------------------------

@bp.get("/supplier/matching-challenges")
@core.roles(kind="supplier")
def matches_for_supplier():
    """Open challenges that fit the caller's organisation's profile, best first (at most 10,
    each scoring at least the threshold; none until the organisation is listed)."""
    org, profile = supplier_service.own_profile(core.require_actor())
    found = supplier_service.matching_challenges_for(profile)
    return {
        "listed": profile is not None and supplier_service.is_listed(org),
        "min_score": supplier_service.match_min_score(),
        "items": [{"challenge": _challenge_json(item.challenge), **match_json(item.match),
                   "reason": item.reason} for item in found if item.match is not None],
    }


# OpenAPI --------------------------------------------------------------------------------------

def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


FRACTION_OR_NULL = {"type": ["number", "null"]}
SPANS = {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                    "minItems": 2, "maxItems": 2}}
MATCH_PROPERTIES = {
    "score": {"type": "integer",
              "description": "Out of 100, rounded as the pages show it"},
    "score_exact": {"type": "number"},
    "breakdown": {"type": "object", "required": list(COMPONENTS),
                  "description": "Each component from 0 to 1; null when not scored",
                  "properties": {name: FRACTION_OR_NULL for name in COMPONENTS}},
    "matched_phrases": {"type": "array", "items": {
        "type": "object",
        "required": ["component", "challenge_phrase", "supplier_phrase", "strength",
                     "challenge_spans", "supplier_spans", "shared"],
        "properties": {
            "component": {"type": "string"},
            "challenge_phrase": {"type": "string"},
            "supplier_phrase": {"type": "string"},
            "strength": {"type": "number"},
            "challenge_spans": SPANS,
            "supplier_spans": SPANS,
            "shared": {"type": "array", "items": {"type": "string"}},
        }}},
    "notes": {"type": "array", "items": {"type": "string"}},
}
MATCH_REQUIRED = ["score", "score_exact", "breakdown", "matched_phrases", "notes"]

SCHEMAS: dict[str, Any] = {
    "SuggestedSupplier": {
        "type": "object",
        "required": ["supplier", *MATCH_REQUIRED, "invited_at"],
        "properties": {
            "supplier": {"type": "object", "required": ["id", "name", "links"],
                         "properties": {"id": {"type": "integer"},
                                        "name": {"type": "string"},
                                        "links": {"type": "object"}}},
            **MATCH_PROPERTIES,
            "invited_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "SuggestedSuppliers": {
        "type": "object",
        "required": ["challenge_id", "considered", "can_invite", "filters", "weights",
                     "items"],
        "properties": {
            "challenge_id": {"type": "integer"},
            "considered": {"type": "integer",
                           "description": "How many suppliers were ranked (after filters)"},
            "can_invite": {"type": "boolean"},
            "filters": {"type": "object", "required": ["region", "size", "certification"],
                        "properties": {"region": STRING_OR_NULL, "size": STRING_OR_NULL,
                                       "certification": STRING_OR_NULL}},
            "weights": {"type": "object", "required": list(COMPONENTS),
                        "description": "The weights used, out of 100",
                        "properties": {name: {"type": "integer"} for name in COMPONENTS}},
            "items": {"type": "array", "items": _ref("SuggestedSupplier")},
        },
    },
    "MatchingChallenge": {
        "type": "object",
        "required": ["challenge", *MATCH_REQUIRED, "reason"],
        "properties": {
            "challenge": {
                "type": "object",
                "required": ["id", "title", "summary", "region", "council", "budget_max",
                             "submission_deadline", "links"],
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "region": STRING_OR_NULL,
                    "council": STRING_OR_NULL,
                    "budget_max": {"type": ["integer", "null"]},
                    "submission_deadline": {"type": ["string", "null"], "format": "date-time"},
                    "links": {"type": "object"},
                }},
            **MATCH_PROPERTIES,
            "reason": {"type": "string"},
        },
    },
    "MatchingChallenges": {
        "type": "object",
        "required": ["listed", "min_score", "items"],
        "properties": {
            "listed": {"type": "boolean",
                       "description": "False until the organisation is verified and has a "
                                      "profile: then nothing matches"},
            "min_score": {"type": "number"},
            "items": {"type": "array", "items": _ref("MatchingChallenge")},
        },
    },
}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


SUGGESTION_PARAMETERS = [
    _query("region", "Suppliers working in this region (UK-wide suppliers included)",
           {"type": "string", "enum": list(reference.REGIONS)}),
    _query("size", "Size band", {"type": "string", "enum": list(SIZE_LABELS)}),
    _query("certification", "Holds this certification, not expired",
           {"type": "string", "enum": [k for k in CERTIFICATION_LABELS if k != "other"]}),
    *(_query(param, f"How much {COMPONENT_LABELS[name].lower()} count, from 0 to 100 "
                    f"(default {DEFAULT_WEIGHTS[name]}); at least one weight must be more "
                    "than 0. Weights are shared out in proportion",
             {"type": "integer", "minimum": 0, "maximum": 100})
      for name, param in WEIGHT_NAMES.items()),
]

PATHS: dict[str, Any] = {
    "/challenges/{challenge_id}/suggested-suppliers": {
        "get": {
            "operationId": "listSuggestedSuppliers",
            "tags": ["Matches"],
            "summary": "Suppliers that best fit a challenge, with score breakdowns",
            "description": "For the lead council's challenge owners and procurement officers "
                           "(another council's challenge is 404; a co-sponsoring council is "
                           "403). 409 for a withdrawn or cancelled challenge.",
            "security": TOKEN_ONLY,
            "parameters": [id_parameter("challenge_id", "challenge"), *SUGGESTION_PARAMETERS],
            "responses": {
                "200": json_content(_ref("SuggestedSuppliers"), "The best 20, best first"),
                "304": NOT_MODIFIED,
                **errors(400, 401, 403, 404, 409, 429),
            },
        },
    },
    "/supplier/matching-challenges": {
        "get": {
            "operationId": "listMatchingChallenges",
            "tags": ["Matches"],
            "summary": "Open challenges that fit your organisation's profile",
            "description": "For anyone in a supplier organisation. At most 10, best first, "
                           "each scoring at least `min_score`; none until the organisation "
                           "is verified and has a profile.",
            "security": TOKEN_ONLY,
            "responses": {
                "200": json_content(_ref("MatchingChallenges"), "Matching challenges"),
                "304": NOT_MODIFIED,
                **errors(401, 403, 429),
            },
        },
    },
}
