"""Challenge statements: drafting, approval, publication, amendment, withdrawal, cancellation,
reuse, clarification questions and following.

Every function checks the actor's role and organisation, runs in one transaction, writes an
audit event and queues the emails the change calls for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from marketplace import reference
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeAmendment,
    ChallengeCpv,
    ChallengeFollow,
    ChallengeOutcome,
    ChallengeRequirement,
    ChallengeSponsor,
    ChallengeStage,
    ChallengeStatus,
    ClarificationQuestion,
    EvaluationCriterion,
    Organisation,
    OrgKind,
    OrgStatus,
    QuestionStatus,
    RequirementKind,
    Role,
    User,
    UserRole,
    utcnow,
)
from marketplace.services import audit
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    refuse_if_any,
)
from marketplace.services.uow import transactional

EDITORS = (Role.CHALLENGE_OWNER.value, Role.PROCUREMENT_OFFICER.value)
OFFICER = Role.PROCUREMENT_OFFICER.value
SUPPLIER_ROLES = (Role.BIDDER.value, Role.ORG_ADMIN.value)


# Permissions ---------------------------------------------------------------------------------

def is_sponsor_member(user: User | None, challenge: Challenge) -> bool:
    """True for anyone in the lead or a co-sponsoring council."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.organisation_id in challenge.sponsor_ids
    )


def can_edit(user: User | None, challenge: Challenge) -> bool:
    return is_sponsor_member(user, challenge) and user.has_role(*EDITORS)  # type: ignore[union-attr]


def is_officer_for(user: User | None, challenge: Challenge) -> bool:
    return is_sponsor_member(user, challenge) and user.has_role(OFFICER)  # type: ignore[union-attr]


def _require_council_editor(actor: User) -> Organisation:
    org = actor.organisation
    if org is None or org.kind != OrgKind.COUNCIL or not actor.is_active:
        raise PermissionDenied("Only council staff can write challenges")
    if not actor.has_role(*EDITORS):
        raise PermissionDenied("You need the challenge owner or procurement officer role")
    return org


def _require_editor(actor: User, challenge: Challenge) -> None:
    if not is_sponsor_member(actor, challenge):
        raise NotFound("Challenge not found")
    if not actor.has_role(*EDITORS):
        raise PermissionDenied("You need the challenge owner or procurement officer role")


def _require_officer(actor: User, challenge: Challenge, what: str) -> None:
    if not is_sponsor_member(actor, challenge):
        raise NotFound("Challenge not found")
    if not actor.has_role(OFFICER):
        raise PermissionDenied(f"Only a procurement officer can {what}")


def visible_to(user: User | None, challenge: Challenge) -> bool:
    """Published challenges are public; unpublished ones only to their councils."""
    return challenge.is_published or is_sponsor_member(user, challenge)


def get_challenge(challenge_id: int, user: User | None = None, *, for_update: bool = False
                  ) -> Challenge:
    """A challenge the user may see, or NotFound (drafts of other councils do not 'exist')."""
    if for_update:
        challenge = db.session.scalar(
            select(Challenge).where(Challenge.id == challenge_id).with_for_update())
    else:
        # From the session when this request already loaded it (views and the services they
        # call each look the challenge up): no second load of the row and its child rows.
        challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or not visible_to(user, challenge):
        raise NotFound("Challenge not found")
    return challenge


# Snapshots and indexing ------------------------------------------------------------------------

SCALAR_FIELDS = ("title", "summary", "problem", "background", "affected", "success", "region",
                 "budget_min", "budget_max", "sme_suitable", "shortlist_size")
DATE_FIELDS = ("clarification_deadline", "submission_deadline", "expected_award_date")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def snapshot(challenge: Challenge) -> dict[str, Any]:
    """Everything publishable about a challenge, as JSON-ready data (for audit and amendments)."""
    data: dict[str, Any] = {name: getattr(challenge, name) for name in SCALAR_FIELDS}
    data.update({name: _iso(getattr(challenge, name)) for name in DATE_FIELDS})
    data["capabilities"] = list(challenge.capabilities or [])
    data["cpv_codes"] = challenge.cpv_codes
    data["co_sponsors"] = sorted(s.organisation_id for s in challenge.sponsors)
    data["outcomes"] = [{"description": o.description, "measure": o.measure}
                        for o in challenge.outcomes]
    data["essential_requirements"] = [r.text for r in challenge.essential_requirements]
    data["nice_to_haves"] = [r.text for r in challenge.nice_to_haves]
    data["stages"] = [{"name": s.name, "duration": s.duration,
                       "funding_per_supplier": s.funding_per_supplier,
                       "max_suppliers": s.max_suppliers} for s in challenge.stages]
    data["criteria"] = [{"name": c.name, "description": c.description, "weight": c.weight,
                         "word_limit": c.word_limit} for c in challenge.criteria]
    return data


def state(challenge: Challenge) -> dict[str, Any]:
    return {"status": challenge.status.value}


def index_text(challenge: Challenge) -> str:
    """The lower-cased text the public search matches against."""
    cpv = reference.load_cpv()
    parts = [challenge.title, challenge.summary, challenge.problem, challenge.background,
             challenge.affected, challenge.success, " ".join(challenge.capabilities or []),
             " ".join(o.description for o in challenge.outcomes),
             challenge.lead_council.name if challenge.lead_council else "",
             " ".join(s.organisation.name for s in challenge.sponsors),
             " ".join(cpv[c].label for c in challenge.cpv_codes if c in cpv),
             challenge.region or ""]
    return " ".join(" ".join(p.split()) for p in parts if p).lower()


# Editing -------------------------------------------------------------------------------------

@dataclass
class OutcomeInput:
    description: str
    measure: str | None = None


@dataclass
class StageInput:
    name: str
    duration: str | None = None
    funding_per_supplier: int | None = None
    max_suppliers: int | None = None


@dataclass
class CriterionInput:
    name: str
    weight: int
    description: str | None = None
    word_limit: int = 500


@dataclass
class ChallengeChanges:
    """Fields to change; ``None`` leaves a field alone. Lists replace the whole list."""

    title: str | None = None
    summary: str | None = None
    problem: str | None = None
    background: str | None = None
    affected: str | None = None
    success: str | None = None
    region: str | None = None
    budget_min: int | None = None
    budget_max: int | None = None
    set_budget: bool = False
    sme_suitable: bool | None = None
    shortlist_size: int | None = None
    capabilities: list[str] | None = None
    cpv_codes: list[str] | None = None
    co_sponsor_ids: list[int] | None = None
    outcomes: list[OutcomeInput] | None = None
    essential_requirements: list[str] | None = None
    nice_to_haves: list[str] | None = None
    stages: list[StageInput] | None = None
    criteria: list[CriterionInput] | None = None
    clarification_deadline: datetime | None = None
    submission_deadline: datetime | None = None
    expected_award_date: date | None = None
    set_dates: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _clean(text: str | None) -> str:
    return (text or "").strip()


def _validate_changes(changes: ChallengeChanges, challenge: Challenge) -> None:
    if changes.title is not None:
        if not _clean(changes.title):
            raise ValidationFailed("Enter a title", field="title")
        if len(changes.title) > 200:
            raise ValidationFailed("Title must be 200 characters or fewer", field="title")
    if changes.summary is not None and len(changes.summary) > 1000:
        raise ValidationFailed("Summary must be 1,000 characters or fewer", field="summary")
    if changes.region and reference.normalise_region(changes.region) is None:
        raise ValidationFailed("Select a region", field="region")
    if changes.set_budget:
        lo, hi = changes.budget_min, changes.budget_max
        if (lo is not None and lo < 0) or (hi is not None and hi < 0):
            raise ValidationFailed("Budget cannot be negative", field="budget_min")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationFailed("Minimum budget must not be more than the maximum",
                                   field="budget_min")
    if changes.shortlist_size is not None and not 1 <= changes.shortlist_size <= 50:
        raise ValidationFailed("Suppliers to shortlist must be between 1 and 50",
                               field="shortlist_size")
    if changes.criteria is not None:
        for criterion in changes.criteria:
            if not _clean(criterion.name):
                raise ValidationFailed("Enter a name for every criterion", field="criteria")
            if not 1 <= criterion.weight <= 100:
                raise ValidationFailed("Each weight must be between 1 and 100", field="criteria")
            if not 50 <= criterion.word_limit <= 5000:
                raise ValidationFailed("Word limits must be between 50 and 5,000",
                                       field="criteria")
        total = sum(c.weight for c in changes.criteria)
        if changes.criteria and total != 100:
            raise ValidationFailed(f"Weights must total 100; they total {total}",
                                   field="criteria")
    if changes.stages is not None:
        for stage in changes.stages:
            if not _clean(stage.name):
                raise ValidationFailed("Enter a name for every stage", field="stages")
            if stage.funding_per_supplier is not None and stage.funding_per_supplier < 0:
                raise ValidationFailed("Funding cannot be negative", field="stages")
            if stage.max_suppliers is not None and stage.max_suppliers < 1:
                raise ValidationFailed("Number of suppliers must be 1 or more", field="stages")
    if changes.set_dates:
        _validate_dates(changes.clarification_deadline, changes.submission_deadline,
                        changes.expected_award_date)


def _validate_dates(clarification: datetime | None, deadline: datetime | None,
                    award: date | None) -> None:
    if clarification and deadline and clarification >= deadline:
        raise ValidationFailed(
            "The deadline for questions must be before the submission deadline",
            field="clarification_deadline")
    if award and deadline and award <= deadline.date():
        raise ValidationFailed("The expected award date must be after the submission deadline",
                               field="expected_award_date")


def _apply(challenge: Challenge, changes: ChallengeChanges) -> None:
    for name in ("title", "summary", "problem", "background", "affected", "success"):
        value = getattr(changes, name)
        if value is not None:
            setattr(challenge, name, value.strip())
    if changes.region is not None:
        challenge.region = reference.normalise_region(changes.region) if changes.region else None
    if changes.set_budget:
        challenge.budget_min, challenge.budget_max = changes.budget_min, changes.budget_max
    if changes.sme_suitable is not None:
        challenge.sme_suitable = changes.sme_suitable
    if changes.shortlist_size is not None:
        challenge.shortlist_size = changes.shortlist_size
    if changes.capabilities is not None:
        seen: dict[str, str] = {}
        for tag in changes.capabilities:
            tag = " ".join(tag.split())
            if tag and tag.lower() not in seen:
                seen[tag.lower()] = tag[:80]
        challenge.capabilities = list(seen.values())[:30]
    if changes.cpv_codes is not None:
        codes = []
        for raw in changes.cpv_codes:
            try:
                code = reference.parse_cpv(raw)
            except ValueError as exc:
                raise ValidationFailed(str(exc), field="cpv_codes") from exc
            if code not in codes:
                codes.append(code)
        challenge.cpv_rows = [ChallengeCpv(code=c) for c in codes]
    if changes.co_sponsor_ids is not None:
        ids = [i for i in dict.fromkeys(changes.co_sponsor_ids) if i != challenge.lead_council_id]
        councils = db.session.scalars(
            select(Organisation).where(Organisation.id.in_(ids),
                                       Organisation.kind == OrgKind.COUNCIL.value)
        ).all() if ids else []
        if len(councils) != len(ids):
            raise ValidationFailed("Select councils from the list", field="co_sponsor_ids")
        challenge.sponsors = [ChallengeSponsor(organisation_id=i) for i in ids]
    if changes.outcomes is not None:
        challenge.outcomes = [
            ChallengeOutcome(position=n, description=o.description.strip(),
                             measure=_clean(o.measure) or None)
            for n, o in enumerate(x for x in changes.outcomes if _clean(x.description))
        ]
    if changes.essential_requirements is not None or changes.nice_to_haves is not None:
        essential = changes.essential_requirements
        if essential is None:
            essential = [r.text for r in challenge.essential_requirements]
        nice = changes.nice_to_haves
        if nice is None:
            nice = [r.text for r in challenge.nice_to_haves]
        rows = [(RequirementKind.ESSENTIAL, t) for t in essential if _clean(t)]
        rows += [(RequirementKind.NICE_TO_HAVE, t) for t in nice if _clean(t)]
        # Update rows in place, matched by kind and text (then by order within the kind), so
        # their ids stay stable: bids refer to requirements by id.
        existing = list(challenge.requirements)
        kept: list[ChallengeRequirement] = []
        for n, (kind, text) in enumerate(rows):
            match = next((r for r in existing if r.kind == kind.value
                          and r.text == text.strip()), None) or next(
                (r for r in existing if r.kind == kind.value), None)
            if match is not None:
                existing.remove(match)
                match.position, match.text = n, text.strip()
                kept.append(match)
            else:
                kept.append(ChallengeRequirement(position=n, kind=kind.value, text=text.strip()))
        challenge.requirements = kept
    if changes.stages is not None:
        challenge.stages = [
            ChallengeStage(position=n, name=s.name.strip(), duration=_clean(s.duration) or None,
                           funding_per_supplier=s.funding_per_supplier,
                           max_suppliers=s.max_suppliers)
            for n, s in enumerate(changes.stages)
        ]
    if changes.criteria is not None:
        # Update criteria in place by position so their ids stay stable: bid answers and
        # (later) scores refer to criteria by id.
        current = list(challenge.criteria)
        updated: list[EvaluationCriterion] = []
        for n, c in enumerate(changes.criteria):
            row = current[n] if n < len(current) else EvaluationCriterion()
            row.position, row.name = n, c.name.strip()
            row.description = _clean(c.description) or None
            row.weight, row.word_limit = c.weight, c.word_limit
            updated.append(row)
        challenge.criteria = updated
    if changes.set_dates:
        challenge.clarification_deadline = changes.clarification_deadline
        challenge.submission_deadline = changes.submission_deadline
        challenge.expected_award_date = changes.expected_award_date


def _reindex(challenge: Challenge) -> None:
    db.session.flush()
    db.session.refresh(challenge)
    challenge.search_text = index_text(challenge)
    challenge.updated_at = utcnow()


@transactional
def create_draft(actor: User, title: str, changes: ChallengeChanges | None = None
                 ) -> Challenge:
    """Start a new draft owned by the actor's council, optionally filled in with ``changes``
    (all in one transaction: a refused change leaves no draft behind)."""
    org = _require_council_editor(actor)
    stub = Challenge(lead_council_id=org.id, title="")
    _validate_changes(ChallengeChanges(title=title), stub)
    challenge = Challenge(lead_council=org, created_by=actor, title=title.strip(),
                          capabilities=[])
    db.session.add(challenge)
    after: dict[str, Any] = {"title": challenge.title, "status": "draft"}
    if changes is not None:
        changes = replace(changes, title=None)
        db.session.flush()
        _validate_changes(changes, challenge)
        _apply(challenge, changes)
        after = {**snapshot(challenge), "status": "draft"}
    _reindex(challenge)
    audit.record("challenge.created", challenge, actor=actor, organisation=org, after=after)
    return challenge


UNPUBLISHED = {ChallengeStatus.DRAFT, ChallengeStatus.AWAITING_APPROVAL, ChallengeStatus.APPROVED}


@transactional
def update_draft(actor: User, challenge_id: int, changes: ChallengeChanges) -> Challenge:
    """Save changes to an unpublished challenge. Changing an approved or submitted one sends
    it back to draft, so what is published is always what was approved."""
    challenge = get_challenge(challenge_id, actor, for_update=True)
    _require_editor(actor, challenge)
    status = challenge.status
    if status not in UNPUBLISHED:
        raise Conflict("This challenge is published: make an amendment instead"
                       if challenge.is_published
                       else f"This challenge is {status.value} and can no longer be changed")
    _validate_changes(changes, challenge)
    before = snapshot(challenge)
    _apply(challenge, changes)
    _reindex(challenge)
    after = snapshot(challenge)
    if before == after:
        return challenge
    if status != ChallengeStatus.DRAFT:
        challenge.submitted_at = challenge.submitted_by_id = None
        challenge.approved_at = challenge.approved_by_id = None
    audit.record("challenge.edited", challenge, actor=actor,
                 organisation=challenge.lead_council_id,
                 before=_diff(before, after)[0], after=_diff(before, after)[1])
    if status != ChallengeStatus.DRAFT:
        audit.record("challenge.returned_to_draft", challenge, actor=actor,
                     organisation=challenge.lead_council_id,
                     before={"status": status.value}, after={"status": "draft"})
    return challenge


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


# Readiness -----------------------------------------------------------------------------------

def min_tender_days() -> int:
    return int(current_app.config.get("CHALLENGE_MIN_DAYS", 10))


def problems(challenge: Challenge, now: datetime | None = None) -> list[tuple[str, str]]:
    """What stops a challenge being published now, as (field, message) pairs."""
    now = now or utcnow()
    found: list[tuple[str, str]] = []
    if not challenge.summary:
        found.append(("summary", "Write a one-paragraph summary"))
    if not challenge.problem:
        found.append(("problem", "Describe the problem"))
    if not challenge.outcomes:
        found.append(("outcomes", "Add at least one outcome you want"))
    if not challenge.essential_requirements:
        found.append(("requirements", "Add at least one essential requirement"))
    if not challenge.cpv_rows:
        found.append(("cpv_codes", "Choose at least one CPV code"))
    if not challenge.region:
        found.append(("region", "Choose the place of delivery"))
    if challenge.budget_max is None:
        found.append(("budget_max", "Enter the maximum budget"))
    if not challenge.criteria:
        found.append(("criteria", "Add the evaluation criteria"))
    elif challenge.total_weight != 100:
        found.append(("criteria", f"Criteria weights must total 100; they total "
                                  f"{challenge.total_weight}"))
    if not challenge.shortlist_size:
        found.append(("shortlist_size", "Enter how many suppliers you will shortlist"))
    deadline = challenge.submission_deadline
    if deadline is None:
        found.append(("submission_deadline", "Enter the submission deadline"))
    else:
        earliest = now + timedelta(days=min_tender_days())
        if deadline < earliest:
            found.append(("submission_deadline",
                          f"The submission deadline must be at least {min_tender_days()} days "
                          f"after publication"))
    if challenge.clarification_deadline is None:
        found.append(("clarification_deadline", "Enter the deadline for questions"))
    elif challenge.clarification_deadline <= now:
        found.append(("clarification_deadline", "The deadline for questions has already passed"))
    elif deadline and challenge.clarification_deadline >= deadline:
        found.append(("clarification_deadline",
                      "The deadline for questions must be before the submission deadline"))
    if challenge.expected_award_date is None:
        found.append(("expected_award_date", "Enter the expected award date"))
    elif deadline and challenge.expected_award_date <= deadline.date():
        found.append(("expected_award_date",
                      "The expected award date must be after the submission deadline"))
    return found


def _require_ready(challenge: Challenge) -> None:
    refuse_if_any(problems(challenge))


# Transitions ---------------------------------------------------------------------------------

def _officers(org_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole).where(
            User.organisation_id == org_id, UserRole.role == OFFICER,
            User.suspended_at.is_(None)).order_by(User.id)))


def _team(challenge: Challenge) -> list[User]:
    """Challenge owners and procurement officers of every sponsoring council."""
    return list(db.session.scalars(
        select(User).join(UserRole).where(
            User.organisation_id.in_(challenge.sponsor_ids), UserRole.role.in_(EDITORS),
            User.suspended_at.is_(None)).distinct().order_by(User.id)))


def followers(challenge: Challenge) -> list[User]:
    """People to tell about changes: those who follow the challenge, and the bidders of every
    supplier that has started a bid for it."""
    from marketplace.models import Bid

    following = select(ChallengeFollow.user_id).where(
        ChallengeFollow.challenge_id == challenge.id)
    bidding = select(User.id).join(UserRole).join(
        Bid, Bid.supplier_id == User.organisation_id).where(
        Bid.challenge_id == challenge.id, Bid.withdrawn_at.is_(None),
        UserRole.role.in_((Role.BIDDER.value, Role.ORG_ADMIN.value)))
    return list(db.session.scalars(
        select(User).where(User.suspended_at.is_(None),
                           User.id.in_(following.union(bidding)))
        .order_by(User.id)))


def _tell(users: list[User], template: str, challenge: Challenge, **context: Any) -> None:
    link = absolute_url("challenges.detail", challenge_id=challenge.id)
    for person in {u.id: u for u in users}.values():
        queue_email(person.email, template, user=person, challenge=challenge, link=link,
                    **context)


def _transition(challenge: Challenge, actor: User, action: str, before: ChallengeStatus,
                **extra: Any) -> None:
    audit.record(f"challenge.{action}", challenge, actor=actor,
                 organisation=challenge.lead_council_id,
                 before={"status": before.value}, after={"status": challenge.status.value,
                                                         **extra})


@transactional
def submit_for_approval(actor: User, challenge_id: int) -> Challenge:
    """A challenge owner asks a procurement officer to approve the draft."""
    challenge = get_challenge(challenge_id, actor, for_update=True)
    _require_editor(actor, challenge)
    before = challenge.status
    if before != ChallengeStatus.DRAFT:
        raise Conflict("Only a draft can be sent for approval")
    _require_ready(challenge)
    challenge.submitted_at = utcnow()
    challenge.submitted_by_id = actor.id
    _transition(challenge, actor, "submitted_for_approval", before)
    officers = [u for u in _officers(challenge.lead_council_id) if u.id != actor.id]
    _tell(officers, "challenge_needs_approval", challenge, submitter=actor,
          review=absolute_url("council.challenge", challenge_id=challenge.id))
    return challenge


@transactional
def approve(actor: User, challenge_id: int) -> Challenge:
    """A procurement officer of the lead council approves a submitted draft (not their own)."""
    challenge = get_challenge(challenge_id, actor, for_update=True)
    _require_officer(actor, challenge, "approve a challenge")
    if actor.organisation_id != challenge.lead_council_id:
        raise PermissionDenied("Only a procurement officer of the lead council can approve")
    before = challenge.status
    if before != ChallengeStatus.AWAITING_APPROVAL:
        raise Conflict("Only a challenge sent for approval can be approved")
    if challenge.submitted_by_id == actor.id:
        raise PermissionDenied("Another procurement officer must approve what you submitted")
    _require_ready(challenge)
    challenge.approved_at = utcnow()
    challenge.approved_by_id = actor.id
    _transition(challenge, actor, "approved", before)
    submitter = db.session.get(User, challenge.submitted_by_id) if challenge.submitted_by_id \
        else None
    _tell([submitter] if submitter else [], "challenge_approved", challenge, approver=actor)
    return challenge


@transactional
def return_to_draft(actor: User, challenge_id: int, reason: str) -> Challenge:
    """A procurement officer sends a submitted draft back with comments."""
    challenge = get_challenge(challenge_id, actor, for_update=True)
    _require_officer(actor, challenge, "return a challenge for changes")
    if actor.organisation_id != challenge.lead_council_id:
        raise PermissionDenied("Only a procurement officer of the lead council can return it")
    before = challenge.status
    if before not in {ChallengeStatus.AWAITING_APPROVAL, ChallengeStatus.APPROVED}:
        raise Conflict("Only a challenge awaiting approval or approved can be returned")
    if not _clean(reason):
        raise ValidationFailed("Enter what needs to change", field="reason")
    submitter = db.session.get(User, challenge.submitted_by_id) if challenge.submitted_by_id \
        else None
    challenge.submitted_at = challenge.submitted_by_id = None
    challenge.approved_at = challenge.approved_by_id = None
    _transition(challenge, actor, "returned_to_draft", before, reason=reason.strip())
    _tell([submitter] if submitter else [], "challenge_returned", challenge, officer=actor,
          reason=reason.strip())
    return challenge


@transactional
def publish(actor: User, challenge_id: int) -> Challenge:
    """Publish an approved challenge (a procurement officer's own draft counts as approved)."""
    challenge = get_challenge(challenge_id, actor, for_update=True)
    _require_officer(actor, challenge, "publish a challenge")
    if actor.organisation_id != challenge.lead_council_id:
        raise PermissionDenied("Only a procurement officer of the lead council can publish")
    before = challenge.status
    if before not in UNPUBLISHED:
        raise Conflict("This challenge has already been published" if challenge.is_published
                       else f"This challenge is {before.value} and cannot be published")
    if before == ChallengeStatus.AWAITING_APPROVAL and challenge.submitted_by_id == actor.id:
        raise PermissionDenied("Another procurement officer must approve what you submitted")
    if challenge.lead_council.status != OrgStatus.VERIFIED:
        raise PermissionDenied(
            "Your council must be verified by the marketplace team before it can publish")
    _require_ready(challenge)
    now = utcnow()
    if challenge.approved_at is None:
        challenge.approved_at, challenge.approved_by_id = now, actor.id
    challenge.published_at = now
    _reindex(challenge)
    _transition(challenge, actor, "published", before, published=snapshot(challenge))
    _tell([u for u in _team(challenge) if u.id != actor.id], "challenge_published", challenge,
          publisher=actor)
    return challenge


@transactional
def amend(actor: User, challenge_id: int, changes: ChallengeChanges, summary: str
          ) -> ChallengeAmendment:
    """Change a published challenge before its deadline, with a public amendment notice."""
    challenge = get_challenge(challenge_id, actor, for_update=True)
    _require_editor(actor, challenge)
    before_status = challenge.status
    if before_status != ChallengeStatus.OPEN:
        raise Conflict("Only an open challenge can be amended (the deadline may have passed)")
    if not _clean(summary):
        raise ValidationFailed("Describe the amendment for suppliers", field="summary_of_change")
    _validate_changes(changes, challenge)
    before = snapshot(challenge)
    _apply(challenge, changes)
    now = utcnow()
    if changes.set_dates:
        if challenge.submission_deadline is None or challenge.submission_deadline <= now:
            raise ValidationFailed("The new submission deadline must be in the future",
                                   field="submission_deadline")
        if (challenge.clarification_deadline is None
                or challenge.clarification_deadline >= challenge.submission_deadline):
            raise ValidationFailed(
                "The deadline for questions must be before the submission deadline",
                field="clarification_deadline")
    if challenge.criteria and challenge.total_weight != 100:
        raise ValidationFailed("Criteria weights must total 100", field="criteria")
    # A published challenge stays complete: an amendment may not take out a required part
    # (the date rules of publication itself do not apply once it is open).
    missing = [(f, m) for f, m in problems(challenge, now) if f not in DATE_FIELDS]
    if missing:
        raise ValidationFailed(missing[0][1], field=missing[0][0])
    _reindex(challenge)
    old, new = _diff(before, snapshot(challenge))
    if not new:
        raise ValidationFailed("Nothing was changed", field="summary_of_change")
    amendment = ChallengeAmendment(challenge=challenge, author_id=actor.id,
                                   summary=summary.strip(), changes={"before": old, "after": new})
    db.session.add(amendment)
    db.session.flush()
    audit.record("challenge.amended", challenge, actor=actor,
                 organisation=challenge.lead_council_id, before=old,
                 after={**new, "amendment_id": amendment.id, "summary": summary.strip()})
    _tell(followers(challenge), "challenge_amended", challenge, amendment=amendment)
    return amendment


def _end(actor: User, challenge_id: int, reason: str, *, action: str,
         allowed: set[ChallengeStatus], column: str) -> Challenge:
    challenge = get_challenge(challenge_id, actor, for_update=True)
    _require_officer(actor, challenge, f"{action} a challenge")
    if actor.organisation_id != challenge.lead_council_id:
        # Like approval and publication, ending a challenge is the lead council's decision.
        raise PermissionDenied(f"Only a procurement officer of the lead council can {action} "
                               "this challenge")
    before = challenge.status
    if before not in allowed:
        raise Conflict(f"A challenge that is {before.value.replace('_', ' ')} cannot be "
                       f"{'withdrawn' if action == 'withdraw' else 'cancelled'}")
    if not _clean(reason):
        raise ValidationFailed("Enter the reason, which will be published", field="reason")
    setattr(challenge, column, utcnow())
    challenge.end_reason = reason.strip()
    challenge.updated_at = utcnow()
    _transition(challenge, actor, "withdrawn" if action == "withdraw" else "cancelled", before,
                reason=reason.strip())
    if before not in UNPUBLISHED:
        _tell([u for u in followers(challenge) + _team(challenge) if u.id != actor.id],
              f"challenge_{column[:-3]}", challenge, reason=reason.strip())
    return challenge


@transactional
def withdraw(actor: User, challenge_id: int, reason: str) -> Challenge:
    """Take an open challenge off the market before its deadline, with a public reason."""
    return _end(actor, challenge_id, reason, action="withdraw",
                allowed={ChallengeStatus.OPEN}, column="withdrawn_at")


@transactional
def cancel(actor: User, challenge_id: int, reason: str) -> Challenge:
    """Cancel any challenge that has not been awarded or ended, with a public reason."""
    return _end(actor, challenge_id, reason, action="cancel",
                allowed=UNPUBLISHED | {ChallengeStatus.OPEN, ChallengeStatus.CLOSED,
                                       ChallengeStatus.EVALUATION},
                column="cancelled_at")


@transactional
def copy_challenge(actor: User, source_id: int) -> Challenge:
    """Reuse a published challenge (from any council) as a new draft of the actor's council."""
    org = _require_council_editor(actor)
    source = get_challenge(source_id, actor)
    if not source.is_published and not is_sponsor_member(actor, source):
        raise NotFound("Challenge not found")
    copy = Challenge(lead_council=org, created_by=actor, copied_from_id=source.id,
                     title=source.title, summary=source.summary, problem=source.problem,
                     background=source.background, affected=source.affected,
                     success=source.success, capabilities=list(source.capabilities or []),
                     region=source.region, budget_min=source.budget_min,
                     budget_max=source.budget_max, sme_suitable=source.sme_suitable,
                     shortlist_size=source.shortlist_size)
    copy.outcomes = [ChallengeOutcome(position=o.position, description=o.description,
                                      measure=o.measure) for o in source.outcomes]
    copy.requirements = [ChallengeRequirement(position=r.position, kind=r.kind, text=r.text)
                         for r in source.requirements]
    copy.stages = [ChallengeStage(position=s.position, name=s.name, duration=s.duration,
                                  funding_per_supplier=s.funding_per_supplier,
                                  max_suppliers=s.max_suppliers) for s in source.stages]
    copy.criteria = [EvaluationCriterion(position=c.position, name=c.name,
                                         description=c.description, weight=c.weight,
                                         word_limit=c.word_limit) for c in source.criteria]
    copy.cpv_rows = [ChallengeCpv(code=c) for c in source.cpv_codes]
    db.session.add(copy)
    _reindex(copy)
    audit.record("challenge.copied", copy, actor=actor, organisation=org,
                 after={"copied_from": source.id, "title": copy.title})
    return copy


def reuse_count(challenge: Challenge) -> int:
    return db.session.scalar(
        select(func.count(Challenge.id)).where(Challenge.copied_from_id == challenge.id)) or 0


# Clarification questions -------------------------------------------------------------------

def questions_open(challenge: Challenge, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (challenge.status_at(now) == ChallengeStatus.OPEN
            and challenge.clarification_deadline is not None
            and now < challenge.clarification_deadline)


@transactional
def ask_question(actor: User, challenge_id: int, text: str) -> ClarificationQuestion:
    """A supplier asks a clarification question before the question deadline."""
    challenge = get_challenge(challenge_id, actor, for_update=True)
    org = actor.organisation
    if org is None or org.kind != OrgKind.SUPPLIER or not actor.has_role(*SUPPLIER_ROLES):
        raise PermissionDenied("Only suppliers can ask clarification questions")
    text = _clean(text)
    if not text:
        raise ValidationFailed("Enter your question", field="question")
    if len(text) > 2000:
        raise ValidationFailed("Question must be 2,000 characters or fewer", field="question")
    if not questions_open(challenge):
        when = challenge.clarification_deadline
        raise Conflict("Questions for this challenge closed"
                       + (f" on {_uk(when)}" if when else ""), field="question")
    question = ClarificationQuestion(challenge=challenge, asked_by_id=actor.id,
                                     supplier_id=org.id, question=text)
    db.session.add(question)
    db.session.flush()
    audit.record("question.asked", question, actor=actor, organisation=org,
                 after={"challenge_id": challenge.id, "question": text})
    _tell(_team(challenge), "question_asked", challenge, question=question,
          review=absolute_url("council.questions", challenge_id=challenge.id))
    return question


def _uk(value: datetime) -> str:
    from marketplace.templating import uk_datetime

    return uk_datetime(value)


def _council_question(actor: User, question_id: int) -> ClarificationQuestion:
    question = db.session.scalar(
        select(ClarificationQuestion).where(ClarificationQuestion.id == question_id)
        .with_for_update())
    if question is None or not is_sponsor_member(actor, question.challenge):
        raise NotFound("Question not found")
    _require_editor(actor, question.challenge)
    if question.status != QuestionStatus.PENDING:
        raise Conflict("This question has already been dealt with")
    return question


@transactional
def answer_question(actor: User, question_id: int, answer: str,
                    published_question: str | None = None) -> ClarificationQuestion:
    """Publish a question (optionally reworded to remove identifying details) and its answer
    to everyone, without naming the asker."""
    question = _council_question(actor, question_id)
    answer = _clean(answer)
    if not answer:
        raise ValidationFailed("Enter the answer", field="answer")
    question.published_question = _clean(published_question) or question.question
    question.answer = answer
    question.status = QuestionStatus.PUBLISHED.value
    question.answered_at = utcnow()
    question.answered_by_id = actor.id
    challenge = question.challenge
    challenge.updated_at = utcnow()
    audit.record("question.answered", question, actor=actor,
                 organisation=challenge.lead_council_id,
                 before={"status": "pending"},
                 after={"status": "published", "question": question.published_question,
                        "answer": answer})
    asker = question.asked_by
    _tell(followers(challenge) + ([asker] if asker else []), "question_answered", challenge,
          question=question)
    return question


@transactional
def reject_question(actor: User, question_id: int, reason: str) -> ClarificationQuestion:
    """Decline a question as out of scope; the reason goes only to the asker."""
    question = _council_question(actor, question_id)
    reason = _clean(reason)
    if not reason:
        raise ValidationFailed("Enter the reason for the supplier", field="reason")
    question.status = QuestionStatus.REJECTED.value
    question.rejection_reason = reason
    question.answered_at = utcnow()
    question.answered_by_id = actor.id
    audit.record("question.rejected", question, actor=actor,
                 organisation=question.challenge.lead_council_id,
                 before={"status": "pending"}, after={"status": "rejected", "reason": reason})
    if question.asked_by:
        _tell([question.asked_by], "question_rejected", question.challenge, question=question)
    return question


def published_questions(challenge: Challenge) -> list[ClarificationQuestion]:
    return list(db.session.scalars(
        select(ClarificationQuestion).where(
            ClarificationQuestion.challenge_id == challenge.id,
            ClarificationQuestion.status == QuestionStatus.PUBLISHED.value)
        .order_by(ClarificationQuestion.answered_at)))


def questions_for_supplier(actor: User, challenge: Challenge) -> list[ClarificationQuestion]:
    """The actor's organisation's own questions on a challenge, in every state."""
    if actor.organisation_id is None:
        return []
    return list(db.session.scalars(
        select(ClarificationQuestion).where(
            ClarificationQuestion.challenge_id == challenge.id,
            ClarificationQuestion.supplier_id == actor.organisation_id)
        .order_by(ClarificationQuestion.asked_at)))


def questions_for_council(actor: User, challenge: Challenge) -> list[ClarificationQuestion]:
    """Every question on the challenge, for its councils (asker's company included)."""
    if not is_sponsor_member(actor, challenge):
        raise NotFound("Challenge not found")
    return list(db.session.scalars(
        select(ClarificationQuestion).where(ClarificationQuestion.challenge_id == challenge.id)
        .order_by(ClarificationQuestion.status != QuestionStatus.PENDING.value,
                  ClarificationQuestion.asked_at)))


# Following -----------------------------------------------------------------------------------

def is_following(user: User | None, challenge: Challenge) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(ChallengeFollow, (challenge.id, user.id)) is not None


@transactional
def follow(actor: User, challenge_id: int) -> None:
    """Get emails about amendments, answers and withdrawal of a published challenge."""
    challenge = get_challenge(challenge_id, actor)
    if not challenge.is_published:
        raise Conflict("You can only follow a published challenge")
    if db.session.get(ChallengeFollow, (challenge.id, actor.id)) is None:
        db.session.add(ChallengeFollow(challenge_id=challenge.id, user_id=actor.id))
        audit.record("challenge.followed", challenge, actor=actor)


@transactional
def unfollow(actor: User, challenge_id: int) -> None:
    challenge = get_challenge(challenge_id, actor)
    row = db.session.get(ChallengeFollow, (challenge.id, actor.id))
    if row is not None:
        db.session.delete(row)
        audit.record("challenge.unfollowed", challenge, actor=actor)
