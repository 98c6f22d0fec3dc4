"""Team management by organisation admins: invitations, join requests, roles, removal."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from marketplace import security
from marketplace.extensions import db
from marketplace.models import (
    Invitation,
    JoinRequest,
    JoinStatus,
    Organisation,
    OrgKind,
    Role,
    User,
    UserRole,
    utcnow,
)
from marketplace.services import audit, tokens
from marketplace.services.accounts import (
    DEFAULT_MEMBER_ROLES,
    check_password,
    is_public_sector_email,
    normalise_email,
    revoke_all_sessions,
    set_user_roles,
    snapshot,
    user_by_email,
)
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.uow import transactional


def _require_org_admin(actor: User) -> Organisation:
    if actor.organisation is None or not actor.is_org_admin or not actor.is_active:
        raise PermissionDenied("Only an organisation admin can manage the team")
    return actor.organisation


def _lock_organisation(actor: User) -> Organisation:
    """Serialise changes to one organisation's membership (row lock on PostgreSQL).

    The actor is checked again once the lock is held: a colleague may have taken away their
    admin role (or removed them) while they waited, and the copy loaded at the start of the
    request would not show it.
    """
    org = _require_org_admin(actor)
    locked = db.session.scalar(
        select(Organisation).where(Organisation.id == org.id).with_for_update()
    )
    assert locked is not None
    current = db.session.get(User, actor.id, populate_existing=True)
    if current is None or _require_org_admin(current).id != locked.id:
        raise PermissionDenied("Only an organisation admin can manage the team")
    return locked


def _member(actor_org: Organisation, member_id: int) -> User:
    member = db.session.get(User, member_id)
    if member is None or member.organisation_id != actor_org.id:
        raise NotFound("That person is not in your organisation")
    return member


def _clean_roles(org: Organisation, roles: list[str] | set[str], field: str = "roles") -> set[str]:
    allowed = {r.value for r in org.allowed_roles()}
    chosen = set(roles)
    if not chosen:
        raise ValidationFailed("Select at least one role", field=field)
    wrong = chosen - allowed
    if wrong:
        raise ValidationFailed(
            f"{', '.join(sorted(wrong))} is not a role in a {org.kind} organisation", field=field
        )
    return chosen


def _other_admin_count(org: Organisation, excluding: User) -> int:
    return len(
        db.session.scalars(
            select(User.id)
            .join(UserRole)
            .where(
                User.organisation_id == org.id,
                UserRole.role == Role.ORG_ADMIN.value,
                User.id != excluding.id,
                User.suspended_at.is_(None),
            )
        ).all()
    )


def members(org: Organisation) -> list[User]:
    """People in an organisation, by name."""
    return list(
        db.session.scalars(
            select(User).where(User.organisation_id == org.id).order_by(User.full_name)
        )
    )


def team_overview(actor: User) -> dict[str, object]:
    """What the team page shows: members, and for org admins open invitations and requests."""
    org = actor.organisation
    if org is None:
        raise PermissionDenied("You are not in an organisation yet")
    data: dict[str, object] = {"organisation": org, "members": members(org)}
    if actor.is_org_admin:
        now = utcnow()
        data["invitations"] = [
            inv
            for inv in db.session.scalars(
                select(Invitation)
                .where(Invitation.organisation_id == org.id)
                .order_by(Invitation.created_at.desc())
            )
            if inv.is_open(now)
        ]
        data["join_requests"] = list(
            db.session.scalars(
                select(JoinRequest)
                .where(
                    JoinRequest.organisation_id == org.id,
                    JoinRequest.status == JoinStatus.PENDING.value,
                )
                .order_by(JoinRequest.created_at)
            )
        )
    return data


@transactional
def invite(actor: User, email: str, roles: list[str]) -> Invitation:
    """Invite a colleague by email with the given roles."""
    org = _require_org_admin(actor)
    email = normalise_email(email)
    chosen = _clean_roles(org, roles)
    if org.kind == OrgKind.COUNCIL and not is_public_sector_email(email):
        raise ValidationFailed(
            "Council colleagues need an email address on a public-sector domain", field="email"
        )
    existing = user_by_email(email)
    if existing is not None and existing.organisation_id is not None:
        if existing.organisation_id == org.id:
            raise ValidationFailed(f"{email} is already in your organisation", field="email")
        raise ValidationFailed(f"{email} already belongs to another organisation", field="email")
    raw = security.random_token()
    invitation = Invitation(
        organisation=org,
        email=email,
        roles=sorted(chosen),
        token_hash=security.digest(raw),
        invited_by=actor,
        expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_MAX_AGE_DAYS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("invitation.created", invitation, actor=actor, organisation=org,
                 after={"email": email, "roles": sorted(chosen)})
    queue_email(email, "invitation", organisation=org, inviter=actor, roles=sorted(chosen),
                link=absolute_url("auth.accept_invitation", token=raw),
                days=current_app.config["INVITATION_MAX_AGE_DAYS"])
    return invitation


def invitation_for_token(raw: str) -> Invitation:
    """The open invitation behind a link, or a clear error."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == security.digest(raw))
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation has already been accepted. Sign in instead")
    if invitation.revoked_at is not None:
        raise Conflict("This invitation was withdrawn. Ask your colleague to invite you again")
    if invitation.expires_at <= utcnow():
        raise Conflict("This invitation has expired. Ask your colleague to invite you again")
    return invitation


@transactional
def accept_invitation(raw: str, *, full_name: str, password: str) -> User:
    """Create the invited person's account (their email is proven by the link)."""
    invitation = invitation_for_token(raw)
    org = invitation.organisation
    full_name = " ".join(full_name.split())
    if not full_name:
        raise ValidationFailed("Enter your full name", field="full_name")
    if user_by_email(invitation.email) is not None:
        raise Conflict("An account already exists for this address. Sign in to accept instead")
    check_password(password, email=invitation.email, full_name=full_name)
    user = User(email=invitation.email, full_name=full_name,
                password_hash=security.hash_password(password), organisation=org,
                email_verified_at=utcnow())
    db.session.add(user)
    set_user_roles(user, set(invitation.roles))
    invitation.accepted_at = utcnow()
    db.session.flush()
    audit.record("invitation.accepted", invitation, actor=user, organisation=org,
                 after={"user_id": user.id})
    audit.record("user.joined_organisation", user, actor=user, organisation=org,
                 after=snapshot(user))
    return user


@transactional
def accept_invitation_as(user: User, raw: str) -> User:
    """A signed-in person without an organisation accepts an invitation to their address."""
    invitation = invitation_for_token(raw)
    if user.email != invitation.email:
        raise PermissionDenied(
            f"This invitation is for {invitation.email}. Sign out and use that account"
        )
    if user.organisation_id is not None:
        raise Conflict("You already belong to an organisation")
    before = snapshot(user)
    user.organisation = invitation.organisation
    set_user_roles(user, set(invitation.roles))
    invitation.accepted_at = utcnow()
    for pending in db.session.scalars(
        select(JoinRequest).where(JoinRequest.user_id == user.id,
                                  JoinRequest.status == JoinStatus.PENDING.value)
    ):
        pending.status = JoinStatus.REJECTED.value
        pending.decided_at = utcnow()
    db.session.flush()
    audit.record("invitation.accepted", invitation, actor=user,
                 organisation=invitation.organisation, after={"user_id": user.id})
    audit.record("user.joined_organisation", user, actor=user,
                 organisation=invitation.organisation, before=before, after=snapshot(user))
    return user


@transactional
def revoke_invitation(actor: User, invitation_id: int) -> None:
    org = _require_org_admin(actor)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.organisation_id != org.id:
        raise NotFound("Invitation not found")
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict("This invitation is no longer open")
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoked", invitation, actor=actor, organisation=org,
                 before={"open": True}, after={"open": False})


@transactional
def decide_join_request(actor: User, request_id: int, *, approve: bool,
                        roles: list[str] | None = None) -> JoinRequest:
    """Approve (with roles) or reject someone's request to join the organisation."""
    org = _lock_organisation(actor)
    request = db.session.get(JoinRequest, request_id)
    if request is None or request.organisation_id != org.id:
        raise NotFound("Request not found")
    if request.status != JoinStatus.PENDING.value:
        raise Conflict("This request has already been decided")
    applicant = request.user
    before = snapshot(applicant)
    request.decided_at = utcnow()
    request.decided_by_id = actor.id
    if approve:
        if applicant.organisation_id is not None:
            raise Conflict(f"{applicant.full_name} already belongs to an organisation")
        chosen = _clean_roles(org, roles or [r.value for r in DEFAULT_MEMBER_ROLES[
            OrgKind(org.kind)]])
        request.status = JoinStatus.APPROVED.value
        applicant.organisation = org
        set_user_roles(applicant, chosen)
    else:
        request.status = JoinStatus.REJECTED.value
    db.session.flush()
    audit.record(f"join_request.{request.status}", request, actor=actor, organisation=org,
                 before={"status": JoinStatus.PENDING.value}, after={"status": request.status})
    if approve:
        audit.record("user.joined_organisation", applicant, actor=actor, organisation=org,
                     before=before, after=snapshot(applicant))
    queue_email(applicant.email, "join_request_decided", user=applicant, organisation=org,
                approved=approve, link=absolute_url("auth.sign_in"))
    return request


@transactional
def set_member_roles(actor: User, member_id: int, roles: list[str]) -> User:
    """Change a colleague's roles; the organisation always keeps at least one org admin."""
    org = _lock_organisation(actor)
    member = _member(org, member_id)
    chosen = _clean_roles(org, roles)
    before = snapshot(member)
    if (Role.ORG_ADMIN.value in member.roles and Role.ORG_ADMIN.value not in chosen
            and _other_admin_count(org, member) == 0):
        raise ValidationFailed(
            "The organisation must keep at least one organisation admin. "
            "Make someone else an admin first", field="roles")
    if chosen == member.roles:
        return member
    set_user_roles(member, chosen)
    db.session.flush()
    audit.record("user.roles_changed", member, actor=actor, organisation=org,
                 before={"roles": before["roles"]}, after={"roles": sorted(chosen)})
    queue_email(member.email, "roles_changed", user=member, organisation=org,
                roles=sorted(chosen), actor=actor)
    return member


@transactional
def remove_member(actor: User, member_id: int) -> User:
    """Take a colleague out of the organisation and end their sessions."""
    org = _lock_organisation(actor)
    member = _member(org, member_id)
    if Role.ORG_ADMIN.value in member.roles and _other_admin_count(org, member) == 0:
        raise ValidationFailed(
            "You cannot remove the last organisation admin. Make someone else an admin first")
    before = snapshot(member)
    member.organisation = None
    set_user_roles(member, set())
    revoke_all_sessions(member)
    tokens.revoke_all(member)  # API tokens acted for the organisation too
    db.session.flush()
    audit.record("user.removed_from_organisation", member, actor=actor, organisation=org,
                 before=before, after=snapshot(member))
    return member


def role_choices(org: Organisation) -> list[tuple[str, str]]:
    from marketplace.models import ROLE_LABELS

    return [(r.value, ROLE_LABELS[r]) for r in org.allowed_roles()]
