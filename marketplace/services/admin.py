"""Platform administration: organisation verification, council domains, suspensions, and the
background jobs and emails that failed."""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from marketplace import jobs
from marketplace.extensions import db
from marketplace.models import AllowedDomain, Organisation, OrgStatus, OutboxEmail, User, utcnow
from marketplace.services import audit, matching, tokens
from marketplace.services.accounts import org_admins, revoke_all_sessions, snapshot
from marketplace.services.email import MAX_ATTEMPTS, absolute_url, queue_email
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.uow import transactional

DOMAIN_RE = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def require_admin(actor: User) -> None:
    if not (actor.is_platform_admin and actor.is_active):
        raise PermissionDenied("Only platform admins can do this")


def organisations(actor: User, *, status: str | None = None, kind: str | None = None,
                  q: str | None = None) -> list[Organisation]:
    """Organisations for the admin list, pending ones first."""
    require_admin(actor)
    stmt = select(Organisation)
    if status:
        stmt = stmt.where(Organisation.status == status)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if q:
        stmt = stmt.where(Organisation.name_key.contains(Organisation.key_for(q)))
    order = (Organisation.status != OrgStatus.PENDING.value, Organisation.name_key)
    return list(db.session.scalars(stmt.order_by(*order).limit(500)))


def _org_state(org: Organisation) -> dict[str, object]:
    return {"status": org.status, "reason": org.status_reason}


def _decide(actor: User, org_id: int, status: OrgStatus, reason: str | None) -> Organisation:
    require_admin(actor)
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise NotFound("Organisation not found")
    if org.status == status:
        raise Conflict(f"{org.name} is already {status.value}")
    before = _org_state(org)
    org.status = status.value
    org.status_reason = reason
    org.verified_at = utcnow() if status == OrgStatus.VERIFIED else None
    # A supplier is listed (and matched) once verified, and no longer once rejected.
    matching.organisation_touched(org)
    audit.record(f"organisation.{status.value}", org, actor=actor, organisation=org,
                 before=before, after=_org_state(org))
    for admin in org_admins(org):
        queue_email(admin.email, "organisation_decided", user=admin, organisation=org,
                    verified=status == OrgStatus.VERIFIED, reason=reason,
                    link=absolute_url("main.dashboard"))
    return org


@transactional
def verify_organisation(actor: User, org_id: int) -> Organisation:
    """Confirm an organisation is who it says it is."""
    return _decide(actor, org_id, OrgStatus.VERIFIED, None)


@transactional
def reject_organisation(actor: User, org_id: int, reason: str) -> Organisation:
    """Refuse an organisation, with a reason its admins are told."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Enter the reason for rejecting the organisation", field="reason")
    return _decide(actor, org_id, OrgStatus.REJECTED, reason)


def normalise_domain(domain: str) -> str:
    return domain.strip().lower().lstrip("@").lstrip(".").rstrip(".")


@transactional
def add_domain(actor: User, domain: str) -> AllowedDomain:
    """Allow council sign-ups from another public-sector email domain."""
    from flask import current_app

    require_admin(actor)
    domain = normalise_domain(domain)
    if not DOMAIN_RE.match(domain):
        raise ValidationFailed("Enter a domain like example.gov.uk", field="domain")
    if domain in current_app.config["COUNCIL_EMAIL_DOMAINS"] or db.session.scalar(
        select(AllowedDomain).where(AllowedDomain.domain == domain)
    ):
        raise ValidationFailed(f"{domain} is already allowed", field="domain")
    row = AllowedDomain(domain=domain, added_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record("allowed_domain.added", row, actor=actor, after={"domain": domain})
    return row


@transactional
def remove_domain(actor: User, domain_id: int) -> None:
    require_admin(actor)
    row = db.session.get(AllowedDomain, domain_id)
    if row is None:
        raise NotFound("Domain not found")
    audit.record("allowed_domain.removed", row, actor=actor, before={"domain": row.domain})
    db.session.delete(row)


def added_domains() -> list[AllowedDomain]:
    return list(db.session.scalars(select(AllowedDomain).order_by(AllowedDomain.domain)))


def users(actor: User, q: str | None = None, limit: int = 200) -> list[User]:
    require_admin(actor)
    stmt = select(User)
    if q:
        needle = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(User.email.like(needle), func.lower(User.full_name).like(needle)))
    # The list shows each person's organisation: one query for all of them, not one each.
    return list(db.session.scalars(stmt.order_by(User.email).limit(limit)
                                   .options(selectinload(User.organisation))))


def _user(actor: User, user_id: int) -> User:
    require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


@transactional
def suspend_user(actor: User, user_id: int, reason: str) -> User:
    """Stop someone signing in and end their sessions."""
    user = _user(actor, user_id)
    if user.id == actor.id:
        raise ValidationFailed("You cannot suspend your own account")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Enter the reason for suspending this account", field="reason")
    if user.suspended_at is not None:
        raise Conflict("This account is already suspended")
    before = snapshot(user)
    user.suspended_at = utcnow()
    user.suspended_reason = reason
    revoke_all_sessions(user)
    tokens.revoke_all(user)
    audit.record("user.suspended", user, actor=actor, organisation=user.organisation_id,
                 before=before, after={**snapshot(user), "reason": reason})
    return user


@transactional
def reinstate_user(actor: User, user_id: int) -> User:
    """Let a suspended person sign in again."""
    user = _user(actor, user_id)
    if user.suspended_at is None:
        raise Conflict("This account is not suspended")
    before = snapshot(user)
    user.suspended_at = None
    user.suspended_reason = None
    audit.record("user.reinstated", user, actor=actor, organisation=user.organisation_id,
                 before=before, after=snapshot(user))
    return user


# Background jobs -------------------------------------------------------------------------------

def undeliverable_emails(actor: User, limit: int) -> list[OutboxEmail]:
    """Emails whose delivery attempts are spent, newest first."""
    require_admin(actor)
    return list(db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.sent_at.is_(None),
                                  OutboxEmail.attempts >= MAX_ATTEMPTS)
        .order_by(OutboxEmail.id.desc()).limit(limit)))


@transactional
def retry_email(actor: User, message_id: int) -> OutboxEmail:
    """Give an undelivered email a fresh set of delivery attempts (audited)."""
    require_admin(actor)
    message = db.session.get(OutboxEmail, message_id) if 0 < message_id < 2**31 else None
    if message is None or message.sent_at is not None:
        raise NotFound("Choose an undelivered email to retry")
    before = message.attempts
    message.attempts = 0
    audit.record("email.delivery_retried", message, actor=actor,
                 before={"attempts": before}, after={"attempts": 0})
    jobs.enqueue("deliver_emails")
    return message


@transactional
def requeue_job(actor: User, job_id: str) -> str:
    """Put a failed job back on the queue; returns its name. The requeue is recorded in the
    audit log once Redis has taken it."""
    from flask import current_app
    from redis.exceptions import RedisError

    require_admin(actor)
    job_id = job_id.strip()
    if not job_id or len(job_id) > 100 or not jobs.redis_url(current_app):
        raise ValidationFailed("Choose a failed job to retry")
    try:
        name = jobs.requeue_failed(current_app, job_id)
    except LookupError as err:
        raise NotFound("That job is no longer in the failed list") from err
    except RedisError as err:
        raise Conflict("Redis cannot be reached: try again when it is back") from err
    audit.record("jobs.requeued", actor=actor, object_type="job", object_id=job_id,
                 after={"job": name})
    return name
