"""Evaluation of the bids of a closed challenge: opening them, evaluators, conflict
declarations, independent scoring, moderation, exclusion and the ranking.

Rules that hold throughout:

* Only the challenge's procurement officers (the *lead*) open bids, assign evaluators,
  moderate, exclude and rank. Evaluators are the people the lead assigned.
* An evaluator declares any conflict of interest before seeing a bid; a declared conflict
  blocks their sheet for that bid for good.
* Evaluators score independently: nobody's scores are shown to an evaluator until they have
  submitted their own, and a lead who evaluates a bid cannot moderate it before that either.
* The weighted total of a bid is derived from its moderated scores, never stored.

Every change locks the rows it changes and writes an audit event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    DEFAULT_SCORE_DESCRIPTIONS,
    MAX_SCORE,
    Bid,
    BidAssessment,
    BidVersion,
    Challenge,
    EvaluationCriterion,
    EvaluatorAssignment,
    EvaluatorScore,
    ModeratedScore,
    Role,
    ScoreSheet,
    User,
    UserRole,
    utcnow,
)
from marketplace.services import audit, matching
from marketplace.services import challenges as challenge_service
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    refuse_if_any,
)
from marketplace.services.uow import transactional

EVALUATOR_ROLES: tuple[str, ...] = (
    Role.EVALUATOR.value,
    Role.CHALLENGE_OWNER.value,
    Role.PROCUREMENT_OFFICER.value,
)
DESCRIPTION_MAX = 200
TEXT_MAX = 5000


# Small helpers ---------------------------------------------------------------------------------

def _clean(text: str | None) -> str:
    return (text or "").strip()


def _check_length(text: str, field: str, what: str) -> None:
    if len(text) > TEXT_MAX:
        raise ValidationFailed(f"{what} must be {TEXT_MAX:,} characters or fewer", field=field)


def as_id(value: Any) -> int | None:
    """A form or URL value as an id, or None when it is not a whole number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _locked(stmt: Any) -> Any:
    """``select(Model)...`` as SELECT ... FOR UPDATE OF the model's table only (eagerly joined
    relations stay unlocked: PostgreSQL refuses to lock the nullable side of an outer join),
    with the rows reloaded from the database rather than the session's possibly stale
    copies."""
    model = stmt.column_descriptions[0]["entity"]
    return stmt.with_for_update(of=model).execution_options(populate_existing=True)


def _ended(challenge: Challenge) -> bool:
    return bool(challenge.withdrawn_at or challenge.cancelled_at)


def _decided(challenge: Challenge) -> bool:
    """An award decision or a 'no suitable supplier' decision has been made."""
    return bool(challenge.award_decided_at or challenge.no_suitable_supplier_at)


def _require_undecided(challenge: Challenge) -> None:
    if _ended(challenge):
        raise Conflict("This challenge has been withdrawn or cancelled")
    if _decided(challenge):
        raise Conflict("The decision on this challenge has been made, so the evaluation can "
                       "no longer change")


def _require_opened(challenge: Challenge) -> None:
    if challenge.evaluation_started_at is None:
        raise Conflict("The bids have not been opened yet")


# Permissions and lookups -----------------------------------------------------------------------

def is_lead(user: User | None, challenge: Challenge) -> bool:
    """A procurement officer of a sponsoring council: runs the evaluation."""
    return challenge_service.is_officer_for(user, challenge)


def active_assignment(user: User | None, challenge: Challenge) -> EvaluatorAssignment | None:
    """The user's active assignment as an evaluator of the challenge, if any (only while they
    are an active member of a sponsoring council)."""
    if not challenge_service.is_sponsor_member(user, challenge):
        return None
    assert user is not None
    return db.session.scalar(select(EvaluatorAssignment).where(
        EvaluatorAssignment.challenge_id == challenge.id,
        EvaluatorAssignment.user_id == user.id,
        EvaluatorAssignment.removed_at.is_(None)))


def score_descriptions(challenge: Challenge) -> list[str]:
    """What each score means for this challenge: index = score 0..4."""
    return list(challenge.score_descriptions or DEFAULT_SCORE_DESCRIPTIONS)


def weighted_total(challenge: Challenge, moderated: dict[int, int]) -> float | None:
    """The weighted total out of 100 from {criterion id: score}, or None unless every
    criterion has a score."""
    total = 0.0
    for criterion in challenge.criteria:
        score = moderated.get(criterion.id)
        if score is None:
            return None
        total += score / MAX_SCORE * criterion.weight
    return round(total, 2)


def evaluation_bids(challenge: Challenge) -> list[Bid]:
    """The bids under evaluation: submitted and not withdrawn, in the order received."""
    return list(db.session.scalars(
        select(Bid).where(Bid.challenge_id == challenge.id, Bid.submitted_at.is_not(None),
                          Bid.withdrawn_at.is_(None))
        .order_by(Bid.submitted_at, Bid.id)))


def _challenge(actor: User, challenge_id: int, *, lock: bool = False) -> Challenge:
    """A challenge of the actor's council (sponsors only), else NotFound."""
    stmt = select(Challenge).where(Challenge.id == challenge_id)
    challenge = db.session.scalar(_locked(stmt) if lock else stmt)
    if challenge is None or not challenge_service.is_sponsor_member(actor, challenge):
        raise NotFound("Challenge not found")
    return challenge


def require_lead(actor: User, challenge: Challenge, what: str) -> None:
    """Other councils: NotFound; sponsor members who are not procurement officers: refused."""
    if not challenge_service.is_sponsor_member(actor, challenge):
        raise NotFound("Challenge not found")
    if not is_lead(actor, challenge):
        raise PermissionDenied(f"Only the challenge's procurement officers can {what}")


def lead_challenge(actor: User, challenge_id: int, what: str, *, lock: bool = False
                   ) -> Challenge:
    """The challenge, for its lead (optionally locked for this transaction and reloaded)."""
    challenge = _challenge(actor, challenge_id, lock=lock)
    require_lead(actor, challenge, what)
    return challenge


def _bid(actor: User, bid_id: int) -> Bid:
    """A bid under evaluation on a challenge of the actor's council, else NotFound."""
    bid = db.session.get(Bid, bid_id)
    if (bid is None or not challenge_service.is_sponsor_member(actor, bid.challenge)
            or bid.submitted_at is None or bid.withdrawn_at is not None):
        raise NotFound("Bid not found")
    return bid


def lock_challenge(challenge: Challenge) -> Challenge:
    """The challenge row locked for this transaction and reloaded, so a decision made
    meanwhile in another transaction is seen."""
    locked = db.session.scalar(_locked(select(Challenge).where(Challenge.id == challenge.id)))
    assert locked is not None
    return locked


def _evaluator(actor: User, challenge: Challenge, *, lock: bool = False) -> EvaluatorAssignment:
    stmt = select(EvaluatorAssignment).where(
        EvaluatorAssignment.challenge_id == challenge.id,
        EvaluatorAssignment.user_id == actor.id,
        EvaluatorAssignment.removed_at.is_(None))
    assignment = db.session.scalar(_locked(stmt) if lock else stmt)
    if assignment is None:
        raise PermissionDenied("You are not an evaluator of this challenge")
    return assignment


def _sheet(assignment: EvaluatorAssignment, bid: Bid, *, lock: bool = False
           ) -> ScoreSheet | None:
    stmt = select(ScoreSheet).where(ScoreSheet.assignment_id == assignment.id,
                                    ScoreSheet.bid_id == bid.id)
    return db.session.scalar(_locked(stmt) if lock else stmt)


def _scoring_sheet(assignment: EvaluatorAssignment, bid: Bid, *, lock: bool = False
                   ) -> ScoreSheet:
    """The evaluator's sheet for a bid they declared no conflict on."""
    sheet = _sheet(assignment, bid, lock=lock)
    if sheet is None:
        raise Conflict("Declare any conflict of interest before you see this bid")
    if sheet.has_conflict:
        raise PermissionDenied("You declared a conflict of interest with this bid, so you "
                               "cannot see or score it")
    return sheet


def _submitted_version(bid: Bid) -> BidVersion:
    version = db.session.scalar(select(BidVersion).where(
        BidVersion.bid_id == bid.id, BidVersion.number == bid.submitted_version))
    assert version is not None, "a submitted bid has its submitted version"
    return version


def _audit(action: str, obj: Any, actor: User, challenge: Challenge, *,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    audit.record(action, obj, actor=actor, organisation=challenge.lead_council_id,
                 before=before, after=after)


# Opening the bids ------------------------------------------------------------------------------

@transactional
def open_bids(actor: User, challenge_id: int) -> Challenge:
    """Open the sealed bids after the deadline: the evaluation starts."""
    challenge = lead_challenge(actor, challenge_id, "open the bids", lock=True)
    if not challenge.is_published:
        raise Conflict("This challenge has not been published")
    if _ended(challenge):
        raise Conflict("This challenge has been withdrawn or cancelled")
    if challenge.evaluation_started_at is not None:
        raise Conflict("The bids have already been opened")
    now = utcnow()
    deadline = challenge.submission_deadline
    assert deadline is not None
    if now < deadline:
        from marketplace.templating import uk_datetime

        raise Conflict(f"Bids stay sealed until the submission deadline, "
                       f"{uk_datetime(deadline)} (UK time)")
    bids = evaluation_bids(challenge)
    challenge.evaluation_started_at = now
    for bid in bids:
        db.session.add(BidAssessment(bid_id=bid.id, challenge_id=challenge.id))
    _audit("evaluation.bids_opened", challenge, actor, challenge,
           before={"opened": False}, after={"opened": True, "bids": len(bids)})
    return challenge


# Evaluators ------------------------------------------------------------------------------------

def _eligible_query(challenge: Challenge) -> Any:
    return (select(User).join(UserRole)
            .where(User.organisation_id.in_(challenge.sponsor_ids),
                   User.suspended_at.is_(None), UserRole.role.in_(EVALUATOR_ROLES)))


def eligible_evaluators(actor: User, challenge_id: int) -> list[User]:
    """People the lead may assign: active members of a sponsoring council holding the
    evaluator, challenge owner or procurement officer role, not already assigned."""
    challenge = lead_challenge(actor, challenge_id, "assign evaluators")
    assigned = select(EvaluatorAssignment.user_id).where(
        EvaluatorAssignment.challenge_id == challenge.id,
        EvaluatorAssignment.removed_at.is_(None))
    return list(db.session.scalars(
        _eligible_query(challenge).where(User.id.not_in(assigned))
        .distinct().order_by(User.full_name, User.id)))


@transactional
def assign_evaluator(actor: User, challenge_id: int, user_id: int) -> EvaluatorAssignment:
    """Assign an eligible person as an evaluator and email them."""
    challenge = lead_challenge(actor, challenge_id, "assign evaluators", lock=True)
    if not challenge.is_published:
        raise Conflict("Evaluators can be assigned once the challenge is published")
    _require_undecided(challenge)
    uid = as_id(user_id)
    user = db.session.scalar(_eligible_query(challenge).where(User.id == uid).limit(1)) \
        if uid is not None else None
    if user is None:
        raise ValidationFailed("Choose an evaluator, challenge owner or procurement officer "
                               "of a sponsoring council", field="user_id")
    assignment = db.session.scalar(_locked(select(EvaluatorAssignment).where(
        EvaluatorAssignment.challenge_id == challenge.id,
        EvaluatorAssignment.user_id == user.id)))
    now = utcnow()
    if assignment is not None and assignment.removed_at is None:
        raise Conflict(f"{user.full_name} is already an evaluator of this challenge")
    if assignment is None:
        assignment = EvaluatorAssignment(challenge_id=challenge.id, user_id=user.id)
        db.session.add(assignment)
        before = None
    else:
        before = {"removed_at": assignment.removed_at.isoformat()}  # type: ignore[union-attr]
        assignment.removed_at = None
    assignment.assigned_by_id = actor.id
    assignment.assigned_at = now
    _audit("evaluation.evaluator_assigned", assignment, actor, challenge, before=before,
           after={"user_id": user.id, "email": user.email})
    queue_email(user.email, "evaluator_assigned", user=user, challenge=challenge,
                assigned_by=actor, opened=challenge.evaluation_started_at is not None,
                closed=bool(challenge.submission_deadline
                            and now >= challenge.submission_deadline),
                link=absolute_url("evaluation.overview", challenge_id=challenge.id))
    return assignment


@transactional
def remove_evaluator(actor: User, challenge_id: int, user_id: int) -> None:
    """Remove an evaluator who has not submitted any sheet."""
    challenge = lead_challenge(actor, challenge_id, "remove evaluators", lock=True)
    _require_undecided(challenge)
    assignment = db.session.scalar(_locked(select(EvaluatorAssignment).where(
        EvaluatorAssignment.challenge_id == challenge.id,
        EvaluatorAssignment.user_id == as_id(user_id),
        EvaluatorAssignment.removed_at.is_(None))))
    if assignment is None:
        raise NotFound("Evaluator not found")
    submitted = db.session.scalar(select(func.count(ScoreSheet.id)).where(
        ScoreSheet.assignment_id == assignment.id, ScoreSheet.submitted_at.is_not(None)))
    if submitted:
        raise Conflict(f"{assignment.user.full_name} has submitted scores, so they cannot be "
                       "removed")
    assignment.removed_at = utcnow()
    _audit("evaluation.evaluator_removed", assignment, actor, challenge,
           before={"user_id": assignment.user_id, "active": True},
           after={"user_id": assignment.user_id, "active": False})


def _any_submitted(challenge: Challenge) -> bool:
    return bool(db.session.scalar(
        select(func.count(ScoreSheet.id)).join(EvaluatorAssignment)
        .where(EvaluatorAssignment.challenge_id == challenge.id,
               ScoreSheet.submitted_at.is_not(None))))


@transactional
def set_score_descriptions(actor: User, challenge_id: int, descriptions: list[str]
                           ) -> Challenge:
    """Set what each score 0..4 means, until the first sheet is submitted."""
    challenge = lead_challenge(actor, challenge_id, "set the score descriptions", lock=True)
    _require_undecided(challenge)
    if _any_submitted(challenge):
        raise Conflict("Scores have been submitted, so the score descriptions can no longer "
                       "change")
    cleaned = [_clean(d) for d in descriptions]
    if len(cleaned) != MAX_SCORE + 1:
        raise ValidationFailed(f"Describe each of the {MAX_SCORE + 1} scores, 0 to {MAX_SCORE}",
                               field="description-0")
    for score, text in enumerate(cleaned):
        if not text:
            raise ValidationFailed(f"Describe score {score}", field=f"description-{score}")
        if len(text) > DESCRIPTION_MAX:
            raise ValidationFailed(f"The description of score {score} must be "
                                   f"{DESCRIPTION_MAX} characters or fewer",
                                   field=f"description-{score}")
    before = score_descriptions(challenge)
    if cleaned == before:
        return challenge
    challenge.score_descriptions = cleaned
    _audit("evaluation.score_descriptions_changed", challenge, actor, challenge,
           before={"descriptions": before}, after={"descriptions": cleaned})
    return challenge


# Overview --------------------------------------------------------------------------------------

@dataclass
class SheetState:
    bid: Bid
    sheet: ScoreSheet | None
    state: str  # "declare", "conflict", "scoring" or "submitted"


def _state(sheet: ScoreSheet | None) -> str:
    if sheet is None:
        return "declare"
    if sheet.has_conflict:
        return "conflict"
    return "submitted" if sheet.submitted_at is not None else "scoring"


@dataclass
class EvaluatorProgress:
    assignment: EvaluatorAssignment
    submitted: int
    conflicts: int
    total: int


@dataclass
class Overview:
    challenge: Challenge
    is_lead: bool
    assignment: EvaluatorAssignment | None
    bids: list[Bid]
    assessments: dict[int, BidAssessment]  # by bid id (lead only, else {})
    evaluators: list[EvaluatorProgress]  # lead only, else []
    my_sheets: list[SheetState]  # [] unless an active evaluator
    moderated: dict[int, bool]  # bid id -> every criterion moderated (lead only)


def _active_assignments(challenge: Challenge) -> list[EvaluatorAssignment]:
    return list(db.session.scalars(
        select(EvaluatorAssignment).join(EvaluatorAssignment.user)
        .where(EvaluatorAssignment.challenge_id == challenge.id,
               EvaluatorAssignment.removed_at.is_(None))
        .order_by(User.full_name, EvaluatorAssignment.id)))


def _sheets_of(assignment: EvaluatorAssignment) -> dict[int, ScoreSheet]:
    return {s.bid_id: s for s in db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.assignment_id == assignment.id))}


def moderated_scores(bid_ids: list[int]) -> dict[int, dict[int, ModeratedScore]]:
    """{bid id: {criterion id: moderated score}} for each of ``bid_ids``."""
    found: dict[int, dict[int, ModeratedScore]] = {bid_id: {} for bid_id in bid_ids}
    if bid_ids:
        for row in db.session.scalars(
                select(ModeratedScore).where(ModeratedScore.bid_id.in_(bid_ids))):
            found[row.bid_id][row.criterion_id] = row
    return found


def _assessments(challenge: Challenge) -> dict[int, BidAssessment]:
    return {a.bid_id: a for a in db.session.scalars(
        select(BidAssessment).where(BidAssessment.challenge_id == challenge.id))}


def overview(actor: User, challenge_id: int) -> Overview:
    """The evaluation of a challenge as the actor may see it: everything for the lead, their
    own sheets for an evaluator."""
    challenge = _challenge(actor, challenge_id)
    lead = is_lead(actor, challenge)
    assignment = active_assignment(actor, challenge)
    if not lead and assignment is None:
        raise PermissionDenied("Only the challenge's procurement officers and evaluators can "
                               "see its evaluation")
    opened = challenge.evaluation_started_at is not None
    bids = evaluation_bids(challenge) if opened else []
    assessments: dict[int, BidAssessment] = {}
    progress: list[EvaluatorProgress] = []
    moderated: dict[int, bool] = {}
    if lead:
        assessments = _assessments(challenge) if opened else {}
        criteria = {c.id for c in challenge.criteria}
        scores = moderated_scores([b.id for b in bids])
        moderated = {bid.id: bool(criteria) and criteria <= set(scores[bid.id])
                     for bid in bids}
        bid_ids = {b.id for b in bids}
        for each in _active_assignments(challenge):
            sheets = [s for s in _sheets_of(each).values() if s.bid_id in bid_ids]
            progress.append(EvaluatorProgress(
                assignment=each,
                submitted=sum(1 for s in sheets if s.submitted_at is not None),
                conflicts=sum(1 for s in sheets if s.has_conflict),
                total=len(bids)))
    my_sheets: list[SheetState] = []
    if assignment is not None:
        mine = _sheets_of(assignment)
        my_sheets = [SheetState(bid, mine.get(bid.id), _state(mine.get(bid.id)))
                     for bid in bids]
    return Overview(challenge=challenge, is_lead=lead, assignment=assignment, bids=bids,
                    assessments=assessments, evaluators=progress, my_sheets=my_sheets,
                    moderated=moderated)


def my_evaluations(actor: User) -> list[tuple[Challenge, int]]:
    """Challenges with opened bids the actor evaluates and no decision yet, with how many of
    their sheets are still to declare or score, soonest deadline first."""
    if actor.organisation_id is None or not actor.is_active:
        return []
    challenges = db.session.scalars(
        select(Challenge).join(EvaluatorAssignment,
                               EvaluatorAssignment.challenge_id == Challenge.id)
        .where(EvaluatorAssignment.user_id == actor.id,
               EvaluatorAssignment.removed_at.is_(None),
               Challenge.evaluation_started_at.is_not(None),
               Challenge.award_decided_at.is_(None),
               Challenge.no_suitable_supplier_at.is_(None),
               Challenge.withdrawn_at.is_(None), Challenge.cancelled_at.is_(None))
        .order_by(Challenge.submission_deadline, Challenge.id))
    found: list[tuple[Challenge, int]] = []
    for challenge in challenges:
        assignment = active_assignment(actor, challenge)
        if assignment is None:
            continue
        sheets = _sheets_of(assignment)
        to_do = sum(1 for bid in evaluation_bids(challenge)
                    if _state(sheets.get(bid.id)) in ("declare", "scoring"))
        found.append((challenge, to_do))
    return found


# Conflict declarations and scoring -------------------------------------------------------------

def _evaluator_bid(actor: User, bid_id: int, *, lock: bool = False
                   ) -> tuple[Bid, Challenge, EvaluatorAssignment]:
    """A bid the actor evaluates, in an opened evaluation (the assignment locked on demand)."""
    bid = _bid(actor, bid_id)
    challenge = bid.challenge
    assignment = _evaluator(actor, challenge, lock=lock)
    _require_opened(challenge)
    return bid, challenge, assignment


@transactional
def declare_conflict(actor: User, bid_id: int, has_conflict: bool, details: str) -> ScoreSheet:
    """Declare whether the evaluator has a conflict of interest with a bid, before seeing it.

    A conflict, once declared, cannot be withdrawn; declaring one after saying there was
    none is allowed until the sheet is submitted.
    """
    bid, challenge, assignment = _evaluator_bid(actor, bid_id, lock=True)
    _require_undecided(challenge)
    details = _clean(details)
    if has_conflict and not details:
        raise ValidationFailed("Describe the conflict of interest", field="details")
    _check_length(details, "details", "The details")
    sheet = _sheet(assignment, bid, lock=True)
    now = utcnow()
    before: dict[str, Any] | None = None
    if sheet is None:
        sheet = ScoreSheet(assignment_id=assignment.id, bid_id=bid.id,
                           has_conflict=bool(has_conflict), conflict_details=details,
                           declared_at=now, updated_at=now, requirements={})
        db.session.add(sheet)
    else:
        if sheet.has_conflict and not has_conflict:
            raise Conflict("You declared a conflict of interest with this bid. It cannot be "
                           "withdrawn")
        if has_conflict and sheet.submitted_at is not None:
            raise Conflict("You have submitted your scores for this bid. Tell the "
                           "procurement officer about the conflict of interest")
        if bool(has_conflict) == sheet.has_conflict and details == sheet.conflict_details:
            return sheet
        before = {"bid_id": bid.id, "has_conflict": sheet.has_conflict,
                  "details": sheet.conflict_details}
        sheet.has_conflict = bool(has_conflict)
        sheet.conflict_details = details
        sheet.declared_at = now
        sheet.updated_at = now
    _audit("evaluation.conflict_declared", sheet, actor, challenge, before=before,
           after={"bid_id": bid.id, "has_conflict": bool(has_conflict), "details": details})
    return sheet


@dataclass
class ScoringView:
    challenge: Challenge
    bid: Bid
    version: BidVersion
    sheet: ScoreSheet
    descriptions: list[str]
    others: list[ScoreSheet]  # other evaluators' submitted sheets, once this one is submitted


def _submitted_sheets(bid: Bid) -> list[ScoreSheet]:
    return list(db.session.scalars(
        select(ScoreSheet).join(ScoreSheet.assignment).join(EvaluatorAssignment.user)
        .where(ScoreSheet.bid_id == bid.id, ScoreSheet.submitted_at.is_not(None))
        .order_by(User.full_name, ScoreSheet.id)))


@transactional
def open_for_scoring(actor: User, bid_id: int) -> ScoringView:
    """The submitted bid and the evaluator's sheet; each opening is audited."""
    bid, challenge, assignment = _evaluator_bid(actor, bid_id)
    sheet = _scoring_sheet(assignment, bid)
    version = _submitted_version(bid)
    others = ([s for s in _submitted_sheets(bid) if s.id != sheet.id]
              if sheet.submitted_at is not None else [])
    _audit("bid.opened", bid, actor, challenge,
           after={"version": version.number, "by": "evaluator"})
    return ScoringView(challenge=challenge, bid=bid, version=version, sheet=sheet,
                       descriptions=score_descriptions(challenge), others=others)


@dataclass
class ScoreInput:
    score: int | None
    comment: str


def _sheet_record(sheet: ScoreSheet) -> dict[str, Any]:
    """The content of a sheet for the audit trail."""
    return {
        "bid_id": sheet.bid_id,
        "scores": {str(s.criterion_id): s.score for s in sheet.scores},
        "comments": {str(s.criterion_id): s.comment for s in sheet.scores},
        "requirements": dict(sheet.requirements or {}),
        "note": sheet.requirements_note,
    }


def _sheet_problems(challenge: Challenge, sheet: ScoreSheet) -> list[tuple[str, str]]:
    """What stops a sheet being submitted, as (field, message) pairs."""
    found: list[tuple[str, str]] = []
    for criterion in challenge.criteria:
        score = sheet.score_for(criterion.id)
        if score is None:
            found.append((f"score-{criterion.id}", f"Score ‘{criterion.name}’"))
        elif not _clean(score.comment):
            found.append((f"comment-{criterion.id}",
                          f"Explain your score for ‘{criterion.name}’"))
    marked = sheet.requirements or {}
    for requirement in challenge.essential_requirements:
        if not isinstance(marked.get(str(requirement.id)), bool):
            found.append((f"requirement-{requirement.id}",
                          f"Say whether the bid meets ‘{requirement.text}’"))
    return found


@transactional
def save_scores(actor: User, bid_id: int, scores: dict[int, ScoreInput],
                requirements: dict[int, bool | None], note: str,
                reason: str | None = None) -> ScoreSheet:
    """Save scores, comments and requirement findings. A draft may be partial; revising a
    submitted sheet needs a complete sheet and a reason."""
    bid, challenge, assignment = _evaluator_bid(actor, bid_id, lock=True)
    _require_undecided(challenge)
    sheet = _scoring_sheet(assignment, bid, lock=True)
    criteria = {c.id: c for c in challenge.criteria}
    known_requirements = {r.id for r in challenge.requirements}
    parsed: dict[int, tuple[int | None, str]] = {}
    for key, given in scores.items():
        criterion = criteria.get(as_id(key))  # type: ignore[arg-type]
        if criterion is None:
            raise ValidationFailed("Score the published criteria only", field="scores")
        comment = _clean(given.comment)
        score = given.score
        if score is not None and (isinstance(score, bool) or not isinstance(score, int)
                                  or not 0 <= score <= MAX_SCORE):
            raise ValidationFailed(f"Choose a score from 0 to {MAX_SCORE} for "
                                   f"‘{criterion.name}’", field=f"score-{criterion.id}")
        if score is None and comment:
            raise ValidationFailed(f"Choose a score for ‘{criterion.name}’",
                                   field=f"score-{criterion.id}")
        if score is not None and not comment:
            raise ValidationFailed(f"Explain your score for ‘{criterion.name}’",
                                   field=f"comment-{criterion.id}")
        _check_length(comment, f"comment-{criterion.id}", "Your comment")
        parsed[criterion.id] = (score, comment)
    marks: dict[int, bool | None] = {}
    for key, met in requirements.items():
        requirement_id = as_id(key)
        if requirement_id not in known_requirements:
            raise ValidationFailed("Assess the published requirements only",
                                   field="requirements")
        marks[requirement_id] = met  # type: ignore[index]
    note = _clean(note)
    _check_length(note, "note", "The note")
    submitted = sheet.submitted_at is not None
    before = _sheet_record(sheet)
    now = utcnow()
    for criterion_id, (score, comment) in parsed.items():
        row = sheet.score_for(criterion_id)
        if score is None:
            if row is not None:
                sheet.scores.remove(row)
        elif row is None:
            sheet.scores.append(EvaluatorScore(criterion_id=criterion_id, score=score,
                                               comment=comment, updated_at=now))
        elif (row.score, row.comment) != (score, comment):
            row.score, row.comment, row.updated_at = score, comment, now
    found = dict(sheet.requirements or {})
    for requirement_id, met in marks.items():
        if met is None:
            found.pop(str(requirement_id), None)
        else:
            found[str(requirement_id)] = bool(met)
    sheet.requirements = found
    sheet.requirements_note = note
    after = _sheet_record(sheet)
    if after == before:
        return sheet
    sheet.updated_at = now
    if submitted:
        refuse_if_any(_sheet_problems(challenge, sheet))
        reason = _clean(reason)
        if not reason:
            raise ValidationFailed("Give the reason for changing your submitted scores",
                                   field="reason")
        _check_length(reason, "reason", "The reason")
        _audit("evaluation.scores_revised", sheet, actor, challenge, before=before,
               after={**after, "reason": reason})
    else:
        _audit("evaluation.scores_saved", sheet, actor, challenge,
               after={"bid_id": bid.id, "scores": after["scores"],
                      "requirements": after["requirements"]})
    return sheet


@transactional
def submit_sheet(actor: User, bid_id: int) -> ScoreSheet:
    """Submit a complete sheet: every criterion scored with a comment, every essential
    requirement marked met or not met."""
    bid = _bid(actor, bid_id)
    challenge = lock_challenge(bid.challenge)  # serialises with score scale changes
    assignment = _evaluator(actor, challenge, lock=True)
    _require_opened(challenge)
    _require_undecided(challenge)
    sheet = _scoring_sheet(assignment, bid, lock=True)
    if sheet.submitted_at is not None:
        raise Conflict("You have already submitted your scores for this bid")
    refuse_if_any(_sheet_problems(challenge, sheet))
    now = utcnow()
    sheet.submitted_at = now
    sheet.updated_at = now
    record = _sheet_record(sheet)
    _audit("evaluation.sheet_submitted", sheet, actor, challenge,
           before={"submitted": False},
           after={"submitted": True, "bid_id": bid.id, "scores": record["scores"],
                  "unmet_requirements": sheet.unmet_requirement_ids})
    return sheet


# Moderation ------------------------------------------------------------------------------------

@dataclass
class EvaluatorMark:
    assignment: EvaluatorAssignment
    score: EvaluatorScore


@dataclass
class CriterionModeration:
    criterion: EvaluationCriterion
    marks: list[EvaluatorMark]
    mean: float | None
    spread: int | None  # max - min of submitted scores; None when no marks
    moderated: ModeratedScore | None


@dataclass
class ModerationView:
    challenge: Challenge
    bid: Bid
    assessment: BidAssessment
    criteria: list[CriterionModeration]
    submitted: list[ScoreSheet]
    conflicted: list[ScoreSheet]
    pending: list[EvaluatorAssignment]  # active evaluators who have not submitted
    unmet: dict[int, list[EvaluatorAssignment]]  # essential requirement id -> who flagged it
    total: float | None
    needs_reason: bool  # the shortlist has been confirmed


def _require_own_scores_first(actor: User, challenge: Challenge, bid: Bid) -> None:
    """Independence: a lead who evaluates this bid moderates only after submitting."""
    assignment = active_assignment(actor, challenge)
    if assignment is None:
        return
    sheet = _sheet(assignment, bid)
    if sheet is None or (not sheet.has_conflict and sheet.submitted_at is None):
        raise PermissionDenied("Submit your own scores first")


def _lead_bid(actor: User, bid_id: int, what: str) -> tuple[Bid, Challenge]:
    bid = _bid(actor, bid_id)
    challenge = bid.challenge
    require_lead(actor, challenge, what)
    _require_opened(challenge)
    return bid, challenge


def _assessment(bid: Bid, *, lock: bool = False) -> BidAssessment:
    stmt = select(BidAssessment).where(BidAssessment.bid_id == bid.id)
    assessment = db.session.scalar(_locked(stmt) if lock else stmt)
    if assessment is None:
        raise NotFound("Bid not found")
    return assessment


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def moderation(actor: User, bid_id: int) -> ModerationView:
    """Every submitted score of a bid side by side, for the lead to agree moderated scores."""
    bid, challenge = _lead_bid(actor, bid_id, "moderate scores")
    _require_own_scores_first(actor, challenge, bid)
    sheets = list(db.session.scalars(
        select(ScoreSheet).join(ScoreSheet.assignment).join(EvaluatorAssignment.user)
        .where(ScoreSheet.bid_id == bid.id).order_by(User.full_name, ScoreSheet.id)))
    submitted = [s for s in sheets if s.submitted_at is not None]
    conflicted = [s for s in sheets if s.has_conflict]
    done = {s.assignment_id for s in submitted} | {s.assignment_id for s in conflicted}
    pending = [a for a in _active_assignments(challenge) if a.id not in done]
    moderated = moderated_scores([bid.id])[bid.id]
    criteria: list[CriterionModeration] = []
    for criterion in challenge.criteria:
        marks = [EvaluatorMark(s.assignment, score) for s in submitted
                 if (score := s.score_for(criterion.id)) is not None]
        values = [m.score.score for m in marks]
        criteria.append(CriterionModeration(
            criterion=criterion, marks=marks, mean=_mean(values),
            spread=max(values) - min(values) if values else None,
            moderated=moderated.get(criterion.id)))
    unmet: dict[int, list[EvaluatorAssignment]] = {}
    essential = {r.id for r in challenge.essential_requirements}
    for sheet in submitted:
        for requirement_id in sheet.unmet_requirement_ids:
            if requirement_id in essential:
                unmet.setdefault(requirement_id, []).append(sheet.assignment)
    return ModerationView(
        challenge=challenge, bid=bid, assessment=_assessment(bid), criteria=criteria,
        submitted=submitted, conflicted=conflicted, pending=pending, unmet=unmet,
        total=weighted_total(challenge, {cid: m.score for cid, m in moderated.items()}),
        needs_reason=challenge.shortlisted_at is not None)


@dataclass
class ModeratedInput:
    score: int
    rationale: str


@transactional
def moderate(actor: User, bid_id: int, moderated: dict[int, ModeratedInput],
             reason: str | None = None) -> list[ModeratedScore]:
    """Agree the moderated score and rationale (the bidder's feedback) of criteria of a bid.

    Once the shortlist is confirmed, changing a moderated score needs a reason.
    """
    bid, _ = _lead_bid(actor, bid_id, "moderate scores")
    challenge = lock_challenge(bid.challenge)
    _require_undecided(challenge)
    _require_own_scores_first(actor, challenge, bid)
    if not db.session.scalar(select(func.count(ScoreSheet.id)).where(
            ScoreSheet.bid_id == bid.id, ScoreSheet.submitted_at.is_not(None))):
        raise Conflict("No evaluator has submitted scores for this bid yet")
    criteria = {c.id: c for c in challenge.criteria}
    parsed: dict[int, tuple[int, str]] = {}
    for key, given in moderated.items():
        criterion = criteria.get(as_id(key))  # type: ignore[arg-type]
        if criterion is None:
            raise ValidationFailed("Moderate the published criteria only", field="scores")
        score = given.score
        if (score is None or isinstance(score, bool) or not isinstance(score, int)
                or not 0 <= score <= MAX_SCORE):
            raise ValidationFailed(f"Choose a score from 0 to {MAX_SCORE} for "
                                   f"‘{criterion.name}’", field=f"score-{criterion.id}")
        rationale = _clean(given.rationale)
        if not rationale:
            raise ValidationFailed(f"Give the rationale for the score of ‘{criterion.name}’",
                                   field=f"rationale-{criterion.id}")
        _check_length(rationale, f"rationale-{criterion.id}", "The rationale")
        parsed[criterion.id] = (score, rationale)
    existing = {m.criterion_id: m for m in db.session.scalars(_locked(
        select(ModeratedScore).where(ModeratedScore.bid_id == bid.id)))}
    changed = {cid: value for cid, value in parsed.items()
               if cid not in existing
               or (existing[cid].score, existing[cid].rationale) != value}
    reason = _clean(reason)
    if challenge.shortlisted_at is not None and any(cid in existing for cid in changed):
        if not reason:
            raise ValidationFailed("The shortlist has been confirmed. Give the reason for "
                                   "changing a moderated score", field="reason")
        _check_length(reason, "reason", "The reason")
    if changed:
        now = utcnow()
        before = {str(cid): existing[cid].score for cid in changed if cid in existing}
        for cid, (score, rationale) in changed.items():
            row = existing.get(cid)
            if row is None:
                row = ModeratedScore(bid_id=bid.id, criterion_id=cid, score=score,
                                     rationale=rationale)
                db.session.add(row)
                existing[cid] = row
            row.score, row.rationale = score, rationale
            row.moderated_by_id, row.moderated_at = actor.id, now
        after: dict[str, Any] = {str(cid): score for cid, (score, _) in changed.items()}
        if reason:
            after["reason"] = reason
        _audit("evaluation.moderated", bid, actor, challenge, before=before or None,
               after=after)
    db.session.flush()
    order = {c.id: c.position for c in challenge.criteria}
    return sorted(existing.values(), key=lambda m: (order.get(m.criterion_id, 0),
                                                    m.criterion_id))


@transactional
def exclude_bid(actor: User, bid_id: int, reason: str) -> BidAssessment:
    """Exclude a bid from the ranking (for example for an unmet essential requirement)."""
    bid, _ = _lead_bid(actor, bid_id, "exclude bids")
    challenge = lock_challenge(bid.challenge)
    _require_undecided(challenge)
    reason = _clean(reason)
    if not reason:
        raise ValidationFailed("Give the reason for excluding this bid", field="reason")
    _check_length(reason, "reason", "The reason")
    assessment = _assessment(bid, lock=True)
    if assessment.excluded:
        raise Conflict("This bid has already been excluded")
    if assessment.shortlisted:
        raise Conflict("This bid is on the shortlist. Remove it from the shortlist first")
    assessment.excluded_at = utcnow()
    assessment.excluded_by_id = actor.id
    assessment.exclusion_reason = reason
    _audit("evaluation.bid_excluded", bid, actor, challenge,
           before={"excluded": False}, after={"excluded": True, "reason": reason})
    return assessment


@transactional
def reinstate_bid(actor: User, bid_id: int, reason: str) -> BidAssessment:
    """Bring an excluded bid back into the ranking."""
    bid, _ = _lead_bid(actor, bid_id, "reinstate bids")
    challenge = lock_challenge(bid.challenge)
    _require_undecided(challenge)
    reason = _clean(reason)
    if not reason:
        raise ValidationFailed("Give the reason for reinstating this bid", field="reason")
    _check_length(reason, "reason", "The reason")
    assessment = _assessment(bid, lock=True)
    if not assessment.excluded:
        raise Conflict("This bid is not excluded")
    previous = assessment.exclusion_reason
    assessment.excluded_at = None
    assessment.excluded_by_id = None
    assessment.exclusion_reason = None
    _audit("evaluation.bid_reinstated", bid, actor, challenge,
           before={"excluded": True, "exclusion_reason": previous},
           after={"excluded": False, "reason": reason})
    return assessment


# Ranking ---------------------------------------------------------------------------------------

@dataclass
class RankedBid:
    bid: Bid
    assessment: BidAssessment
    moderated: dict[int, ModeratedScore]
    means: dict[int, float | None]  # criterion id -> mean of submitted evaluator scores
    total: float | None
    rank: int | None  # among complete, non-excluded bids (1 = best)
    match_score: float | None = None  # advisory matching score, comparison() only


def _means(challenge: Challenge, bid_ids: list[int]) -> dict[int, dict[int, float | None]]:
    values: dict[int, dict[int, list[int]]] = {b: {} for b in bid_ids}
    if bid_ids:
        rows = db.session.execute(
            select(ScoreSheet.bid_id, EvaluatorScore.criterion_id, EvaluatorScore.score)
            .join(EvaluatorScore.sheet)
            .where(ScoreSheet.bid_id.in_(bid_ids), ScoreSheet.submitted_at.is_not(None)))
        for bid_id, criterion_id, score in rows:
            values[bid_id].setdefault(criterion_id, []).append(score)
    return {b: {c.id: _mean(values[b].get(c.id, [])) for c in challenge.criteria}
            for b in bid_ids}


def _ranking(challenge: Challenge) -> list[RankedBid]:
    bids = evaluation_bids(challenge)
    ids = [b.id for b in bids]
    assessments = _assessments(challenge)
    moderated = moderated_scores(ids)
    means = _means(challenge, ids)
    rows: list[RankedBid] = []
    for bid in bids:
        assessment = assessments.get(bid.id)
        if assessment is None:  # not part of the evaluation opened
            continue
        scores = moderated[bid.id]
        total = weighted_total(challenge, {cid: m.score for cid, m in scores.items()})
        rows.append(RankedBid(bid=bid, assessment=assessment, moderated=scores,
                              means=means[bid.id], total=total, rank=None))

    def received(row: RankedBid) -> tuple[datetime, int]:
        return (row.bid.submitted_at or datetime.min, row.bid.id)

    complete = sorted((r for r in rows if not r.assessment.excluded and r.total is not None),
                      key=lambda r: (-(r.total or 0.0), *received(r)))
    incomplete = sorted((r for r in rows if not r.assessment.excluded and r.total is None),
                        key=received)
    excluded = sorted((r for r in rows if r.assessment.excluded), key=received)
    for position, row in enumerate(complete, start=1):
        previous = complete[position - 2] if position > 1 else None
        row.rank = previous.rank if previous is not None and previous.total == row.total \
            else position
    return complete + incomplete + excluded


def has_unsubmitted_sheets(actor: User, challenge: Challenge) -> bool:
    """True when the actor is an active evaluator of the opened bids and has not yet submitted
    (or declared a conflict for) every one of them: they must score independently first."""
    if challenge.evaluation_started_at is None:
        return False
    assignment = active_assignment(actor, challenge)
    if assignment is None:
        return False
    done = {s.bid_id for s in assignment.sheets if s.has_conflict or s.submitted_at}
    return any(bid.id not in done for bid in evaluation_bids(challenge))


def ranking(actor: User, challenge_id: int) -> list[RankedBid]:
    """Bids by moderated weighted total, best first (ties share a rank), then bids not fully
    moderated, then excluded bids. Empty until the bids are opened. A lead who is still
    scoring as an evaluator is refused: the ranking shows other evaluators' means."""
    challenge = lead_challenge(actor, challenge_id, "see the ranking")
    if challenge.evaluation_started_at is None:
        return []
    if has_unsubmitted_sheets(actor, challenge):
        raise PermissionDenied("Submit your own scores first")
    return _ranking(challenge)


def comparison(actor: User, challenge_id: int) -> list[RankedBid]:
    """The ranking, with each bidder's advisory matching score (how well their profile fits
    the challenge). The matching score never changes the order."""
    rows = ranking(actor, challenge_id)
    if not rows:
        return rows
    challenge = rows[0].bid.challenge
    supplier_ids = {str(r.bid.supplier_id) for r in rows}
    with matching.using_index() as index:
        listed = {sid for sid in supplier_ids if sid in index}
        matches = index.rank(matching.challenge_input(challenge), top=len(listed),
                             only=listed) if listed else []
    scores = {m.id: round(m.score, 1) for m in matches}
    for row in rows:
        sid = str(row.bid.supplier_id)
        row.match_score = scores.get(sid, 0.0) if sid in listed else None
    return rows
