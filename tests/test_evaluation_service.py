"""The evaluation use cases (marketplace/services/evaluation.py): opening the bids, evaluators,
conflict declarations, independent scoring, moderation, exclusion and the ranking, with every
refusal and the audit trail they leave."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    DEFAULT_SCORE_DESCRIPTIONS,
    AuditEvent,
    Bid,
    BidAssessment,
    Challenge,
    ChallengeStatus,
    EvaluatorAssignment,
    ModeratedScore,
    ScoreSheet,
    User,
    utcnow,
)
from marketplace.services import bids as bid_service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation as svc
from marketplace.services import suppliers as supplier_service
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.evaluation import ModeratedInput, ScoreInput
from tests.bid_support import close, submitted_bid
from tests.challenge_support import days, publishable
from tests.evaluation_support import (
    EvalSetup,
    evaluation_setup,
    moderate_bid,
    moderated,
    opened,
    score_bid,
    scored,
)
from tests.factories import CouncilFactory, council_user, supplier_user
from tests.team_admin_support import audit_events, fresh, outbox

# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def app(app_factory: Any, tmp_path: Path) -> Iterator[Flask]:
    """The usual app, with bid attachments stored in a folder of this test's own."""
    application = app_factory(UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with application.app_context():
        yield application


@pytest.fixture
def setup(app: Flask) -> EvalSetup:
    """A closed challenge with 3 submitted bids, 2 evaluators, bids not opened."""
    return evaluation_setup()


def other_officer() -> User:
    """A procurement officer of a council with nothing to do with the challenge."""
    return council_user("procurement_officer", organisation=CouncilFactory())


def colleague(setup: EvalSetup, *roles: str, **kwargs: Any) -> User:
    """Someone else in the lead council."""
    return council_user(*roles, organisation=setup.council, **kwargs)


def events(action: str) -> list[AuditEvent]:
    return audit_events(action)


def set_columns(model: type[Any], ident: Any, **values: Any) -> Any:
    """Change stored columns directly (a state another helper's use case reaches)."""
    row = db.session.get(model, ident)
    assert row is not None
    for name, value in values.items():
        setattr(row, name, value)
    db.session.commit()
    return fresh(model, ident)


def decide(challenge_id: int) -> None:
    """As if the award decision had been made (helper B's use case): standstill running."""
    now = utcnow()
    set_columns(Challenge, challenge_id, award_decided_at=now,
                awarded_at=now + timedelta(days=10))


def criteria(setup: EvalSetup) -> list[Any]:
    return list(fresh(Challenge, setup.challenge.id).criteria)


def requirement_id(setup: EvalSetup) -> int:
    [requirement] = fresh(Challenge, setup.challenge.id).essential_requirements
    return requirement.id


def full_scores(setup: EvalSetup, values: list[int], note: str = "") -> dict[int, ScoreInput]:
    return {c.id: ScoreInput(v, f"Because {note or 'reasons'} ({c.name})")
            for c, v in zip(criteria(setup), values, strict=True)}


def sheet_of(evaluator: User, bid: Bid) -> ScoreSheet | None:
    db.session.expire_all()
    return db.session.scalar(
        select(ScoreSheet).join(EvaluatorAssignment)
        .where(EvaluatorAssignment.user_id == evaluator.id, ScoreSheet.bid_id == bid.id))


def raises(error: type[Exception], call: Callable[[], object], field: str | None = None,
           match: str | None = None) -> Exception:
    """``call()`` raises ``error`` (with the given field and message fragment)."""
    with pytest.raises(error) as caught:
        call()
    if field is not None:
        assert caught.value.field == field, caught.value.field  # type: ignore[attr-defined]
    if match is not None:
        assert match in str(caught.value), str(caught.value)
    db.session.rollback()
    return caught.value


# ========================================================================== opening the bids


def test_the_lead_opens_the_bids_after_the_deadline(setup: EvalSetup) -> None:
    assert fresh(Challenge, setup.challenge.id).status == ChallengeStatus.CLOSED
    challenge = svc.open_bids(setup.lead, setup.challenge.id)
    challenge = fresh(Challenge, challenge.id)
    assert challenge.evaluation_started_at is not None
    assert challenge.status == ChallengeStatus.EVALUATION
    assessments = db.session.scalars(select(BidAssessment).order_by(BidAssessment.bid_id)).all()
    assert [a.bid_id for a in assessments] == [b.id for b in setup.bids]
    assert all(a.challenge_id == challenge.id and not a.excluded and not a.shortlisted
               and not a.awarded for a in assessments)
    [event] = events("evaluation.bids_opened")
    assert event.actor_id == setup.lead.id
    assert event.organisation_id == challenge.lead_council_id
    assert (event.object_type, event.object_id) == ("challenge", str(challenge.id))
    assert event.after["bids"] == 3
    assert [b.id for b in svc.evaluation_bids(challenge)] == [b.id for b in setup.bids]


def test_withdrawn_bids_are_not_evaluated(app: Flask) -> None:
    setup = evaluation_setup(bidders=2)
    # Reopen for a moment so the second bidder can withdraw, then let the deadline pass.
    set_columns(Challenge, setup.challenge.id, submission_deadline=days(1))
    bid_service.withdraw_bid(setup.bidders[1], setup.bids[1].id)
    close(setup.challenge.id)
    svc.open_bids(setup.lead, setup.challenge.id)
    challenge = fresh(Challenge, setup.challenge.id)
    assert [b.id for b in svc.evaluation_bids(challenge)] == [setup.bids[0].id]
    assert db.session.scalar(select(func.count()).select_from(BidAssessment)) == 1
    assert events("evaluation.bids_opened")[0].after["bids"] == 1
    svc.assign_evaluator(setup.lead, challenge.id, setup.evaluators[0].id)
    with pytest.raises(NotFound):
        svc.declare_conflict(setup.evaluators[0], setup.bids[1].id, False, "")


def test_opening_refusals(setup: EvalSetup) -> None:
    challenge_id = setup.challenge.id
    owner = colleague(setup, "challenge_owner")
    raises(PermissionDenied, lambda: svc.open_bids(setup.evaluators[0], challenge_id))
    raises(PermissionDenied, lambda: svc.open_bids(owner, challenge_id))
    raises(NotFound, lambda: svc.open_bids(other_officer(), challenge_id))
    raises(NotFound, lambda: svc.open_bids(setup.bidders[0], challenge_id))
    raises(NotFound, lambda: svc.open_bids(setup.lead, 999_999))
    assert fresh(Challenge, challenge_id).evaluation_started_at is None
    assert events("evaluation.bids_opened") == []
    svc.open_bids(setup.lead, challenge_id)
    raises(Conflict, lambda: svc.open_bids(setup.lead, challenge_id), match="already")
    assert len(events("evaluation.bids_opened")) == 1
    assert db.session.scalar(select(func.count()).select_from(BidAssessment)) == 3


def test_bids_stay_sealed_until_the_deadline(app: Flask) -> None:
    setup = evaluation_setup(bidders=1)
    set_columns(Challenge, setup.challenge.id, submission_deadline=days(2))
    raises(Conflict, lambda: svc.open_bids(setup.lead, setup.challenge.id),
           match="Bids stay sealed until")
    assert fresh(Challenge, setup.challenge.id).evaluation_started_at is None
    assert db.session.scalar(select(func.count()).select_from(BidAssessment)) == 0


def test_ended_and_unpublished_challenges_are_not_opened(setup: EvalSetup) -> None:
    draft = publishable(setup.lead, "Fly-tipping hotspots")
    raises(Conflict, lambda: svc.open_bids(setup.lead, draft.id), match="not been published")
    set_columns(Challenge, setup.challenge.id, withdrawn_at=utcnow(), end_reason="No budget")
    raises(Conflict, lambda: svc.open_bids(setup.lead, setup.challenge.id))
    assert fresh(Challenge, setup.challenge.id).evaluation_started_at is None


def test_a_co_sponsors_officer_leads_too(app: Flask) -> None:
    lead = council_user("procurement_officer")
    partner = CouncilFactory()
    partner_officer = council_user("procurement_officer", organisation=partner)
    partner_evaluator = council_user("evaluator", organisation=partner)
    draft = publishable(lead, co_sponsor_ids=[partner.id])
    challenge = challenge_service.publish(lead, draft.id)
    bidder = supplier_user("bidder")
    submitted_bid(bidder, challenge.id)
    close(challenge.id)
    svc.open_bids(partner_officer, challenge.id)
    assert partner_evaluator.id in [u.id for u in svc.eligible_evaluators(lead, challenge.id)]
    svc.assign_evaluator(partner_officer, challenge.id, partner_evaluator.id)
    [event] = events("evaluation.evaluator_assigned")
    assert event.organisation_id == lead.organisation_id  # the lead council's trail


# ========================================================================== evaluators


def test_assigning_an_evaluator_emails_them(setup: EvalSetup) -> None:
    evaluator = setup.evaluators[0]
    assignment = svc.assign_evaluator(setup.lead, setup.challenge.id, evaluator.id)
    row = fresh(EvaluatorAssignment, assignment.id)
    assert (row.user_id, row.assigned_by_id, row.removed_at) == (evaluator.id, setup.lead.id,
                                                                 None)
    assert svc.active_assignment(fresh(User, evaluator.id), setup.challenge).id == row.id
    [email] = outbox(evaluator.email)
    assert setup.challenge.title in email.subject
    assert "conflict of interest" in email.body_text
    assert "once a procurement officer opens them" in email.body_text  # closed, not opened
    assert "http://marketplace.test/" in email.body_text
    [event] = events("evaluation.evaluator_assigned")
    assert event.actor_id == setup.lead.id
    assert event.after["user_id"] == evaluator.id
    assert event.before is None


def test_eligible_evaluators(setup: EvalSetup) -> None:
    owner = colleague(setup, "challenge_owner", full_name="Olive Owner")
    second_officer = colleague(setup, "procurement_officer", full_name="Paul Officer")
    colleague(setup, "org_admin", full_name="Ada Admin")  # no evaluating role
    colleague(setup, "evaluator", full_name="Sid Suspended", suspended_at=utcnow())
    council_user("evaluator", full_name="Elsewhere Evaluator")  # another council
    svc.assign_evaluator(setup.lead, setup.challenge.id, setup.evaluators[0].id)
    found = svc.eligible_evaluators(setup.lead, setup.challenge.id)
    assert {u.id for u in found} == {setup.lead.id, setup.evaluators[1].id, owner.id,
                                     second_officer.id}
    assert [u.full_name for u in found] == sorted(u.full_name for u in found)
    raises(PermissionDenied, lambda: svc.eligible_evaluators(setup.evaluators[0],
                                                             setup.challenge.id))
    raises(NotFound, lambda: svc.eligible_evaluators(other_officer(), setup.challenge.id))


def test_assigning_refusals(setup: EvalSetup) -> None:
    challenge_id = setup.challenge.id
    admin_only = colleague(setup, "org_admin")
    suspended = colleague(setup, "evaluator", suspended_at=utcnow())
    elsewhere = council_user("evaluator")
    for person_id in (admin_only.id, suspended.id, elsewhere.id, setup.bidders[0].id, 999_999):
        raises(ValidationFailed, lambda p=person_id: svc.assign_evaluator(
            setup.lead, challenge_id, p), field="user_id")
    raises(PermissionDenied, lambda: svc.assign_evaluator(
        setup.evaluators[0], challenge_id, setup.evaluators[1].id))
    raises(NotFound, lambda: svc.assign_evaluator(other_officer(), challenge_id,
                                                  setup.evaluators[0].id))
    svc.assign_evaluator(setup.lead, challenge_id, setup.evaluators[0].id)
    raises(Conflict, lambda: svc.assign_evaluator(setup.lead, challenge_id,
                                                  setup.evaluators[0].id), match="already")
    draft = publishable(setup.lead, "Fly-tipping hotspots")
    raises(Conflict, lambda: svc.assign_evaluator(setup.lead, draft.id,
                                                  setup.evaluators[0].id))
    decide(challenge_id)
    raises(Conflict, lambda: svc.assign_evaluator(setup.lead, challenge_id,
                                                  setup.evaluators[1].id))
    assert db.session.scalar(select(func.count()).select_from(EvaluatorAssignment)) == 1
    assert len(events("evaluation.evaluator_assigned")) == 1
    assert len(outbox(setup.evaluators[0].email)) == 1
    assert outbox(setup.evaluators[1].email) == []


def test_evaluators_can_be_assigned_before_the_bids_are_opened(setup: EvalSetup) -> None:
    svc.assign_evaluator(setup.lead, setup.challenge.id, setup.evaluators[0].id)
    view = svc.overview(setup.evaluators[0], setup.challenge.id)
    assert view.bids == [] and view.my_sheets == [] and not view.is_lead
    raises(Conflict, lambda: svc.declare_conflict(setup.evaluators[0], setup.bids[0].id,
                                                  False, ""), match="not been opened")
    assert svc.my_evaluations(setup.evaluators[0]) == []


def test_removing_and_reassigning_an_evaluator(setup: EvalSetup) -> None:
    opened(setup)
    first, second = setup.evaluators
    challenge_id = setup.challenge.id
    svc.declare_conflict(first, setup.bids[0].id, False, "")  # a draft only
    svc.remove_evaluator(setup.lead, challenge_id, first.id)
    assignment = db.session.scalar(select(EvaluatorAssignment).where(
        EvaluatorAssignment.user_id == first.id))
    assert assignment is not None and assignment.removed_at is not None
    assert svc.active_assignment(fresh(User, first.id), setup.challenge) is None
    [removed] = events("evaluation.evaluator_removed")
    assert removed.before == {"user_id": first.id, "active": True}
    assert removed.after == {"user_id": first.id, "active": False}
    raises(PermissionDenied, lambda: svc.overview(first, challenge_id))
    raises(PermissionDenied, lambda: svc.declare_conflict(first, setup.bids[1].id, False, ""))
    raises(NotFound, lambda: svc.remove_evaluator(setup.lead, challenge_id, first.id))
    # Assigning them again brings back the same row (and their draft).
    again = svc.assign_evaluator(setup.lead, challenge_id, first.id)
    assert again.id == assignment.id and fresh(EvaluatorAssignment, again.id).removed_at is None
    assert events("evaluation.evaluator_assigned")[-1].before["removed_at"]
    assert sheet_of(first, setup.bids[0]) is not None
    # Someone who submitted a sheet stays.
    score_bid(second, setup.bids[0], [3, 3, 3])
    raises(Conflict, lambda: svc.remove_evaluator(setup.lead, challenge_id, second.id),
           match="submitted")
    raises(PermissionDenied, lambda: svc.remove_evaluator(first, challenge_id, second.id))
    raises(NotFound, lambda: svc.remove_evaluator(other_officer(), challenge_id, second.id))
    assert fresh(EvaluatorAssignment, svc.active_assignment(
        fresh(User, second.id), setup.challenge).id).removed_at is None


# ========================================================================== score scale


def test_score_descriptions(setup: EvalSetup) -> None:
    assert svc.score_descriptions(setup.challenge) == list(DEFAULT_SCORE_DESCRIPTIONS)
    wording = [" Nothing ", "Weak", "Some gaps", "Meets the need", "Exceeds the need"]
    svc.set_score_descriptions(setup.lead, setup.challenge.id, wording)
    challenge = fresh(Challenge, setup.challenge.id)
    assert svc.score_descriptions(challenge) == ["Nothing", *wording[1:]]
    [event] = events("evaluation.score_descriptions_changed")
    assert event.before == {"descriptions": list(DEFAULT_SCORE_DESCRIPTIONS)}
    assert event.after == {"descriptions": ["Nothing", *wording[1:]]}
    # The same wording again changes nothing and records nothing.
    svc.set_score_descriptions(setup.lead, setup.challenge.id, wording)
    assert len(events("evaluation.score_descriptions_changed")) == 1


def test_score_descriptions_validation(setup: EvalSetup) -> None:
    good = ["a", "b", "c", "d", "e"]
    cid = setup.challenge.id
    raises(ValidationFailed, lambda: svc.set_score_descriptions(setup.lead, cid, good[:4]),
           field="description-0")
    raises(ValidationFailed, lambda: svc.set_score_descriptions(setup.lead, cid, good + ["f"]),
           field="description-0")
    raises(ValidationFailed, lambda: svc.set_score_descriptions(
        setup.lead, cid, ["a", "b", "  ", "d", "e"]), field="description-2")
    raises(ValidationFailed, lambda: svc.set_score_descriptions(
        setup.lead, cid, ["a", "b", "c", "x" * 201, "e"]), field="description-3")
    raises(PermissionDenied, lambda: svc.set_score_descriptions(setup.evaluators[0], cid, good))
    raises(NotFound, lambda: svc.set_score_descriptions(other_officer(), cid, good))
    assert fresh(Challenge, cid).score_descriptions is None
    svc.set_score_descriptions(setup.lead, cid, ["a", "b", "c", "x" * 200, "e"])


def test_score_descriptions_lock_at_the_first_submission(setup: EvalSetup) -> None:
    opened(setup)
    score_bid(setup.evaluators[0], setup.bids[0], [2, 2, 2], submit=False)
    svc.set_score_descriptions(setup.lead, setup.challenge.id, ["0", "1", "2", "3", "4"])
    svc.submit_sheet(setup.evaluators[0], setup.bids[0].id)
    raises(Conflict, lambda: svc.set_score_descriptions(setup.lead, setup.challenge.id,
                                                        ["a", "b", "c", "d", "e"]))
    assert fresh(Challenge, setup.challenge.id).score_descriptions == ["0", "1", "2", "3", "4"]


# ========================================================================== overview


def test_the_overview_for_the_lead_and_for_evaluators(setup: EvalSetup) -> None:
    svc.assign_evaluator(setup.lead, setup.challenge.id, setup.evaluators[0].id)
    before = svc.overview(setup.lead, setup.challenge.id)
    assert before.is_lead and before.bids == [] and before.assessments == {}
    assert [p.assignment.user_id for p in before.evaluators] == [setup.evaluators[0].id]
    assert before.evaluators[0].total == 0
    svc.open_bids(setup.lead, setup.challenge.id)
    svc.assign_evaluator(setup.lead, setup.challenge.id, setup.evaluators[1].id)
    first, second = setup.evaluators
    score_bid(first, setup.bids[0], [4, 4, 4])
    svc.declare_conflict(first, setup.bids[1].id, True, "My brother runs it")
    svc.declare_conflict(first, setup.bids[2].id, False, "")
    moderate_bid(setup.lead, setup.bids[0])

    lead_view = svc.overview(setup.lead, setup.challenge.id)
    assert [b.id for b in lead_view.bids] == [b.id for b in setup.bids]
    assert set(lead_view.assessments) == {b.id for b in setup.bids}
    assert lead_view.moderated == {setup.bids[0].id: True, setup.bids[1].id: False,
                                   setup.bids[2].id: False}
    progress = {p.assignment.user_id: p for p in lead_view.evaluators}
    assert (progress[first.id].submitted, progress[first.id].conflicts,
            progress[first.id].total) == (1, 1, 3)
    assert (progress[second.id].submitted, progress[second.id].conflicts) == (0, 0)
    assert lead_view.my_sheets == [] and lead_view.assignment is None

    mine = svc.overview(first, setup.challenge.id)
    assert not mine.is_lead and mine.assignment is not None
    assert mine.assessments == {} and mine.evaluators == [] and mine.moderated == {}
    assert [(s.bid.id, s.state) for s in mine.my_sheets] == [
        (setup.bids[0].id, "submitted"), (setup.bids[1].id, "conflict"),
        (setup.bids[2].id, "scoring")]
    assert [s.state for s in svc.overview(second, setup.challenge.id).my_sheets] == [
        "declare"] * 3


def test_overview_refusals(setup: EvalSetup) -> None:
    opened(setup)
    cid = setup.challenge.id
    raises(PermissionDenied, lambda: svc.overview(colleague(setup, "challenge_owner"), cid))
    raises(PermissionDenied, lambda: svc.overview(colleague(setup, "evaluator"), cid))
    raises(NotFound, lambda: svc.overview(other_officer(), cid))
    raises(NotFound, lambda: svc.overview(setup.bidders[0], cid))
    raises(NotFound, lambda: svc.overview(setup.lead, 999_999))


def test_my_evaluations(setup: EvalSetup) -> None:
    first, second = setup.evaluators
    assert svc.my_evaluations(first) == []
    opened(setup)
    [(challenge, to_do)] = svc.my_evaluations(first)
    assert (challenge.id, to_do) == (setup.challenge.id, 3)
    svc.declare_conflict(first, setup.bids[0].id, True, "I advised them last year")
    svc.declare_conflict(first, setup.bids[1].id, False, "")  # still to score
    score_bid(first, setup.bids[2], [1, 1, 1])
    assert [n for _c, n in svc.my_evaluations(first)] == [1]
    assert [n for _c, n in svc.my_evaluations(second)] == [3]
    svc.remove_evaluator(setup.lead, setup.challenge.id, second.id)
    assert svc.my_evaluations(second) == []
    assert svc.my_evaluations(setup.lead) == []
    decide(setup.challenge.id)
    assert svc.my_evaluations(first) == []


# ========================================================================== declarations


def test_declaring_no_conflict_creates_the_sheet(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    sheet = svc.declare_conflict(evaluator, bid.id, False, "")
    row = fresh(ScoreSheet, sheet.id)
    assert (row.has_conflict, row.submitted_at, row.scores) == (False, None, [])
    [event] = events("evaluation.conflict_declared")
    assert event.after == {"bid_id": bid.id, "has_conflict": False, "details": ""}
    assert event.before is None and event.actor_id == evaluator.id
    assert event.organisation_id == setup.challenge.lead_council_id
    # Saying so again changes nothing.
    svc.declare_conflict(evaluator, bid.id, False, "")
    assert len(events("evaluation.conflict_declared")) == 1


def test_a_conflict_needs_details_and_cannot_be_withdrawn(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    raises(ValidationFailed, lambda: svc.declare_conflict(evaluator, bid.id, True, "   "),
           field="details")
    assert sheet_of(evaluator, bid) is None
    svc.declare_conflict(evaluator, bid.id, True, "  I used to work there  ")
    row = sheet_of(evaluator, bid)
    assert row is not None and row.has_conflict
    assert row.conflict_details == "I used to work there"
    raises(Conflict, lambda: svc.declare_conflict(evaluator, bid.id, False, ""),
           match="cannot be withdrawn")
    assert sheet_of(evaluator, bid).has_conflict  # type: ignore[union-attr]
    assert len(events("evaluation.conflict_declared")) == 1


def test_a_conflict_found_later_is_declared_before_submission(setup: EvalSetup) -> None:
    opened(setup)
    evaluator = setup.evaluators[0]
    first, second = setup.bids[0], setup.bids[1]
    score_bid(evaluator, first, [2, 2, 2], submit=False)
    svc.declare_conflict(evaluator, first.id, True, "Realised I know the director")
    event = events("evaluation.conflict_declared")[-1]
    assert event.before == {"bid_id": first.id, "has_conflict": False, "details": ""}
    assert event.after == {"bid_id": first.id, "has_conflict": True,
                           "details": "Realised I know the director"}
    raises(PermissionDenied, lambda: svc.submit_sheet(evaluator, first.id))
    # After submission it is too late to switch: the lead has to be told.
    score_bid(evaluator, second, [2, 2, 2])
    raises(Conflict, lambda: svc.declare_conflict(evaluator, second.id, True, "Oops"),
           match="submitted")
    assert not sheet_of(evaluator, second).has_conflict  # type: ignore[union-attr]


def test_declaration_refusals(setup: EvalSetup) -> None:
    bid_id = setup.bids[0].id
    svc.assign_evaluator(setup.lead, setup.challenge.id, setup.evaluators[0].id)
    raises(Conflict, lambda: svc.declare_conflict(setup.evaluators[0], bid_id, False, ""),
           match="not been opened")
    svc.open_bids(setup.lead, setup.challenge.id)
    raises(PermissionDenied, lambda: svc.declare_conflict(setup.evaluators[1], bid_id, False,
                                                          ""))
    raises(PermissionDenied, lambda: svc.declare_conflict(setup.lead, bid_id, False, ""))
    raises(NotFound, lambda: svc.declare_conflict(other_officer(), bid_id, False, ""))
    raises(NotFound, lambda: svc.declare_conflict(setup.bidders[0], bid_id, False, ""))
    raises(NotFound, lambda: svc.declare_conflict(setup.evaluators[0], 999_999, False, ""))
    raises(ValidationFailed, lambda: svc.declare_conflict(setup.evaluators[0], bid_id, True,
                                                          "x" * 5001), field="details")
    decide(setup.challenge.id)
    raises(Conflict, lambda: svc.declare_conflict(setup.evaluators[0], bid_id, False, ""))
    assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    assert events("evaluation.conflict_declared") == []


# ========================================================================== scoring


def test_a_bid_is_seen_only_after_the_declaration(setup: EvalSetup) -> None:
    opened(setup)
    first, second = setup.evaluators
    bid = setup.bids[0]
    raises(Conflict, lambda: svc.open_for_scoring(first, bid.id),
           match="Declare any conflict of interest before you see this bid")
    svc.declare_conflict(second, bid.id, True, "Former client")
    raises(PermissionDenied, lambda: svc.open_for_scoring(second, bid.id))
    assert events("bid.opened") == []
    svc.declare_conflict(first, bid.id, False, "")
    view = svc.open_for_scoring(first, bid.id)
    assert view.bid.id == bid.id and view.version.number == bid.submitted_version
    assert view.version.content["team"]
    assert view.descriptions == list(DEFAULT_SCORE_DESCRIPTIONS)
    assert view.others == [] and view.sheet.bid_id == bid.id
    [event] = events("bid.opened")
    assert event.after == {"version": 1, "by": "evaluator"}
    assert event.actor_id == first.id and event.object_id == str(bid.id)
    raises(PermissionDenied, lambda: svc.open_for_scoring(setup.lead, bid.id))
    raises(NotFound, lambda: svc.open_for_scoring(other_officer(), bid.id))


def test_a_conflicted_evaluator_cannot_score_or_submit(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    svc.declare_conflict(evaluator, bid.id, True, "Shareholder")
    raises(PermissionDenied, lambda: svc.save_scores(evaluator, bid.id,
                                                     full_scores(setup, [3, 3, 3]), {}, ""))
    raises(PermissionDenied, lambda: svc.submit_sheet(evaluator, bid.id))
    row = sheet_of(evaluator, bid)
    assert row is not None and row.scores == [] and row.submitted_at is None


def test_nothing_is_scored_before_the_declaration(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    raises(Conflict, lambda: svc.save_scores(evaluator, bid.id, full_scores(setup, [3, 3, 3]),
                                             {}, ""))
    raises(Conflict, lambda: svc.submit_sheet(evaluator, bid.id))
    raises(PermissionDenied, lambda: svc.save_scores(setup.lead, bid.id,
                                                     full_scores(setup, [3, 3, 3]), {}, ""))
    raises(NotFound, lambda: svc.submit_sheet(other_officer(), bid.id))


def test_drafts_are_saved_partially(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    first, second, _third = criteria(setup)
    rid = requirement_id(setup)
    svc.declare_conflict(evaluator, bid.id, False, "")
    svc.save_scores(evaluator, bid.id, {first.id: ScoreInput(3, " Clear grasp ")}, {rid: False},
                    " Lacks the integration ")
    row = sheet_of(evaluator, bid)
    assert row is not None
    assert [(s.criterion_id, s.score, s.comment) for s in row.scores] == [
        (first.id, 3, "Clear grasp")]
    assert row.requirements == {str(rid): False} and row.unmet_requirement_ids == [rid]
    assert row.requirements_note == "Lacks the integration"
    [event] = events("evaluation.scores_saved")
    assert event.after["scores"] == {str(first.id): 3}
    assert event.after["requirements"] == {str(rid): False}
    # Another part later; a cleared score goes; an unmarked requirement goes.
    svc.save_scores(evaluator, bid.id, {first.id: ScoreInput(None, ""),
                                        second.id: ScoreInput(0, "No approach given")},
                    {rid: None}, "")
    row = sheet_of(evaluator, bid)
    assert [(s.criterion_id, s.score) for s in row.scores] == [(second.id, 0)]  # type: ignore
    assert row.requirements == {}  # type: ignore[union-attr]
    assert events("evaluation.scores_saved")[-1].after["scores"] == {str(second.id): 0}


def test_score_validation(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    cid = criteria(setup)[0].id
    svc.declare_conflict(evaluator, bid.id, False, "")

    def save(scores: dict[Any, ScoreInput], requirements: dict[Any, bool | None] | None = None
             ) -> Callable[[], object]:
        return lambda: svc.save_scores(evaluator, bid.id, scores, requirements or {}, "")

    raises(ValidationFailed, save({cid: ScoreInput(5, "Too good")}), field=f"score-{cid}")
    raises(ValidationFailed, save({cid: ScoreInput(-1, "Too bad")}), field=f"score-{cid}")
    raises(ValidationFailed, save({cid: ScoreInput(3, "  ")}), field=f"comment-{cid}")
    raises(ValidationFailed, save({cid: ScoreInput(None, "A comment alone")}),
           field=f"score-{cid}")
    raises(ValidationFailed, save({cid: ScoreInput(3, "x" * 5001)}), field=f"comment-{cid}")
    raises(ValidationFailed, save({999_999: ScoreInput(3, "Unknown")}), field="scores")
    raises(ValidationFailed, save({}, {999_999: True}), field="requirements")
    raises(ValidationFailed, lambda: svc.save_scores(evaluator, bid.id, {}, {}, "x" * 5001),
           field="note")
    assert sheet_of(evaluator, bid).scores == []  # type: ignore[union-attr]
    assert events("evaluation.scores_saved") == []


def test_submitting_needs_a_complete_sheet(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    first, second, third = criteria(setup)
    rid = requirement_id(setup)
    svc.declare_conflict(evaluator, bid.id, False, "")
    error = raises(ValidationFailed, lambda: svc.submit_sheet(evaluator, bid.id),
                   field=f"score-{first.id}")
    assert "(and 3 more)" in str(error)
    svc.save_scores(evaluator, bid.id, {first.id: ScoreInput(4, "Excellent"),
                                        second.id: ScoreInput(2, "Vague")}, {}, "")
    raises(ValidationFailed, lambda: svc.submit_sheet(evaluator, bid.id),
           field=f"score-{third.id}")
    svc.save_scores(evaluator, bid.id, {third.id: ScoreInput(1, "Expensive")}, {}, "")
    raises(ValidationFailed, lambda: svc.submit_sheet(evaluator, bid.id),
           field=f"requirement-{rid}")
    assert sheet_of(evaluator, bid).submitted_at is None  # type: ignore[union-attr]
    svc.save_scores(evaluator, bid.id, {}, {rid: True}, "")
    svc.submit_sheet(evaluator, bid.id)
    row = sheet_of(evaluator, bid)
    assert row is not None and row.submitted_at is not None
    [event] = events("evaluation.sheet_submitted")
    assert event.after["scores"] == {str(first.id): 4, str(second.id): 2, str(third.id): 1}
    assert event.after["unmet_requirements"] == []
    assert event.before == {"submitted": False}
    raises(Conflict, lambda: svc.submit_sheet(evaluator, bid.id), match="already submitted")


def test_evaluators_score_independently(setup: EvalSetup) -> None:
    opened(setup)
    first, second = setup.evaluators
    bid = setup.bids[0]
    score_bid(first, bid, [4, 3, 2])
    score_bid(second, bid, [1, 1, 1], submit=False)
    # The second evaluator sees nobody else's scores until they submit their own.
    assert svc.open_for_scoring(second, bid.id).others == []
    assert svc.open_for_scoring(first, bid.id).others == []  # nobody else has submitted
    svc.submit_sheet(second, bid.id)
    [theirs] = svc.open_for_scoring(second, bid.id).others
    assert theirs.assignment.user_id == first.id
    assert sorted(s.score for s in theirs.scores) == [2, 3, 4]
    [mine_seen] = svc.open_for_scoring(first, bid.id).others
    assert mine_seen.assignment.user_id == second.id


def test_revising_submitted_scores_needs_a_reason(setup: EvalSetup) -> None:
    opened(setup)
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    first, second, third = criteria(setup)
    score_bid(evaluator, bid, [2, 2, 2])
    before = {s.criterion_id: (s.score, s.comment) for s in sheet_of(evaluator, bid).scores}
    change = {first.id: ScoreInput(3, "On reflection, better than I said")}
    raises(ValidationFailed, lambda: svc.save_scores(evaluator, bid.id, change, {}, ""),
           field="reason")
    raises(ValidationFailed, lambda: svc.save_scores(evaluator, bid.id, change, {}, "",
                                                     reason="   "), field="reason")
    # A submitted sheet stays complete.
    raises(ValidationFailed, lambda: svc.save_scores(
        evaluator, bid.id, {second.id: ScoreInput(None, "")}, {}, "", reason="Unsure"),
        field=f"score-{second.id}")
    assert {s.criterion_id: (s.score, s.comment)
            for s in sheet_of(evaluator, bid).scores} == before  # type: ignore[union-attr]
    assert events("evaluation.scores_revised") == []
    svc.save_scores(evaluator, bid.id, change, {}, "", reason="Misread the second answer")
    row = sheet_of(evaluator, bid)
    assert row.score_for(first.id).score == 3  # type: ignore[union-attr]
    assert row.submitted_at is not None  # type: ignore[union-attr]
    [event] = events("evaluation.scores_revised")
    assert event.before["scores"] == {str(first.id): 2, str(second.id): 2, str(third.id): 2}
    assert event.after["scores"] == {str(first.id): 3, str(second.id): 2, str(third.id): 2}
    assert event.after["reason"] == "Misread the second answer"
    assert event.actor_id == evaluator.id


# ========================================================================== moderation


def test_the_moderation_view(app: Flask) -> None:
    setup = evaluation_setup(bidders=1, evaluators=3)
    opened(setup)
    first, second, third = setup.evaluators
    bid = setup.bids[0]
    score_bid(first, bid, [4, 2, 1])
    score_bid(second, bid, [2, 2, 3], met=False)
    svc.declare_conflict(third, bid.id, True, "Family member works there")
    view = svc.moderation(setup.lead, bid.id)
    assert [s.assignment.user_id for s in view.submitted] == [first.id, second.id]
    assert [s.assignment.user_id for s in view.conflicted] == [third.id]
    assert view.pending == []
    c1, c2, c3 = view.criteria
    assert [m.score.score for m in c1.marks] == [4, 2] and (c1.mean, c1.spread) == (3.0, 2)
    assert (c2.mean, c2.spread) == (2.0, 0)
    assert (c3.mean, c3.spread) == (2.0, 2)
    assert all(c.moderated is None for c in view.criteria)
    assert view.unmet == {requirement_id(setup): [view.submitted[1].assignment]}
    assert view.total is None and not view.needs_reason
    assert view.assessment.bid_id == bid.id and not view.assessment.excluded
    moderate_bid(setup.lead, bid)
    view = svc.moderation(setup.lead, bid.id)
    assert [c.moderated.score for c in view.criteria] == [3, 2, 2]  # type: ignore[union-attr]
    assert view.total == 30 + 20 + 10


def test_pending_evaluators_are_listed(setup: EvalSetup) -> None:
    opened(setup)
    first, second = setup.evaluators
    score_bid(first, setup.bids[0], [3, 3, 3])
    view = svc.moderation(setup.lead, setup.bids[0].id)
    assert [a.user_id for a in view.pending] == [second.id]
    assert view.criteria[0].mean == 3.0
    # Only submitted scores count: a draft stays out of the means.
    score_bid(second, setup.bids[0], [0, 0, 0], submit=False)
    view = svc.moderation(setup.lead, setup.bids[0].id)
    assert [m.assignment.user_id for m in view.criteria[0].marks] == [first.id]
    assert [a.user_id for a in view.pending] == [second.id]


def test_moderation_refusals(setup: EvalSetup) -> None:
    bid_id = setup.bids[0].id
    raises(Conflict, lambda: svc.moderation(setup.lead, bid_id), match="not been opened")
    opened(setup)
    raises(PermissionDenied, lambda: svc.moderation(setup.evaluators[0], bid_id))
    raises(PermissionDenied, lambda: svc.moderation(colleague(setup, "challenge_owner"),
                                                    bid_id))
    raises(NotFound, lambda: svc.moderation(other_officer(), bid_id))
    raises(NotFound, lambda: svc.moderation(setup.bidders[0], bid_id))
    raises(NotFound, lambda: svc.moderation(setup.lead, 999_999))
    agreed = {criteria(setup)[0].id: ModeratedInput(3, "Agreed")}
    raises(Conflict, lambda: svc.moderate(setup.lead, bid_id, agreed),
           match="No evaluator has submitted")
    raises(PermissionDenied, lambda: svc.moderate(setup.evaluators[0], bid_id, agreed))
    raises(NotFound, lambda: svc.moderate(other_officer(), bid_id, agreed))
    assert db.session.scalar(select(func.count()).select_from(ModeratedScore)) == 0


def test_a_lead_who_evaluates_moderates_only_after_submitting(setup: EvalSetup) -> None:
    opened(setup)
    svc.assign_evaluator(setup.lead, setup.challenge.id, setup.lead.id)
    first, second, third = setup.bids
    score_bid(setup.evaluators[0], first, [3, 3, 3])
    score_bid(setup.evaluators[0], second, [3, 3, 3])
    score_bid(setup.evaluators[0], third, [3, 3, 3])
    agreed = {criteria(setup)[0].id: ModeratedInput(3, "Agreed")}
    # Not declared yet, then declared but not submitted: refused, both the view and the change.
    for _step in ("undeclared", "scoring"):
        raises(PermissionDenied, lambda: svc.moderation(setup.lead, first.id),
               match="Submit your own scores first")
        raises(PermissionDenied, lambda: svc.moderate(setup.lead, first.id, agreed),
               match="Submit your own scores first")
        if _step == "undeclared":
            score_bid(setup.lead, first, [1, 1, 1], submit=False)
    svc.submit_sheet(setup.lead, first.id)
    svc.moderation(setup.lead, first.id)
    svc.moderate(setup.lead, first.id, agreed)
    # A lead with a declared conflict takes no part in scoring, so may moderate.
    svc.declare_conflict(setup.lead, second.id, True, "Former employer")
    svc.moderate(setup.lead, second.id, agreed)
    # Another officer who does not evaluate is never held back.
    other_lead = colleague(setup, "procurement_officer")
    svc.moderation(other_lead, third.id)


def test_moderate_validation(setup: EvalSetup) -> None:
    scored(setup)
    bid_id = setup.bids[0].id
    cid = criteria(setup)[0].id
    raises(ValidationFailed, lambda: svc.moderate(setup.lead, bid_id, {
        cid: ModeratedInput(5, "Too high")}), field=f"score-{cid}")
    raises(ValidationFailed, lambda: svc.moderate(setup.lead, bid_id, {
        cid: ModeratedInput(-1, "Too low")}), field=f"score-{cid}")
    raises(ValidationFailed, lambda: svc.moderate(setup.lead, bid_id, {
        cid: ModeratedInput(3, "  ")}), field=f"rationale-{cid}")
    raises(ValidationFailed, lambda: svc.moderate(setup.lead, bid_id, {
        999_999: ModeratedInput(3, "Unknown")}), field="scores")
    assert db.session.scalar(select(func.count()).select_from(ModeratedScore)) == 0
    assert events("evaluation.moderated") == []


def test_moderation_is_audited(setup: EvalSetup) -> None:
    scored(setup)
    bid = setup.bids[0]
    c1, c2, c3 = criteria(setup)
    saved = svc.moderate(setup.lead, bid.id, {c1.id: ModeratedInput(4, " Strong grasp "),
                                              c2.id: ModeratedInput(4, "Clear plan")})
    assert [(m.criterion_id, m.score, m.rationale) for m in saved] == [
        (c1.id, 4, "Strong grasp"), (c2.id, 4, "Clear plan")]
    assert all(m.moderated_by_id == setup.lead.id for m in saved)
    [event] = events("evaluation.moderated")
    assert event.before is None
    assert event.after == {str(c1.id): 4, str(c2.id): 4}
    assert (event.object_type, event.object_id) == ("bid", str(bid.id))
    assert event.organisation_id == setup.challenge.lead_council_id
    # Changing one before the shortlist needs no reason; only the change is recorded.
    saved = svc.moderate(setup.lead, bid.id, {c1.id: ModeratedInput(3, "Strong grasp"),
                                              c2.id: ModeratedInput(4, "Clear plan"),
                                              c3.id: ModeratedInput(2, "Pricey")})
    assert [m.score for m in saved] == [3, 4, 2]
    event = events("evaluation.moderated")[-1]
    assert event.before == {str(c1.id): 4}
    assert event.after == {str(c1.id): 3, str(c3.id): 2}
    # Nothing changed: nothing recorded.
    svc.moderate(setup.lead, bid.id, {c1.id: ModeratedInput(3, "Strong grasp")})
    assert len(events("evaluation.moderated")) == 2


def test_after_the_shortlist_changing_a_moderated_score_needs_a_reason(
        setup: EvalSetup) -> None:
    moderated(setup)
    bid = setup.bids[1]
    c1 = criteria(setup)[0]
    set_columns(Challenge, setup.challenge.id, shortlisted_at=utcnow())
    assert svc.moderation(setup.lead, bid.id).needs_reason
    current = fresh(ModeratedScore, db.session.scalar(select(ModeratedScore.id).where(
        ModeratedScore.bid_id == bid.id, ModeratedScore.criterion_id == c1.id)))
    row_id, old_score, old_rationale = current.id, current.score, current.rationale
    new_score = (old_score + 1) % 5
    raises(ValidationFailed, lambda: svc.moderate(setup.lead, bid.id, {
        c1.id: ModeratedInput(new_score, "Rethought")}), field="reason")
    raises(ValidationFailed, lambda: svc.moderate(setup.lead, bid.id, {
        c1.id: ModeratedInput(old_score, "Reworded rationale")}), field="reason")
    assert fresh(ModeratedScore, row_id).score == old_score
    count = len(events("evaluation.moderated"))
    # The same score and rationale again is not a change.
    svc.moderate(setup.lead, bid.id, {c1.id: ModeratedInput(old_score, old_rationale)})
    assert len(events("evaluation.moderated")) == count
    svc.moderate(setup.lead, bid.id, {c1.id: ModeratedInput(new_score, "Rethought")},
                 reason="The panel reviewed the case study again")
    assert fresh(ModeratedScore, row_id).score == new_score
    event = events("evaluation.moderated")[-1]
    assert event.before == {str(c1.id): old_score}
    assert event.after == {str(c1.id): new_score,
                           "reason": "The panel reviewed the case study again"}


def test_nothing_changes_after_the_award_decision(setup: EvalSetup) -> None:
    opened(setup)
    evaluator = setup.evaluators[0]
    first, second, third = setup.bids
    score_bid(evaluator, first, [3, 3, 3])
    score_bid(evaluator, second, [3, 3, 3], submit=False)
    moderate_bid(setup.lead, first)
    decide(setup.challenge.id)
    c1 = criteria(setup)[0]
    calls: list[Callable[[], object]] = [
        lambda: svc.declare_conflict(evaluator, third.id, False, ""),
        lambda: svc.save_scores(evaluator, second.id, full_scores(setup, [1, 1, 1]), {}, ""),
        lambda: svc.save_scores(evaluator, first.id, full_scores(setup, [1, 1, 1]), {}, "",
                                reason="Late change"),
        lambda: svc.submit_sheet(evaluator, second.id),
        lambda: svc.moderate(setup.lead, first.id, {c1.id: ModeratedInput(1, "Late")},
                             reason="Late"),
        lambda: svc.exclude_bid(setup.lead, second.id, "Late exclusion"),
        lambda: svc.remove_evaluator(setup.lead, setup.challenge.id, setup.evaluators[1].id),
        lambda: svc.set_score_descriptions(setup.lead, setup.challenge.id, list("abcde")),
    ]
    for call in calls:
        raises(Conflict, call)
    # Reading stays possible.
    assert svc.open_for_scoring(evaluator, first.id).sheet.submitted_at is not None
    assert svc.moderation(setup.lead, first.id).total == 75.0


# ========================================================================== exclusion


def test_excluding_and_reinstating_a_bid(setup: EvalSetup) -> None:
    scored(setup)
    bid = setup.bids[0]
    raises(ValidationFailed, lambda: svc.exclude_bid(setup.lead, bid.id, "  "), field="reason")
    raises(PermissionDenied, lambda: svc.exclude_bid(setup.evaluators[0], bid.id, "No"))
    raises(NotFound, lambda: svc.exclude_bid(other_officer(), bid.id, "No"))
    assert not fresh(BidAssessment, bid.id).excluded
    svc.exclude_bid(setup.lead, bid.id, " Does not integrate with our asset system ")
    assessment = fresh(BidAssessment, bid.id)
    assert assessment.excluded and assessment.excluded_by_id == setup.lead.id
    assert assessment.exclusion_reason == "Does not integrate with our asset system"
    [event] = events("evaluation.bid_excluded")
    assert event.before == {"excluded": False}
    assert event.after == {"excluded": True,
                           "reason": "Does not integrate with our asset system"}
    raises(Conflict, lambda: svc.exclude_bid(setup.lead, bid.id, "Again"), match="already")
    raises(ValidationFailed, lambda: svc.reinstate_bid(setup.lead, bid.id, ""), field="reason")
    raises(PermissionDenied, lambda: svc.reinstate_bid(setup.evaluators[0], bid.id, "Yes"))
    svc.reinstate_bid(setup.lead, bid.id, "They showed the integration works")
    assessment = fresh(BidAssessment, bid.id)
    assert not assessment.excluded and assessment.exclusion_reason is None
    [event] = events("evaluation.bid_reinstated")
    assert event.before == {"excluded": True,
                            "exclusion_reason": "Does not integrate with our asset system"}
    assert event.after == {"excluded": False, "reason": "They showed the integration works"}
    raises(Conflict, lambda: svc.reinstate_bid(setup.lead, bid.id, "Again"), match="not")


def test_a_shortlisted_bid_cannot_be_excluded(setup: EvalSetup) -> None:
    moderated(setup)
    bid = setup.bids[0]
    set_columns(BidAssessment, bid.id, shortlisted_at=utcnow())
    raises(Conflict, lambda: svc.exclude_bid(setup.lead, bid.id, "Changed our mind"),
           match="shortlist")
    assert not fresh(BidAssessment, bid.id).excluded


# ========================================================================== ranking


def test_weighted_total_arithmetic(setup: EvalSetup) -> None:
    challenge = fresh(Challenge, setup.challenge.id)
    assert [c.weight for c in challenge.criteria] == [40, 40, 20]
    c1, c2, c3 = (c.id for c in challenge.criteria)
    assert svc.weighted_total(challenge, {c1: 4, c2: 4, c3: 4}) == 100.0
    assert svc.weighted_total(challenge, {c1: 0, c2: 0, c3: 0}) == 0.0
    assert svc.weighted_total(challenge, {c1: 3, c2: 2, c3: 1}) == 30 + 20 + 5
    assert svc.weighted_total(challenge, {c1: 1, c2: 3, c3: 2}) == 10 + 30 + 10
    assert svc.weighted_total(challenge, {c1: 4, c2: 4}) is None
    assert svc.weighted_total(challenge, {}) is None
    # Weights that do not divide by 4 give hundredths.
    challenge.criteria[0].weight, challenge.criteria[1].weight = 33, 47
    assert svc.weighted_total(challenge, {c1: 1, c2: 3, c3: 2}) == 8.25 + 35.25 + 10
    db.session.rollback()


def test_the_ranking_by_moderated_total(setup: EvalSetup) -> None:
    moderated(setup)
    rows = svc.ranking(setup.lead, setup.challenge.id)
    assert [(r.bid.id, r.total, r.rank) for r in rows] == [
        (setup.bids[0].id, 90.0, 1), (setup.bids[1].id, 65.0, 2), (setup.bids[2].id, 35.0, 3)]
    c1 = criteria(setup)[0]
    assert rows[0].means[c1.id] == 4.0 and rows[0].moderated[c1.id].score == 4
    assert rows[0].match_score is None  # only the comparison adds it


def test_excluded_bids_rank_last_and_incomplete_ones_before_them(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=4, evaluators=1))
    best, second, third, fourth = setup.bids
    svc.exclude_bid(setup.lead, best.id, "Missed an essential requirement")
    # The third bid loses a moderated score: it is no longer complete. (Drop it directly:
    # no use case removes a moderated score.)
    db.session.execute(ModeratedScore.__table__.delete().where(
        ModeratedScore.bid_id == third.id, ModeratedScore.criterion_id == criteria(setup)[0].id))
    db.session.commit()
    rows = svc.ranking(setup.lead, setup.challenge.id)
    assert [(r.bid.id, r.rank) for r in rows] == [
        (second.id, 1), (fourth.id, 2), (third.id, None), (best.id, None)]
    assert rows[2].total is None and rows[3].total == 90.0
    assert rows[3].assessment.excluded


def test_ties_share_a_rank(app: Flask) -> None:
    setup = evaluation_setup(bidders=4, evaluators=1)
    moderated_scores = {0: [2, 2, 2], 1: [4, 4, 4], 2: [2, 2, 2], 3: [1, 3, 2]}
    scored(setup, moderated_scores)
    for bid in setup.bids:
        moderate_bid(setup.lead, bid)
    rows = svc.ranking(setup.lead, setup.challenge.id)
    # 100, then three bids on 50 (in the order received), sharing second place.
    assert [(r.bid.id, r.total, r.rank) for r in rows] == [
        (setup.bids[1].id, 100.0, 1), (setup.bids[0].id, 50.0, 2),
        (setup.bids[2].id, 50.0, 2), (setup.bids[3].id, 50.0, 2)]


def test_the_rank_after_a_tie_skips(app: Flask) -> None:
    setup = evaluation_setup(bidders=3, evaluators=1)
    scored(setup, {0: [3, 3, 3], 1: [3, 3, 3], 2: [1, 1, 1]})
    for bid in setup.bids:
        moderate_bid(setup.lead, bid)
    assert [r.rank for r in svc.ranking(setup.lead, setup.challenge.id)] == [1, 1, 3]


def test_ranking_refusals(setup: EvalSetup) -> None:
    assert svc.ranking(setup.lead, setup.challenge.id) == []  # nothing before opening
    opened(setup)
    rows = svc.ranking(setup.lead, setup.challenge.id)
    assert [r.rank for r in rows] == [None, None, None]  # nothing moderated yet
    for call in (svc.ranking, svc.comparison):
        raises(PermissionDenied, lambda c=call: c(setup.evaluators[0], setup.challenge.id))
        raises(PermissionDenied, lambda c=call: c(colleague(setup, "challenge_owner"),
                                                  setup.challenge.id))
        raises(NotFound, lambda c=call: c(other_officer(), setup.challenge.id))
        raises(NotFound, lambda c=call: c(setup.bidders[0], setup.challenge.id))


def test_a_lead_who_evaluates_sees_the_ranking_only_after_scoring_every_bid(
        setup: EvalSetup) -> None:
    opened(setup)
    svc.assign_evaluator(setup.lead, setup.challenge.id, setup.lead.id)
    first, second, third = setup.bids
    score_bid(setup.lead, first, [3, 3, 3])
    score_bid(setup.lead, second, [2, 2, 2])
    for call in (svc.ranking, svc.comparison):
        raises(PermissionDenied, lambda c=call: c(setup.lead, setup.challenge.id),
               match="Submit your own scores first")
    # A declared conflict counts as done: the lead takes no part in scoring that bid.
    svc.declare_conflict(setup.lead, third.id, True, "Former employer")
    assert len(svc.ranking(setup.lead, setup.challenge.id)) == 3
    assert len(svc.comparison(setup.lead, setup.challenge.id)) == 3


def test_the_comparison_adds_an_advisory_match_score(app: Flask) -> None:
    setup = evaluation_setup(bidders=3, evaluators=1)
    # The bid ranked last is from the supplier whose profile fits the challenge best; the
    # winner's profile says nothing relevant; the second bidder has no profile at all.
    fitting = supplier_service.ProfileChanges(
        description="Machine learning and computer vision to predict potholes and road "
                    "defects for highways teams, so councils repair roads before they fail.",
        capabilities=["Machine learning", "Computer vision"],
        cpv_codes=["72000000"], regions=["Yorkshire and The Humber"])
    unrelated = supplier_service.ProfileChanges(
        description="Catering for school lunches and staff canteens.",
        regions=["South West"])
    supplier_service.update_profile(setup.bidders[2], setup.bids[2].supplier_id, fitting)
    supplier_service.update_profile(setup.bidders[0], setup.bids[0].supplier_id, unrelated)
    moderated(setup)
    ranked = svc.ranking(setup.lead, setup.challenge.id)
    compared = svc.comparison(setup.lead, setup.challenge.id)
    assert [(r.bid.id, r.total, r.rank) for r in compared] == [
        (r.bid.id, r.total, r.rank) for r in ranked]
    by_bid = {r.bid.id: r for r in compared}
    best_fit = by_bid[setup.bids[2].id].match_score
    assert best_fit is not None and best_fit > 0
    assert by_bid[setup.bids[0].id].match_score is not None
    assert best_fit > by_bid[setup.bids[0].id].match_score  # type: ignore[operator]
    assert by_bid[setup.bids[1].id].match_score is None  # not in the directory
    assert compared[-1].bid.id == setup.bids[2].id  # the best fit still ranks last


def test_other_councils_see_nothing_of_a_bid(setup: EvalSetup) -> None:
    scored(setup)
    stranger = other_officer()
    bid_id = setup.bids[0].id
    cid = criteria(setup)[0].id
    for call in (lambda: svc.open_for_scoring(stranger, bid_id),
                 lambda: svc.save_scores(stranger, bid_id, {}, {}, ""),
                 lambda: svc.moderation(stranger, bid_id),
                 lambda: svc.moderate(stranger, bid_id, {cid: ModeratedInput(1, "x")}),
                 lambda: svc.exclude_bid(stranger, bid_id, "x"),
                 lambda: svc.reinstate_bid(stranger, bid_id, "x"),
                 lambda: svc.remove_evaluator(stranger, setup.challenge.id,
                                              setup.evaluators[0].id),
                 lambda: svc.set_score_descriptions(stranger, setup.challenge.id,
                                                    list("abcde"))):
        raises(NotFound, call)


def test_a_supplier_is_not_an_evaluator(setup: EvalSetup) -> None:
    opened(setup)
    raises(NotFound, lambda: svc.open_for_scoring(setup.bidders[0], setup.bids[0].id))
    raises(NotFound, lambda: svc.submit_sheet(setup.bidders[0], setup.bids[0].id))
    assert svc.my_evaluations(setup.bidders[0]) == []
    assert svc.active_assignment(setup.bidders[0], setup.challenge) is None
    assert not svc.is_lead(setup.bidders[0], setup.challenge)
    assert svc.is_lead(setup.lead, setup.challenge)
    assert not svc.is_lead(None, setup.challenge)
    assert svc.active_assignment(None, setup.challenge) is None
    # A suspended evaluator is no longer an active one.
    set_columns(User, setup.evaluators[0].id, suspended_at=utcnow())
    assert svc.active_assignment(fresh(User, setup.evaluators[0].id), setup.challenge) is None


def test_the_evaluation_trail_never_holds_what_a_bid_says(setup: EvalSetup) -> None:
    scored(setup)
    bid = fresh(Bid, setup.bids[0].id)
    secrets = [bid.team, bid.availability, *bid.answers.values()]
    for event in audit_events():
        if event.action.startswith("evaluation.") or event.action == "bid.opened":
            recorded = str(event.before) + str(event.after)
            assert not any(secret in recorded for secret in secrets), event.action
