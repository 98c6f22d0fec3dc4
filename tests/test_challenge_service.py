"""The challenge use cases (marketplace/services/challenges.py): every transition, every
refusal, the emails and audit events each one writes, and the derived open/closed state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeAmendment,
    ChallengeFollow,
    ChallengeStatus,
    ClarificationQuestion,
    Organisation,
    OrgStatus,
    QuestionStatus,
    User,
    utcnow,
)
from marketplace.services import challenges as svc
from marketplace.services.challenges import (
    ChallengeChanges,
    CriterionInput,
    StageInput,
)
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.search import SearchParams, search
from tests.challenge_support import days, publishable
from tests.factories import (
    CouncilFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    council_user,
    supplier_user,
)
from tests.team_admin_support import audit_events, fresh, outbox

S = ChallengeStatus

# --------------------------------------------------------------------------- the people


@dataclass
class Council:
    org: Organisation
    owner: User  # challenge owner
    officer: User  # procurement officer
    officer2: User  # a second procurement officer
    evaluator: User
    admin: User  # organisation admin only


def make_council(name: str, slug: str, **org: Any) -> Council:
    council = CouncilFactory(name=name, name_key=Organisation.key_for(name), **org)

    def person(role: str, who: str) -> User:
        return council_user(role, organisation=council, email=f"{who}@{slug}.gov.uk",
                            full_name=who.replace(".", " ").title())

    return Council(org=council, owner=person("challenge_owner", "owner"),
                   officer=person("procurement_officer", "officer"),
                   officer2=person("procurement_officer", "officer.two"),
                   evaluator=person("evaluator", "evaluator"),
                   admin=person("org_admin", "admin"))


@dataclass
class Supplier:
    org: Organisation
    bidder: User
    admin: User


def make_supplier(name: str, slug: str) -> Supplier:
    org = SupplierFactory(name=name, name_key=Organisation.key_for(name))
    return Supplier(org=org,
                    bidder=supplier_user("bidder", organisation=org,
                                         email=f"bidder@{slug}.example.com"),
                    admin=supplier_user("org_admin", organisation=org,
                                        email=f"admin@{slug}.example.com"))


@pytest.fixture
def leeds(app: Flask) -> Council:
    return make_council("Leeds City Council", "leeds")


@pytest.fixture
def kent(app: Flask) -> Council:
    return make_council("Kent County Council", "kent")


@pytest.fixture
def roadsense(app: Flask) -> Supplier:
    return make_supplier("Roadsense Analytics Ltd", "roadsense")


@pytest.fixture
def carelink(app: Flask) -> Supplier:
    return make_supplier("CareLink Technologies", "carelink")


# --------------------------------------------------------------------------- challenges


def awaiting(council: Council, **overrides: Any) -> Challenge:
    draft = publishable(council.owner, **overrides)
    return svc.submit_for_approval(council.owner, draft.id)


def approved(council: Council, **overrides: Any) -> Challenge:
    return svc.approve(council.officer, awaiting(council, **overrides).id)


def published(council: Council, **overrides: Any) -> Challenge:
    return svc.publish(council.officer, approved(council, **overrides).id)


def set_columns(challenge_id: int, **values: Any) -> Challenge:
    """Change stored columns directly (time passing, or a state no use case reaches yet)."""
    challenge = db.session.get(Challenge, challenge_id)
    assert challenge is not None
    for name, value in values.items():
        setattr(challenge, name, value)
    db.session.commit()
    return fresh(Challenge, challenge_id)


def closed(council: Council, **overrides: Any) -> Challenge:
    """A published challenge whose deadline has passed."""
    challenge = published(council, **overrides)
    return set_columns(challenge.id, clarification_deadline=days(-10),
                       submission_deadline=days(-1))


def status_of(challenge_id: int) -> ChallengeStatus:
    return fresh(Challenge, challenge_id).status


def emails_to(address: str) -> list[str]:
    return [m.subject for m in outbox(address)]


def recipients() -> set[str]:
    return {m.to_address for m in outbox()}


def clear_outbox() -> None:
    from marketplace.models import OutboxEmail

    db.session.execute(OutboxEmail.__table__.delete())
    db.session.commit()


def events(action: str, challenge_id: int | None = None) -> list[Any]:
    found = audit_events(action)
    if challenge_id is not None:
        found = [e for e in found if e.object_id == str(challenge_id)]
    return found


# --------------------------------------------------------------------------- create_draft


def test_a_challenge_owner_creates_a_draft(leeds: Council) -> None:
    draft = svc.create_draft(leeds.owner, "  Predicting potholes  ")
    again = fresh(Challenge, draft.id)
    assert again.title == "Predicting potholes"
    assert again.status == S.DRAFT
    assert again.lead_council_id == leeds.org.id
    assert again.created_by_id == leeds.owner.id
    assert "predicting potholes" in again.search_text
    [event] = events("challenge.created", draft.id)
    assert event.after == {"title": "Predicting potholes", "status": "draft"}
    assert event.actor_id == leeds.owner.id and event.organisation_id == leeds.org.id


def test_a_procurement_officer_creates_a_draft(leeds: Council) -> None:
    assert svc.create_draft(leeds.officer, "Fly-tipping").status == S.DRAFT


@pytest.mark.parametrize("who", ["supplier_bidder", "supplier_admin", "evaluator",
                                 "council_admin", "platform_admin", "no_organisation"])
def test_only_council_editors_create_drafts(leeds: Council, roadsense: Supplier,
                                            who: str) -> None:
    actor = {
        "supplier_bidder": lambda: roadsense.bidder,
        "supplier_admin": lambda: roadsense.admin,
        "evaluator": lambda: leeds.evaluator,
        "council_admin": lambda: leeds.admin,
        "platform_admin": lambda: admin_user(),
        "no_organisation": lambda: UserFactory(),
    }[who]()
    with pytest.raises(PermissionDenied):
        svc.create_draft(actor, "Not allowed")
    assert db.session.scalar(select(Challenge)) is None


def test_a_suspended_editor_cannot_create_a_draft(leeds: Council) -> None:
    leeds.owner.suspended_at = utcnow()
    db.session.commit()
    with pytest.raises(PermissionDenied):
        svc.create_draft(leeds.owner, "Not allowed")


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_a_draft_needs_a_title(leeds: Council, title: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        svc.create_draft(leeds.owner, title)
    assert info.value.field == "title"


# --------------------------------------------------------------------------- update_draft


def test_update_draft_saves_every_part(leeds: Council, kent: Council) -> None:
    challenge = publishable(leeds.owner, co_sponsor_ids=[kent.org.id])
    again = fresh(Challenge, challenge.id)
    assert again.region == "Yorkshire and The Humber"
    assert again.cpv_codes == ["72000000", "90511000"]
    assert [(o.description, o.measure) for o in again.outcomes] == [
        ("Fewer emergency repairs", "Down 25% in a year"), ("Faster planned repairs", None)]
    assert [r.text for r in again.essential_requirements] == [
        "Works with our asset management system"]
    assert [r.text for r in again.nice_to_haves] == ["Uses images from refuse lorry cameras"]
    assert [(s.name, s.funding_per_supplier, s.max_suppliers) for s in again.stages] == [
        ("Exploration", 5_000, 3), ("Accelerator", 40_000, 1)]
    assert [(c.name, c.weight, c.word_limit) for c in again.criteria] == [
        ("Understanding of the problem", 40, 500), ("Approach", 40, 750),
        ("Value for money", 20, 300)]
    assert again.total_weight == 100
    assert (again.budget_min, again.budget_max, again.shortlist_size) == (20_000, 80_000, 3)
    assert again.sponsor_ids == {leeds.org.id, kent.org.id}
    assert again.capabilities == ["Machine learning", "Computer vision"]
    # The search index includes the labels of the CPV codes and the co-sponsor.
    assert "refuse collection services" in again.search_text
    assert "kent county council" in again.search_text
    assert svc.problems(again) == []
    [event] = events("challenge.edited", challenge.id)
    assert event.before["region"] is None
    assert event.after["region"] == "Yorkshire and The Humber"


def test_region_and_cpv_codes_are_normalised(leeds: Council) -> None:
    challenge = publishable(leeds.owner, region="yorkshire & the humber",
                            cpv_codes=["90511000-2", "72000000", "90511000"])
    assert challenge.region == "Yorkshire and The Humber"
    assert challenge.cpv_codes == ["72000000", "90511000"]


def _late(days_: float) -> datetime:
    return days(days_)


INVALID_CHANGES = [
    pytest.param(dict(title=""), "title", id="empty title"),
    pytest.param(dict(title="   "), "title", id="blank title"),
    pytest.param(dict(title="x" * 201), "title", id="long title"),
    pytest.param(dict(summary="x" * 1001), "summary", id="long summary"),
    pytest.param(dict(budget_min=50_000, budget_max=10_000, set_budget=True), "budget_min",
                 id="budget min above max"),
    pytest.param(dict(budget_min=-1, budget_max=10_000, set_budget=True), "budget_min",
                 id="negative budget min"),
    pytest.param(dict(budget_min=None, budget_max=-5, set_budget=True), "budget_min",
                 id="negative budget max"),
    pytest.param(dict(shortlist_size=0), "shortlist_size", id="shortlist of none"),
    pytest.param(dict(shortlist_size=51), "shortlist_size", id="shortlist too long"),
    pytest.param(dict(criteria=[CriterionInput("Approach", 60), CriterionInput("Price", 30)]),
                 "criteria", id="weights total 90"),
    pytest.param(dict(criteria=[CriterionInput("Approach", 60), CriterionInput("Price", 50)]),
                 "criteria", id="weights total 110"),
    pytest.param(dict(criteria=[CriterionInput("Approach", 0), CriterionInput("Price", 100)]),
                 "criteria", id="weight 0"),
    pytest.param(dict(criteria=[CriterionInput("Approach", 101)]), "criteria",
                 id="weight 101"),
    pytest.param(dict(criteria=[CriterionInput("Approach", 100, word_limit=49)]), "criteria",
                 id="word limit 49"),
    pytest.param(dict(criteria=[CriterionInput("Approach", 100, word_limit=5001)]),
                 "criteria", id="word limit 5001"),
    pytest.param(dict(criteria=[CriterionInput("  ", 100)]), "criteria", id="unnamed criterion"),
    pytest.param(dict(stages=[StageInput("")]), "stages", id="unnamed stage"),
    pytest.param(dict(stages=[StageInput("Build", funding_per_supplier=-1)]), "stages",
                 id="negative funding"),
    pytest.param(dict(stages=[StageInput("Build", max_suppliers=0)]), "stages",
                 id="no suppliers"),
    pytest.param(dict(region="Atlantis"), "region", id="unknown region"),
    pytest.param(dict(cpv_codes=["7200"]), "cpv_codes", id="short CPV code"),
    pytest.param(dict(cpv_codes=["72000000", "12345678"]), "cpv_codes", id="unknown CPV code"),
    pytest.param(dict(co_sponsor_ids=[987654]), "co_sponsor_ids", id="unknown co-sponsor"),
    pytest.param(dict(clarification_deadline=_late(30), submission_deadline=_late(21),
                      expected_award_date=_late(45).date(), set_dates=True),
                 "clarification_deadline", id="questions close after the deadline"),
    pytest.param(dict(clarification_deadline=_late(7), submission_deadline=_late(21),
                      expected_award_date=_late(20).date(), set_dates=True),
                 "expected_award_date", id="award before the deadline"),
    pytest.param(dict(clarification_deadline=_late(7), submission_deadline=_late(21),
                      expected_award_date=_late(21).date(), set_dates=True),
                 "expected_award_date", id="award on the deadline day"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_CHANGES)
def test_update_draft_refuses_invalid_data_by_field(leeds: Council, changes: dict[str, Any],
                                                    field: str) -> None:
    draft = svc.create_draft(leeds.owner, "Original title")
    edits_before = len(events("challenge.edited"))
    with pytest.raises(ValidationFailed) as info:
        # A valid title change alongside: nothing at all is saved when any part is invalid.
        svc.update_draft(leeds.owner, draft.id, ChallengeChanges(**{"title": "Changed",
                                                                    **changes}))
    assert info.value.field == field
    assert info.value.message
    again = fresh(Challenge, draft.id)
    assert again.title == "Original title"
    assert again.cpv_rows == [] and again.criteria == [] and again.sponsors == []
    assert len(events("challenge.edited")) == edits_before


def test_a_supplier_cannot_be_a_co_sponsor(leeds: Council, roadsense: Supplier) -> None:
    draft = svc.create_draft(leeds.owner, "Potholes")
    with pytest.raises(ValidationFailed) as info:
        svc.update_draft(leeds.owner, draft.id, ChallengeChanges(co_sponsor_ids=[roadsense.org.id]))
    assert info.value.field == "co_sponsor_ids"


def test_the_lead_council_is_not_its_own_co_sponsor(leeds: Council) -> None:
    draft = svc.create_draft(leeds.owner, "Potholes")
    svc.update_draft(leeds.owner, draft.id, ChallengeChanges(co_sponsor_ids=[leeds.org.id]))
    assert fresh(Challenge, draft.id).sponsors == []


@pytest.mark.parametrize("start", ["awaiting_approval", "approved"])
def test_editing_a_submitted_or_approved_challenge_returns_it_to_draft(
        leeds: Council, start: str) -> None:
    challenge = awaiting(leeds) if start == "awaiting_approval" else approved(leeds)
    assert challenge.status == start
    svc.update_draft(leeds.owner, challenge.id, ChallengeChanges(title="Predicting potholes"))
    again = fresh(Challenge, challenge.id)
    assert again.status == S.DRAFT
    assert again.title == "Predicting potholes"
    assert again.submitted_at is None and again.submitted_by_id is None
    assert again.approved_at is None and again.approved_by_id is None
    [event] = events("challenge.returned_to_draft", challenge.id)
    assert event.before == {"status": start}
    assert event.after == {"status": "draft"}
    assert event.actor_id == leeds.owner.id


def test_saving_an_approved_challenge_unchanged_keeps_the_approval(leeds: Council) -> None:
    challenge = approved(leeds)
    svc.update_draft(leeds.owner, challenge.id, ChallengeChanges(title=challenge.title))
    assert status_of(challenge.id) == S.APPROVED
    assert events("challenge.returned_to_draft", challenge.id) == []


def test_another_councils_editor_gets_not_found(leeds: Council, kent: Council) -> None:
    draft = publishable(leeds.owner)
    for actor in (kent.owner, kent.officer):
        with pytest.raises(NotFound):
            svc.update_draft(actor, draft.id, ChallengeChanges(title="Hijacked"))
    assert fresh(Challenge, draft.id).title == "Predicting potholes before they form"


def test_a_supplier_gets_not_found_for_a_draft(leeds: Council, roadsense: Supplier) -> None:
    draft = publishable(leeds.owner)
    with pytest.raises(NotFound):
        svc.update_draft(roadsense.admin, draft.id, ChallengeChanges(title="Hijacked"))
    with pytest.raises(NotFound):
        svc.get_challenge(draft.id, roadsense.admin)
    with pytest.raises(NotFound):
        svc.get_challenge(draft.id, None)


@pytest.mark.parametrize("who", ["evaluator", "admin"])
def test_council_members_without_an_editing_role_are_refused(leeds: Council, who: str) -> None:
    draft = publishable(leeds.owner)
    with pytest.raises(PermissionDenied):
        svc.update_draft(getattr(leeds, who), draft.id, ChallengeChanges(title="Hijacked"))


def test_a_published_challenge_is_amended_not_edited(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(Conflict, match="amendment"):
        svc.update_draft(leeds.owner, challenge.id, ChallengeChanges(title="Changed"))


def test_unknown_challenge_is_not_found(leeds: Council) -> None:
    with pytest.raises(NotFound):
        svc.update_draft(leeds.owner, 987654, ChallengeChanges(title="x"))


# --------------------------------------------------------------------------- readiness


def test_a_new_draft_lists_every_missing_part(leeds: Council) -> None:
    draft = svc.create_draft(leeds.owner, "Potholes")
    fields = [f for f, _ in svc.problems(draft)]
    assert fields == ["summary", "problem", "outcomes", "requirements", "cpv_codes", "region",
                      "budget_max", "criteria", "shortlist_size", "submission_deadline",
                      "clarification_deadline", "expected_award_date"]


def _dates(**override: Any) -> dict[str, Any]:
    dates = dict(clarification_deadline=days(7), submission_deadline=days(21),
                 expected_award_date=days(45).date(), set_dates=True)
    return {**dates, **override}


MISSING_PARTS = [
    pytest.param(lambda: dict(summary=""), "summary", id="summary"),
    pytest.param(lambda: dict(problem=""), "problem", id="problem"),
    pytest.param(lambda: dict(outcomes=[]), "outcomes", id="outcomes"),
    pytest.param(lambda: dict(essential_requirements=[]), "requirements", id="requirements"),
    pytest.param(lambda: dict(cpv_codes=[]), "cpv_codes", id="cpv codes"),
    pytest.param(lambda: dict(region=""), "region", id="region"),
    pytest.param(lambda: dict(budget_min=None, budget_max=None, set_budget=True),
                 "budget_max", id="budget"),
    pytest.param(lambda: dict(criteria=[]), "criteria", id="criteria"),
    pytest.param(lambda: _dates(clarification_deadline=None), "clarification_deadline",
                 id="question deadline"),
    pytest.param(lambda: _dates(clarification_deadline=None, submission_deadline=None,
                                expected_award_date=None),
                 "submission_deadline", id="no dates"),
    pytest.param(lambda: _dates(expected_award_date=None), "expected_award_date",
                 id="award date"),
]


@pytest.mark.parametrize(("missing", "field"), MISSING_PARTS)
def test_each_missing_part_is_a_problem(leeds: Council, missing: Any, field: str) -> None:
    draft = publishable(leeds.owner)
    svc.update_draft(leeds.owner, draft.id, ChallengeChanges(**missing()))
    found = [f for f, _ in svc.problems(fresh(Challenge, draft.id))]
    if field == "submission_deadline":  # without dates, every date is missing
        assert found == ["submission_deadline", "clarification_deadline",
                         "expected_award_date"]
    else:
        assert found == [field]
    # ... and it stops both submission and publication.
    with pytest.raises(ValidationFailed) as info:
        svc.submit_for_approval(leeds.owner, draft.id)
    assert info.value.field == field
    with pytest.raises(ValidationFailed):
        svc.publish(leeds.officer, draft.id)
    assert status_of(draft.id) == S.DRAFT


def test_shortlist_size_and_weights_are_checked(leeds: Council) -> None:
    draft = publishable(leeds.owner)
    challenge = fresh(Challenge, draft.id)
    challenge.shortlist_size = None
    challenge.criteria[0].weight = 10  # stored weights that no longer total 100
    found = dict(svc.problems(challenge))
    assert set(found) == {"shortlist_size", "criteria"}
    assert "they total 70" in found["criteria"]
    db.session.rollback()


def test_the_deadline_must_be_at_least_ten_days_after_publication(leeds: Council,
                                                                   app: Flask) -> None:
    assert app.config["CHALLENGE_MIN_DAYS"] == 10
    draft = publishable(leeds.owner, clarification_deadline=days(3),
                        submission_deadline=days(9.9), expected_award_date=days(30).date())
    found = dict(svc.problems(draft))
    assert list(found) == ["submission_deadline"]
    assert "at least 10 days" in found["submission_deadline"]
    with pytest.raises(ValidationFailed) as info:
        svc.publish(leeds.officer, draft.id)
    assert info.value.field == "submission_deadline"
    # Ten days and a little is enough.
    svc.update_draft(leeds.owner, draft.id, ChallengeChanges(
        clarification_deadline=days(3), submission_deadline=days(10.1),
        expected_award_date=days(30).date(), set_dates=True))
    assert svc.problems(fresh(Challenge, draft.id)) == []
    # Readiness is judged at publication: the same draft is not ready two days later.
    later = utcnow() + timedelta(days=2)
    assert "submission_deadline" in dict(svc.problems(fresh(Challenge, draft.id), later))


def test_the_minimum_tender_period_is_configurable(app_factory: Any) -> None:
    application = app_factory(CHALLENGE_MIN_DAYS=5)
    with application.app_context():
        council = make_council("Leeds City Council", "leeds")
        draft = publishable(council.owner, clarification_deadline=days(2),
                            submission_deadline=days(6), expected_award_date=days(20).date())
        assert svc.problems(draft) == []
        assert svc.publish(council.officer, draft.id).status == S.OPEN


def test_a_question_deadline_in_the_past_is_a_problem(leeds: Council) -> None:
    draft = publishable(leeds.owner, clarification_deadline=days(-1))
    found = dict(svc.problems(draft))
    assert list(found) == ["clarification_deadline"]
    assert "already passed" in found["clarification_deadline"]
    with pytest.raises(ValidationFailed):
        svc.publish(leeds.officer, draft.id)


# --------------------------------------------------------------------------- submit for approval


def test_submit_for_approval_emails_the_lead_councils_officers(leeds: Council,
                                                               kent: Council) -> None:
    draft = publishable(leeds.owner, co_sponsor_ids=[kent.org.id])
    clear_outbox()
    challenge = svc.submit_for_approval(leeds.owner, draft.id)
    again = fresh(Challenge, challenge.id)
    assert again.status == S.AWAITING_APPROVAL
    assert again.submitted_by_id == leeds.owner.id and again.submitted_at is not None
    assert recipients() == {leeds.officer.email, leeds.officer2.email}
    [event] = events("challenge.submitted_for_approval", challenge.id)
    assert event.before == {"status": "draft"}
    assert event.after == {"status": "awaiting_approval"}


def test_an_officer_submitting_is_not_emailed_about_it(leeds: Council) -> None:
    draft = publishable(leeds.officer)
    clear_outbox()
    svc.submit_for_approval(leeds.officer, draft.id)
    assert recipients() == {leeds.officer2.email}


def test_only_a_draft_can_be_submitted(leeds: Council) -> None:
    challenge = awaiting(leeds)
    with pytest.raises(Conflict):
        svc.submit_for_approval(leeds.owner, challenge.id)
    approved_one = svc.approve(leeds.officer, challenge.id)
    with pytest.raises(Conflict):
        svc.submit_for_approval(leeds.owner, approved_one.id)
    svc.publish(leeds.officer, challenge.id)
    with pytest.raises(Conflict):
        svc.submit_for_approval(leeds.owner, challenge.id)


def test_an_incomplete_draft_cannot_be_submitted(leeds: Council) -> None:
    draft = svc.create_draft(leeds.owner, "Potholes")
    clear_outbox()
    with pytest.raises(ValidationFailed, match=r"summary \(and 11 more\)"):
        svc.submit_for_approval(leeds.owner, draft.id)
    assert status_of(draft.id) == S.DRAFT
    assert outbox() == []


def test_an_evaluator_cannot_submit(leeds: Council, kent: Council) -> None:
    draft = publishable(leeds.owner)
    with pytest.raises(PermissionDenied):
        svc.submit_for_approval(leeds.evaluator, draft.id)
    with pytest.raises(NotFound):
        svc.submit_for_approval(kent.owner, draft.id)


# --------------------------------------------------------------------------- approve


def test_a_procurement_officer_approves(leeds: Council) -> None:
    challenge = awaiting(leeds)
    clear_outbox()
    svc.approve(leeds.officer, challenge.id)
    again = fresh(Challenge, challenge.id)
    assert again.status == S.APPROVED
    assert again.approved_by_id == leeds.officer.id and again.approved_at is not None
    assert recipients() == {leeds.owner.email}
    [event] = events("challenge.approved", challenge.id)
    assert (event.before, event.after) == ({"status": "awaiting_approval"},
                                           {"status": "approved"})


@pytest.mark.parametrize("start", ["draft", "approved", "open"])
def test_only_a_challenge_awaiting_approval_can_be_approved(leeds: Council,
                                                            start: str) -> None:
    challenge = {"draft": lambda: publishable(leeds.owner), "approved": lambda: approved(leeds),
                 "open": lambda: published(leeds)}[start]()
    with pytest.raises(Conflict):
        svc.approve(leeds.officer2, challenge.id)
    assert status_of(challenge.id) == start


def test_an_officer_cannot_approve_what_they_submitted(leeds: Council) -> None:
    draft = publishable(leeds.officer)
    svc.submit_for_approval(leeds.officer, draft.id)
    with pytest.raises(PermissionDenied, match="Another procurement officer"):
        svc.approve(leeds.officer, draft.id)
    assert svc.approve(leeds.officer2, draft.id).status == S.APPROVED


@pytest.mark.parametrize("who", ["owner", "evaluator", "admin"])
def test_only_procurement_officers_approve(leeds: Council, who: str) -> None:
    challenge = awaiting(leeds)
    with pytest.raises(PermissionDenied):
        svc.approve(getattr(leeds, who), challenge.id)
    assert status_of(challenge.id) == S.AWAITING_APPROVAL


def test_another_councils_officer_gets_not_found(leeds: Council, kent: Council) -> None:
    challenge = awaiting(leeds)
    with pytest.raises(NotFound):
        svc.approve(kent.officer, challenge.id)


def test_a_co_sponsors_officer_cannot_approve_or_publish(leeds: Council, kent: Council) -> None:
    challenge = awaiting(leeds, co_sponsor_ids=[kent.org.id])
    with pytest.raises(PermissionDenied, match="lead council"):
        svc.approve(kent.officer, challenge.id)
    assert status_of(challenge.id) == S.AWAITING_APPROVAL
    svc.approve(leeds.officer, challenge.id)
    with pytest.raises(PermissionDenied, match="lead council"):
        svc.publish(kent.officer, challenge.id)
    assert status_of(challenge.id) == S.APPROVED


# --------------------------------------------------------------------------- return to draft


@pytest.mark.parametrize("start", ["awaiting_approval", "approved"])
def test_an_officer_returns_a_challenge_with_a_reason(leeds: Council, start: str) -> None:
    challenge = awaiting(leeds) if start == "awaiting_approval" else approved(leeds)
    clear_outbox()
    svc.return_to_draft(leeds.officer2, challenge.id, "  Add a measure to each outcome  ")
    again = fresh(Challenge, challenge.id)
    assert again.status == S.DRAFT
    assert again.submitted_at is None and again.approved_at is None
    assert recipients() == {leeds.owner.email}
    [event] = events("challenge.returned_to_draft", challenge.id)
    assert event.before == {"status": start}
    assert event.after == {"status": "draft", "reason": "Add a measure to each outcome"}
    assert "Add a measure to each outcome" in outbox(leeds.owner.email)[0].body_text


def test_returning_needs_a_reason(leeds: Council) -> None:
    challenge = awaiting(leeds)
    with pytest.raises(ValidationFailed) as info:
        svc.return_to_draft(leeds.officer, challenge.id, "   ")
    assert info.value.field == "reason"
    assert status_of(challenge.id) == S.AWAITING_APPROVAL


def test_only_a_submitted_or_approved_challenge_can_be_returned(leeds: Council) -> None:
    draft = publishable(leeds.owner)
    with pytest.raises(Conflict):
        svc.return_to_draft(leeds.officer, draft.id, "Why")
    challenge = published(leeds)
    with pytest.raises(Conflict):
        svc.return_to_draft(leeds.officer, challenge.id, "Why")


def test_a_challenge_owner_cannot_return_a_challenge(leeds: Council) -> None:
    challenge = awaiting(leeds)
    with pytest.raises(PermissionDenied):
        svc.return_to_draft(leeds.owner, challenge.id, "Why")


# --------------------------------------------------------------------------- publish


def test_publishing_an_approved_challenge_opens_it(leeds: Council, kent: Council) -> None:
    challenge = approved(leeds, co_sponsor_ids=[kent.org.id])
    clear_outbox()
    svc.publish(leeds.officer2, challenge.id)
    again = fresh(Challenge, challenge.id)
    assert again.status == S.OPEN
    assert again.published_at is not None
    assert again.approved_by_id == leeds.officer.id  # the approval stands
    # The teams of both councils hear about it, except the publisher.
    assert recipients() == {leeds.owner.email, leeds.officer.email, kent.owner.email,
                            kent.officer.email, kent.officer2.email}
    [event] = events("challenge.published", challenge.id)
    assert event.before == {"status": "approved"}
    assert event.after["status"] == "open"
    assert event.after["published"]["title"] == challenge.title


def test_an_officers_own_draft_is_approved_by_publishing_it(leeds: Council) -> None:
    draft = publishable(leeds.officer)
    challenge = svc.publish(leeds.officer, draft.id)
    again = fresh(Challenge, challenge.id)
    assert again.status == S.OPEN
    assert again.approved_by_id == leeds.officer.id
    assert again.approved_at == again.published_at
    [event] = events("challenge.published", challenge.id)
    assert event.before == {"status": "draft"}


def test_another_officer_can_publish_a_challenge_awaiting_approval(leeds: Council) -> None:
    challenge = awaiting(leeds)
    svc.publish(leeds.officer, challenge.id)
    again = fresh(Challenge, challenge.id)
    assert again.status == S.OPEN and again.approved_by_id == leeds.officer.id


def test_the_submitter_cannot_publish_what_awaits_approval(leeds: Council) -> None:
    draft = publishable(leeds.officer)
    svc.submit_for_approval(leeds.officer, draft.id)
    with pytest.raises(PermissionDenied, match="Another procurement officer"):
        svc.publish(leeds.officer, draft.id)
    assert status_of(draft.id) == S.AWAITING_APPROVAL


def test_an_unverified_council_cannot_publish(app: Flask) -> None:
    council = make_council("Northumberland County Council", "northumberland",
                           status=OrgStatus.PENDING.value, verified_at=None)
    draft = publishable(council.officer)
    with pytest.raises(PermissionDenied, match="verified"):
        svc.publish(council.officer, draft.id)
    assert status_of(draft.id) == S.DRAFT


def test_a_challenge_is_published_once(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(Conflict, match="already been published"):
        svc.publish(leeds.officer, challenge.id)
    assert len(events("challenge.published", challenge.id)) == 1


@pytest.mark.parametrize("who", ["owner", "evaluator"])
def test_only_officers_publish(leeds: Council, who: str) -> None:
    challenge = approved(leeds)
    with pytest.raises(PermissionDenied):
        svc.publish(getattr(leeds, who), challenge.id)


def test_open_becomes_closed_purely_by_time(leeds: Council) -> None:
    challenge = fresh(Challenge, published(leeds).id)
    deadline = challenge.submission_deadline
    assert deadline is not None
    assert challenge.status == S.OPEN
    assert challenge.status_at(deadline - timedelta(seconds=1)) == S.OPEN
    assert challenge.status_at(deadline) == S.CLOSED
    assert challenge.status_at(deadline + timedelta(days=1)) == S.CLOSED
    # Nothing was stored to close it.
    assert challenge.withdrawn_at is None and challenge.evaluation_started_at is None


# --------------------------------------------------------------------------- amend


@pytest.fixture
def follower(app: Flask) -> User:
    return supplier_user("bidder", email="follower@watching.example.com")


def test_amending_an_open_challenge(leeds: Council, follower: User) -> None:
    challenge = published(leeds)
    svc.follow(follower, challenge.id)
    old_deadline = fresh(Challenge, challenge.id).submission_deadline
    clear_outbox()
    amendment = svc.amend(leeds.owner, challenge.id, ChallengeChanges(
        budget_min=20_000, budget_max=100_000, set_budget=True,
        clarification_deadline=days(10), submission_deadline=days(28),
        expected_award_date=days(50).date(), set_dates=True), "  Budget raised; more time  ")
    again = fresh(ChallengeAmendment, amendment.id)
    assert again.summary == "Budget raised; more time"
    assert again.author_id == leeds.owner.id
    assert again.changes["before"]["budget_max"] == 80_000
    assert again.changes["after"]["budget_max"] == 100_000
    assert again.changes["before"]["submission_deadline"] == old_deadline.isoformat()
    assert set(again.changes["after"]) == {"budget_max", "clarification_deadline",
                                           "submission_deadline", "expected_award_date"}
    assert fresh(Challenge, challenge.id).budget_max == 100_000
    assert fresh(Challenge, challenge.id).status == S.OPEN
    assert recipients() == {follower.email}
    [event] = events("challenge.amended", challenge.id)
    assert event.before["budget_max"] == 80_000
    assert event.after["budget_max"] == 100_000
    assert event.after["amendment_id"] == amendment.id


def test_an_amendment_updates_the_search_index(leeds: Council) -> None:
    challenge = published(leeds)
    svc.amend(leeds.owner, challenge.id, ChallengeChanges(
        capabilities=["LiDAR surveys"]), "Added a capability")
    assert "lidar" in fresh(Challenge, challenge.id).search_text
    assert [c.id for c in search(SearchParams(q="lidar")).items] == [challenge.id]


def test_an_amendment_needs_a_summary(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(ValidationFailed) as info:
        svc.amend(leeds.owner, challenge.id, ChallengeChanges(title="New title"), "  ")
    assert info.value.field == "summary_of_change"
    assert fresh(Challenge, challenge.id).title != "New title"


def test_an_amendment_must_change_something(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(ValidationFailed, match="Nothing was changed"):
        svc.amend(leeds.owner, challenge.id, ChallengeChanges(title=challenge.title),
                  "No change")
    assert db.session.scalar(select(ChallengeAmendment)) is None


def test_an_amendment_cannot_move_the_deadline_into_the_past(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(ValidationFailed) as info:
        svc.amend(leeds.owner, challenge.id, ChallengeChanges(
            clarification_deadline=days(-3), submission_deadline=days(-1),
            expected_award_date=days(20).date(), set_dates=True), "Closing early")
    assert info.value.field == "submission_deadline"
    assert status_of(challenge.id) == S.OPEN


def test_an_amendment_cannot_unbalance_the_weights(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(ValidationFailed) as info:
        svc.amend(leeds.owner, challenge.id, ChallengeChanges(
            criteria=[CriterionInput("Approach", 50)]), "Fewer criteria")
    assert info.value.field == "criteria"


@pytest.mark.parametrize(("changes", "field"), [
    pytest.param(dict(summary=""), "summary", id="summary"),
    pytest.param(dict(problem="  "), "problem", id="problem"),
    pytest.param(dict(outcomes=[]), "outcomes", id="outcomes"),
    pytest.param(dict(essential_requirements=[]), "requirements", id="requirements"),
    pytest.param(dict(cpv_codes=[]), "cpv_codes", id="cpv codes"),
    pytest.param(dict(region=""), "region", id="region"),
    pytest.param(dict(budget_min=None, budget_max=None, set_budget=True), "budget_max",
                 id="budget"),
    pytest.param(dict(criteria=[]), "criteria", id="criteria"),
])
def test_an_amendment_cannot_take_out_a_required_part(leeds: Council,
                                                      changes: dict[str, Any],
                                                      field: str) -> None:
    challenge = published(leeds)
    with pytest.raises(ValidationFailed) as info:
        svc.amend(leeds.owner, challenge.id, ChallengeChanges(**changes), "Tidying up")
    assert info.value.field == field
    assert svc.problems(fresh(Challenge, challenge.id)) == []
    assert db.session.scalar(select(ChallengeAmendment)) is None


def test_an_amendment_may_shorten_the_time_left(leeds: Council) -> None:
    """The ten-day rule is for publication: an open challenge's deadline may be brought
    forward (to any time still in the future), and questions may close early."""
    challenge = published(leeds)
    svc.amend(leeds.owner, challenge.id, ChallengeChanges(
        clarification_deadline=days(0.5), submission_deadline=days(5),
        expected_award_date=days(30).date(), set_dates=True), "Closing sooner")
    assert status_of(challenge.id) == S.OPEN


def test_only_an_open_challenge_can_be_amended(leeds: Council) -> None:
    draft = publishable(leeds.owner)
    with pytest.raises(Conflict):
        svc.amend(leeds.owner, draft.id, ChallengeChanges(title="New"), "Change")
    late = closed(leeds)
    with pytest.raises(Conflict, match="deadline"):
        svc.amend(leeds.owner, late.id, ChallengeChanges(title="New"), "Change")
    assert db.session.scalar(select(ChallengeAmendment)) is None


def test_amending_needs_an_editor_of_a_sponsoring_council(leeds: Council, kent: Council,
                                                          roadsense: Supplier) -> None:
    challenge = published(leeds)
    with pytest.raises(PermissionDenied):
        svc.amend(leeds.evaluator, challenge.id, ChallengeChanges(title="New"), "Change")
    for outsider in (kent.owner, roadsense.admin):
        with pytest.raises(NotFound):
            svc.amend(outsider, challenge.id, ChallengeChanges(title="New"), "Change")


# --------------------------------------------------------------------------- withdraw


def test_withdrawing_an_open_challenge(leeds: Council, follower: User) -> None:
    challenge = published(leeds)
    svc.follow(follower, challenge.id)
    clear_outbox()
    svc.withdraw(leeds.officer, challenge.id, "  The service is being redesigned  ")
    again = fresh(Challenge, challenge.id)
    assert again.status == S.WITHDRAWN
    assert again.end_reason == "The service is being redesigned"
    assert follower.email in recipients()
    assert leeds.owner.email in recipients()
    [event] = events("challenge.withdrawn", challenge.id)
    assert event.before == {"status": "open"}
    assert event.after == {"status": "withdrawn", "reason": "The service is being redesigned"}


def test_withdrawing_needs_a_reason(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(ValidationFailed) as info:
        svc.withdraw(leeds.officer, challenge.id, "")
    assert info.value.field == "reason"
    assert status_of(challenge.id) == S.OPEN


@pytest.mark.parametrize("start", ["draft", "approved", "closed", "withdrawn"])
def test_only_an_open_challenge_can_be_withdrawn(leeds: Council, start: str) -> None:
    if start == "draft":
        challenge = publishable(leeds.owner)
    elif start == "approved":
        challenge = approved(leeds)
    elif start == "closed":
        challenge = closed(leeds)
    else:
        challenge = svc.withdraw(leeds.officer, published(leeds).id, "Redesign")
    with pytest.raises(Conflict):
        svc.withdraw(leeds.officer, challenge.id, "Again")
    assert status_of(challenge.id) == start


def test_a_challenge_owner_cannot_withdraw(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(PermissionDenied):
        svc.withdraw(leeds.owner, challenge.id, "Redesign")


# --------------------------------------------------------------------------- cancel


@pytest.mark.parametrize("start", ["draft", "awaiting_approval", "approved", "open", "closed"])
def test_cancelling(leeds: Council, follower: User, start: str) -> None:
    challenge = {"draft": lambda: publishable(leeds.owner),
                 "awaiting_approval": lambda: awaiting(leeds),
                 "approved": lambda: approved(leeds),
                 "open": lambda: published(leeds),
                 "closed": lambda: closed(leeds)}[start]()
    if challenge.is_published:
        svc.follow(follower, challenge.id)
    clear_outbox()
    svc.cancel(leeds.officer, challenge.id, "Funding was withdrawn")
    again = fresh(Challenge, challenge.id)
    assert again.status == S.CANCELLED
    assert again.end_reason == "Funding was withdrawn"
    [event] = events("challenge.cancelled", challenge.id)
    assert event.before == {"status": start}
    assert event.after == {"status": "cancelled", "reason": "Funding was withdrawn"}
    # Only published challenges have followers and a public to tell.
    assert (follower.email in recipients()) == challenge.is_published
    if not challenge.is_published:
        assert outbox() == []


def test_a_cancelled_draft_cannot_be_edited_or_published(leeds: Council) -> None:
    draft = svc.cancel(leeds.officer, publishable(leeds.officer).id, "No longer needed")
    with pytest.raises(Conflict, match="cancelled and can no longer be changed"):
        svc.update_draft(leeds.owner, draft.id, ChallengeChanges(title="Revived"))
    with pytest.raises(Conflict, match="cancelled and cannot be published"):
        svc.publish(leeds.officer, draft.id)
    with pytest.raises(Conflict):
        svc.submit_for_approval(leeds.owner, draft.id)
    assert status_of(draft.id) == S.CANCELLED


def test_a_challenge_is_cancelled_once(leeds: Council) -> None:
    challenge = published(leeds)
    svc.cancel(leeds.officer, challenge.id, "Funding was withdrawn")
    with pytest.raises(Conflict):
        svc.cancel(leeds.officer, challenge.id, "Again")
    with pytest.raises(Conflict):
        svc.withdraw(leeds.officer, challenge.id, "Again")


def test_a_withdrawn_challenge_cannot_be_cancelled(leeds: Council) -> None:
    challenge = svc.withdraw(leeds.officer, published(leeds).id, "Redesign")
    with pytest.raises(Conflict):
        svc.cancel(leeds.officer, challenge.id, "Again")
    assert status_of(challenge.id) == S.WITHDRAWN


def test_cancelling_needs_a_reason_and_an_officer(leeds: Council) -> None:
    challenge = published(leeds)
    with pytest.raises(ValidationFailed):
        svc.cancel(leeds.officer, challenge.id, " ")
    with pytest.raises(PermissionDenied):
        svc.cancel(leeds.owner, challenge.id, "Funding was withdrawn")
    assert status_of(challenge.id) == S.OPEN


# --------------------------------------------------------------------------- one end state


END_COLUMNS = ("withdrawn_at", "cancelled_at", "awarded_at", "no_suitable_supplier_at")


@pytest.mark.parametrize(("first", "second"), [
    (a, b) for i, a in enumerate(END_COLUMNS) for b in END_COLUMNS[i + 1:]])
def test_the_database_allows_one_end_state(leeds: Council, first: str, second: str) -> None:
    challenge = published(leeds)
    row = db.session.get(Challenge, challenge.id)
    assert row is not None
    now = utcnow()
    setattr(row, first, now)
    if first == "awarded_at":  # an award is decided before it ends (a separate check)
        row.award_decided_at = now
    db.session.flush()  # one end state is fine
    setattr(row, second, now)
    if second == "awarded_at":  # only the one-end-state rule is broken, on every database
        row.award_decided_at = now
    with pytest.raises(IntegrityError, match="one_end_state"):
        db.session.flush()
    db.session.rollback()
    assert status_of(challenge.id) == S.OPEN


def test_the_database_refuses_two_end_states_at_insert(leeds: Council) -> None:
    now = utcnow()
    db.session.add(Challenge(lead_council_id=leeds.org.id, title="Both", withdrawn_at=now,
                             cancelled_at=now, capabilities=[]))
    with pytest.raises(IntegrityError, match="one_end_state"):
        db.session.flush()
    db.session.rollback()


# --------------------------------------------------------------------------- status in SQL


def one_in_every_state(leeds: Council) -> dict[ChallengeStatus, int]:
    made = {
        S.DRAFT: publishable(leeds.owner).id,
        S.AWAITING_APPROVAL: awaiting(leeds).id,
        S.APPROVED: approved(leeds).id,
        S.OPEN: published(leeds).id,
        S.CLOSED: closed(leeds).id,
        S.WITHDRAWN: svc.withdraw(leeds.officer, published(leeds).id, "Redesign").id,
        S.CANCELLED: svc.cancel(leeds.officer, publishable(leeds.owner).id, "No money").id,
    }
    # The evaluation's states, set directly (tests/test_award_service.py reaches them through
    # the use cases): in standstill until ``awarded_at``, awarded after it.
    made[S.EVALUATION] = set_columns(closed(leeds).id, evaluation_started_at=utcnow()).id
    made[S.STANDSTILL] = set_columns(closed(leeds).id, evaluation_started_at=days(-0.5),
                                     award_decided_at=days(-0.1), awarded_at=days(10)).id
    made[S.AWARDED] = set_columns(closed(leeds).id, evaluation_started_at=days(-0.5),
                                  award_decided_at=days(-0.2), awarded_at=utcnow()).id
    made[S.NO_SUITABLE_SUPPLIER] = set_columns(closed(leeds).id,
                                               evaluation_started_at=days(-0.5),
                                               no_suitable_supplier_at=utcnow()).id
    return made


def test_status_sql_agrees_with_status_at_in_every_state(leeds: Council) -> None:
    made = one_in_every_state(leeds)
    assert set(made) == set(ChallengeStatus)
    db.session.expire_all()
    for status, challenge_id in made.items():
        assert db.session.get(Challenge, challenge_id).status == status  # type: ignore[union-attr]
    for now in (utcnow(), days(-5), days(22), days(400)):
        rows = dict(db.session.execute(select(Challenge.id, Challenge.status_sql(now))).all())
        for challenge in db.session.scalars(select(Challenge)):
            assert rows[challenge.id] == challenge.status_at(now).value, (
                challenge.id, now, rows[challenge.id], challenge.status_at(now))
        # ... and filtering by it finds the same challenges.
        for status in ChallengeStatus:
            found = set(db.session.scalars(
                select(Challenge.id).where(Challenge.status_sql(now) == status.value)))
            expected = {c.id for c in db.session.scalars(select(Challenge))
                        if c.status_at(now) == status}
            assert found == expected, (status, now)
    # The standstill one is awarded once its standstill is over, by time alone.
    assert db.session.scalar(select(Challenge.status_sql(days(11))).where(
        Challenge.id == made[S.STANDSTILL])) == "awarded"
    # Later, the open one has closed, by time alone.
    open_id = made[S.OPEN]
    later = days(22)
    assert db.session.scalar(select(Challenge.status_sql(later)).where(
        Challenge.id == open_id)) == "closed"


def test_status_sql_at_the_exact_deadline(leeds: Council) -> None:
    challenge = fresh(Challenge, published(leeds).id)
    deadline = challenge.submission_deadline
    assert deadline is not None
    for now in (deadline - timedelta(microseconds=1), deadline,
                deadline + timedelta(microseconds=1)):
        sql = db.session.scalar(select(Challenge.status_sql(now)).where(
            Challenge.id == challenge.id))
        assert sql == challenge.status_at(now).value


# --------------------------------------------------------------------------- copying


def test_any_council_can_reuse_a_published_challenge(leeds: Council, kent: Council) -> None:
    source = fresh(Challenge, published(leeds).id)
    copy = svc.copy_challenge(kent.owner, source.id)
    again = fresh(Challenge, copy.id)
    assert again.status == S.DRAFT
    assert again.lead_council_id == kent.org.id
    assert again.created_by_id == kent.owner.id
    assert again.copied_from_id == source.id
    source = fresh(Challenge, source.id)
    original, copied = svc.snapshot(source), svc.snapshot(again)
    for name in svc.DATE_FIELDS:
        assert original[name] is not None
        assert copied.pop(name) is None
        original.pop(name)
    assert copied == original
    assert again.submitted_at is None and again.approved_at is None
    assert again.published_at is None
    assert again.search_text  # indexed
    assert "kent county council" in again.search_text
    assert svc.reuse_count(source) == 1
    svc.copy_challenge(leeds.owner, source.id)  # the lead council can reuse its own too
    assert svc.reuse_count(source) == 2
    assert svc.reuse_count(again) == 0
    [event] = events("challenge.copied", copy.id)
    assert event.after == {"copied_from": source.id, "title": source.title}
    # Editing the copy leaves the source alone.
    svc.update_draft(kent.owner, copy.id, ChallengeChanges(title="Kent potholes"))
    assert fresh(Challenge, source.id).title == "Predicting potholes before they form"


def test_copying_a_closed_or_withdrawn_challenge(leeds: Council, kent: Council) -> None:
    for source in (closed(leeds), svc.withdraw(leeds.officer, published(leeds).id, "x")):
        assert svc.copy_challenge(kent.officer, source.id).copied_from_id == source.id


def test_another_councils_draft_cannot_be_copied(leeds: Council, kent: Council) -> None:
    for source in (publishable(leeds.owner), approved(leeds)):
        with pytest.raises(NotFound):
            svc.copy_challenge(kent.owner, source.id)
        assert svc.reuse_count(source) == 0
    # Its own council can copy a draft.
    draft = publishable(leeds.owner)
    assert svc.copy_challenge(leeds.officer, draft.id).copied_from_id == draft.id


def test_only_council_editors_copy(leeds: Council, roadsense: Supplier) -> None:
    source = published(leeds)
    for actor in (roadsense.admin, leeds.evaluator, admin_user()):
        with pytest.raises(PermissionDenied):
            svc.copy_challenge(actor, source.id)
    assert svc.reuse_count(source) == 0


# --------------------------------------------------------------------------- co-sponsors


def test_a_co_sponsors_editor_can_edit_and_see_the_draft(leeds: Council, kent: Council) -> None:
    draft = publishable(leeds.owner, co_sponsor_ids=[kent.org.id])
    assert svc.get_challenge(draft.id, kent.evaluator).id == draft.id
    svc.update_draft(kent.owner, draft.id, ChallengeChanges(affected="Residents of Kent too"))
    assert fresh(Challenge, draft.id).affected == "Residents of Kent too"
    svc.submit_for_approval(kent.owner, draft.id)
    assert status_of(draft.id) == S.AWAITING_APPROVAL
    with pytest.raises(PermissionDenied):
        svc.update_draft(kent.evaluator, draft.id, ChallengeChanges(title="x"))
    # Returning, approving, publishing and ending are the lead council's decisions.
    with pytest.raises(PermissionDenied):
        svc.return_to_draft(kent.officer, draft.id, "Needs more detail")
    with pytest.raises(PermissionDenied):
        svc.approve(kent.officer, draft.id)
    svc.approve(leeds.officer, draft.id)
    with pytest.raises(PermissionDenied):
        svc.publish(kent.officer, draft.id)
    svc.publish(leeds.officer, draft.id)
    svc.amend(kent.owner, draft.id, ChallengeChanges(success="Fewer claims in Kent"), "Kent")
    assert fresh(Challenge, draft.id).success == "Fewer claims in Kent"
    with pytest.raises(PermissionDenied):
        svc.withdraw(kent.officer, draft.id, "Kent is leaving")
    with pytest.raises(PermissionDenied):
        svc.cancel(kent.officer, draft.id, "Kent is leaving")
    assert status_of(draft.id) == S.OPEN


def test_a_co_sponsor_can_be_removed(leeds: Council, kent: Council) -> None:
    draft = publishable(leeds.owner, co_sponsor_ids=[kent.org.id])
    svc.update_draft(leeds.owner, draft.id, ChallengeChanges(co_sponsor_ids=[]))
    with pytest.raises(NotFound):
        svc.update_draft(kent.owner, draft.id, ChallengeChanges(title="x"))


def test_search_finds_a_challenge_by_its_co_sponsor(leeds: Council, kent: Council) -> None:
    challenge = published(leeds, co_sponsor_ids=[kent.org.id])
    published(leeds, title="Fly-tipping hotspots")
    assert [c.id for c in search(SearchParams(council_id=kent.org.id)).items] == [challenge.id]
    assert [c.id for c in search(SearchParams(q="kent potholes")).items] == [challenge.id]


# --------------------------------------------------------------------------- questions


@pytest.fixture
def open_challenge(leeds: Council) -> Challenge:
    return published(leeds)


def test_a_supplier_asks_a_question(leeds: Council, roadsense: Supplier,
                                    open_challenge: Challenge) -> None:
    clear_outbox()
    question = svc.ask_question(roadsense.bidder, open_challenge.id,
                                "  Can we use your existing road condition data?  ")
    again = fresh(ClarificationQuestion, question.id)
    assert again.status == QuestionStatus.PENDING
    assert again.question == "Can we use your existing road condition data?"
    assert again.supplier_id == roadsense.org.id and again.asked_by_id == roadsense.bidder.id
    # The challenge's team is told.
    assert recipients() == {leeds.owner.email, leeds.officer.email, leeds.officer2.email}
    [event] = audit_events("question.asked")
    assert event.after == {"challenge_id": open_challenge.id,
                           "question": "Can we use your existing road condition data?"}
    # An organisation admin may ask too.
    assert svc.ask_question(roadsense.admin, open_challenge.id, "Which GIS do you use?").id


@pytest.mark.parametrize("who", ["owner", "officer", "evaluator", "admin", "other_council",
                                 "platform_admin", "supplier_without_roles"])
def test_only_suppliers_ask_questions(leeds: Council, kent: Council, roadsense: Supplier,
                                      open_challenge: Challenge, who: str) -> None:
    actor = {
        "other_council": lambda: kent.officer,
        "platform_admin": lambda: admin_user(),
        "supplier_without_roles": lambda: supplier_user(organisation=roadsense.org),
    }.get(who, lambda: getattr(leeds, who))()
    with pytest.raises(PermissionDenied):
        svc.ask_question(actor, open_challenge.id, "A question")
    assert db.session.scalar(select(ClarificationQuestion)) is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
def test_a_question_must_have_text(roadsense: Supplier, open_challenge: Challenge,
                                   text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        svc.ask_question(roadsense.bidder, open_challenge.id, text)
    assert info.value.field == "question"


def test_questions_close_at_the_clarification_deadline(roadsense: Supplier,
                                                       open_challenge: Challenge) -> None:
    challenge = set_columns(open_challenge.id, clarification_deadline=days(-0.1))
    assert challenge.status == S.OPEN  # still open for submissions
    assert not svc.questions_open(challenge)
    with pytest.raises(Conflict, match="Questions for this challenge closed on ") as info:
        svc.ask_question(roadsense.bidder, challenge.id, "Too late?")
    assert info.value.field == "question"
    assert db.session.scalar(select(ClarificationQuestion)) is None


def test_no_questions_on_a_closed_or_withdrawn_challenge(leeds: Council,
                                                         roadsense: Supplier) -> None:
    late = closed(leeds)
    gone = svc.withdraw(leeds.officer, published(leeds).id, "Redesign")
    gone = set_columns(gone.id)
    assert gone.clarification_deadline is not None and gone.clarification_deadline > utcnow()
    for challenge in (late, gone):
        with pytest.raises(Conflict):
            svc.ask_question(roadsense.bidder, challenge.id, "Still there?")


def test_no_questions_on_a_draft(leeds: Council, roadsense: Supplier) -> None:
    draft = publishable(leeds.owner)
    with pytest.raises(NotFound):
        svc.ask_question(roadsense.bidder, draft.id, "Hello?")


@pytest.fixture
def question(roadsense: Supplier, open_challenge: Challenge) -> ClarificationQuestion:
    return svc.ask_question(roadsense.bidder, open_challenge.id,
                            "Roadsense here: can we use your road condition data?")


def test_answering_publishes_the_question(leeds: Council, roadsense: Supplier,
                                          carelink: Supplier, follower: User,
                                          open_challenge: Challenge,
                                          question: ClarificationQuestion) -> None:
    svc.follow(follower, open_challenge.id)
    clear_outbox()
    svc.answer_question(leeds.owner, question.id, "  Yes: it is in the data room.  ")
    again = fresh(ClarificationQuestion, question.id)
    assert again.status == QuestionStatus.PUBLISHED
    assert again.published_question == again.question  # defaults to the original
    assert again.answer == "Yes: it is in the data room."
    assert again.answered_by_id == leeds.owner.id and again.answered_at is not None
    assert recipients() == {follower.email, roadsense.bidder.email}
    [event] = audit_events("question.answered")
    assert event.before == {"status": "pending"}
    assert event.after["status"] == "published"
    challenge = fresh(Challenge, open_challenge.id)
    assert [q.id for q in svc.published_questions(challenge)] == [question.id]
    # Everyone sees published answers; the asker's own list still has it.
    assert [q.id for q in svc.questions_for_supplier(roadsense.admin, challenge)] == [
        question.id]
    assert svc.questions_for_supplier(carelink.bidder, challenge) == []


def test_the_published_question_can_be_reworded(leeds: Council,
                                                question: ClarificationQuestion) -> None:
    svc.answer_question(leeds.officer, question.id, "Yes.",
                        published_question="Can suppliers use the road condition data?")
    again = fresh(ClarificationQuestion, question.id)
    assert again.published_question == "Can suppliers use the road condition data?"
    assert again.question.startswith("Roadsense here")  # the original is kept


def test_a_question_is_answered_once(leeds: Council, question: ClarificationQuestion) -> None:
    svc.answer_question(leeds.owner, question.id, "Yes.")
    with pytest.raises(Conflict):
        svc.answer_question(leeds.officer, question.id, "No.")
    with pytest.raises(Conflict):
        svc.reject_question(leeds.officer, question.id, "Out of scope")
    assert fresh(ClarificationQuestion, question.id).answer == "Yes."


def test_answering_needs_an_answer(leeds: Council, question: ClarificationQuestion) -> None:
    with pytest.raises(ValidationFailed) as info:
        svc.answer_question(leeds.owner, question.id, "  ")
    assert info.value.field == "answer"
    assert fresh(ClarificationQuestion, question.id).status == QuestionStatus.PENDING


def test_only_the_challenges_editors_answer(leeds: Council, kent: Council, roadsense: Supplier,
                                           question: ClarificationQuestion) -> None:
    for outsider in (kent.owner, kent.officer, roadsense.admin):
        with pytest.raises(NotFound):
            svc.answer_question(outsider, question.id, "Yes")
        with pytest.raises(NotFound):
            svc.reject_question(outsider, question.id, "No")
    with pytest.raises(PermissionDenied):
        svc.answer_question(leeds.evaluator, question.id, "Yes")
    with pytest.raises(NotFound):
        svc.answer_question(leeds.owner, 987654, "Yes")
    assert fresh(ClarificationQuestion, question.id).status == QuestionStatus.PENDING


def test_rejecting_a_question(leeds: Council, roadsense: Supplier, follower: User,
                              open_challenge: Challenge,
                              question: ClarificationQuestion) -> None:
    svc.follow(follower, open_challenge.id)
    clear_outbox()
    with pytest.raises(ValidationFailed) as info:
        svc.reject_question(leeds.owner, question.id, " ")
    assert info.value.field == "reason"
    svc.reject_question(leeds.owner, question.id, "This is about a different contract")
    again = fresh(ClarificationQuestion, question.id)
    assert again.status == QuestionStatus.REJECTED
    assert again.rejection_reason == "This is about a different contract"
    assert again.answer is None and again.published_question is None
    assert recipients() == {roadsense.bidder.email}  # only the asker
    assert svc.published_questions(fresh(Challenge, open_challenge.id)) == []
    [event] = audit_events("question.rejected")
    assert event.before == {"status": "pending"}
    assert event.after == {"status": "rejected",
                           "reason": "This is about a different contract"}
    # The asker's organisation still sees it, with its state.
    [mine] = svc.questions_for_supplier(roadsense.admin, fresh(Challenge, open_challenge.id))
    assert mine.status == QuestionStatus.REJECTED


def test_each_supplier_sees_only_its_own_questions(leeds: Council, kent: Council,
                                                   roadsense: Supplier, carelink: Supplier,
                                                   open_challenge: Challenge) -> None:
    first = svc.ask_question(roadsense.bidder, open_challenge.id, "First from Roadsense")
    other = svc.ask_question(carelink.bidder, open_challenge.id, "From CareLink")
    second = svc.ask_question(roadsense.admin, open_challenge.id, "Second from Roadsense")
    challenge = fresh(Challenge, open_challenge.id)
    assert [q.id for q in svc.questions_for_supplier(roadsense.bidder, challenge)] == [
        first.id, second.id]
    assert [q.id for q in svc.questions_for_supplier(carelink.admin, challenge)] == [other.id]
    assert svc.questions_for_supplier(admin_user(), challenge) == []
    # The council sees them all, pending first.
    svc.answer_question(leeds.owner, first.id, "Yes")
    assert [q.id for q in svc.questions_for_council(leeds.evaluator, challenge)] == [
        other.id, second.id, first.id]
    with pytest.raises(NotFound):
        svc.questions_for_council(kent.owner, challenge)


# --------------------------------------------------------------------------- following


def test_following_is_idempotent(leeds: Council, follower: User,
                                 open_challenge: Challenge) -> None:
    assert not svc.is_following(follower, open_challenge)
    svc.follow(follower, open_challenge.id)
    svc.follow(follower, open_challenge.id)
    assert svc.is_following(follower, fresh(Challenge, open_challenge.id))
    assert len(list(db.session.scalars(select(ChallengeFollow)))) == 1
    assert len(events("challenge.followed", open_challenge.id)) == 1
    assert [u.id for u in svc.followers(open_challenge)] == [follower.id]
    svc.unfollow(follower, open_challenge.id)
    svc.unfollow(follower, open_challenge.id)
    assert not svc.is_following(follower, fresh(Challenge, open_challenge.id))
    assert len(events("challenge.unfollowed", open_challenge.id)) == 1
    # An unfollower is not told about changes.
    clear_outbox()
    svc.amend(leeds.owner, open_challenge.id, ChallengeChanges(title="Pothole prediction"),
              "New title")
    assert follower.email not in recipients()


def test_anyone_signed_in_can_follow(leeds: Council, kent: Council,
                                     open_challenge: Challenge) -> None:
    for person in (kent.evaluator, admin_user(), leeds.owner):
        svc.follow(person, open_challenge.id)
    assert len(svc.followers(open_challenge)) == 3
    assert not svc.is_following(None, open_challenge)


def test_only_a_published_challenge_can_be_followed(leeds: Council, follower: User) -> None:
    draft = publishable(leeds.owner)
    with pytest.raises(NotFound):
        svc.follow(follower, draft.id)
    with pytest.raises(Conflict):
        svc.follow(leeds.owner, draft.id)
    with pytest.raises(NotFound):
        svc.follow(follower, 987654)
    assert db.session.scalar(select(ChallengeFollow)) is None


def test_suspended_followers_are_not_emailed(leeds: Council, follower: User,
                                             open_challenge: Challenge) -> None:
    svc.follow(follower, open_challenge.id)
    follower.suspended_at = utcnow()
    db.session.commit()
    clear_outbox()
    svc.withdraw(leeds.officer, open_challenge.id, "Redesign")
    assert follower.email not in recipients()


# --------------------------------------------------------------------------- the audit trail


def test_every_state_change_is_audited_with_before_and_after(leeds: Council) -> None:
    challenge = publishable(leeds.owner)
    cid = challenge.id
    svc.submit_for_approval(leeds.owner, cid)
    svc.return_to_draft(leeds.officer, cid, "Needs measures")
    svc.submit_for_approval(leeds.owner, cid)
    svc.approve(leeds.officer, cid)
    svc.update_draft(leeds.owner, cid, ChallengeChanges(title="Pothole prediction"))
    svc.submit_for_approval(leeds.owner, cid)
    svc.approve(leeds.officer2, cid)
    svc.publish(leeds.officer, cid)
    svc.amend(leeds.owner, cid, ChallengeChanges(title="Predicting potholes"), "Title")
    svc.withdraw(leeds.officer, cid, "Redesign")
    other = published(leeds)
    svc.cancel(leeds.officer, other.id, "No money")

    transitions = [
        (e.action, (e.before or {}).get("status"), (e.after or {}).get("status"))
        for e in audit_events() if e.object_type == "challenge" and e.object_id == str(cid)
        and e.action != "challenge.edited" and e.action != "challenge.amended"
    ]
    assert transitions == [
        ("challenge.created", None, "draft"),
        ("challenge.submitted_for_approval", "draft", "awaiting_approval"),
        ("challenge.returned_to_draft", "awaiting_approval", "draft"),
        ("challenge.submitted_for_approval", "draft", "awaiting_approval"),
        ("challenge.approved", "awaiting_approval", "approved"),
        ("challenge.returned_to_draft", "approved", "draft"),
        ("challenge.submitted_for_approval", "draft", "awaiting_approval"),
        ("challenge.approved", "awaiting_approval", "approved"),
        ("challenge.published", "approved", "open"),
        ("challenge.withdrawn", "open", "withdrawn"),
    ]
    [cancelled] = events("challenge.cancelled", other.id)
    assert (cancelled.before, cancelled.after["status"]) == ({"status": "open"}, "cancelled")
    for event in audit_events():
        if event.object_type == "challenge":
            assert event.organisation_id == leeds.org.id
            assert event.actor_id is not None
