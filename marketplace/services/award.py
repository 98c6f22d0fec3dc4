"""Shortlisting, interviews and the award decision, its standstill and what each bidder and the
public learn of it.

The award decision starts a standstill of ``STANDSTILL_WORKING_DAYS`` working days (at least
the Procurement Act 2023's eight) beginning with the day of the decision; the award becomes
final, and public, at midnight (UK time) after its last day. Each bidder learns its own
moderated scores and rationale, its weighted total and the winners' names; never another
bidder's scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    SIZE_LABELS,
    Bid,
    BidAssessment,
    Challenge,
    ChallengeStatus,
    EvaluationCriterion,
    ModeratedScore,
    SizeBand,
    SupplierProfile,
    User,
    UserRole,
    utcnow,
)
from marketplace.services import audit, evaluation
from marketplace.services import bids as bid_service
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import Conflict, NotFound, ValidationFailed
from marketplace.services.uow import transactional
from marketplace.services.workdays import UK, standstill_end

SME_SIZES = frozenset({SizeBand.MICRO.value, SizeBand.SMALL.value, SizeBand.MEDIUM.value})
MAX_TEXT = 5000
MAX_VALUE = Decimal("1e10")
ENDED = {ChallengeStatus.WITHDRAWN, ChallengeStatus.CANCELLED}


def standstill_days() -> int:
    """Working days of standstill after an award decision (at least 8)."""
    return int(current_app.config.get("STANDSTILL_WORKING_DAYS", 8))


def max_winners(challenge: Challenge) -> int | None:
    """How many suppliers the first stage allows, or None when it sets no limit."""
    return challenge.stages[0].max_suppliers if challenge.stages else None


def standstill_last_day(final_at: datetime) -> str:
    """The last day of a standstill ending at ``final_at`` (UK midnight), e.g.
    "Wednesday 15 April 2026"."""
    day = (final_at.astimezone(UK) - timedelta(minutes=1)).date()
    return f"{day:%A} {day.day} {day:%B %Y}"


# Permissions and loading ---------------------------------------------------------------------

def _require_undecided(challenge: Challenge) -> None:
    """Bids opened, no award or 'no suitable supplier' decision, not withdrawn or cancelled."""
    status = challenge.status
    if status in ENDED:
        raise Conflict(f"This challenge was {status.value}")
    if challenge.award_decided_at is not None or challenge.awarded_at is not None:
        raise Conflict("The award decision for this challenge has already been made")
    if challenge.no_suitable_supplier_at is not None:
        raise Conflict("This challenge has already ended with no suitable supplier")
    if challenge.evaluation_started_at is None:
        raise Conflict("Open the bids before you shortlist or award")


def _assessments(challenge: Challenge) -> dict[int, BidAssessment]:
    """The assessments of the challenge's evaluation bids, by bid id."""
    ids = {bid.id for bid in evaluation.evaluation_bids(challenge)}
    rows = db.session.scalars(select(BidAssessment).where(
        BidAssessment.challenge_id == challenge.id))
    return {row.bid_id: row for row in rows if row.bid_id in ids}


def _total(challenge: Challenge, moderated: dict[int, ModeratedScore]) -> float | None:
    return evaluation.weighted_total(challenge, {cid: m.score for cid, m in moderated.items()})


def _moderated(bid_id: int) -> dict[int, ModeratedScore]:
    return evaluation.moderated_scores([bid_id])[bid_id]


def _people(supplier_id: int) -> list[User]:
    """The supplier's active bidders and organisation admins: who hears about its bid."""
    return list(db.session.scalars(
        select(User).join(UserRole).where(
            User.organisation_id == supplier_id, UserRole.role.in_(bid_service.BIDDER_ROLES),
            User.suspended_at.is_(None)).distinct().order_by(User.id)))


def _tell(bid: Bid, template: str, endpoint: str = "bids.outcome", **context: Any) -> None:
    link = absolute_url(endpoint, bid_id=bid.id)
    for person in _people(bid.supplier_id):
        queue_email(person.email, template, user=person, bid=bid, challenge=bid.challenge,
                    supplier=bid.supplier, link=link, **context)


# Feedback ------------------------------------------------------------------------------------

@dataclass
class CriterionFeedback:
    criterion: EvaluationCriterion
    score: int | None
    rationale: str | None


def _feedback(challenge: Challenge, bid: Bid) -> tuple[list[CriterionFeedback], float | None]:
    """A bid's own moderated score and rationale per criterion, and its weighted total."""
    moderated = _moderated(bid.id)
    rows = []
    for criterion in challenge.criteria:
        score = moderated.get(criterion.id)
        rows.append(CriterionFeedback(criterion, score.score if score else None,
                                      score.rationale if score else None))
    return rows, _total(challenge, moderated)


def _winner_names(challenge: Challenge) -> list[str]:
    return sorted(row.bid.supplier.name for row in db.session.scalars(
        select(BidAssessment).where(BidAssessment.challenge_id == challenge.id,
                                    BidAssessment.awarded.is_(True))))


# Shortlist and interviews --------------------------------------------------------------------

@transactional
def shortlist(actor: User, challenge_id: int, bid_ids: list[int], reason: str | None = None
              ) -> Challenge:
    """Confirm (or change, with a reason) the shortlist: fully moderated, non-excluded bids,
    no more than the published number."""
    challenge = evaluation.lead_challenge(actor, challenge_id, "shortlist bids", lock=True)
    _require_undecided(challenge)
    assessments = _assessments(challenge)
    chosen: list[int] = []
    for value in bid_ids:
        bid_id = evaluation.as_id(value)
        if bid_id is None or bid_id not in assessments:
            raise ValidationFailed("Select bids submitted for this challenge", field="bids")
        if bid_id not in chosen:
            chosen.append(bid_id)
    if not chosen:
        raise ValidationFailed("Select at least one bid to shortlist", field="bids")
    limit = challenge.shortlist_size
    if limit is not None and len(chosen) > limit:
        raise ValidationFailed(f"You can shortlist up to {limit} supplier"
                               f"{'' if limit == 1 else 's'}, as published", field="bids")
    for bid_id in chosen:
        row = assessments[bid_id]
        name = row.bid.supplier.name
        if row.excluded:
            raise ValidationFailed(f"{name}’s bid is excluded: reinstate it before you "
                                   "shortlist it", field="bids")
        if _total(challenge, _moderated(bid_id)) is None:
            raise ValidationFailed(f"Moderate every criterion of {name}’s bid before you "
                                   "shortlist it", field="bids")
    before = sorted(bid_id for bid_id, row in assessments.items() if row.shortlisted)
    after = sorted(chosen)
    if before == after and challenge.shortlisted_at is not None:
        return challenge
    reason = (reason or "").strip()
    if challenge.shortlisted_at is not None:
        if not reason:
            raise ValidationFailed("Give the reason for changing the confirmed shortlist",
                                   field="reason")
        if len(reason) > MAX_TEXT:
            raise ValidationFailed("Reason must be 5,000 characters or fewer", field="reason")
    now = utcnow()
    if challenge.shortlisted_at is None:
        challenge.shortlisted_at = now
    added: list[BidAssessment] = []
    for bid_id, row in assessments.items():
        if bid_id in after and not row.shortlisted:
            row.shortlisted_at = now
            added.append(row)
        elif bid_id not in after and row.shortlisted:
            row.shortlisted_at = None
            row.interview_at = None
    record: dict[str, Any] = {"bid_ids": after}
    if reason:
        record["reason"] = reason
    audit.record("evaluation.shortlisted", challenge, actor=actor,
                 organisation=challenge.lead_council_id, before={"bid_ids": before},
                 after=record)
    for row in added:
        _tell(row.bid, "shortlisted", "bids.edit")
    return challenge


@transactional
def set_interview(actor: User, bid_id: int, when: datetime | None, notes: str
                  ) -> BidAssessment:
    """Arrange (or change, or cancel) a shortlisted bidder's interview; the bidder is emailed
    the time whenever it is set or changed."""
    bid = db.session.get(Bid, bid_id)
    if bid is None:
        raise NotFound("Bid not found")
    evaluation.require_lead(actor, bid.challenge, "arrange interviews")
    challenge = evaluation.lock_challenge(bid.challenge)
    _require_undecided(challenge)
    row = db.session.get(BidAssessment, bid_id)
    if row is None or not row.shortlisted:
        raise Conflict("Only a shortlisted bid can be invited to interview")
    if when is not None and when.tzinfo is None:
        raise ValidationFailed("Enter the interview date and time", field="when")
    notes = (notes or "").strip()
    if len(notes) > MAX_TEXT:
        raise ValidationFailed("Notes must be 5,000 characters or fewer", field="notes")
    changed_time = when != row.interview_at
    if changed_time and when is not None and when <= utcnow():
        raise ValidationFailed("The interview must be in the future", field="when")
    if not changed_time and notes == row.interview_notes:
        return row
    before = {"interview_at": row.interview_at.isoformat() if row.interview_at else None,
              "notes": row.interview_notes}
    row.interview_at, row.interview_notes = when, notes
    audit.record("evaluation.interview_set", bid, actor=actor,
                 organisation=challenge.lead_council_id, before=before,
                 after={"interview_at": when.isoformat() if when else None, "notes": notes})
    if changed_time and when is not None:
        _tell(bid, "interview_arranged", "bids.edit", when=when, notes=notes,
              rearranged=before["interview_at"] is not None)
    return row


# The decision --------------------------------------------------------------------------------

@dataclass
class WinnerInput:
    bid_id: int
    value: Decimal


def _value(raw: Any, bid_id: int) -> Decimal:
    field = f"value-{bid_id}"
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("Enter the contract value in pounds, like 5000",
                               field=field) from exc
    if not value.is_finite():
        raise ValidationFailed("Enter the contract value in pounds, like 5000", field=field)
    if value < 0:
        raise ValidationFailed("Contract value cannot be negative", field=field)
    if value >= MAX_VALUE:
        raise ValidationFailed("Contract value must be less than £10,000,000,000", field=field)
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed("Contract value can have at most 2 decimal places (pence)",
                               field=field)
    return value.quantize(Decimal("0.01"))


@transactional
def award(actor: User, challenge_id: int, winners: list[WinnerInput], summary: str
          ) -> Challenge:
    """Decide the award to shortlisted bids, start the standstill and tell every bidder."""
    challenge = evaluation.lead_challenge(actor, challenge_id, "award contracts", lock=True)
    _require_undecided(challenge)
    if challenge.shortlisted_at is None:
        raise Conflict("Confirm the shortlist before you award")
    assessments = _assessments(challenge)
    if not winners:
        raise ValidationFailed("Select at least one shortlisted bid to award", field="bids")
    limit = max_winners(challenge)
    if limit is not None and len(winners) > limit:
        raise ValidationFailed(f"The first stage allows up to {limit} supplier"
                               f"{'' if limit == 1 else 's'}", field="bids")
    values: dict[int, Decimal] = {}
    for winner in winners:
        bid_id = evaluation.as_id(winner.bid_id)
        row = assessments.get(bid_id) if bid_id is not None else None
        if row is None or bid_id is None:
            raise ValidationFailed("Select bids submitted for this challenge", field="bids")
        if bid_id in values:
            raise ValidationFailed(f"{row.bid.supplier.name} is selected twice", field="bids")
        if row.excluded or not row.shortlisted:
            raise ValidationFailed(f"{row.bid.supplier.name} is not on the shortlist",
                                   field="bids")
        values[bid_id] = _value(winner.value, bid_id)
    summary = (summary or "").strip()
    if not summary:
        raise ValidationFailed("Summarise the decision, which will be published",
                               field="summary")
    if len(summary) > MAX_TEXT:
        raise ValidationFailed("Summary must be 5,000 characters or fewer", field="summary")
    before = challenge.status
    now = utcnow()
    challenge.award_decided_at = now
    challenge.awarded_at = standstill_end(now, standstill_days())
    challenge.award_decided_by_id = actor.id
    challenge.end_reason = summary
    challenge.updated_at = now
    for bid_id, value in values.items():
        assessments[bid_id].awarded = True
        assessments[bid_id].award_value = value
    audit.record("challenge.award_decided", challenge, actor=actor,
                 organisation=challenge.lead_council_id, before={"status": before.value},
                 after={"status": challenge.status_at(now).value,
                        "winners": [{"bid_id": bid_id, "supplier_id":
                                     assessments[bid_id].bid.supplier_id, "value": str(value)}
                                    for bid_id, value in values.items()],
                        "standstill_days": standstill_days(),
                        "standstill_ends": challenge.awarded_at.isoformat(),
                        "summary": summary})
    names = _winner_names(challenge)
    context = {"winners": names, "standstill_ends": standstill_last_day(challenge.awarded_at),
               "standstill_days": standstill_days(),
               "descriptions": evaluation.score_descriptions(challenge), "summary": summary}
    for bid in evaluation.evaluation_bids(challenge):
        row = assessments.get(bid.id)
        feedback, total = _feedback(challenge, bid)
        _tell(bid, "award_successful" if row and row.awarded else "award_unsuccessful",
              feedback=feedback, total=total, assessment=row, **context)
    return challenge


@transactional
def declare_no_suitable_supplier(actor: User, challenge_id: int, reason: str) -> Challenge:
    """End the evaluation without an award, with a public reason; tell every bidder."""
    challenge = evaluation.lead_challenge(actor, challenge_id, "end an evaluation",
                                           lock=True)
    _require_undecided(challenge)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Enter the reason, which will be published", field="reason")
    if len(reason) > MAX_TEXT:
        raise ValidationFailed("Reason must be 5,000 characters or fewer", field="reason")
    before = challenge.status
    now = utcnow()
    challenge.no_suitable_supplier_at = now
    challenge.end_reason = reason
    challenge.updated_at = now
    audit.record("challenge.no_suitable_supplier", challenge, actor=actor,
                 organisation=challenge.lead_council_id, before={"status": before.value},
                 after={"status": ChallengeStatus.NO_SUITABLE_SUPPLIER.value,
                        "reason": reason})
    assessments = _assessments(challenge)
    descriptions = evaluation.score_descriptions(challenge)
    for bid in evaluation.evaluation_bids(challenge):
        feedback, total = _feedback(challenge, bid)
        _tell(bid, "no_suitable_supplier", feedback=feedback, total=total, reason=reason,
              descriptions=descriptions, assessment=assessments.get(bid.id))
    return challenge


# What the public and each bidder see ----------------------------------------------------------

@dataclass
class PublicWinner:
    supplier_name: str
    sme: bool
    size_label: str | None
    value: Decimal


@dataclass
class AwardNotice:
    decided_at: datetime
    final_at: datetime
    summary: str
    winners: list[PublicWinner]
    total_value: Decimal


def award_notice(challenge: Challenge, now: datetime | None = None) -> AwardNotice | None:
    """The public award notice, once the standstill is over; None before then."""
    now = now or utcnow()
    if challenge.status_at(now) != ChallengeStatus.AWARDED or challenge.awarded_at is None:
        return None
    rows = list(db.session.scalars(select(BidAssessment).where(
        BidAssessment.challenge_id == challenge.id, BidAssessment.awarded.is_(True))))
    sizes = dict(db.session.execute(select(
        SupplierProfile.organisation_id, SupplierProfile.size).where(
        SupplierProfile.organisation_id.in_([row.bid.supplier_id for row in rows]))).all())
    winners = []
    for row in rows:
        size = sizes.get(row.bid.supplier_id)
        winners.append(PublicWinner(
            supplier_name=row.bid.supplier.name, sme=size in SME_SIZES,
            size_label=SIZE_LABELS[size][0] if size in SIZE_LABELS else None,
            value=row.award_value or Decimal("0")))
    winners.sort(key=lambda w: w.supplier_name.lower())
    return AwardNotice(decided_at=challenge.award_decided_at or challenge.awarded_at,
                       final_at=challenge.awarded_at, summary=challenge.end_reason or "",
                       winners=winners, total_value=sum((w.value for w in winners),
                                                        Decimal("0")))


@dataclass
class SupplierOutcome:
    bid: Bid
    outcome: str  # "awarded", "unsuccessful", "excluded" or "no_suitable_supplier"
    feedback: list[CriterionFeedback]
    total: float | None
    winners: list[str]
    standstill_ends: datetime | None
    exclusion_reason: str | None
    summary: str | None
    award_value: Decimal | None = None  # the bidder's own contract value when awarded


def _outcome_of(bid: Bid) -> tuple[str, BidAssessment] | None:
    """A bid's outcome and assessment once a decision is made; None before then, or for a
    bid that was not in the evaluation (never submitted, or withdrawn)."""
    challenge = bid.challenge
    decided = challenge.award_decided_at is not None
    if not decided and challenge.no_suitable_supplier_at is None:
        return None
    if bid.submitted_at is None or bid.withdrawn_at is not None:
        return None
    row = db.session.get(BidAssessment, bid.id)
    if row is None:
        return None
    if not decided:
        return "no_suitable_supplier", row
    return ("awarded" if row.awarded else "excluded" if row.excluded else "unsuccessful"), row


def outcome_for_supplier(actor: User, bid_id: int) -> SupplierOutcome | None:
    """The outcome of the actor's organisation's own bid, once a decision is made (None
    before then, or for a bid that was not in the evaluation)."""
    bid = bid_service.get_own_bid(actor, bid_id)
    found = _outcome_of(bid)
    if found is None:
        return None
    outcome, row = found
    challenge = bid.challenge
    feedback, total = _feedback(challenge, bid)
    decided = outcome != "no_suitable_supplier"
    return SupplierOutcome(
        bid=bid, outcome=outcome, feedback=feedback, total=total,
        winners=_winner_names(challenge) if decided else [],
        standstill_ends=challenge.awarded_at if decided else None,
        exclusion_reason=row.exclusion_reason if row.excluded else None,
        summary=challenge.end_reason, award_value=row.award_value if row.awarded else None)


OUTCOME_LABELS = {"awarded": "Successful", "unsuccessful": "Not successful",
                  "excluded": "Excluded", "no_suitable_supplier": "No contract awarded"}


def outcome_label(bid: Bid) -> str | None:
    """A short label of a bid's outcome for its own supplier's pages, or None before a
    decision. The caller must already have checked that the bid is the actor's."""
    found = _outcome_of(bid)
    return OUTCOME_LABELS[found[0]] if found else None
