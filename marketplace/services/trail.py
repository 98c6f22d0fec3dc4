"""A challenge's audit trail for its lead, and the lead-only gate shared with the exports.

Audit events are append-only (database triggers refuse UPDATE and DELETE); nothing here
changes them. Sealed bids stay sealed: events about bids are only part of the trail once the
deadline has passed, and only for bids the council may see (submitted, not withdrawn).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, false, or_, select

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Bid,
    BidAssessment,
    Challenge,
    ChallengeInvitation,
    ClarificationQuestion,
    EvaluatorAssignment,
    ModeratedScore,
    ScoreSheet,
    User,
    utcnow,
)
from marketplace.services import evaluation
from marketplace.services.errors import PermissionDenied

# A person following a challenge is a private subscription, not a procurement step (and
# before the deadline it would hint at who means to bid): it is not part of the trail.
PRIVATE_ACTIONS = ("challenge.followed", "challenge.unfollowed")


def lead_challenge(actor: User, challenge_id: int, what: str = "see this") -> Challenge:
    """The challenge, for one of its leads who is free to see every score.

    Other councils (and unknown ids): NotFound. Sponsor members who are not leads:
    PermissionDenied. A lead still scoring as an evaluator: PermissionDenied.
    """
    challenge = evaluation.lead_challenge(actor, challenge_id, what)
    if evaluation.has_unsubmitted_sheets(actor, challenge):
        raise PermissionDenied("Submit your own scores first")
    return challenge


def _ids(values: Iterable[int]) -> list[str]:
    return [str(v) for v in values]


def _visible_bid_ids(challenge: Challenge) -> list[int]:
    """Bids whose events the council may see: after the deadline, submitted and not
    withdrawn (the same bids it may open)."""
    deadline = challenge.submission_deadline
    if not challenge.is_published or deadline is None or utcnow() < deadline:
        return []
    return [b.id for b in evaluation.evaluation_bids(challenge)]


def _objects(challenge: Challenge) -> dict[str, list[str]]:
    """Audit object ids (as stored: strings) of everything under the challenge, by type."""
    cid = challenge.id
    bid_ids = _visible_bid_ids(challenge)
    scalars = db.session.scalars
    return {
        "challenge": [str(cid)],
        "bid": _ids(bid_ids),
        # A bid's assessment is keyed by the bid id.
        "bid_assessment": _ids(scalars(select(BidAssessment.bid_id)
                                       .where(BidAssessment.challenge_id == cid))),
        "evaluator_assignment": _ids(scalars(select(EvaluatorAssignment.id)
                                             .where(EvaluatorAssignment.challenge_id == cid))),
        "score_sheet": _ids(scalars(
            select(ScoreSheet.id).join(EvaluatorAssignment)
            .where(EvaluatorAssignment.challenge_id == cid))),
        "moderated_score": _ids(scalars(
            select(ModeratedScore.id).join(Bid, Bid.id == ModeratedScore.bid_id)
            .where(Bid.challenge_id == cid))),
        "clarification_question": _ids(scalars(
            select(ClarificationQuestion.id).where(ClarificationQuestion.challenge_id == cid))),
        "challenge_invitation": _ids(scalars(
            select(ChallengeInvitation.id).where(ChallengeInvitation.challenge_id == cid))),
    }


def challenge_audit_trail(actor: User, challenge_id: int) -> list[AuditEvent]:
    """Every audit event about the challenge and the objects under it, oldest first.

    Lead only; a lead who is an evaluator with sheets still to submit is refused.
    """
    challenge = lead_challenge(actor, challenge_id, "see the audit trail")
    conditions: list[ColumnElement[bool]] = [
        and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(ids))
        for kind, ids in _objects(challenge).items() if ids
    ]
    where = or_(*conditions) if conditions else false()
    return list(db.session.scalars(
        select(AuditEvent).where(where, AuditEvent.action.not_in(PRIVATE_ACTIONS))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)))
