"""Suggested suppliers for a challenge, and invitations to bid.

The lead council's challenge owners and procurement officers see the suppliers in the match
index that best fit their challenge, with the reasons, and may invite any listed supplier to
bid while the challenge is open. Suggestions say nothing about bids: whether a supplier has
started or submitted one is never shown or used.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import caching
from marketplace.extensions import db
from marketplace.matching import Match, Weights
from marketplace.models import (
    Challenge,
    ChallengeInvitation,
    ChallengeStatus,
    Organisation,
    Role,
    SupplierProfile,
    User,
    UserRole,
)
from marketplace.services import audit, matching
from marketplace.services import challenges as challenge_service
from marketplace.services import suppliers as supplier_service
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.suppliers import uk_today
from marketplace.services.uow import transactional

EDITORS = challenge_service.EDITORS
TOP = 20
MESSAGE_MAX = 2000
# Suggestions are for challenges that may still go ahead.
NO_SUGGESTIONS = {ChallengeStatus.WITHDRAWN, ChallengeStatus.CANCELLED}
SUPPLIER_RECIPIENT_ROLES = (Role.BIDDER.value, Role.ORG_ADMIN.value)


# Permissions -----------------------------------------------------------------------------------

def may_see_suggestions(user: User | None, challenge: Challenge) -> bool:
    """Challenge owners and procurement officers of the lead council."""
    return bool(challenge_service.is_sponsor_member(user, challenge)
                and user.organisation_id == challenge.lead_council_id  # type: ignore[union-attr]
                and user.has_role(*EDITORS))  # type: ignore[union-attr]


def _require_lead_editor(actor: User, challenge: Challenge) -> None:
    if not challenge_service.is_sponsor_member(actor, challenge):
        raise NotFound("Challenge not found")
    if actor.organisation_id != challenge.lead_council_id:
        raise PermissionDenied("Only the lead council can see suggested suppliers and invite "
                               "them to bid")
    if not actor.has_role(*EDITORS):
        raise PermissionDenied("You need the challenge owner or procurement officer role")


def shows_suggestions(challenge: Challenge) -> bool:
    return challenge.status not in NO_SUGGESTIONS


# Suggestions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SuggestionFilters:
    region: str | None = None
    size: str | None = None
    certification: str | None = None

    @property
    def used(self) -> bool:
        return bool(self.region or self.size or self.certification)


@dataclass
class Suggestion:
    supplier_id: int
    name: str
    match: Match
    invitation: ChallengeInvitation | None = None

    @property
    def score(self) -> int:
        return round(self.match.score)


@dataclass
class SuggestionPage:
    challenge: Challenge
    items: list[Suggestion]
    filters: SuggestionFilters
    weights: Weights
    considered: int  # how many suppliers were ranked (after the filters)
    can_invite: bool


def _certified_ids(filters: SuggestionFilters) -> set[str] | None:
    """Ids of the suppliers holding the certification filtered on, unexpired (None: no such
    filter), with the directory's own condition. Region and size are filtered inside the
    match index, which holds only listed suppliers and applies the directory's region rule
    (UK-wide suppliers work in every region)."""
    if not filters.certification:
        return None
    clauses = supplier_service.profile_filters(
        supplier_service.DirectoryParams(certification=filters.certification))
    return {str(i) for i in db.session.scalars(
        select(SupplierProfile.organisation_id).where(*clauses))}


def invitations_for(challenge_id: int, supplier_ids: list[int] | None = None
                    ) -> dict[int, ChallengeInvitation]:
    stmt = select(ChallengeInvitation).where(ChallengeInvitation.challenge_id == challenge_id)
    if supplier_ids is not None:
        stmt = stmt.where(ChallengeInvitation.supplier_id.in_(supplier_ids))
    return {i.supplier_id: i for i in db.session.scalars(stmt)}


def suggest_suppliers(actor: User, challenge_id: int, filters: SuggestionFilters | None = None,
                      weights: Weights | None = None, top: int = TOP) -> SuggestionPage:
    """The ``top`` listed suppliers that best fit the challenge, best first, with the score
    breakdown and explanation of each, and whether each was already invited."""
    challenge = challenge_service.get_challenge(challenge_id, actor)
    _require_lead_editor(actor, challenge)
    status = challenge.status
    if status in NO_SUGGESTIONS:
        raise Conflict(f"This challenge was {status.value}, so no suppliers are suggested")
    filters = filters or SuggestionFilters()
    weights = weights or Weights()
    considered, matches = _ranking(challenge, filters, weights, top)
    ids = [int(m.id) for m in matches]
    names = dict(db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all()
    ) if ids else {}
    invited = invitations_for(challenge.id, ids) if ids else {}
    items = [Suggestion(int(m.id), names.get(int(m.id), ""), m, invited.get(int(m.id)))
             for m in matches if int(m.id) in names]
    return SuggestionPage(challenge=challenge, items=items, filters=filters, weights=weights,
                          considered=considered, can_invite=status == ChallengeStatus.OPEN)


def _rank(challenge: Challenge, filters: SuggestionFilters, weights: Weights, top: int
          ) -> tuple[int, list[Match]]:
    """How many suppliers were considered and the best ``top`` of them."""
    only = _certified_ids(filters)
    regions = [filters.region] if filters.region else None
    sizes = [filters.size] if filters.size else None
    with matching.using_index() as index:
        considered = index.count(only=only, regions=regions, sizes=sizes)
        matches = index.rank(matching.challenge_input(challenge), top=top, weights=weights,
                             only=only, regions=regions, sizes=sizes) if considered else []
    return considered, matches


def _ranking(challenge: Challenge, filters: SuggestionFilters, weights: Weights, top: int
             ) -> tuple[int, list[Match]]:
    """:func:`_rank`, shared through the cache. The key holds everything the ranking reads:
    the challenge and when it last changed (and the challenges' cache version, which also
    moves when only its child rows change), the match index revision and vocabulary (every
    supplier profile change bumps the revision), the filters, weights and size, and the day
    (certifications expire). Invitations and names are not cached: they are read each time."""
    if not caching.enabled():
        return _rank(challenge, filters, weights, top)
    state = matching.read_state()
    key = "suggestions:" + caching.digest(
        caching.version(caching.SUPPLIERS), caching.version(caching.CHALLENGES),
        challenge.id, challenge.updated_at, state.revision, state.vocabulary_changed_at,
        filters, weights, top, uk_today())
    found = caching.get(key)
    if not caching.missing(found):
        return found  # type: ignore[no-any-return]
    considered, matches = _rank(challenge, filters, weights, top)
    process_index = matching._cache()  # noqa: SLF001 - the state this process's index has
    built = matching.IndexState(process_index.revision, process_index.vocabulary_changed_at)
    # Store only a ranking made by an index of exactly that state (not one still catching
    # up, or waiting for a rebuild with a new vocabulary).
    if built == state:
        caching.put(key, (considered, matches),
                    int(current_app.config.get("SUGGESTIONS_CACHE_SECONDS", 300)))
    return considered, matches


# Invitations -----------------------------------------------------------------------------------

def _recipients(supplier: Organisation) -> list[str]:
    """The supplier's bidders and organisation admins; for a supplier with nobody on the
    marketplace yet (an imported one), its published contact address."""
    emails = list(db.session.scalars(
        select(User.email).join(UserRole).where(
            User.organisation_id == supplier.id, UserRole.role.in_(SUPPLIER_RECIPIENT_ROLES),
            User.suspended_at.is_(None), User.email_verified_at.is_not(None))
        .distinct().order_by(User.email)))
    if not emails:
        profile = db.session.get(SupplierProfile, supplier.id)
        if profile is not None and profile.contact_email:
            emails = [profile.contact_email]
    return emails


@transactional
def invite_supplier(actor: User, challenge_id: int, supplier_id: int, message: str = ""
                    ) -> tuple[ChallengeInvitation, int]:
    """Invite a listed supplier to bid for an open challenge, once, with an optional
    message; its bidders and organisation admins get an email linking to the challenge.
    Returns the invitation and how many people were emailed."""
    challenge = challenge_service.get_challenge(challenge_id, actor, for_update=True)
    _require_lead_editor(actor, challenge)
    supplier = db.session.get(Organisation, supplier_id)
    if supplier is None or not supplier_service.is_listed(supplier):
        raise NotFound("Supplier not found")
    if challenge.status != ChallengeStatus.OPEN:
        raise Conflict("You can only invite suppliers to bid while the challenge is open")
    text = "\n".join(line.rstrip() for line in (message or "").strip().splitlines())
    if len(text) > MESSAGE_MAX:
        raise ValidationFailed(f"Your message must be {MESSAGE_MAX:,} characters or fewer",
                               field="message")
    existing = invitations_for(challenge.id, [supplier.id]).get(supplier.id)
    if existing is not None:
        raise Conflict(_already(supplier, existing))
    invitation = ChallengeInvitation(challenge_id=challenge.id, supplier_id=supplier.id,
                                     invited_by_id=actor.id, message=text)
    db.session.add(invitation)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a colleague invited them at the same moment
        raise Conflict(f"{supplier.name} has already been invited to bid") from exc
    recipients = _recipients(supplier)
    audit.record("challenge.supplier_invited", invitation, actor=actor,
                 organisation=challenge.lead_council_id,
                 after={"challenge_id": challenge.id, "supplier_id": supplier.id,
                        "supplier": supplier.name, "message": text,
                        "emailed": len(recipients)})
    link = absolute_url("challenges.detail", challenge_id=challenge.id)
    for email in recipients:
        queue_email(email, "challenge_invitation", challenge=challenge, supplier=supplier,
                    council=challenge.lead_council, inviter=actor, message=text, link=link)
    return invitation, len(recipients)


def _already(supplier: Organisation, invitation: ChallengeInvitation) -> str:
    from marketplace.templating import uk_date

    return f"{supplier.name} was already invited to bid on {uk_date(invitation.created_at)}"

