"""The challenges API (marketplace/api/challenges.py): the public list with the page's filters,
a challenge's detail, drafting, approval, publication, amendment, withdrawal and
cancellation, and clarification questions, through the same use cases as the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from sqlalchemy import func, select, update

from marketplace.api import challenges as api_challenges
from marketplace.api.openapi import PAGE_LINKS, PROBLEM, RESPONSES
from marketplace.extensions import db
from marketplace.models import (
    ApiToken,
    AuditEvent,
    Challenge,
    ClarificationQuestion,
    Organisation,
    Role,
    User,
    utcnow,
)
from marketplace.services import challenges as challenge_service
from marketplace.services import tokens
from marketplace.services.challenges import ChallengeChanges
from marketplace.services.errors import ValidationFailed
from tests.api_support import ApiClient, api
from tests.challenge_support import days
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.test_public_challenges import make_challenge, result_titles

OWNER = Role.CHALLENGE_OWNER.value
OFFICER = Role.PROCUREMENT_OFFICER.value
BIDDER = Role.BIDDER.value
BASE = "/api/v1"


# --------------------------------------------------------------------------- helpers

def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def full_body(**overrides: Any) -> dict[str, Any]:
    """Every field of a challenge, complete enough to publish."""
    body: dict[str, Any] = {
        "title": "Predicting potholes before they form",
        "summary": "Predict where potholes will form so crews can repair roads first.",
        "problem": "Reactive repairs cost three times more than planned resurfacing.",
        "background": "We maintain 3,000 miles of road.",
        "affected": "Drivers, cyclists and bus passengers.",
        "success": "Fewer emergency repairs.",
        "region": "Yorkshire and The Humber",
        "budget_min": 20_000, "budget_max": 80_000,
        "sme_suitable": True,
        "shortlist_size": 3,
        "capabilities": ["Machine learning", "Computer vision"],
        "cpv_codes": ["72000000", "90511000"],
        "outcomes": [{"description": "Fewer emergency repairs", "measure": "Down 25%"},
                     {"description": "Faster planned repairs"}],
        "essential_requirements": ["Works with our asset management system"],
        "nice_to_haves": ["Uses images from refuse lorry cameras"],
        "stages": [{"name": "Exploration", "duration": "3 weeks",
                    "funding_per_supplier": 5_000, "max_suppliers": 3},
                   {"name": "Accelerator"}],
        "criteria": [{"name": "Understanding of the problem", "weight": 40},
                     {"name": "Approach", "weight": 40, "word_limit": 750,
                      "description": "How you would do it"},
                     {"name": "Value for money", "weight": 20, "word_limit": 300}],
        "clarification_deadline": iso(days(7)),
        "submission_deadline": iso(days(21)),
        "expected_award_date": days(45).date().isoformat(),
    }
    body.update(overrides)
    return body


def _validator(name: str) -> Draft202012Validator:
    schemas = {"Problem": PROBLEM, "PageLinks": PAGE_LINKS, **api_challenges.SCHEMAS}
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                 "components": {"schemas": schemas}})


def check(response: Any, status: int, schema: str | None = None) -> Any:
    """The JSON body of a response with this status, checked against its declared schema."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    body = response.get_json()
    if status >= 400:
        assert response.mimetype == "application/problem+json"
        _validator("Problem").validate(body)
    elif schema:
        assert response.mimetype == "application/json"
        _validator(schema).validate(body)
    return body


def fields_of(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def audit_actions(object_type: str | None = None) -> list[tuple[str, int | None, str | None]]:
    db.session.expire_all()
    stmt = select(AuditEvent).where(AuditEvent.object_type != "api_token")
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    return [(e.action, e.actor_id, e.object_id) for e in db.session.scalars(
        stmt.order_by(AuditEvent.id))]


def challenge_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Challenge.id))) or 0


@pytest.fixture
def council(app: Flask) -> Organisation:
    return CouncilFactory(name="Leeds City Council")


@pytest.fixture
def owner(council: Organisation) -> User:
    return council_user(OWNER, organisation=council, full_name="Olive Owner")


@pytest.fixture
def officer(council: Organisation) -> User:
    return council_user(OFFICER, organisation=council, full_name="Otto Officer")


@pytest.fixture
def other_council_owner() -> User:
    return council_user(OWNER, OFFICER, organisation=CouncilFactory(name="York Council"))


@pytest.fixture
def bidder() -> User:
    return supplier_user(BIDDER, organisation=SupplierFactory(name="Pothole AI Ltd"))


def create(client: ApiClient, **overrides: Any) -> dict[str, Any]:
    return check(client.post(f"{BASE}/challenges", json=full_body(**overrides)), 201,
                 "Challenge")


# --------------------------------------------------------------------------- the whole flow

def test_publishing_flow_end_to_end(app: Flask, owner: User, officer: User, bidder: User
                                    ) -> None:
    as_owner, as_officer, as_bidder = api(app, owner), api(app, officer), api(app, bidder)
    anonymous = ApiClient(app)

    # Create a draft with everything at once.
    response = as_owner.post(f"{BASE}/challenges", json=full_body())
    draft = check(response, 201, "Challenge")
    cid = draft["id"]
    assert response.headers["Location"] == f"http://localhost{BASE}/challenges/{cid}"
    assert draft["urls"]["self"] == response.headers["Location"]
    assert draft["status"] == "draft" and draft["published_at"] is None
    assert draft["urls"]["ocds"] is None
    assert draft["urls"]["html"] == f"http://localhost/challenges/{cid}"
    assert draft["lead_council"] == {"id": owner.organisation_id, "name": "Leeds City Council"}
    assert draft["budget_min"] == 20_000 and draft["budget_max"] == 80_000
    assert draft["cpv_codes"] == ["72000000", "90511000"]
    assert [c["weight"] for c in draft["criteria"]] == [40, 40, 20]
    assert [c["word_limit"] for c in draft["criteria"]] == [500, 750, 300]
    assert draft["outcomes"][1] == {"description": "Faster planned repairs", "measure": None}
    assert [r["text"] for r in draft["essential_requirements"]] == [
        "Works with our asset management system"]
    assert all(isinstance(r["id"], int) for r in draft["nice_to_haves"])
    assert draft["stages"][1] == {"name": "Accelerator", "duration": None,
                                  "funding_per_supplier": None, "max_suppliers": None}
    assert draft["expected_award_date"] == days(45).date().isoformat()

    # Nothing stops publication.
    problems = check(as_owner.get(f"{BASE}/challenges/{cid}/problems"), 200,
                     "ChallengeProblems")
    assert problems == {"challenge_id": cid, "status": "draft", "ready": True, "problems": []}

    # Not public yet.
    assert anonymous.get(f"{BASE}/challenges/{cid}").status_code == 404
    assert check(anonymous.get(f"{BASE}/challenges"), 200, "ChallengeList")["total"] == 0

    # Approval: the owner sends it, an officer approves and publishes.
    body = check(as_owner.post(f"{BASE}/challenges/{cid}/submit-for-approval"), 200,
                 "Challenge")
    assert body["status"] == "awaiting_approval"
    assert check(as_officer.post(f"{BASE}/challenges/{cid}/approve"), 200,
                 "Challenge")["status"] == "approved"
    published = check(as_officer.post(f"{BASE}/challenges/{cid}/publish"), 200, "Challenge")
    assert published["status"] == "open" and published["published_at"]
    assert published["urls"]["ocds"] == f"http://localhost/challenges/{cid}/ocds.json"

    # Public now: in the list and its detail.
    listed = check(anonymous.get(f"{BASE}/challenges"), 200, "ChallengeList")
    assert [i["id"] for i in listed["items"]] == [cid]
    assert listed["items"][0]["cpv_codes"] == ["72000000", "90511000"]
    public = check(anonymous.get(f"{BASE}/challenges/{cid}"), 200, "Challenge")
    assert public["title"] == "Predicting potholes before they form"

    # A published challenge is changed by amendment only.
    conflict = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={"title": "New"}), 409)
    assert f"/api/v1/challenges/{cid}/amend" in conflict["detail"]
    amended = check(as_owner.post(f"{BASE}/challenges/{cid}/amend", json={
        "summary_of_change": "The maximum budget is now £90,000", "budget_max": 90_000}),
        200, "Challenge")
    assert amended["budget_max"] == 90_000 and amended["budget_min"] == 20_000
    assert [a["summary"] for a in amended["amendments"]] == [
        "The maximum budget is now £90,000"]

    # A supplier asks a question; the council answers it; everyone sees the answer.
    asked = as_bidder.post(f"{BASE}/challenges/{cid}/questions",
                           json={"question": "Which asset system do you use?"})
    question = check(asked, 201, "ChallengeQuestion")
    assert question["status"] == "pending"
    assert asked.headers["Location"].endswith(f"{BASE}/questions/{question['id']}")
    assert check(anonymous.get(f"{BASE}/challenges/{cid}/questions"), 200,
                 "ChallengeQuestionList")["items"] == []
    answered = check(as_owner.post(f"{BASE}/questions/{question['id']}/answer",
                                   json={"answer": "Confirm 2"}), 200, "ChallengeQuestion")
    assert answered["status"] == "published"
    qa = check(anonymous.get(f"{BASE}/challenges/{cid}/questions"), 200,
               "ChallengeQuestionList")
    assert [(q["question"], q["answer"]) for q in qa["items"]] == [
        ("Which asset system do you use?", "Confirm 2")]
    assert "supplier" not in qa["items"][0]

    # The officer withdraws it, with a public reason.
    withdrawn = check(as_officer.post(f"{BASE}/challenges/{cid}/withdraw",
                                      json={"reason": "The budget was cut"}), 200, "Challenge")
    assert withdrawn["status"] == "withdrawn" and withdrawn["end_reason"] == "The budget was cut"
    assert check(anonymous.get(f"{BASE}/challenges/{cid}"), 200,
                 "Challenge")["status"] == "withdrawn"

    # The audit trail is what the pages' use cases write.
    qid = str(question["id"])
    assert audit_actions() == [
        # Created with every field in one use case: one event holding the whole draft.
        ("challenge.created", owner.id, str(cid)),
        ("challenge.submitted_for_approval", owner.id, str(cid)),
        ("challenge.approved", officer.id, str(cid)),
        ("challenge.published", officer.id, str(cid)),
        ("challenge.amended", owner.id, str(cid)),
        ("question.asked", bidder.id, qid),
        ("question.answered", owner.id, qid),
        ("challenge.withdrawn", officer.id, str(cid)),
    ]


def test_a_draft_made_with_every_field_is_one_audited_use_case(
        app: Flask, owner: User) -> None:
    api_draft = create(api(app, owner), title="Made through the API")
    assert [a for a, _actor, obj in audit_actions() if obj == str(api_draft["id"])] == [
        "challenge.created"]
    db.session.expire_all()
    created = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "challenge.created",
        AuditEvent.object_id == str(api_draft["id"]))).one()
    stored = db.session.get(Challenge, api_draft["id"])
    assert created.after == {**challenge_service.snapshot(stored), "status": "draft"}
    assert created.actor_id == owner.id

    # A refused field refuses the whole use case: no draft is left behind.
    before = db.session.scalar(select(func.count(Challenge.id)))
    refused = api(app, owner).post(f"{BASE}/challenges", json={
        "title": "Half made", "cpv_codes": ["99999999"]})
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Challenge.id))) == before
    with pytest.raises(ValidationFailed):
        challenge_service.create_draft(owner, "Half made", ChallengeChanges(
            budget_min=90_000, budget_max=10_000, set_budget=True))
    assert db.session.scalar(select(func.count(Challenge.id))) == before


def test_an_officer_publishes_their_own_draft_directly(app: Flask, officer: User) -> None:
    as_officer = api(app, officer)
    cid = create(as_officer)["id"]
    assert check(as_officer.post(f"{BASE}/challenges/{cid}/publish", json={}), 200,
                 "Challenge")["status"] == "open"
    again = check(as_officer.post(f"{BASE}/challenges/{cid}/publish"), 409)
    assert "already been published" in again["detail"]


def test_approval_rules_are_the_services(app: Flask, council: Organisation, owner: User,
                                         officer: User) -> None:
    as_owner, as_officer = api(app, owner), api(app, officer)
    cid = create(as_owner)["id"]
    # A challenge owner cannot approve or publish (the route's role rule, as on the page).
    assert check(as_owner.post(f"{BASE}/challenges/{cid}/publish"), 403)
    assert check(as_owner.post(f"{BASE}/challenges/{cid}/approve"), 403)
    # Only a draft sent for approval can be approved.
    assert check(as_officer.post(f"{BASE}/challenges/{cid}/approve"), 409)
    # An officer cannot approve what they sent.
    check(as_officer.post(f"{BASE}/challenges/{cid}/submit-for-approval"), 200)
    refused = check(as_officer.post(f"{BASE}/challenges/{cid}/approve"), 403)
    assert "Another procurement officer" in refused["detail"]
    # Another officer returns it with a reason (required).
    colleague = api(app, council_user(OFFICER, organisation=council))
    missing = check(colleague.post(f"{BASE}/challenges/{cid}/return-to-draft", json={}), 422)
    assert fields_of(missing) == {"reason"}
    blank = check(colleague.post(f"{BASE}/challenges/{cid}/return-to-draft",
                                 json={"reason": "   "}), 422)
    assert fields_of(blank) == {"reason"}
    back = check(colleague.post(f"{BASE}/challenges/{cid}/return-to-draft",
                                json={"reason": "Tighten the outcomes"}), 200, "Challenge")
    assert back["status"] == "draft"
    # Editing an approved challenge sends it back to draft, as on the pages.
    check(as_owner.post(f"{BASE}/challenges/{cid}/submit-for-approval"), 200)
    check(colleague.post(f"{BASE}/challenges/{cid}/approve"), 200)
    edited = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={"success": "Less cost"}),
                   200, "Challenge")
    assert edited["status"] == "draft" and edited["success"] == "Less cost"
    assert [a for a, _u, _o in audit_actions()][-2:] == [
        "challenge.edited", "challenge.returned_to_draft"]
    # Actions take no fields they do not know.
    unknown = check(as_owner.post(f"{BASE}/challenges/{cid}/submit-for-approval",
                                  json={"now": True}), 422)
    assert fields_of(unknown) == {"now"}


def test_an_incomplete_draft_lists_its_problems_and_cannot_be_sent(app: Flask, owner: User
                                                                   ) -> None:
    as_owner = api(app, owner)
    response = as_owner.post(f"{BASE}/challenges", json={"title": "Cleaner air near schools"})
    draft = check(response, 201, "Challenge")
    cid = draft["id"]
    assert draft["summary"] == "" and draft["outcomes"] == [] and draft["region"] is None
    found = check(as_owner.get(f"{BASE}/challenges/{cid}/problems"), 200, "ChallengeProblems")
    assert found["ready"] is False
    fields = {p["field"] for p in found["problems"]}
    assert {"summary", "problem", "outcomes", "essential_requirements", "cpv_codes",
            "region", "budget_max", "criteria", "shortlist_size", "submission_deadline",
            "clarification_deadline", "expected_award_date"} == fields
    refused = check(as_owner.post(f"{BASE}/challenges/{cid}/submit-for-approval"), 422)
    assert refused["errors"][0]["field"] == "summary"
    assert "more" in refused["detail"]
    # Filled in step by step, as on the pages.
    body = full_body()
    del body["title"]
    for part in (["summary", "problem"], ["outcomes", "essential_requirements"],
                 ["cpv_codes", "region", "budget_max", "criteria", "shortlist_size"],
                 ["clarification_deadline", "submission_deadline", "expected_award_date"]):
        check(as_owner.patch(f"{BASE}/challenges/{cid}", json={k: body[k] for k in part}),
              200, "Challenge")
    found = check(as_owner.get(f"{BASE}/challenges/{cid}/problems"), 200, "ChallengeProblems")
    assert found["problems"] == [] and found["ready"] is True


def test_patch_changes_only_what_is_sent(app: Flask, owner: User) -> None:
    as_owner = api(app, owner)
    cid = create(as_owner)["id"]
    before = check(as_owner.get(f"{BASE}/challenges/{cid}"), 200, "Challenge")
    after = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={"budget_max": 95_000}), 200,
                  "Challenge")
    assert after["budget_min"] == 20_000 and after["budget_max"] == 95_000
    for name in ("title", "summary", "criteria", "outcomes", "stages", "cpv_codes",
                 "clarification_deadline", "submission_deadline"):
        assert after[name] == before[name], name
    new_deadline = iso(days(30))
    moved = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={
        "submission_deadline": new_deadline}), 200, "Challenge")
    assert moved["submission_deadline"] == iso(
        datetime.fromisoformat(new_deadline.replace("Z", "+00:00")))
    assert moved["clarification_deadline"] == before["clarification_deadline"]
    # The budget range is checked with the current values.
    wrong = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={"budget_min": 100_000}),
                  422)
    assert fields_of(wrong) == {"budget_min"}
    # So are the dates: questions must close before the deadline.
    late = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={
        "clarification_deadline": iso(days(40))}), 422)
    assert fields_of(late) == {"clarification_deadline"}
    # null clears what may be cleared; an empty list empties a list.
    cleared = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={
        "region": None, "budget_min": None, "nice_to_haves": [], "stages": []}), 200,
        "Challenge")
    assert cleared["region"] is None and cleared["budget_min"] is None
    assert cleared["budget_max"] == 95_000
    assert cleared["nice_to_haves"] == [] and cleared["stages"] == []
    # Offsets are accepted and stored in UTC.
    offset = check(as_owner.patch(f"{BASE}/challenges/{cid}", json={
        "submission_deadline": "2040-06-01T17:00:00+01:00",
        "clarification_deadline": "2040-05-20T12:00:00", "expected_award_date": "2040-07-01"}),
        200, "Challenge")
    assert offset["submission_deadline"] == "2040-06-01T16:00:00Z"
    assert offset["clarification_deadline"] == "2040-05-20T12:00:00Z"
    # An empty body changes nothing and records nothing.
    events = len(audit_actions())
    check(as_owner.patch(f"{BASE}/challenges/{cid}", json={}), 200, "Challenge")
    assert len(audit_actions()) == events


def test_co_sponsors_share_the_draft(app: Flask, owner: User, other_council_owner: User
                                     ) -> None:
    partner = other_council_owner.organisation
    draft = create(api(app, owner), co_sponsor_ids=[partner.id])
    assert draft["co_sponsors"] == [{"id": partner.id, "name": "York Council"}]
    as_partner = api(app, other_council_owner)
    assert check(as_partner.get(f"{BASE}/challenges/{draft['id']}"), 200,
                 "Challenge")["id"] == draft["id"]
    listed = check(as_partner.get(f"{BASE}/council/challenges"), 200, "CouncilChallengeList")
    assert [i["id"] for i in listed["items"]] == [draft["id"]]
    # A supplier is not a council: refused before anything is made.
    count = challenge_count()
    supplier = SupplierFactory()
    wrong = check(api(app, owner).post(f"{BASE}/challenges",
                                       json=full_body(co_sponsor_ids=[supplier.id, 999_999])),
                  422)
    assert fields_of(wrong) == {"co_sponsor_ids"}
    assert str(supplier.id) in wrong["errors"][0]["detail"]
    assert challenge_count() == count


def test_cancel_a_draft(app: Flask, owner: User, officer: User) -> None:
    cid = create(api(app, owner))["id"]
    cancelled = check(api(app, officer).post(f"{BASE}/challenges/{cid}/cancel",
                                             json={"reason": "No longer needed"}), 200,
                      "Challenge")
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    assert check(ApiClient(app).get(f"{BASE}/challenges/{cid}"), 404)
    # Ended: no more edits, and it cannot be withdrawn.
    assert check(api(app, owner).patch(f"{BASE}/challenges/{cid}", json={"summary": "x"}),
                 409)
    assert check(api(app, officer).post(f"{BASE}/challenges/{cid}/withdraw",
                                        json={"reason": "x"}), 409)
    assert ("challenge.cancelled", officer.id, str(cid)) in audit_actions()


# --------------------------------------------------------------------------- access rules

def test_another_councils_draft_does_not_exist(app: Flask, owner: User,
                                               other_council_owner: User, bidder: User) -> None:
    cid = create(api(app, owner))["id"]
    stranger = api(app, other_council_owner)
    for response in (
        stranger.get(f"{BASE}/challenges/{cid}"),
        stranger.patch(f"{BASE}/challenges/{cid}", json={"summary": "Mine now"}),
        stranger.get(f"{BASE}/challenges/{cid}/problems"),
        stranger.post(f"{BASE}/challenges/{cid}/submit-for-approval"),
        stranger.post(f"{BASE}/challenges/{cid}/publish"),
        stranger.post(f"{BASE}/challenges/{cid}/cancel", json={"reason": "Mine"}),
        # Not found comes first, whatever the body.
        stranger.post(f"{BASE}/challenges/{cid}/cancel", json={}),
        stranger.post(f"{BASE}/challenges/{cid}/return-to-draft", json={"why": 1}),
        stranger.post(f"{BASE}/challenges/{cid}/approve", json={"now": True}),
        stranger.post(f"{BASE}/challenges/{cid}/amend", json={}),
        api(app, bidder).post(f"{BASE}/challenges/{cid}/questions", json={}),
        stranger.get(f"{BASE}/challenges/{cid}/questions"),
        stranger.get(f"{BASE}/council/challenges/{cid}/questions"),
        api(app, bidder).get(f"{BASE}/challenges/{cid}"),
        ApiClient(app).get(f"{BASE}/challenges/{cid}"),
    ):
        check(response, 404)
    assert check(stranger.get(f"{BASE}/council/challenges"), 200,
                 "CouncilChallengeList")["items"] == []
    assert check(stranger.get(f"{BASE}/challenges"), 200, "ChallengeList")["items"] == []
    # Its own council sees it (a read token is enough).
    assert check(api(app, owner, "read").get(f"{BASE}/challenges/{cid}"), 200,
                 "Challenge")["status"] == "draft"
    # Nothing changed.
    assert [a for a, _u, _o in audit_actions()] == ["challenge.created"]
    # A published challenge of another council is public, but not theirs to change.
    publisher = council_user(OFFICER, organisation=owner.organisation)
    check(api(app, publisher).post(f"{BASE}/challenges/{cid}/publish"), 200)
    assert check(stranger.get(f"{BASE}/challenges/{cid}"), 200, "Challenge")
    check(stranger.patch(f"{BASE}/challenges/{cid}", json={"summary": "x"}), 404)
    check(stranger.post(f"{BASE}/challenges/{cid}/amend",
                        json={"summary_of_change": "x", "summary": "x"}), 404)
    check(stranger.post(f"{BASE}/challenges/{cid}/withdraw", json={"reason": "x"}), 404)
    check(stranger.get(f"{BASE}/challenges/{cid}/problems"), 404)


def test_missing_and_out_of_range_ids_are_404(app: Flask) -> None:
    as_owner = api(app, council_user(OWNER, OFFICER))
    for url in (f"{BASE}/challenges/999999", f"{BASE}/challenges/0",
                f"{BASE}/challenges/99999999999999999999", f"{BASE}/questions/999999",
                f"{BASE}/challenges/2147483648/questions"):
        check(as_owner.get(url), 404)
    # Writes too, whatever the method (ids beyond PostgreSQL's INTEGER never reach it).
    for bad in ("999999", "0", "2147483648", "99999999999999999999"):
        check(as_owner.patch(f"{BASE}/challenges/{bad}", json={}), 404)
        check(as_owner.post(f"{BASE}/challenges/{bad}/publish"), 404)
        check(api(app, supplier_user(BIDDER)).post(f"{BASE}/challenges/{bad}/questions",
                                                   json={"question": "Why?"}), 404)
        check(as_owner.post(f"{BASE}/questions/{bad}/answer", json={"answer": "x"}), 404)


def test_read_tokens_cannot_change_anything(app: Flask, owner: User, officer: User,
                                            bidder: User) -> None:
    cid = create(api(app, owner))["id"]
    reader = api(app, owner, "read")
    officer_reader = api(app, officer, "read")
    for response in (
        reader.post(f"{BASE}/challenges", json=full_body()),
        reader.patch(f"{BASE}/challenges/{cid}", json={"summary": "x"}),
        reader.post(f"{BASE}/challenges/{cid}/submit-for-approval"),
        officer_reader.post(f"{BASE}/challenges/{cid}/publish"),
        officer_reader.post(f"{BASE}/challenges/{cid}/cancel", json={"reason": "x"}),
        api(app, bidder, "read").post(f"{BASE}/challenges/{cid}/questions",
                                      json={"question": "Why?"}),
    ):
        body = check(response, 403)
        assert "only read" in body["detail"]
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    check(reader.get(f"{BASE}/challenges/{cid}"), 200, "Challenge")
    check(reader.get(f"{BASE}/council/challenges"), 200, "CouncilChallengeList")
    assert challenge_count() == 1


def test_roles_and_kinds_are_the_pages(app: Flask, council: Organisation, owner: User,
                                       bidder: User) -> None:
    cid = create(api(app, owner))["id"]
    evaluator = api(app, council_user(Role.EVALUATOR.value, organisation=council))
    supplier = api(app, bidder)
    refused = [
        supplier.post(f"{BASE}/challenges", json=full_body()),
        evaluator.post(f"{BASE}/challenges", json=full_body()),
        supplier.patch(f"{BASE}/challenges/{cid}", json={"summary": "x"}),
        evaluator.patch(f"{BASE}/challenges/{cid}", json={"summary": "x"}),
        supplier.get(f"{BASE}/council/challenges"),
        supplier.get(f"{BASE}/challenges/{cid}/problems"),
        evaluator.post(f"{BASE}/challenges/{cid}/submit-for-approval"),
        api(app, owner).post(f"{BASE}/challenges/{cid}/withdraw", json={"reason": "x"}),
        api(app, owner).post(f"{BASE}/challenges/{cid}/cancel", json={"reason": "x"}),
        api(app, owner).post(f"{BASE}/challenges/{cid}/return-to-draft", json={"reason": "x"}),
        api(app, owner).post(f"{BASE}/challenges/{cid}/questions", json={"question": "x"}),
        api(app, supplier_user(organisation=bidder.organisation)).post(
            f"{BASE}/challenges/{cid}/questions", json={"question": "x"}),
    ]
    for response in refused:
        check(response, 403)
    assert challenge_count() == 1
    # An evaluator of the council may read its list and problems (the task list's rule).
    check(evaluator.get(f"{BASE}/council/challenges"), 200, "CouncilChallengeList")
    check(evaluator.get(f"{BASE}/challenges/{cid}/problems"), 200, "ChallengeProblems")


def test_anonymous_and_bad_tokens_are_401(app: Flask, owner: User) -> None:
    cid = create(api(app, owner))["id"]
    anonymous = ApiClient(app)
    for response in (anonymous.post(f"{BASE}/challenges", json=full_body()),
                     anonymous.patch(f"{BASE}/challenges/{cid}", json={"summary": "x"}),
                     anonymous.post(f"{BASE}/challenges/{cid}/publish"),
                     anonymous.get(f"{BASE}/council/challenges"),
                     anonymous.get(f"{BASE}/challenges/{cid}/problems")):
        check(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # A bad token is refused even on public reads.
    bad = ApiClient(app, "mkt_not-a-real-token")
    check(bad.get(f"{BASE}/challenges"), 401)
    check(bad.get(f"{BASE}/challenges/{cid}"), 401)
    basic = app.test_client().post(f"{BASE}/challenges", json=full_body(), csrf=False,
                                   headers={"Authorization": "Basic dXNlcjpwYXNz"})
    check(basic, 401)
    # Revoked and expired tokens.
    revoked = tokens.create_token(owner, "revoked", "write", 30)
    tokens.revoke_token(owner, revoked.token.id)
    body = check(ApiClient(app, revoked.secret).post(f"{BASE}/challenges", json=full_body()),
                 401)
    assert "revoked" in body["detail"]
    expired = tokens.create_token(owner, "expired", "write", 30)
    db.session.execute(update(ApiToken).where(ApiToken.id == expired.token.id).values(
        created_at=utcnow() - timedelta(days=40), expires_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    body = check(ApiClient(app, expired.secret).get(f"{BASE}/challenges/{cid}"), 401)
    assert "expired" in body["detail"]
    assert challenge_count() == 1


# --------------------------------------------------------------------------- input checks

def test_422_names_every_wrong_field_at_once(app: Flask, owner: User) -> None:
    as_owner = api(app, owner)
    response = as_owner.post(f"{BASE}/challenges", json=full_body(
        title="x" * 205, budget_min="abc", region="Atlantis", summary="a\x00b",
        shortlist_size=True, colour="red", cpv_codes=["72000000", "12345678", "abc"],
        criteria=[{"name": "A", "weight": 30}, {"name": "", "weight": 500, "extra": 1}],
        outcomes=[{"measure": "Down 25%"}],
        stages=[{"name": "S", "funding_per_supplier": 10**12}],
        clarification_deadline="next tuesday",
        expected_award_date="2027-02-30"))
    body = check(response, 422)
    assert fields_of(body) == {
        "title", "budget_min", "region", "summary", "shortlist_size", "colour", "cpv_codes",
        "criteria[1].name", "criteria[1].weight", "criteria[1].extra",
        "outcomes[0].description", "stages[0].funding_per_supplier",
        "clarification_deadline", "expected_award_date"}
    details = {e["field"]: e["detail"] for e in body["errors"]}
    assert "200 characters" in details["title"]
    assert "whole number" in details["budget_min"]
    assert "12345678" in details["cpv_codes"] and "abc" in details["cpv_codes"]
    assert challenge_count() == 0  # nothing half-made


def test_rules_across_fields_are_checked_before_the_draft_is_made(app: Flask, owner: User
                                                                  ) -> None:
    as_owner = api(app, owner)
    body = check(as_owner.post(f"{BASE}/challenges", json=full_body(
        budget_min=90_000, budget_max=10_000,
        criteria=[{"name": "A", "weight": 30}, {"name": "B", "weight": 30}],
        clarification_deadline=iso(days(30)), submission_deadline=iso(days(20)),
        expected_award_date=days(10).date().isoformat())), 422)
    assert fields_of(body) == {"budget_min", "criteria", "clarification_deadline",
                               "expected_award_date"}
    assert "total 60" in {e["field"]: e["detail"] for e in body["errors"]}["criteria"]
    assert challenge_count() == 0
    assert audit_actions() == []


@pytest.mark.parametrize("changes", [
    {"title": ""}, {"title": "   "}, {"title": None}, {"summary": None},
    {"budget_max": 2_000_000_001}, {"budget_min": -1}, {"budget_max": 1.5},
    {"shortlist_size": 0}, {"shortlist_size": 51}, {"sme_suitable": "yes"},
    {"sme_suitable": None}, {"capabilities": "data"}, {"capabilities": ["x" * 81]},
    {"co_sponsor_ids": [0]}, {"co_sponsor_ids": [2**40]}, {"co_sponsor_ids": ["1"]},
    {"essential_requirements": [1]}, {"criteria": {"name": "A"}},
    {"criteria": [{"name": "A", "weight": 100, "word_limit": 49}]},
    {"stages": [{"name": "x" * 101}]}, {"stages": [{"name": "S", "max_suppliers": 0}]},
    {"outcomes": [{"description": "ok", "measure": "m" * 1001}]},
    {"submission_deadline": "9999-12-31T23:59:59-12:00"},
    {"submission_deadline": "0001-01-01T00:00:00Z"}, {"submission_deadline": 20270301},
    {"expected_award_date": "1999-12-31"}, {"problem": "nul\x00"},
    {"capabilities": ["bad\x00"]}, {"outcomes": [{"description": "\x00"}]},
])
def test_wrong_values_are_422_naming_the_field(app: Flask, owner: User,
                                               changes: dict[str, Any]) -> None:
    as_owner = api(app, owner)
    cid = create(as_owner)["id"]
    before = len(audit_actions())
    body = check(as_owner.patch(f"{BASE}/challenges/{cid}", json=changes), 422)
    (name,) = changes
    assert all(f == name or f.startswith(f"{name}[") for f in fields_of(body)), body
    assert fields_of(body)
    assert len(audit_actions()) == before


def test_bodies_must_be_json_objects(app: Flask, owner: User) -> None:
    as_owner = api(app, owner)
    form = as_owner.client.post(f"{BASE}/challenges", data={"title": "A form post"},
                                headers=as_owner._headers(None), csrf=False)
    check(form, 415)
    check(as_owner.post(f"{BASE}/challenges", json=["title"]), 400)
    raw = as_owner.client.post(f"{BASE}/challenges", data="{not json",
                               content_type="application/json",
                               headers=as_owner._headers(None), csrf=False)
    check(raw, 400)
    assert challenge_count() == 0


# --------------------------------------------------------------------------- the public list

@pytest.fixture
def market(app: Flask, council: Organisation) -> dict[str, Any]:
    """Published challenges that differ in every filter, and one draft."""
    other = CouncilFactory(name="Manchester City Council")
    partner = CouncilFactory(name="Salford City Council")
    now = utcnow()
    made = {
        "potholes": make_challenge(council, "Finding potholes before they grow",
                                   region="North West", budget=(10_000, 80_000),
                                   cpv=("45233141",), deadline=timedelta(days=20),
                                   published_ago=timedelta(days=5)),
        "bins": make_challenge(other, "Smarter bin collections",
                               summary="Routes for refuse lorries.", region="London",
                               budget=(None, 300_000), cpv=("90511000",), sme=False,
                               deadline=timedelta(days=10), published_ago=timedelta(days=2),
                               sponsors=(partner,)),
        "care": make_challenge(council, "Loneliness in later life",
                               summary="Reaching isolated older residents.",
                               problem="Many older people see nobody for days.",
                               region="UK-wide", budget=(5_000, 20_000), cpv=("72000000",),
                               deadline=timedelta(days=30), published_ago=timedelta(days=1)),
        "closed": make_challenge(other, "Flood warnings for rivers",
                                 summary="Warn residents before rivers flood.",
                                 region="Yorkshire and The Humber", budget=(50_000, 600_000),
                                 cpv=("72000000",), deadline=timedelta(days=-3),
                                 published_ago=timedelta(days=30)),
        "awarded": make_challenge(council, "Streetlight repairs",
                                  summary="Find broken streetlights.", region="North West",
                                  budget=(1_000, 20_000), cpv=("45233141",),
                                  deadline=timedelta(days=-40), published_ago=timedelta(days=60),
                                  award_decided_at=now - timedelta(days=20),
                                  awarded_at=now - timedelta(days=10)),
        "draft": make_challenge(council, "A draft nobody sees", published=False),
    }
    return {"challenges": made, "other": other, "partner": partner}


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def api_titles(app: Flask, query: str) -> list[str]:
    body = check(ApiClient(app).get(f"{BASE}/challenges?{query}&per_page=100"), 200,
                 "ChallengeList")
    return [item["title"] for item in body["items"]]


def test_list_filters_give_the_pages_results(app: Flask, client: Any, council: Organisation,
                                             market: dict[str, Any]) -> None:
    queries = [
        "", "q=pothole", "q=potholle", "q=older+residents", "q=nothing+like+this",
        "status=open", "status=closed", "status=awarded", "region=North+West",
        "region=London", "division=45", "division=72", "budget=under-25k",
        "budget=25k-100k", "budget=500k-plus", f"council={council.id}",
        f"council={market['partner'].id}", "sme=true", "sort=newest", "sort=budget",
        "status=open&sort=budget&region=North+West", "q=repairs&status=awarded",
    ]
    for query in queries:
        page = client.get(f"/challenges?{query}")
        assert page.status_code == 200
        assert api_titles(app, query) == result_titles(page), query
    assert "A draft nobody sees" not in api_titles(app, "")
    assert len(api_titles(app, "")) == 5


def test_list_items_and_spelling(app: Flask, market: dict[str, Any]) -> None:
    body = check(ApiClient(app).get(f"{BASE}/challenges?q=potholle"), 200, "ChallengeList")
    assert body["spelling"] == {"potholle": ["pothole"]} or "potholle" in body["spelling"]
    (item,) = body["items"]
    bins = market["challenges"]["potholes"]
    assert item["id"] == bins.id
    assert item["status"] == "open" and item["region"] == "North West"
    assert item["budget_min"] == 10_000 and item["budget_max"] == 80_000
    assert item["cpv_codes"] == ["45233141"] and item["sme_suitable"] is True
    assert item["lead_council"]["name"] == "Leeds City Council"
    assert item["urls"]["ocds"] == f"http://localhost/challenges/{bins.id}/ocds.json"
    assert item["urls"]["self"] == f"http://localhost{BASE}/challenges/{bins.id}"
    assert item["published_at"].endswith("Z")
    awarded = check(ApiClient(app).get(f"{BASE}/challenges?status=awarded"), 200,
                    "ChallengeList")
    assert [i["status"] for i in awarded["items"]] == ["awarded"]


@pytest.mark.parametrize("query, name", [
    ("status=draft", "status"), ("status=OPEN", "status"), ("region=Atlantis", "region"),
    ("region=london", "region"), ("division=99", "division"), ("budget=lots", "budget"),
    ("council=abc", "council"), ("council=0", "council"), ("council=99999999999", "council"),
    ("sme=maybe", "sme"), ("sort=random", "sort"), ("q=" + "a" * 201, "q"),
    ("page=0", "page"), ("per_page=101", "per_page"), ("per_page=x", "per_page"),
])
def test_bad_list_parameters_are_400_naming_them(app: Flask, query: str, name: str) -> None:
    body = check(ApiClient(app).get(f"{BASE}/challenges?{query}"), 400)
    assert fields_of(body) == {name}
    assert f"'{name}'" in body["detail"]


def test_pagination_links(app: Flask, council: Organisation) -> None:
    for n in range(23):
        make_challenge(council, f"Challenge number {n:02d}",
                       deadline=timedelta(days=10 + n))
    everything = [i["id"] for i in check(ApiClient(app).get(
        f"{BASE}/challenges?per_page=100&sort=closing"), 200, "ChallengeList")["items"]]
    assert len(everything) == 23
    # Pages that cross the search service's own pages of 20 give the same order.
    seen: list[int] = []
    url: str | None = f"{BASE}/challenges?sort=closing&per_page=7"
    pages = 0
    while url:
        response = ApiClient(app).get(url)
        body = check(response, 200, "ChallengeList")
        pages += 1
        assert body["total"] == 23 and body["pages"] == 4 and body["per_page"] == 7
        assert query_of(body["links"]["first"]) == {"sort": "closing", "page": "1",
                                                    "per_page": "7"}
        assert query_of(body["links"]["self"])["page"] == str(body["page"])
        assert query_of(body["links"]["last"])["page"] == "4"
        assert ('rel="next"' in response.headers["Link"]) == ("next" in body["links"])
        if body["page"] > 1:
            assert query_of(body["links"]["prev"])["page"] == str(body["page"] - 1)
        seen.extend(i["id"] for i in body["items"])
        nxt = body["links"].get("next")
        url = urlsplit(nxt).path + "?" + urlsplit(nxt).query if nxt else None
    assert pages == 4 and seen == everything
    beyond = check(ApiClient(app).get(f"{BASE}/challenges?page=9&per_page=7"), 200,
                   "ChallengeList")
    assert beyond["items"] == [] and beyond["total"] == 23
    assert "next" not in beyond["links"] and query_of(beyond["links"]["prev"])["page"] == "4"


def test_council_list_includes_drafts_and_filters_by_state(app: Flask, owner: User,
                                                           officer: User,
                                                           other_council_owner: User) -> None:
    as_owner = api(app, owner)
    first = create(as_owner, title="First draft")["id"]
    second = create(as_owner, title="Second draft")["id"]
    check(api(app, officer).post(f"{BASE}/challenges/{second}/publish"), 200)
    create(api(app, other_council_owner), title="Not ours")
    body = check(as_owner.get(f"{BASE}/council/challenges"), 200, "CouncilChallengeList")
    assert [i["id"] for i in body["items"]] == [second, first]
    assert [i["status"] for i in body["items"]] == ["open", "draft"]
    drafts = check(as_owner.get(f"{BASE}/council/challenges?status=draft"), 200,
                   "CouncilChallengeList")
    assert [i["id"] for i in drafts["items"]] == [first]
    paged = check(as_owner.get(f"{BASE}/council/challenges?per_page=1&page=2"), 200,
                  "CouncilChallengeList")
    assert [i["id"] for i in paged["items"]] == [first]
    assert paged["pages"] == 2 and "prev" in paged["links"] and "next" not in paged["links"]
    check(as_owner.get(f"{BASE}/council/challenges?status=everything"), 400)


def test_etag_and_304(app: Flask, owner: User, market: dict[str, Any]) -> None:
    anonymous = ApiClient(app)
    cid = market["challenges"]["potholes"].id
    for url in (f"{BASE}/challenges/{cid}", f"{BASE}/challenges?region=North+West",
                f"{BASE}/challenges/{cid}/questions"):
        first = anonymous.get(url)
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "private, no-cache"
        again = anonymous.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
    # A change makes a new ETag.
    as_owner = api(app, owner)
    draft = create(as_owner)["id"]
    etag = as_owner.get(f"{BASE}/challenges/{draft}").headers["ETag"]
    assert as_owner.get(f"{BASE}/challenges/{draft}",
                        headers={"If-None-Match": etag}).status_code == 304
    check(as_owner.patch(f"{BASE}/challenges/{draft}", json={"summary": "Changed"}), 200)
    changed = as_owner.get(f"{BASE}/challenges/{draft}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


# --------------------------------------------------------------------------- questions

@pytest.fixture
def open_challenge(app: Flask, owner: User, officer: User) -> int:
    cid = create(api(app, owner))["id"]
    check(api(app, officer).post(f"{BASE}/challenges/{cid}/publish"), 200)
    return cid


def test_questions_from_asking_to_answering(app: Flask, owner: User, bidder: User,
                                            other_council_owner: User,
                                            open_challenge: int) -> None:
    cid = open_challenge
    as_bidder, as_owner, anonymous = api(app, bidder), api(app, owner), ApiClient(app)
    rival = api(app, supplier_user(BIDDER))
    blank = check(as_bidder.post(f"{BASE}/challenges/{cid}/questions", json={"question": " "}),
                  422)
    assert fields_of(blank) == {"question"}
    long = check(as_bidder.post(f"{BASE}/challenges/{cid}/questions",
                                json={"question": "x" * 2001}), 422)
    assert fields_of(long) == {"question"}
    first = check(as_bidder.post(f"{BASE}/challenges/{cid}/questions",
                                 json={"question": "Is Pothole AI Ltd too small?"}), 201,
                  "ChallengeQuestion")
    second = check(as_bidder.post(f"{BASE}/challenges/{cid}/questions",
                                  json={"question": "Can we bid with a partner?"}), 201,
                   "ChallengeQuestion")
    # Pending questions: the asker and the council see them; nobody else does.
    url = f"{BASE}/questions/{first['id']}"
    mine = check(as_bidder.get(url), 200, "ChallengeQuestion")
    assert mine["status"] == "pending" and "supplier" not in mine
    council_view = check(as_owner.get(url), 200, "ChallengeQuestion")
    assert council_view["supplier"] == {"id": bidder.organisation_id, "name": "Pothole AI Ltd"}
    for caller in (rival, anonymous, api(app, other_council_owner)):
        check(caller.get(url), 404)
    listed = check(as_owner.get(f"{BASE}/council/challenges/{cid}/questions?status=pending"),
                   200, "ChallengeQuestionList")
    assert {q["id"] for q in listed["items"]} == {first["id"], second["id"]}
    check(api(app, other_council_owner).get(f"{BASE}/council/challenges/{cid}/questions"), 404)
    check(as_bidder.get(f"{BASE}/council/challenges/{cid}/questions"), 403)

    # The council rewords and answers one, and rejects the other.
    check(as_bidder.post(f"{BASE}/questions/{first['id']}/answer", json={"answer": "x"}), 403)
    for body in ({"answer": "x"}, {}):
        check(api(app, other_council_owner).post(f"{BASE}/questions/{first['id']}/answer",
                                                 json=body), 404)
        check(api(app, other_council_owner).post(f"{BASE}/questions/{first['id']}/reject",
                                                 json=body), 404)
    check(as_owner.post(f"{BASE}/questions/{first['id']}/answer", json={}), 422)
    answered = check(as_owner.post(f"{BASE}/questions/{first['id']}/answer", json={
        "answer": "Any size of company may bid",
        "published_question": "Can a small company bid?"}), 200, "ChallengeQuestion")
    assert answered["status"] == "published"
    again = check(as_owner.post(f"{BASE}/questions/{first['id']}/answer",
                                json={"answer": "Again"}), 409)
    assert "already" in again["detail"]
    rejected = check(as_owner.post(f"{BASE}/questions/{second['id']}/reject",
                                   json={"reason": "Out of scope"}), 200, "ChallengeQuestion")
    assert rejected["status"] == "rejected"

    # Everyone sees the published wording and the answer, never who asked.
    public = check(anonymous.get(url), 200, "ChallengeQuestion")
    assert public == {"id": first["id"], "challenge_id": cid, "status": "published",
                      "question": "Can a small company bid?",
                      "answer": "Any size of company may bid",
                      "answered_at": public["answered_at"]}
    qa = check(anonymous.get(f"{BASE}/challenges/{cid}/questions"), 200,
               "ChallengeQuestionList")
    assert [q["id"] for q in qa["items"]] == [first["id"]]
    assert "Pothole AI" not in str(qa)
    # Only the asker sees why the other was rejected.
    assert check(as_bidder.get(f"{BASE}/questions/{second['id']}"), 200,
                 "ChallengeQuestion")["rejection_reason"] == "Out of scope"
    check(rival.get(f"{BASE}/questions/{second['id']}"), 404)
    actions = [a for a, _u, _o in audit_actions("clarification_question")]
    assert actions == ["question.asked", "question.asked", "question.answered",
                       "question.rejected"]


def test_questions_only_while_open(app: Flask, owner: User, bidder: User) -> None:
    as_bidder = api(app, bidder)
    draft = create(api(app, owner))["id"]
    check(as_bidder.post(f"{BASE}/challenges/{draft}/questions", json={"question": "Hi?"}),
          404)
    closed = make_challenge(owner.organisation, "Questions closed yesterday",
                            deadline=timedelta(days=10), questions_close=timedelta(days=-1))
    body = check(as_bidder.post(f"{BASE}/challenges/{closed.id}/questions",
                                json={"question": "Too late?"}), 409)
    assert "closed" in body["detail"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(ClarificationQuestion.id))) == 0


# --------------------------------------------------------------------------- the document

def test_every_route_is_documented_with_its_access_rule(app: Flask) -> None:
    documented = {(method, path): op for path, item in api_challenges.PATHS.items()
                  for method, op in item.items()}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.challenges_"):
            continue
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}",
                      rule.rule[len(BASE):])
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "access_rule", "").startswith("api:"), rule.endpoint
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    assert routes == set(documented)
    for (method, path), op in documented.items():
        assert op["tags"] == ["Challenges"] and op["operationId"] and op["summary"]
        assert "401" in op["responses"] and "429" in op["responses"]
        if method != "get":
            assert op["security"] == [{"bearerAuth": []}]
            assert {"403", "415", "422"} <= set(op["responses"]), (method, path)
        for ref in re.findall(r"#/components/responses/(\w+)", str(op)):
            assert ref in RESPONSES


def test_the_fragments_make_a_valid_document(app: Flask) -> None:
    from openapi_spec_validator import validate

    from marketplace.api.openapi import document

    doc = document()
    doc["paths"] = api_challenges.PATHS
    validate(doc)
    for schema in api_challenges.SCHEMAS.values():
        Draft202012Validator.check_schema(schema)
