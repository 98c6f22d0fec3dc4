"""API: challenges. The public list (the same filters and search as the page), a challenge's
detail, its published Q&A and asking a question; for councils, their own challenges with
drafts, drafting, what stops publication, approval, publication, amendment, withdrawal,
cancellation and answering questions.

Every change goes through ``marketplace.services.challenges`` (the same use cases as the
pages, so the same rules, audit events and emails). This module only turns JSON into the
services' inputs, checking types, lengths and ranges first, and models into JSON.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Response, jsonify, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from marketplace import reference
from marketplace.api import bp, core
from marketplace.api.openapi import PAGE_PARAMETERS, page_of
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeCpv,
    ChallengeSponsor,
    ChallengeStatus,
    ClarificationQuestion,
    Organisation,
    OrgKind,
    QuestionStatus,
    User,
    utcnow,
)
from marketplace.services import award as award_service
from marketplace.services import challenges as service
from marketplace.services import search
from marketplace.services.challenges import (
    ChallengeChanges,
    CriterionInput,
    OutcomeInput,
    StageInput,
)
from marketplace.services.errors import NotFound, ServiceError

T = TypeVar("T")

EDITORS = service.EDITORS
OFFICER = service.OFFICER
SUPPLIER_ROLES = service.SUPPLIER_ROLES
UNPUBLISHED = {ChallengeStatus.DRAFT, ChallengeStatus.AWAITING_APPROVAL,
               ChallengeStatus.APPROVED}

MONEY_MAX = 2_000_000_000
YEAR_MIN, YEAR_MAX = 2000, 2999
# Plain int converters: the access rules check the range (see ``core.PATH_IDS``).
CHALLENGE = "<int:challenge_id>"
QUESTION = "<int:question_id>"

# Input limits: the database's column sizes, the forms' limits, and room for long texts.
TITLE_MAX = 200
SUMMARY_MAX = 1000
LONG_TEXT_MAX = 20_000
TEXT_FIELDS = {"summary": SUMMARY_MAX, "problem": LONG_TEXT_MAX,
               "background": LONG_TEXT_MAX, "affected": LONG_TEXT_MAX,
               "success": LONG_TEXT_MAX}
CAPABILITIES_MAX, CAPABILITY_MAX = 30, 80
CPV_CODES_MAX = 50
SPONSORS_MAX = 20
OUTCOMES_MAX, REQUIREMENTS_MAX, STAGES_MAX, CRITERIA_MAX = 20, 50, 10, 20
OUTCOME_MAX, MEASURE_MAX, REQUIREMENT_MAX = 5000, 1000, 2000
STAGE_NAME_MAX, DURATION_MAX = 100, 100
CRITERION_NAME_MAX, CRITERION_DESCRIPTION_MAX = 200, 5000
SHORTLIST_MIN, SHORTLIST_MAX = 1, 50
MAX_SUPPLIERS_MAX = 1000
WEIGHT_MIN, WEIGHT_MAX = 1, 100
WORD_LIMIT_MIN, WORD_LIMIT_MAX, WORD_LIMIT_DEFAULT = 50, 5000, 500
REASON_MAX = 5000
AMENDMENT_SUMMARY_MAX = 2000
QUESTION_MAX = 2000
ANSWER_MAX = 10_000
QUERY_MAX = 200

DATE_TIME_FIELDS = ("clarification_deadline", "submission_deadline")
CHANGE_FIELDS = ("title", *TEXT_FIELDS, "region", "budget_min", "budget_max", "sme_suitable",
                 "shortlist_size", "capabilities", "cpv_codes", "co_sponsor_ids", "outcomes",
                 "essential_requirements", "nice_to_haves", "stages", "criteria",
                 *DATE_TIME_FIELDS, "expected_award_date")
# Fields that may be sent as null (clearing them); any other null is refused.
NULLABLE = {"region", "budget_min", "budget_max", *DATE_TIME_FIELDS, "expected_award_date"}
# Service field names that are spelled differently in the API.
API_FIELD = {"requirements": "essential_requirements"}

DIVISIONS = tuple(d.division for d in reference.cpv_divisions())
BUDGET_KEYS = tuple(band.key for band in reference.BUDGET_BANDS)
TRUE_FALSE = {"true": True, "1": True, "false": False, "0": False}
ALL_STATUSES = tuple(s.value for s in ChallengeStatus)
QUESTION_STATUSES = tuple(s.value for s in QuestionStatus)


# Helpers -------------------------------------------------------------------------------------

def _run(use_case: Callable[..., T], *args: Any) -> T:
    """Run a use case, naming its fields as the API does."""
    try:
        return use_case(*args)
    except ServiceError as err:
        if err.field in API_FIELD:
            err.field = API_FIELD[err.field]
        raise


def _own_challenge(actor: User, challenge_id: int) -> Challenge:
    """A challenge of the caller's council (lead or co-sponsor); anything else is not found,
    published or not, as on the council pages."""
    challenge = service.get_challenge(challenge_id, actor)
    if not service.is_sponsor_member(actor, challenge):
        raise NotFound("Challenge not found")
    return challenge


def _bad_text(value: Any) -> bool:
    """True if any string in ``value`` holds a NUL or cannot be stored as UTF-8."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    return False


class _Fields(core.Fields):
    """Fields keeping the first problem found with each field."""

    def error(self, field: str, detail: str) -> None:
        if not any(e["field"] == field for e in self.errors):
            super().error(field, detail)


def _fields(data: dict[str, Any], allowed: tuple[str, ...] | list[str],
            nullable: set[str] | frozenset[str] = frozenset()) -> core.Fields:
    """Fields that also refuse NUL characters, and nulls where a value is needed."""
    f = _Fields(data, allowed)
    for name, value in data.items():
        if name not in allowed:
            continue
        if value is None and name not in nullable:
            f.error(name, f"{name} cannot be null")
        elif _bad_text(value):
            f.error(name, f"{name} must not contain NUL characters or unpaired surrogates")
    return f


def _datetime(f: core.Fields, name: str) -> datetime | None:
    value = f.data.get(name)
    if value is None:
        return None
    try:
        parsed = core.parse_datetime(value) if isinstance(value, str) else None
    except (OverflowError, ValueError):
        parsed = None
    if parsed is None:
        f.error(name, f"{name} must be an ISO 8601 date and time, like 2027-03-01T17:00:00Z")
        return None
    if not YEAR_MIN <= parsed.year <= YEAR_MAX:
        f.error(name, f"{name} must be between the years {YEAR_MIN} and {YEAR_MAX}")
        return None
    return parsed


def _date(f: core.Fields, name: str) -> date | None:
    value = f.date(name)
    if value is not None and not YEAR_MIN <= value.year <= YEAR_MAX:
        f.error(name, f"{name} must be between the years {YEAR_MIN} and {YEAR_MAX}")
        return None
    return value


def _item_fields(f: core.Fields, name: str, items: list[dict[str, Any]],
                 allowed: tuple[str, ...], nullable: set[str],
                 read: Callable[[core.Fields], T | None]) -> list[T]:
    """Read each object of a list with its own Fields; errors are named ``name[i].field``."""
    found: list[T] = []
    for n, item in enumerate(items):
        sub = _fields(item, allowed, nullable)
        value = read(sub)
        for error in sub.errors:
            f.error(f"{name}[{n}].{error['field']}", error["detail"])
        if value is not None and not sub.errors:
            found.append(value)
    return found


def _outcome(sub: core.Fields) -> OutcomeInput | None:
    description = sub.text("description", required=True, max_length=OUTCOME_MAX)
    measure = sub.text("measure", max_length=MEASURE_MAX)
    return OutcomeInput(description, measure) if description is not None else None


def _stage(sub: core.Fields) -> StageInput | None:
    name = sub.text("name", required=True, max_length=STAGE_NAME_MAX)
    duration = sub.text("duration", max_length=DURATION_MAX)
    funding = sub.integer("funding_per_supplier", minimum=0, maximum=MONEY_MAX)
    suppliers = sub.integer("max_suppliers", minimum=1, maximum=MAX_SUPPLIERS_MAX)
    return StageInput(name, duration, funding, suppliers) if name is not None else None


def _criterion(sub: core.Fields) -> CriterionInput | None:
    name = sub.text("name", required=True, max_length=CRITERION_NAME_MAX)
    weight = sub.integer("weight", minimum=WEIGHT_MIN, maximum=WEIGHT_MAX)
    if weight is None:
        sub.error("weight", "Enter a weight")  # kept only if nothing else was wrong with it
    description = sub.text("description", max_length=CRITERION_DESCRIPTION_MAX)
    word_limit = sub.integer("word_limit", minimum=WORD_LIMIT_MIN, maximum=WORD_LIMIT_MAX)
    if name is None or weight is None:
        return None
    return CriterionInput(name, weight, description,
                          WORD_LIMIT_DEFAULT if word_limit is None else word_limit)


def _read_changes(f: core.Fields, current: Challenge | None, *, creating: bool
                  ) -> ChallengeChanges:
    """ChallengeChanges from a JSON object: every type, length and range checked, and the
    rules across fields (budget range, weights totalling 100, dates in order) checked too, so
    one 422 names every field at fault. Fields left out are unchanged; a budget or date given
    alone keeps the others' current values."""
    changes = ChallengeChanges()
    changes.title = f.text("title", required=creating, max_length=TITLE_MAX)
    if not creating and changes.title is not None and not changes.title.strip():
        f.error("title", "Enter a title")
    for name, limit in TEXT_FIELDS.items():
        setattr(changes, name, f.text(name, max_length=limit))

    if f.has("region"):
        region = f.data["region"]
        if region is None:
            changes.region = ""
        elif isinstance(region, str) and region in reference.REGIONS:
            changes.region = region
        else:
            f.error("region", "region must be one of: " + ", ".join(reference.REGIONS))

    if f.has("budget_min") or f.has("budget_max"):
        changes.set_budget = True
        lo = f.integer("budget_min", minimum=0, maximum=MONEY_MAX)
        hi = f.integer("budget_max", minimum=0, maximum=MONEY_MAX)
        changes.budget_min = lo if f.has("budget_min") else (
            current.budget_min if current else None)
        changes.budget_max = hi if f.has("budget_max") else (
            current.budget_max if current else None)
        if (changes.budget_min is not None and changes.budget_max is not None
                and changes.budget_min > changes.budget_max):
            f.error("budget_min", "The minimum budget must not be more than the maximum")

    changes.sme_suitable = f.boolean("sme_suitable")
    changes.shortlist_size = f.integer("shortlist_size", minimum=SHORTLIST_MIN,
                                       maximum=SHORTLIST_MAX)
    changes.capabilities = f.strings("capabilities", max_items=CAPABILITIES_MAX,
                                     max_length=CAPABILITY_MAX)

    codes = f.strings("cpv_codes", max_items=CPV_CODES_MAX, max_length=20)
    if codes is not None:
        wrong = []
        for code in codes:
            try:
                reference.parse_cpv(code)
            except ValueError:
                wrong.append(code)
        if wrong:
            f.error("cpv_codes", "Use 8-digit codes from the CPV list; these are not: "
                    + ", ".join(wrong[:10]))
        changes.cpv_codes = codes

    if f.has("co_sponsor_ids"):
        changes.co_sponsor_ids = _sponsor_ids(f, current)

    outcomes = f.objects("outcomes", max_items=OUTCOMES_MAX)
    if outcomes is not None:
        changes.outcomes = _item_fields(f, "outcomes", outcomes, ("description", "measure"),
                                        {"measure"}, _outcome)
    changes.essential_requirements = f.strings(
        "essential_requirements", max_items=REQUIREMENTS_MAX, max_length=REQUIREMENT_MAX)
    changes.nice_to_haves = f.strings("nice_to_haves", max_items=REQUIREMENTS_MAX,
                                      max_length=REQUIREMENT_MAX)
    stages = f.objects("stages", max_items=STAGES_MAX)
    if stages is not None:
        changes.stages = _item_fields(
            f, "stages", stages, ("name", "duration", "funding_per_supplier", "max_suppliers"),
            {"duration", "funding_per_supplier", "max_suppliers"}, _stage)
    criteria = f.objects("criteria", max_items=CRITERIA_MAX)
    if criteria is not None:
        changes.criteria = _item_fields(
            f, "criteria", criteria, ("name", "weight", "description", "word_limit"),
            {"description"}, _criterion)
        total = sum(c.weight for c in changes.criteria)
        if changes.criteria and len(changes.criteria) == len(criteria) and total != 100:
            f.error("criteria", f"Weights must total 100; they total {total}")

    if any(f.has(name) for name in (*DATE_TIME_FIELDS, "expected_award_date")):
        changes.set_dates = True
        given = {name: _datetime(f, name) for name in DATE_TIME_FIELDS}
        award = _date(f, "expected_award_date")

        def pick(name: str, value: Any) -> Any:
            return value if f.has(name) else (getattr(current, name) if current else None)

        changes.clarification_deadline = pick("clarification_deadline",
                                              given["clarification_deadline"])
        changes.submission_deadline = pick("submission_deadline", given["submission_deadline"])
        changes.expected_award_date = pick("expected_award_date", award)
        clarification, deadline = changes.clarification_deadline, changes.submission_deadline
        if clarification and deadline and clarification >= deadline:
            f.error("clarification_deadline",
                    "The deadline for questions must be before the submission deadline")
        if changes.expected_award_date and deadline \
                and changes.expected_award_date <= deadline.date():
            f.error("expected_award_date",
                    "The expected award date must be after the submission deadline")
    return changes


def _sponsor_ids(f: core.Fields, current: Challenge | None) -> list[int] | None:
    value = f.data.get("co_sponsor_ids")
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        f.error("co_sponsor_ids", "co_sponsor_ids must be a list of whole numbers")
        return None
    if len(value) > SPONSORS_MAX:
        f.error("co_sponsor_ids", f"co_sponsor_ids can have at most {SPONSORS_MAX} items")
        return None
    if any(not 1 <= v <= core.MAX_ID for v in value):
        f.error("co_sponsor_ids", "Each co-sponsor id must be a positive whole number")
        return None
    # Checked here too (the service checks again) so a new draft is never left half-made.
    lead = current.lead_council_id if current else None
    wanted = {v for v in value if v != lead}
    councils = set(db.session.scalars(
        select(Organisation.id).where(Organisation.id.in_(wanted),
                                      Organisation.kind == OrgKind.COUNCIL.value))
    ) if wanted else set()
    unknown = sorted(wanted - councils)
    if unknown:
        f.error("co_sponsor_ids", "These are not councils: " + ", ".join(map(str, unknown)))
    return value


def _has_changes(data: dict[str, Any]) -> bool:
    return any(name in data for name in CHANGE_FIELDS if name != "title")


# JSON out ------------------------------------------------------------------------------------

def _org(org: Organisation) -> dict[str, Any]:
    return {"id": org.id, "name": org.name}


def _urls(challenge: Challenge) -> dict[str, Any]:
    html = url_for("challenges.detail", challenge_id=challenge.id, _external=True)
    return {
        "self": url_for("api.challenges_detail", challenge_id=challenge.id, _external=True),
        "html": html,
        "ocds": url_for("opendata.challenge_package", challenge_id=challenge.id,
                        _external=True) if challenge.is_published else None,
        "questions": url_for("api.challenges_questions", challenge_id=challenge.id,
                             _external=True),
    }


def _summary(challenge: Challenge, now: datetime, cpv_codes: list[str] | None = None
             ) -> dict[str, Any]:
    return {
        "id": challenge.id,
        "title": challenge.title,
        "summary": challenge.summary or "",
        "status": challenge.status_at(now).value,
        "lead_council": _org(challenge.lead_council),
        "region": challenge.region,
        "budget_min": challenge.budget_min,
        "budget_max": challenge.budget_max,
        "sme_suitable": bool(challenge.sme_suitable),
        "cpv_codes": challenge.cpv_codes if cpv_codes is None else cpv_codes,
        "published_at": core.iso(challenge.published_at),
        "clarification_deadline": core.iso(challenge.clarification_deadline),
        "submission_deadline": core.iso(challenge.submission_deadline),
        "updated_at": core.iso(challenge.updated_at),
        "urls": _urls(challenge),
    }


ENDED_WITH_REASON = {ChallengeStatus.WITHDRAWN, ChallengeStatus.CANCELLED,
                     ChallengeStatus.NO_SUITABLE_SUPPLIER}


def _award(challenge: Challenge, status: ChallengeStatus, now: datetime
           ) -> dict[str, Any] | None:
    """The public outcome, as the challenge page shows it: during the standstill only that a
    decision was made and when it becomes final; then the award notice."""
    if status == ChallengeStatus.STANDSTILL:
        return {"status": "standstill", "decided_at": core.iso(challenge.award_decided_at),
                "final_at": core.iso(challenge.awarded_at), "summary": None, "winners": [],
                "total_value": None}
    if status == ChallengeStatus.NO_SUITABLE_SUPPLIER:
        return {"status": "no_suitable_supplier",
                "decided_at": core.iso(challenge.no_suitable_supplier_at),
                "final_at": core.iso(challenge.no_suitable_supplier_at),
                "summary": challenge.end_reason, "winners": [], "total_value": None}
    notice = award_service.award_notice(challenge, now)
    if notice is None:
        return None
    return {"status": "awarded", "decided_at": core.iso(notice.decided_at),
            "final_at": core.iso(notice.final_at), "summary": notice.summary,
            "winners": [{"supplier_name": w.supplier_name, "sme": w.sme,
                         "size": w.size_label, "value": core.number(w.value)}
                        for w in notice.winners],
            "total_value": core.number(notice.total_value)}


def _detail(challenge: Challenge, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    status = challenge.status_at(now)
    body = _summary(challenge, now)
    body.update({
        "problem": challenge.problem or "",
        "background": challenge.background or "",
        "affected": challenge.affected or "",
        "success": challenge.success or "",
        "capabilities": list(challenge.capabilities or []),
        "shortlist_size": challenge.shortlist_size,
        "expected_award_date": core.iso(challenge.expected_award_date),
        "co_sponsors": sorted((_org(s.organisation) for s in challenge.sponsors),
                              key=lambda o: (o["name"], o["id"])),
        "outcomes": [{"description": o.description, "measure": o.measure}
                     for o in challenge.outcomes],
        "essential_requirements": [{"id": r.id, "text": r.text}
                                   for r in challenge.essential_requirements],
        "nice_to_haves": [{"id": r.id, "text": r.text} for r in challenge.nice_to_haves],
        "stages": [{"name": s.name, "duration": s.duration,
                    "funding_per_supplier": s.funding_per_supplier,
                    "max_suppliers": s.max_suppliers} for s in challenge.stages],
        "criteria": [{"id": c.id, "name": c.name, "description": c.description,
                      "weight": c.weight, "word_limit": c.word_limit}
                     for c in challenge.criteria],
        "amendments": [{"id": a.id, "summary": a.summary, "created_at": core.iso(a.created_at)}
                       for a in sorted(challenge.amendments,
                                       key=lambda a: (a.created_at, a.id), reverse=True)],
        # During the standstill the decision's summary is not public yet (it may name the
        # winners): the same rule as the challenge page.
        "end_reason": challenge.end_reason if status in ENDED_WITH_REASON else None,
        "award": _award(challenge, status, now),
        "withdrawn_at": core.iso(challenge.withdrawn_at),
        "cancelled_at": core.iso(challenge.cancelled_at),
        "created_at": core.iso(challenge.created_at),
    })
    return body


def _challenge_response(challenge_id: int, actor: User | None) -> Response:
    db.session.expire_all()
    return jsonify(_detail(service.get_challenge(challenge_id, actor)))


def _public_question(question: ClarificationQuestion) -> dict[str, Any]:
    """A published question as everyone sees it: the published wording, never the asker."""
    return {"id": question.id, "challenge_id": question.challenge_id,
            "status": question.status, "question": question.published_question or "",
            "answer": question.answer, "answered_at": core.iso(question.answered_at)}


def _question(question: ClarificationQuestion, *, council: bool) -> dict[str, Any]:
    """A question as its asker's supplier or the challenge's councils see it."""
    body = {"id": question.id, "challenge_id": question.challenge_id,
            "status": question.status, "question": question.question,
            "asked_at": core.iso(question.asked_at),
            "published_question": question.published_question, "answer": question.answer,
            "answered_at": core.iso(question.answered_at),
            "rejection_reason": question.rejection_reason}
    if council:
        body["supplier"] = _org(question.supplier)
    return body


def _question_url(question_id: int) -> str:
    return url_for("api.challenges_question", question_id=question_id, _external=True)


# Query parameters ---------------------------------------------------------------------------

def _enum_param(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise core.bad_param(name, "must be one of: " + ", ".join(allowed))
    return value


def _search_params() -> search.SearchParams:
    """The page's filters from the query string; an unknown value is a 400 naming it."""
    q = request.args.get("q") or ""
    if len(q) > QUERY_MAX:
        raise core.bad_param("q", f"must be {QUERY_MAX} characters or fewer")
    sme_text = (request.args.get("sme") or "").lower()
    if sme_text and sme_text not in TRUE_FALSE:
        raise core.bad_param("sme", "must be true or false")
    council = request.args.get("council")
    council_id = (core.query_int("council", 0, minimum=1, maximum=core.MAX_ID) if council
                  else None)
    return search.SearchParams(
        q=" ".join(q.split()), status=_enum_param("status", tuple(search.STATUS_FILTERS)),
        region=_enum_param("region", reference.REGIONS),
        division=_enum_param("division", DIVISIONS),
        budget=_enum_param("budget", BUDGET_KEYS), council_id=council_id,
        sme=TRUE_FALSE.get(sme_text, False),
        sort=_enum_param("sort", tuple(search.SORTS)) or "closing")


def _search_page(params: search.SearchParams, page: int, per_page: int
                 ) -> tuple[list[Challenge], int, dict[str, list[str]]]:
    """One API page of the public search (the page's own order, filters and typo tolerance);
    a page past the end is empty rather than the last page, as the web page shows it."""
    result = search.search(replace(params, page=page), per_page=per_page)
    items = result.items if result.page == page else []
    return items, result.total, result.spelling


def _cpv_by_challenge(ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for challenge_id, code in db.session.execute(
                select(ChallengeCpv.challenge_id, ChallengeCpv.code)
                .where(ChallengeCpv.challenge_id.in_(ids))):
            found[challenge_id].append(code)
    return {k: sorted(v) for k, v in found.items()}


# Public routes ------------------------------------------------------------------------------

@bp.get("/challenges")
@core.public
def challenges_list() -> Response:
    params = _search_params()
    page_number, per_page = core.page_params()
    items, total, spelling = _search_page(params, page_number, per_page)
    now = utcnow()
    codes = _cpv_by_challenge([c.id for c in items])
    return core.paged([_summary(c, now, codes[c.id]) for c in items],
                      core.Page(page_number, per_page, total), spelling=spelling)


@bp.get(f"/challenges/{CHALLENGE}")
@core.public
def challenges_detail(challenge_id: int) -> Response:
    return jsonify(_detail(service.get_challenge(challenge_id, core.actor())))


@bp.get(f"/challenges/{CHALLENGE}/questions")
@core.public
def challenges_questions(challenge_id: int) -> Response:
    challenge = service.get_challenge(challenge_id, core.actor())
    page_number, per_page = core.page_params()
    found = service.published_questions(challenge)
    page = core.Page(page_number, per_page, len(found))
    return core.paged([_public_question(q) for q in
                       found[page.offset:page.offset + per_page]], page)


@bp.get(f"/questions/{QUESTION}")
@core.public
def challenges_question(question_id: int) -> Response:
    """A question: published ones to anyone who may see the challenge; pending and rejected
    ones only to the asker's supplier and the challenge's councils."""
    actor = core.actor()
    question = db.session.get(ClarificationQuestion, question_id)
    if question is None:
        raise NotFound("Question not found")
    challenge = service.get_challenge(question.challenge_id, actor)
    if actor is not None and service.is_sponsor_member(actor, challenge):
        return jsonify(_question(question, council=True))
    if actor is not None and actor.is_supplier_user and question in \
            service.questions_for_supplier(actor, challenge):
        return jsonify(_question(question, council=False))
    if question.status == QuestionStatus.PUBLISHED:
        return jsonify(_public_question(question))
    raise NotFound("Question not found")


@bp.post(f"/challenges/{CHALLENGE}/questions")
@core.roles(*SUPPLIER_ROLES, kind="supplier")
def challenges_ask(challenge_id: int) -> Response:
    actor = core.require_actor()
    data = core.json_body()
    service.get_challenge(challenge_id, actor)  # a draft of a council is not found first
    f = _fields(data, ["question"])
    text = f.text("question", required=True, max_length=QUESTION_MAX)
    f.done()
    question = _run(service.ask_question, actor, challenge_id, text)
    return core.created(_question(question, council=False), _question_url(question.id))


# Council routes -----------------------------------------------------------------------------

@bp.get("/council/challenges")
@core.roles(kind="council")
def challenges_council_list() -> Response:
    actor = core.require_actor()
    status = _enum_param("status", ALL_STATUSES)
    page_number, per_page = core.page_params()
    now = utcnow()
    org_id = actor.organisation_id
    sponsored = select(ChallengeSponsor.challenge_id).where(
        ChallengeSponsor.organisation_id == org_id)
    stmt = select(Challenge).where(or_(Challenge.lead_council_id == org_id,
                                       Challenge.id.in_(sponsored)))
    if status:
        stmt = stmt.where(Challenge.status_sql(now) == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = core.Page(page_number, per_page, total)
    found = db.session.scalars(
        stmt.order_by(Challenge.updated_at.desc(), Challenge.id.desc())
        .limit(per_page).offset(page.offset)
        .options(selectinload(Challenge.lead_council)))
    return core.paged([_summary(c, now) for c in found], page)


@bp.post("/challenges")
@core.roles(*EDITORS, kind="council")
def challenges_create() -> Response:
    actor = core.require_actor()
    data = core.json_body()
    f = _fields(data, CHANGE_FIELDS, NULLABLE)
    changes = _read_changes(f, None, creating=True)
    f.done()
    # One use case, one transaction: a refused field leaves no draft behind.
    challenge = _run(service.create_draft, actor, changes.title or "",
                     changes if _has_changes(data) else None)
    db.session.expire_all()
    body = _detail(service.get_challenge(challenge.id, actor))
    return core.created(body, body["urls"]["self"])


@bp.patch(f"/challenges/{CHALLENGE}")
@core.roles(*EDITORS, kind="council")
def challenges_update(challenge_id: int) -> Response:
    actor = core.require_actor()
    data = core.json_body()
    challenge = _own_challenge(actor, challenge_id)
    if challenge.is_published:
        raise core.ApiError(
            409, "This challenge is published, so it cannot be edited as a draft. Change it "
                 f"with POST /api/v1/challenges/{challenge_id}/amend, which publishes an "
                 "amendment notice")
    f = _fields(data, CHANGE_FIELDS, NULLABLE)
    changes = _read_changes(f, challenge, creating=False)
    f.done()
    _run(service.update_draft, actor, challenge_id, changes)
    return _challenge_response(challenge_id, actor)


@bp.get(f"/challenges/{CHALLENGE}/problems")
@core.roles(kind="council")
def challenges_problems(challenge_id: int) -> Response:
    challenge = _own_challenge(core.require_actor(), challenge_id)
    status = challenge.status
    found = service.problems(challenge) if status in UNPUBLISHED else []
    return jsonify({
        "challenge_id": challenge.id, "status": status.value,
        "ready": status in UNPUBLISHED and not found,
        "problems": [{"field": API_FIELD.get(name, name), "detail": detail}
                     for name, detail in found],
    })


def _own_question(actor: User, question_id: int) -> ClarificationQuestion:
    """A question on a challenge of the caller's council; anything else is not found."""
    question = db.session.get(ClarificationQuestion, question_id)
    if question is None or not service.is_sponsor_member(actor, question.challenge):
        raise NotFound("Question not found")
    return question


def _no_fields(actor: User, challenge_id: int) -> None:
    """An action's body has no fields (``{}``); checked once the challenge is found."""
    data = core.json_body()
    _own_challenge(actor, challenge_id)
    _fields(data, []).done()


def _reason(actor: User, *, challenge_id: int | None = None,
            question_id: int | None = None) -> str:
    """The body's reason, once the challenge or question is known to be the caller's
    council's (as the pages find it first, so others get 404 whatever they send)."""
    data = core.json_body()
    if challenge_id is not None:
        _own_challenge(actor, challenge_id)
    if question_id is not None:
        _own_question(actor, question_id)
    f = _fields(data, ["reason"])
    reason = f.text("reason", required=True, max_length=REASON_MAX)
    f.done()
    return reason or ""


def _act(use_case: Callable[..., Any], challenge_id: int, *, reason: bool = False
         ) -> Response:
    """Run a state change on a challenge of the caller's council, its body ``{}`` or
    ``{"reason": ...}``, and answer with the challenge as it now is."""
    actor = core.require_actor()
    if reason:
        _run(use_case, actor, challenge_id, _reason(actor, challenge_id=challenge_id))
    else:
        _no_fields(actor, challenge_id)
        _run(use_case, actor, challenge_id)
    return _challenge_response(challenge_id, actor)


@bp.post(f"/challenges/{CHALLENGE}/submit-for-approval")
@core.roles(*EDITORS, kind="council")
def challenges_submit(challenge_id: int) -> Response:
    return _act(service.submit_for_approval, challenge_id)


@bp.post(f"/challenges/{CHALLENGE}/approve")
@core.roles(OFFICER, kind="council")
def challenges_approve(challenge_id: int) -> Response:
    return _act(service.approve, challenge_id)


@bp.post(f"/challenges/{CHALLENGE}/return-to-draft")
@core.roles(OFFICER, kind="council")
def challenges_return(challenge_id: int) -> Response:
    return _act(service.return_to_draft, challenge_id, reason=True)


@bp.post(f"/challenges/{CHALLENGE}/publish")
@core.roles(OFFICER, kind="council")
def challenges_publish(challenge_id: int) -> Response:
    return _act(service.publish, challenge_id)


@bp.post(f"/challenges/{CHALLENGE}/amend")
@core.roles(*EDITORS, kind="council")
def challenges_amend(challenge_id: int) -> Response:
    actor = core.require_actor()
    data = core.json_body()
    challenge = _own_challenge(actor, challenge_id)
    f = _fields(data, ("summary_of_change", *CHANGE_FIELDS), NULLABLE)
    summary = f.text("summary_of_change", required=True, max_length=AMENDMENT_SUMMARY_MAX)
    changes = _read_changes(f, challenge, creating=False)
    f.done()
    _run(service.amend, actor, challenge_id, changes, summary or "")
    return _challenge_response(challenge_id, actor)


@bp.post(f"/challenges/{CHALLENGE}/withdraw")
@core.roles(OFFICER, kind="council")
def challenges_withdraw(challenge_id: int) -> Response:
    return _act(service.withdraw, challenge_id, reason=True)


@bp.post(f"/challenges/{CHALLENGE}/cancel")
@core.roles(OFFICER, kind="council")
def challenges_cancel(challenge_id: int) -> Response:
    return _act(service.cancel, challenge_id, reason=True)


@bp.get(f"/council/challenges/{CHALLENGE}/questions")
@core.roles(kind="council")
def challenges_council_questions(challenge_id: int) -> Response:
    actor = core.require_actor()
    status = _enum_param("status", QUESTION_STATUSES)
    page_number, per_page = core.page_params()
    challenge = _own_challenge(actor, challenge_id)
    found = [q for q in service.questions_for_council(actor, challenge)
             if status is None or q.status == status]
    page = core.Page(page_number, per_page, len(found))
    return core.paged([_question(q, council=True)
                       for q in found[page.offset:page.offset + per_page]], page)


@bp.post(f"/questions/{QUESTION}/answer")
@core.roles(*EDITORS, kind="council")
def challenges_answer(question_id: int) -> Response:
    actor = core.require_actor()
    data = core.json_body()
    _own_question(actor, question_id)
    f = _fields(data, ["answer", "published_question"], {"published_question"})
    answer = f.text("answer", required=True, max_length=ANSWER_MAX)
    published = f.text("published_question", max_length=QUESTION_MAX)
    f.done()
    question = _run(service.answer_question, actor, question_id, answer or "", published)
    return jsonify(_question(question, council=True))


@bp.post(f"/questions/{QUESTION}/reject")
@core.roles(*EDITORS, kind="council")
def challenges_reject(question_id: int) -> Response:
    actor = core.require_actor()
    reason = _reason(actor, question_id=question_id)
    question = _run(service.reject_question, actor, question_id, reason)
    return jsonify(_question(question, council=True))


# OpenAPI ------------------------------------------------------------------------------------

def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_SHARED = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           409: "Conflict", 415: "UnsupportedMediaType", 422: "Unprocessable",
           429: "TooManyRequests"}
BEARER = [{"bearerAuth": []}]
TAGS = ["Challenges"]


def _responses(ok: int, schema: str, description: str, *errors: int, get: bool = False
               ) -> dict[str, Any]:
    found: dict[str, Any] = {str(ok): {"description": description, "content": {
        "application/json": {"schema": _ref(schema)}}}}
    if ok == 201:
        found["201"]["headers"] = {"Location": {"description": "The new object's URL",
                                                "schema": {"type": "string",
                                                           "format": "uri"}}}
    if get:
        found["304"] = {"description": "Not modified: If-None-Match matched the ETag"}
    for code in sorted({*errors, 401, 429}):
        found[str(code)] = {"$ref": f"#/components/responses/{_SHARED[code]}"}
    return found


def _id(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": core.MAX_ID}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def _body(schema: str, description: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"required": True, "content": {
        "application/json": {"schema": _ref(schema)}}}
    if description:
        body["description"] = description
    return body


CHALLENGE_ID = _id("challenge_id", "The challenge's id")
QUESTION_ID = _id("question_id", "The question's id")
PAGING = copy.deepcopy(PAGE_PARAMETERS)

NULL_STRING = {"type": ["string", "null"]}
DATE_TIME = {"type": "string", "format": "date-time"}
NULL_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
NULL_INT = {"type": ["integer", "null"]}
ORG = _ref("ChallengeOrganisation")


def _text_schema(max_length: int, *, nullable: bool = False, min_length: int = 0
                 ) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string",
                              "maxLength": max_length}
    if min_length:
        schema["minLength"] = min_length
        schema["pattern"] = r"\S"
    return schema


def _int_schema(minimum: int, maximum: int, *, nullable: bool = False) -> dict[str, Any]:
    return {"type": ["integer", "null"] if nullable else "integer", "minimum": minimum,
            "maximum": maximum}


def _with_spelling(schema: dict[str, Any]) -> dict[str, Any]:
    schema["required"] = [*schema["required"], "spelling"]
    schema["properties"]["spelling"] = {
        "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Query words matched by near spellings instead (typo tolerance)"}
    return schema


CHANGES_PROPERTIES: dict[str, Any] = {
    "title": {**_text_schema(TITLE_MAX, min_length=1),
              "description": "Start with “How might we…”"},
    "summary": {**_text_schema(SUMMARY_MAX),
                "description": "One paragraph; it appears in search results"},
    "problem": {**_text_schema(LONG_TEXT_MAX), "description": "The problem, not a solution"},
    "background": _text_schema(LONG_TEXT_MAX),
    "affected": {**_text_schema(LONG_TEXT_MAX), "description": "Who is affected"},
    "success": {**_text_schema(LONG_TEXT_MAX), "description": "What success looks like"},
    "region": {"type": ["string", "null"], "enum": [*reference.REGIONS, None],
               "description": "The place of delivery; null clears it"},
    "budget_min": {**_int_schema(0, MONEY_MAX, nullable=True),
                   "description": "Whole pounds; null clears it. The other bound keeps its "
                                  "value when only one is sent"},
    "budget_max": {**_int_schema(0, MONEY_MAX, nullable=True),
                   "description": "Whole pounds; null clears it"},
    "sme_suitable": {"type": "boolean"},
    "shortlist_size": {**_int_schema(SHORTLIST_MIN, SHORTLIST_MAX),
                       "description": "How many suppliers will be shortlisted"},
    "capabilities": {"type": "array", "maxItems": CAPABILITIES_MAX,
                     "items": {"type": "string", "maxLength": CAPABILITY_MAX},
                     "description": "Capabilities sought (replaces the list)"},
    "cpv_codes": {"type": "array", "maxItems": CPV_CODES_MAX,
                  "items": {"type": "string", "maxLength": 20,
                            "pattern": r"^[0-9]{8}(-[0-9])?$"},
                  "description": "CPV 2008 codes of 8 digits from the marketplace's list "
                                 "(replaces the list)"},
    "co_sponsor_ids": {"type": "array", "maxItems": SPONSORS_MAX,
                       "items": {"type": "integer", "minimum": 1, "maximum": core.MAX_ID},
                       "description": "Organisation ids of co-sponsoring councils (replaces "
                                      "the list)"},
    "outcomes": {"type": "array", "maxItems": OUTCOMES_MAX,
                 "items": _ref("ChallengeOutcomeInput"),
                 "description": "The outcomes wanted (replaces the list)"},
    "essential_requirements": {"type": "array", "maxItems": REQUIREMENTS_MAX,
                               "items": {"type": "string", "maxLength": REQUIREMENT_MAX},
                               "description": "Replaces the list; blank items are ignored"},
    "nice_to_haves": {"type": "array", "maxItems": REQUIREMENTS_MAX,
                      "items": {"type": "string", "maxLength": REQUIREMENT_MAX},
                      "description": "Replaces the list; blank items are ignored"},
    "stages": {"type": "array", "maxItems": STAGES_MAX, "items": _ref("ChallengeStageInput"),
               "description": "Contract stages (replaces the list)"},
    "criteria": {"type": "array", "maxItems": CRITERIA_MAX,
                 "items": _ref("ChallengeCriterionInput"),
                 "description": "Evaluation criteria (replaces the list); weights total 100"},
    "clarification_deadline": {**NULL_DATE_TIME,
                               "description": "When questions close; before the submission "
                                              "deadline. Without an offset, UTC"},
    "submission_deadline": {**NULL_DATE_TIME, "description": "Without an offset, UTC"},
    "expected_award_date": {"type": ["string", "null"], "format": "date",
                            "description": "After the submission deadline"},
}

SCHEMAS: dict[str, Any] = {
    "ChallengeOrganisation": {
        "type": "object", "required": ["id", "name"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    "ChallengeUrls": {
        "type": "object", "required": ["self", "html", "ocds", "questions"],
        "properties": {
            "self": {"type": "string", "format": "uri", "description": "This API object"},
            "html": {"type": "string", "format": "uri", "description": "The public page"},
            "ocds": {"type": ["string", "null"], "format": "uri",
                     "description": "The OCDS release package (null until published)"},
            "questions": {"type": "string", "format": "uri",
                          "description": "The published questions and answers"}}},
    "ChallengeSummary": {
        "type": "object",
        "required": ["id", "title", "summary", "status", "lead_council", "region",
                     "budget_min", "budget_max", "sme_suitable", "cpv_codes", "published_at",
                     "clarification_deadline", "submission_deadline", "updated_at", "urls"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "status": {"type": "string", "enum": list(ALL_STATUSES)},
            "lead_council": ORG,
            "region": {"type": ["string", "null"]},
            "budget_min": NULL_INT,
            "budget_max": NULL_INT,
            "sme_suitable": {"type": "boolean"},
            "cpv_codes": {"type": "array", "items": {"type": "string"}},
            "published_at": NULL_DATE_TIME,
            "clarification_deadline": NULL_DATE_TIME,
            "submission_deadline": NULL_DATE_TIME,
            "updated_at": DATE_TIME,
            "urls": _ref("ChallengeUrls"),
        }},
    "Challenge": {
        "allOf": [_ref("ChallengeSummary"), {
            "type": "object",
            "required": ["problem", "background", "affected", "success", "capabilities",
                         "shortlist_size", "expected_award_date", "co_sponsors", "outcomes",
                         "essential_requirements", "nice_to_haves", "stages", "criteria",
                         "amendments", "end_reason", "award", "withdrawn_at",
                         "cancelled_at", "created_at"],
            "properties": {
                "problem": {"type": "string"},
                "background": {"type": "string"},
                "affected": {"type": "string"},
                "success": {"type": "string"},
                "capabilities": {"type": "array", "items": {"type": "string"}},
                "shortlist_size": NULL_INT,
                "expected_award_date": {"type": ["string", "null"], "format": "date"},
                "co_sponsors": {"type": "array", "items": ORG},
                "outcomes": {"type": "array", "items": _ref("ChallengeOutcome")},
                "essential_requirements": {"type": "array",
                                           "items": _ref("ChallengeRequirement")},
                "nice_to_haves": {"type": "array", "items": _ref("ChallengeRequirement")},
                "stages": {"type": "array", "items": _ref("ChallengeStage")},
                "criteria": {"type": "array", "items": _ref("ChallengeCriterion")},
                "amendments": {"type": "array", "items": _ref("ChallengeAmendment"),
                               "description": "Newest first"},
                "end_reason": {**NULL_STRING,
                               "description": "The published reason for a withdrawal, a "
                                              "cancellation or no suitable supplier"},
                "award": {"oneOf": [{"type": "null"}, _ref("ChallengeAward")],
                          "description": "The public outcome: during the standstill only "
                                         "that a decision was made and when it becomes "
                                         "final, then the award notice"},
                "withdrawn_at": NULL_DATE_TIME,
                "cancelled_at": NULL_DATE_TIME,
                "created_at": DATE_TIME,
            }}]},
    "ChallengeAward": {
        "type": "object",
        "required": ["status", "decided_at", "final_at", "summary", "winners", "total_value"],
        "properties": {
            "status": {"type": "string",
                       "enum": ["standstill", "awarded", "no_suitable_supplier"]},
            "decided_at": NULL_DATE_TIME,
            "final_at": NULL_DATE_TIME,
            "summary": NULL_STRING,
            "winners": {"type": "array", "items": {
                "type": "object", "required": ["supplier_name", "sme", "size", "value"],
                "properties": {"supplier_name": {"type": "string"}, "sme": {"type": "boolean"},
                               "size": NULL_STRING, "value": {"type": "number"}}}},
            "total_value": {"type": ["number", "null"]},
        }},
    "ChallengeOutcome": {
        "type": "object", "required": ["description", "measure"],
        "properties": {"description": {"type": "string"}, "measure": NULL_STRING}},
    "ChallengeRequirement": {
        "type": "object", "required": ["id", "text"],
        "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}},
    "ChallengeStage": {
        "type": "object",
        "required": ["name", "duration", "funding_per_supplier", "max_suppliers"],
        "properties": {"name": {"type": "string"}, "duration": NULL_STRING,
                       "funding_per_supplier": NULL_INT, "max_suppliers": NULL_INT}},
    "ChallengeCriterion": {
        "type": "object", "required": ["id", "name", "description", "weight", "word_limit"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                       "description": NULL_STRING, "weight": {"type": "integer"},
                       "word_limit": {"type": "integer"}}},
    "ChallengeAmendment": {
        "type": "object", "required": ["id", "summary", "created_at"],
        "properties": {"id": {"type": "integer"}, "summary": {"type": "string"},
                       "created_at": DATE_TIME}},
    "ChallengeList": _with_spelling(page_of("#/components/schemas/ChallengeSummary")),
    "CouncilChallengeList": page_of("#/components/schemas/ChallengeSummary"),
    "ChallengeProblems": {
        "type": "object", "required": ["challenge_id", "status", "ready", "problems"],
        "properties": {
            "challenge_id": {"type": "integer"},
            "status": {"type": "string", "enum": list(ALL_STATUSES)},
            "ready": {"type": "boolean",
                      "description": "True when nothing stops publication now"},
            "problems": {"type": "array", "items": {
                "type": "object", "required": ["field", "detail"],
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}}}}}},
    "ChallengeOutcomeInput": {
        "type": "object", "additionalProperties": False, "required": ["description"],
        "properties": {"description": _text_schema(OUTCOME_MAX, min_length=1),
                       "measure": _text_schema(MEASURE_MAX, nullable=True)}},
    "ChallengeStageInput": {
        "type": "object", "additionalProperties": False, "required": ["name"],
        "properties": {
            "name": _text_schema(STAGE_NAME_MAX, min_length=1),
            "duration": _text_schema(DURATION_MAX, nullable=True),
            "funding_per_supplier": _int_schema(0, MONEY_MAX, nullable=True),
            "max_suppliers": _int_schema(1, MAX_SUPPLIERS_MAX, nullable=True)}},
    "ChallengeCriterionInput": {
        "type": "object", "additionalProperties": False, "required": ["name", "weight"],
        "properties": {
            "name": _text_schema(CRITERION_NAME_MAX, min_length=1),
            "weight": _int_schema(WEIGHT_MIN, WEIGHT_MAX),
            "description": _text_schema(CRITERION_DESCRIPTION_MAX, nullable=True),
            "word_limit": {**_int_schema(WORD_LIMIT_MIN, WORD_LIMIT_MAX),
                           "default": WORD_LIMIT_DEFAULT}}},
    "NewChallenge": {
        "type": "object", "additionalProperties": False, "required": ["title"],
        "description": "A new draft: a title, and optionally any other field at once",
        "properties": CHANGES_PROPERTIES},
    "ChallengeChanges": {
        "type": "object", "additionalProperties": False,
        "description": "Fields to change; a field left out is unchanged. Lists replace the "
                       "whole list",
        "properties": CHANGES_PROPERTIES},
    "ChallengeAmendmentInput": {
        "type": "object", "additionalProperties": False, "required": ["summary_of_change"],
        "description": "Published changes to an open challenge, with the notice suppliers see",
        "properties": {"summary_of_change": {
            **_text_schema(AMENDMENT_SUMMARY_MAX, min_length=1),
            "description": "Published on the challenge and emailed to followers"},
            **CHANGES_PROPERTIES}},
    "ChallengeReason": {
        "type": "object", "additionalProperties": False, "required": ["reason"],
        "properties": {"reason": _text_schema(REASON_MAX, min_length=1)}},
    "ChallengeEmptyBody": {"type": "object", "additionalProperties": False,
                           "properties": {}},
    "ChallengeQuestion": {
        "type": "object", "required": ["id", "challenge_id", "status", "question"],
        "description": "A clarification question. Everyone sees published ones with their "
                       "published wording and answer, never the asker. The asker's supplier "
                       "also sees its own pending and rejected ones (with the reason); the "
                       "challenge's councils see every question and the supplier that asked",
        "properties": {
            "id": {"type": "integer"},
            "challenge_id": {"type": "integer"},
            "status": {"type": "string", "enum": list(QUESTION_STATUSES)},
            "question": {"type": "string",
                         "description": "As asked (the published wording for the public)"},
            "published_question": NULL_STRING,
            "answer": NULL_STRING,
            "asked_at": NULL_DATE_TIME,
            "answered_at": NULL_DATE_TIME,
            "rejection_reason": NULL_STRING,
            "supplier": ORG}},
    "ChallengeQuestionList": page_of("#/components/schemas/ChallengeQuestion"),
    "ChallengeQuestionInput": {
        "type": "object", "additionalProperties": False, "required": ["question"],
        "properties": {"question": _text_schema(QUESTION_MAX, min_length=1)}},
    "ChallengeAnswerInput": {
        "type": "object", "additionalProperties": False, "required": ["answer"],
        "properties": {
            "answer": _text_schema(ANSWER_MAX, min_length=1),
            "published_question": {
                **_text_schema(QUESTION_MAX, nullable=True),
                "description": "The question as published, reworded to remove anything that "
                               "identifies the supplier; the original wording if left out"}}},
}

_LIST_PARAMETERS = [
    _query("q", "Keywords; every word must match (typos are tolerated)",
           {"type": "string", "maxLength": QUERY_MAX}),
    _query("status", "open, closed (including evaluation and standstill) or awarded",
           {"type": "string", "enum": list(search.STATUS_FILTERS)}),
    _query("region", "Place of delivery (UK-wide challenges are included)",
           {"type": "string", "enum": list(reference.REGIONS)}),
    _query("division", "CPV division: the first two digits",
           {"type": "string", "enum": list(DIVISIONS)}),
    _query("budget", "Maximum budget band",
           {"type": "string", "enum": list(BUDGET_KEYS)}),
    _query("council", "Organisation id of a lead or co-sponsoring council",
           {"type": "integer", "minimum": 1, "maximum": core.MAX_ID}),
    _query("sme", "Only challenges suitable for SMEs", {"type": "boolean"}),
    _query("sort", "closing (soonest first, the default), newest or budget (highest first)",
           {"type": "string", "enum": list(search.SORTS)}),
    *PAGING,
]


def _action(operation_id: str, summary: str, description: str, body: str,
            *errors: int) -> dict[str, Any]:
    return {"post": {
        "operationId": operation_id, "tags": TAGS, "summary": summary,
        "description": description, "security": BEARER, "parameters": [CHALLENGE_ID],
        "requestBody": _body(body),
        "responses": _responses(200, "Challenge", "The challenge after the change", 400, 403,
                                404, 409, 415, 422, *errors)}}


PATHS: dict[str, Any] = {
    "/challenges": {
        "get": {
            "operationId": "listChallenges", "tags": TAGS,
            "summary": "Search published challenges",
            "description": "The same filters, search and order as the challenges page. An "
                           "unknown filter value is a 400 naming the parameter.",
            "parameters": _LIST_PARAMETERS,
            "responses": _responses(200, "ChallengeList", "A page of challenges", 400,
                                    get=True)},
        "post": {
            "operationId": "createChallenge", "tags": TAGS,
            "summary": "Create a draft challenge",
            "description": "For challenge owners and procurement officers of a council. Send "
                           "a title and, optionally, every other field at once; everything "
                           "is checked before the draft is made.",
            "security": BEARER, "requestBody": _body("NewChallenge"),
            "responses": _responses(201, "Challenge", "The new draft", 400, 403, 415, 422)},
    },
    "/challenges/{challenge_id}": {
        "get": {
            "operationId": "getChallenge", "tags": TAGS, "summary": "A challenge",
            "description": "A published challenge, to anyone. Its councils also see their "
                           "drafts; to anyone else a draft does not exist (404).",
            "parameters": [CHALLENGE_ID],
            "responses": _responses(200, "Challenge", "The challenge", 404, get=True)},
        "patch": {
            "operationId": "updateChallenge", "tags": TAGS, "summary": "Edit a draft",
            "description": "For challenge owners and procurement officers of its councils. "
                           "Changing a challenge awaiting approval or approved sends it back "
                           "to draft. A published challenge is changed with /amend (409).",
            "security": BEARER, "parameters": [CHALLENGE_ID],
            "requestBody": _body("ChallengeChanges"),
            "responses": _responses(200, "Challenge", "The draft after the change", 400, 403,
                                    404, 409, 415, 422)},
    },
    "/challenges/{challenge_id}/problems": {
        "get": {
            "operationId": "getChallengeProblems", "tags": TAGS,
            "summary": "What stops publication",
            "description": "For its councils: each missing or wrong part of an unpublished "
                           "challenge, by field (empty once it can be published).",
            "security": BEARER, "parameters": [CHALLENGE_ID],
            "responses": _responses(200, "ChallengeProblems", "The problems", 403, 404,
                                    get=True)},
    },
    "/challenges/{challenge_id}/submit-for-approval": _action(
        "submitChallengeForApproval", "Send a draft for approval",
        "For challenge owners and procurement officers of its councils. The draft must be "
        "complete (see /problems); the lead council's procurement officers are told.",
        "ChallengeEmptyBody"),
    "/challenges/{challenge_id}/approve": _action(
        "approveChallenge", "Approve a challenge sent for approval",
        "For procurement officers of the lead council, not the one who sent it.",
        "ChallengeEmptyBody"),
    "/challenges/{challenge_id}/return-to-draft": _action(
        "returnChallengeToDraft", "Send a challenge back to draft",
        "For procurement officers of the lead council, with what needs to change (sent to "
        "whoever asked for approval).", "ChallengeReason"),
    "/challenges/{challenge_id}/publish": _action(
        "publishChallenge", "Publish a challenge",
        "For procurement officers of a verified lead council. An approved challenge, or a "
        "procurement officer's own complete draft.", "ChallengeEmptyBody"),
    "/challenges/{challenge_id}/amend": _action(
        "amendChallenge", "Amend an open challenge",
        "For challenge owners and procurement officers of its councils, before the deadline. "
        "Publishes the summary of the change and tells followers.",
        "ChallengeAmendmentInput"),
    "/challenges/{challenge_id}/withdraw": _action(
        "withdrawChallenge", "Withdraw an open challenge",
        "For procurement officers of the lead council; the reason is published.",
        "ChallengeReason"),
    "/challenges/{challenge_id}/cancel": _action(
        "cancelChallenge", "Cancel a challenge",
        "For procurement officers of the lead council, before an award; the reason is "
        "published.", "ChallengeReason"),
    "/challenges/{challenge_id}/questions": {
        "get": {
            "operationId": "listChallengeQuestions", "tags": TAGS,
            "summary": "Published questions and answers",
            "description": "In the order they were answered. The asker is never named.",
            "parameters": [CHALLENGE_ID, *PAGING],
            "responses": _responses(200, "ChallengeQuestionList", "A page of questions", 400,
                                    404, get=True)},
        "post": {
            "operationId": "askChallengeQuestion", "tags": TAGS,
            "summary": "Ask a clarification question",
            "description": "For bidders and admins of a supplier, while questions are open. "
                           "The council answers it publicly (without naming you) or rejects "
                           "it with a reason only you see.",
            "security": BEARER, "parameters": [CHALLENGE_ID],
            "requestBody": _body("ChallengeQuestionInput"),
            "responses": _responses(201, "ChallengeQuestion", "The question, pending", 400,
                                    403, 404, 409, 415, 422)},
    },
    "/questions/{question_id}": {
        "get": {
            "operationId": "getChallengeQuestion", "tags": TAGS,
            "summary": "A clarification question",
            "description": "Published questions to anyone who can see the challenge; pending "
                           "and rejected ones to the supplier that asked and to the "
                           "challenge's councils.",
            "parameters": [QUESTION_ID],
            "responses": _responses(200, "ChallengeQuestion", "The question", 404, get=True)},
    },
    "/council/challenges": {
        "get": {
            "operationId": "listCouncilChallenges", "tags": TAGS,
            "summary": "Your council's challenges",
            "description": "Every challenge your council leads or co-sponsors, drafts "
                           "included, most recently changed first.",
            "security": BEARER,
            "parameters": [_query("status", "Only challenges in this state",
                                  {"type": "string", "enum": list(ALL_STATUSES)}), *PAGING],
            "responses": _responses(200, "CouncilChallengeList", "A page of challenges", 400,
                                    403, get=True)},
    },
    "/council/challenges/{challenge_id}/questions": {
        "get": {
            "operationId": "listCouncilChallengeQuestions", "tags": TAGS,
            "summary": "Every question on your council's challenge",
            "description": "Pending first, with the supplier that asked.",
            "security": BEARER,
            "parameters": [CHALLENGE_ID,
                           _query("status", "Only questions in this state",
                                  {"type": "string", "enum": list(QUESTION_STATUSES)}),
                           *PAGING],
            "responses": _responses(200, "ChallengeQuestionList", "A page of questions", 400,
                                    403, 404, get=True)},
    },
    "/questions/{question_id}/answer": {
        "post": {
            "operationId": "answerChallengeQuestion", "tags": TAGS,
            "summary": "Publish an answer",
            "description": "For challenge owners and procurement officers of the challenge's "
                           "councils. Everyone sees the question (as reworded) and the answer.",
            "security": BEARER, "parameters": [QUESTION_ID],
            "requestBody": _body("ChallengeAnswerInput"),
            "responses": _responses(200, "ChallengeQuestion", "The answered question", 400,
                                    403, 404, 409, 415, 422)},
    },
    "/questions/{question_id}/reject": {
        "post": {
            "operationId": "rejectChallengeQuestion", "tags": TAGS,
            "summary": "Reject a question",
            "description": "For challenge owners and procurement officers of the challenge's "
                           "councils; only the supplier that asked sees the reason.",
            "security": BEARER, "parameters": [QUESTION_ID],
            "requestBody": _body("ChallengeReason"),
            "responses": _responses(200, "ChallengeQuestion", "The rejected question", 400,
                                    403, 404, 409, 415, 422)},
    },
}
