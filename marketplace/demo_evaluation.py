"""Demo evaluations, run through the evaluation and award use cases: one challenge part-way
through scoring, one awarded after interviews and standstill, one with no suitable supplier.

The use cases stamp everything with the current time; afterwards the demo moves those
timestamps back to fit each challenge's timeline (the audit trail keeps the real times and
records the move as demo data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidAssessment,
    Challenge,
    EvaluatorAssignment,
    ModeratedScore,
    ScoreSheet,
    User,
)
from marketplace.services import audit
from marketplace.services import award as award_service
from marketplace.services import evaluation as service
from marketplace.services.evaluation import ModeratedInput, ScoreInput
from marketplace.services.uow import unit_of_work
from marketplace.services.workdays import standstill_end

# Comments by score, per criterion position (the demo challenges use the standard criteria:
# understanding, approach, team, data protection, value for money).
_COMMENTS: dict[int, tuple[str, ...]] = {
    0: ("No response to this criterion.",) * 5,
    1: ("Restates our problem without showing who is affected or why it happens.",
        "The approach is a generic product demonstration with no plan to test it here.",
        "No named team members and no evidence of similar work.",
        "No mention of how personal data would be handled.",
        "Price is well above the budget with no breakdown."),
    2: ("Some understanding of the problem but little about residents or crews.",
        "A plausible idea, but the plan for using our data is unclear.",
        "The team is named but their relevant experience is thin.",
        "Data protection is mentioned but there is no DPIA or hosting detail.",
        "Price is within budget but later-stage costs are vague."),
    3: ("Clear grasp of the problem and the people affected, with our constraints noted.",
        "A sensible, testable approach with a realistic plan for working with staff.",
        "A capable team with one relevant case study.",
        "UK hosting, a draft DPIA and an accessibility statement are offered.",
        "Good value for the Exploration stage with an outline of later costs."),
    4: ("Excellent understanding, backed by evidence from similar councils.",
        "A strong, well-evidenced approach with clear measures and a plan for residents.",
        "An experienced team with two comparable projects and named references.",
        "Cyber Essentials Plus, UK hosting, DPIA and WCAG 2.2 AA testing described.",
        "Very good value, with a clear breakdown and realistic later costs."),
}


@dataclass(frozen=True)
class DemoSheet:
    evaluator: str
    bidder_org: str
    scores: tuple[int, ...]
    submit: bool = True
    conflict: str | None = None  # details of a declared conflict


@dataclass(frozen=True)
class DemoEvaluation:
    evaluators: tuple[str, ...]
    sheets: tuple[DemoSheet, ...]
    moderate: tuple[str, ...] = ()          # supplier names whose bids the lead moderates
    shortlist: tuple[str, ...] = ()
    interviews: tuple[str, ...] = ()
    winners: tuple[tuple[str, int], ...] = ()
    award_summary: str = ""
    no_suitable_supplier: str | None = None


LUCY = "lucy.fenwick@kent.gov.uk"
GARETH = "gareth.price@kent.gov.uk"
RHYS = "rhys.evans@cardiff.gov.uk"
CARYS = "carys.morgan@cardiff.gov.uk"
TOM = "tom.whitaker@leeds.gov.uk"
AISHA = "aisha.okafor@leeds.gov.uk"
PRIYA = "priya.shah@leeds.gov.uk"
MORAG = "morag.campbell@glasgow.gov.uk"
CLEANSTREETS = "CleanStreets Data Co-operative"
ROADSENSE = "Roadsense Analytics Ltd"
CARELINK = "CareLink Technologies"

EVALUATIONS: dict[str, DemoEvaluation] = {
    # Kent: part-way through. Lucy has submitted both; Gareth one, the other still a draft.
    "Cutting queues at household waste recycling centres": DemoEvaluation(
        evaluators=(LUCY, GARETH),
        sheets=(
            DemoSheet(LUCY, CLEANSTREETS, (3, 3, 2, 3, 3)),
            DemoSheet(LUCY, ROADSENSE, (3, 2, 3, 2, 4)),
            DemoSheet(GARETH, CLEANSTREETS, (4, 3, 3, 3, 3)),
            DemoSheet(GARETH, ROADSENSE, (2, 2, 3, 2, 4), submit=False),
        ),
        moderate=(CLEANSTREETS,),
    ),
    # Cardiff: scored, moderated, both shortlisted for a pitch, CleanStreets awarded.
    "Reducing missed bin collections": DemoEvaluation(
        evaluators=(RHYS, CARYS),
        sheets=(
            DemoSheet(RHYS, CLEANSTREETS, (4, 3, 3, 3, 3)),
            DemoSheet(CARYS, CLEANSTREETS, (3, 4, 3, 3, 4)),
            DemoSheet(RHYS, ROADSENSE, (3, 2, 3, 2, 2)),
            DemoSheet(CARYS, ROADSENSE, (2, 3, 4, 2, 3)),
        ),
        moderate=(CLEANSTREETS, ROADSENSE),
        shortlist=(CLEANSTREETS, ROADSENSE),
        interviews=(CLEANSTREETS, ROADSENSE),
        winners=((CLEANSTREETS, 5_000),),
        award_summary=("Exploration contract awarded for in-cab lift recording on two "
                       "collection rounds."),
    ),
    # Glasgow: awarded to Roadsense; the standstill has not ended yet.
    "Finding empty homes and bringing them back into use": DemoEvaluation(
        evaluators=(MORAG,),
        sheets=(
            DemoSheet(MORAG, ROADSENSE, (4, 3, 3, 3, 3)),
            DemoSheet(MORAG, CLEANSTREETS, (2, 2, 3, 2, 3)),
        ),
        moderate=(ROADSENSE, CLEANSTREETS),
        shortlist=(ROADSENSE, CLEANSTREETS),
        winners=((ROADSENSE, 5_000),),
        award_summary="Exploration contract awarded for matching data to find empty homes.",
    ),
    # Leeds: one bid, below the quality threshold; no suitable supplier.
    "Translating council letters quickly and accurately": DemoEvaluation(
        evaluators=(AISHA, PRIYA),
        sheets=(
            DemoSheet(AISHA, CARELINK, (2, 1, 2, 1, 3)),
            DemoSheet(PRIYA, CARELINK, (1, 2, 2, 1, 2)),
        ),
        moderate=(CARELINK,),
    ),
}


def _bids_by_supplier(challenge: Challenge) -> dict[str, Bid]:
    return {b.supplier.name: b for b in service.evaluation_bids(challenge)}


def run_evaluation(challenge: Challenge, lead: User, users: dict[str, User],
                   end_reason: str | None, *, outcome: str) -> None:
    """Evaluate a demo challenge through the use cases; ``outcome`` is "evaluation",
    "standstill", "awarded" or "no_suitable_supplier"."""
    spec = EVALUATIONS[challenge.title]
    cid = challenge.id
    service.open_bids(lead, cid)
    for email in spec.evaluators:
        service.assign_evaluator(lead, cid, users[email].id)
    bids = _bids_by_supplier(challenge)
    criteria = list(challenge.criteria)
    for sheet in spec.sheets:
        person, bid = users[sheet.evaluator], bids[sheet.bidder_org]
        if sheet.conflict:
            service.declare_conflict(person, bid.id, True, sheet.conflict)
            continue
        service.declare_conflict(person, bid.id, False, "")
        service.save_scores(
            person, bid.id,
            {c.id: ScoreInput(s, _COMMENTS[s][i % 5])
             for i, (c, s) in enumerate(zip(criteria, sheet.scores, strict=True))},
            {r.id: True for r in challenge.essential_requirements}, "")
        if sheet.submit:
            service.submit_sheet(person, bid.id)
    for name in spec.moderate:
        view = service.moderation(lead, bids[name].id)
        service.moderate(lead, bids[name].id, {
            row.criterion.id: ModeratedInput(
                int(round(row.mean or 0)),
                f"Evaluators agreed: {_COMMENTS[int(round(row.mean or 0))][i % 5].lower()}")
            for i, row in enumerate(view.criteria)})
    if spec.shortlist:
        award_service.shortlist(lead, cid, [bids[n].id for n in spec.shortlist])
    for name in spec.interviews:
        award_service.set_interview(
            lead, bids[name].id, None,
            "30-minute pitch to the waste team, followed by questions on the data feed.")
    if outcome in ("awarded", "standstill"):
        award_service.award(lead, cid, [award_service.WinnerInput(bids[n].id, Decimal(v))
                                        for n, v in spec.winners], spec.award_summary)
    elif outcome == "no_suitable_supplier":
        award_service.declare_no_suitable_supplier(
            lead, cid, end_reason or "No bid met the minimum quality threshold.")


def backdate_evaluation(challenge: Challenge, evaluation_after: float,
                        outcome_after: float) -> None:
    """Move the evaluation's timestamps to ``evaluation_after`` days after the deadline, and
    the outcome to ``outcome_after`` days after it (the award's standstill follows from the
    decision date), recording the move in the audit trail."""
    deadline = challenge.submission_deadline
    assert deadline is not None and challenge.evaluation_started_at is not None
    opened_at = deadline + timedelta(days=evaluation_after)
    shift = challenge.evaluation_started_at - opened_at
    with unit_of_work():
        db.session.refresh(challenge)
        before = _timeline(challenge)

        def move(value: datetime | None) -> datetime | None:
            return value - shift if value is not None else None

        challenge.evaluation_started_at = opened_at
        challenge.shortlisted_at = move(challenge.shortlisted_at)
        for assignment in db.session.scalars(select(EvaluatorAssignment).where(
                EvaluatorAssignment.challenge_id == challenge.id)):
            assignment.assigned_at = opened_at
            for sheet in assignment.sheets:
                _move_sheet(sheet, move)
        for moderated in db.session.scalars(select(ModeratedScore).join(Bid).where(
                Bid.challenge_id == challenge.id)):
            moderated.moderated_at = move(moderated.moderated_at)  # type: ignore[assignment]
        outcome_at = deadline + timedelta(days=outcome_after)
        for assessment in db.session.scalars(select(BidAssessment).where(
                BidAssessment.challenge_id == challenge.id)):
            if assessment.shortlisted_at is not None:
                assessment.shortlisted_at = opened_at + timedelta(days=7)
                assessment.interview_at = outcome_at - timedelta(days=5, hours=-10)
        if challenge.shortlisted_at is not None:
            challenge.shortlisted_at = opened_at + timedelta(days=7)
        if challenge.award_decided_at is not None:
            challenge.award_decided_at = outcome_at
            challenge.awarded_at = standstill_end(outcome_at, award_service.standstill_days())
        if challenge.no_suitable_supplier_at is not None:
            challenge.no_suitable_supplier_at = outcome_at
        db.session.flush()
        audit.record("challenge.demo_backdated", challenge, actor=None, actor_label="demo data",
                     organisation=challenge.lead_council_id, before=before,
                     after={**_timeline(challenge),
                            "note": "Demo data: evaluation timeline moved into the past"})


def _move_sheet(sheet: ScoreSheet, move: object) -> None:
    for name in ("declared_at", "updated_at", "submitted_at"):
        setattr(sheet, name, move(getattr(sheet, name)))  # type: ignore[operator]
    for score in sheet.scores:
        score.updated_at = move(score.updated_at)  # type: ignore[operator]


def _timeline(challenge: Challenge) -> dict[str, str | None]:
    return {name: value.isoformat() if value else None for name, value in (
        ("evaluation_started_at", challenge.evaluation_started_at),
        ("shortlisted_at", challenge.shortlisted_at),
        ("award_decided_at", challenge.award_decided_at),
        ("awarded_at", challenge.awarded_at),
        ("no_suitable_supplier_at", challenge.no_suitable_supplier_at))}
