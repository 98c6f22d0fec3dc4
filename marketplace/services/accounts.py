"""Registration, email verification, sign-in sessions and passwords."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from marketplace import security
from marketplace.extensions import db
from marketplace.models import (
    ROLES_BY_KIND,
    AllowedDomain,
    JoinRequest,
    Organisation,
    OrgKind,
    OrgStatus,
    Role,
    User,
    UserRole,
    UserSession,
    utcnow,
)
from marketplace.services import audit
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.services.uow import transactional

# Roles given to the person who registers a new organisation.
FOUNDER_ROLES = {
    OrgKind.COUNCIL: (Role.ORG_ADMIN, Role.CHALLENGE_OWNER, Role.PROCUREMENT_OFFICER),
    OrgKind.SUPPLIER: (Role.ORG_ADMIN, Role.BIDDER),
}
# Roles an approved join request gives when the org admin does not choose others.
DEFAULT_MEMBER_ROLES = {
    OrgKind.COUNCIL: (Role.CHALLENGE_OWNER,),
    OrgKind.SUPPLIER: (Role.BIDDER,),
}


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_domain(email: str) -> str:
    return normalise_email(email).rpartition("@")[2]


def allowed_council_domains() -> list[str]:
    """Configured public-sector domains plus those an admin added."""
    configured = list(current_app.config["COUNCIL_EMAIL_DOMAINS"])
    added = db.session.scalars(select(AllowedDomain.domain).order_by(AllowedDomain.domain)).all()
    return configured + [d for d in added if d not in configured]


def is_public_sector_email(email: str) -> bool:
    """True when the address is on an allowed domain or one of its subdomains."""
    domain = email_domain(email)
    return any(domain == d or domain.endswith("." + d) for d in allowed_council_domains())


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password(password: str, *, email: str, full_name: str, field: str = "password") -> None:
    problem = security.password_problem(password, [email, full_name])
    if problem:
        raise ValidationFailed(problem, field=field)


def snapshot(user: User) -> dict[str, object]:
    """The audited state of an account."""
    return {
        "email": user.email,
        "full_name": user.full_name,
        "organisation_id": user.organisation_id,
        "roles": sorted(user.roles),
        "email_verified": user.email_verified,
        "suspended": user.suspended_at is not None,
        "platform_admin": user.is_platform_admin,
    }


def set_user_roles(user: User, roles: set[str]) -> None:
    """Replace a user's roles (no permission checks: callers do them)."""
    current = {r.role: r for r in user.role_rows}
    for role, row in current.items():
        if role not in roles:
            user.role_rows.remove(row)
    for role in sorted(roles - set(current)):
        user.role_rows.append(UserRole(role=role))


def send_verification_email(user: User) -> None:
    token = security.make_token("verify-email", {"uid": user.id, "email": user.email})
    queue_email(
        user.email,
        "verify_email",
        user=user,
        link=absolute_url("auth.verify_email", token=token),
        hours=current_app.config["EMAIL_TOKEN_MAX_AGE"] // 3600,
    )


@dataclass(frozen=True)
class Registration:
    kind: OrgKind
    full_name: str
    email: str
    password: str
    new_organisation_name: str | None = None
    join_organisation_id: int | None = None


@transactional
def register(reg: Registration) -> User | None:
    """Create an account with a new organisation, or with a request to join one.

    Returns the new user, or None when the address already has an account (its owner is
    emailed instead, so the form does not reveal which addresses are registered).
    """
    email = normalise_email(reg.email)
    full_name = " ".join(reg.full_name.split())
    if not full_name:
        raise ValidationFailed("Enter your full name", field="full_name")
    if reg.kind == OrgKind.COUNCIL and not is_public_sector_email(email):
        raise ValidationFailed(
            "Enter an email address on a public-sector domain, like name@yourcouncil.gov.uk",
            field="email",
        )
    check_password(reg.password, email=email, full_name=full_name)

    # Every check that can refuse the form runs before the duplicate-address check, so the
    # answer for a registered address is the same as for a new one.
    new_name: str | None = None
    join_target: Organisation | None = None
    if reg.new_organisation_name is not None and reg.new_organisation_name.strip():
        new_name = " ".join(reg.new_organisation_name.split())
        clash = db.session.scalar(
            select(Organisation).where(
                Organisation.kind == reg.kind.value,
                Organisation.name_key == Organisation.key_for(new_name),
            )
        )
        if clash is not None:
            noun = "A council" if reg.kind == OrgKind.COUNCIL else "A company"
            raise ValidationFailed(
                f"{noun} called ‘{clash.name}’ is already registered. Ask to join it instead",
                field="organisation_name",
            )
    elif reg.new_organisation_name is not None:
        raise ValidationFailed("Enter the name of your organisation", field="organisation_name")
    elif reg.join_organisation_id:
        join_target = db.session.get(Organisation, reg.join_organisation_id)
        if join_target is None or join_target.kind != reg.kind.value or (
            join_target.status == OrgStatus.REJECTED
        ):
            raise ValidationFailed("Select an organisation from the list", field="organisation")
    else:
        raise ValidationFailed(
            "Enter the name of your organisation or choose one to join", field="organisation"
        )

    existing = user_by_email(email)
    if existing is not None:
        # Pay for the hash a new account would need, so timing does not reveal the address.
        security.hash_password(reg.password)
        queue_email(existing.email, "already_registered", user=existing,
                    sign_in=absolute_url("auth.sign_in"),
                    reset=absolute_url("auth.forgot_password"))
        audit.record("user.registration_duplicate", existing, actor=None,
                     actor_label=email, organisation=existing.organisation_id)
        return None

    organisation: Organisation | None = None
    if new_name is not None:
        organisation = Organisation(
            kind=reg.kind.value, name=new_name, name_key=Organisation.key_for(new_name),
            status=OrgStatus.PENDING.value,
        )
        db.session.add(organisation)

    user = User(
        email=email,
        full_name=full_name,
        password_hash=security.hash_password(reg.password),
        organisation=organisation,
    )
    db.session.add(user)
    if organisation is not None:
        set_user_roles(user, {r.value for r in FOUNDER_ROLES[reg.kind]})
        db.session.flush()
        audit.record("organisation.registered", organisation, actor=user,
                     organisation=organisation,
                     after={"name": organisation.name, "kind": organisation.kind,
                            "status": organisation.status})
    db.session.flush()
    audit.record("user.registered", user, actor=user, organisation=organisation,
                 after=snapshot(user))
    if join_target is not None:
        request = JoinRequest(user=user, organisation=join_target)
        db.session.add(request)
        db.session.flush()
        audit.record("join_request.created", request, actor=user, organisation=join_target,
                     after={"user_id": user.id, "organisation_id": join_target.id})
        for admin in org_admins(join_target):
            queue_email(admin.email, "join_request", admin=admin, requester=user,
                        organisation=join_target, link=absolute_url("organisation.team"))
    send_verification_email(user)
    return user


def org_admins(organisation: Organisation) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole)
            .where(
                User.organisation_id == organisation.id,
                UserRole.role == Role.ORG_ADMIN.value,
                User.suspended_at.is_(None),
            )
            .order_by(User.id)
        )
    )


@transactional
def verify_email(token: str) -> User:
    """Mark an address verified from the emailed link."""
    try:
        data = security.read_token(
            "verify-email", token, current_app.config["EMAIL_TOKEN_MAX_AGE"]
        )
    except security.TokenInvalid as exc:
        raise ValidationFailed(
            "This link has expired. Request a new one" if exc.expired
            else "This link is not valid. Check you copied the whole link from the email"
        ) from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or user.email != data.get("email"):
        raise ValidationFailed("This link is not valid. Check you copied the whole link")
    if not user.email_verified:
        user.email_verified_at = utcnow()
        audit.record("user.email_verified", user, actor=user,
                     before={"email_verified": False}, after={"email_verified": True})
    return user


@transactional
def resend_verification(email: str) -> None:
    """Send a fresh link when the address has an unverified account; silent otherwise."""
    user = user_by_email(email)
    if user is not None and not user.email_verified:
        send_verification_email(user)


class SignInRefused(Exception):
    """Credentials were wrong or the account may not sign in now."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


GENERIC_SIGN_IN_ERROR = "Enter a correct email address and password"


def sign_in(email: str, password: str, *, ip: str | None, user_agent: str | None
            ) -> tuple[User, str]:
    """Check credentials and open a new server-side session. Returns the user and its token."""
    user = user_by_email(email)
    if not security.verify_password(user.password_hash if user else None, password):
        if user is not None:
            audit.record("user.sign_in_failed", user, actor=None, actor_label=user.email,
                         organisation=user.organisation_id)
            db.session.commit()
        raise SignInRefused(GENERIC_SIGN_IN_ERROR, "credentials")
    assert user is not None
    if user.suspended_at is not None:
        raise SignInRefused(
            "Your account has been suspended. Contact the marketplace support team", "suspended"
        )
    if not user.email_verified:
        raise SignInRefused(
            "You need to confirm your email address before you can sign in", "unverified"
        )
    raw = security.random_token()
    with_session = UserSession(
        user=user, token_hash=security.digest(raw), ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.session.add(with_session)
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.last_sign_in_at = utcnow()
    audit.record("user.signed_in", user, actor=user)
    db.session.commit()
    return user, raw


def session_user(user_id: str, raw_token: str | None) -> User | None:
    """The user of a live session, or None when the session was revoked or never existed."""
    if not raw_token:
        return None
    # The person comes in the same query: every signed-in request asks.
    row = db.session.scalar(
        select(UserSession).options(joinedload(UserSession.user))
        .where(UserSession.token_hash == security.digest(raw_token))
    )
    if row is None or row.revoked_at is not None or str(row.user_id) != str(user_id):
        return None
    user = row.user
    return user if user.is_active else None


def _revoke_sessions(user: User, *, except_token: str | None = None) -> int:
    stmt = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if except_token:
        stmt = stmt.where(UserSession.token_hash != security.digest(except_token))
    return db.session.execute(stmt.values(revoked_at=utcnow())).rowcount or 0


@transactional
def sign_out(user: User, raw_token: str | None) -> None:
    """End this browser's session so its cookie can never be used again."""
    if raw_token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == security.digest(raw_token),
                   UserSession.user_id == user.id)
            .values(revoked_at=utcnow())
        )
    audit.record("user.signed_out", user, actor=user)


def revoke_all_sessions(user: User) -> int:
    """End every session of a user (inside the caller's transaction)."""
    return _revoke_sessions(user)


@transactional
def change_password(user: User, current_password: str, new_password: str, *, ip: str | None,
                    user_agent: str | None) -> str:
    """Change a password, end every session, and open a new one for this browser."""
    if not security.verify_password(user.password_hash, current_password):
        raise ValidationFailed("Your current password is not correct", field="current_password")
    if current_password == new_password:
        raise ValidationFailed("Your new password must be different from your current one",
                               field="new_password")
    check_password(new_password, email=user.email, full_name=user.full_name,
                   field="new_password")
    _set_password(user, new_password)
    raw = security.random_token()
    db.session.add(UserSession(user=user, token_hash=security.digest(raw), ip=ip,
                               user_agent=(user_agent or "")[:300] or None))
    audit.record("user.password_changed", user, actor=user)
    queue_email(user.email, "password_changed", user=user,
                reset=absolute_url("auth.forgot_password"))
    return raw


def _set_password(user: User, new_password: str) -> None:
    user.password_hash = security.hash_password(new_password)
    user.password_changed_at = utcnow()
    _revoke_sessions(user)


def _reset_fingerprint(user: User) -> str:
    return security.digest(user.password_hash)[:16]


@transactional
def request_password_reset(email: str) -> None:
    """Email a reset link when the address has an account; silent otherwise."""
    user = user_by_email(email)
    if user is None or user.suspended_at is not None:
        return
    token = security.make_token("reset-password",
                                {"uid": user.id, "fp": _reset_fingerprint(user)})
    queue_email(user.email, "reset_password", user=user,
                link=absolute_url("auth.reset_password", token=token),
                minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)
    audit.record("user.password_reset_requested", user, actor=None, actor_label=user.email)


def user_for_reset_token(token: str) -> User:
    """The user a reset link is for; the link dies once the password changes."""
    try:
        data = security.read_token("reset-password", token,
                                   current_app.config["PASSWORD_RESET_MAX_AGE"])
    except security.TokenInvalid as exc:
        raise ValidationFailed(
            "This password reset link has expired. Request a new one" if exc.expired
            else "This password reset link is not valid"
        ) from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or data.get("fp") != _reset_fingerprint(user):
        raise ValidationFailed("This password reset link has already been used or is not valid")
    if user.suspended_at is not None:
        raise PermissionDenied("Your account has been suspended")
    return user


@transactional
def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link and end every session."""
    user = user_for_reset_token(token)
    check_password(new_password, email=user.email, full_name=user.full_name)
    _set_password(user, new_password)
    if not user.email_verified:
        # Following the emailed link proves control of the address.
        user.email_verified_at = utcnow()
    audit.record("user.password_reset", user, actor=user)
    queue_email(user.email, "password_changed", user=user,
                reset=absolute_url("auth.forgot_password"))
    return user


def _new_verified_user(email: str, full_name: str, password: str, **fields: Any) -> User:
    """An account made on the command line: a new address, a good password, and the email
    address taken as confirmed (whoever runs the command vouches for it)."""
    if user_by_email(email) is not None:
        raise Conflict(f"An account for {email} already exists", field="email")
    check_password(password, email=email, full_name=full_name)
    user = User(email=email, full_name=full_name,
                password_hash=security.hash_password(password), email_verified_at=utcnow(),
                **fields)
    db.session.add(user)
    return user


@transactional
def create_platform_admin(email: str, full_name: str, password: str) -> User:
    """Create the first (or another) platform admin from the command line."""
    email = normalise_email(email)
    if "@" not in email:
        raise ValidationFailed("Enter an email address", field="email")
    user = _new_verified_user(email, full_name, password, is_platform_admin=True)
    db.session.flush()
    audit.record("user.admin_created", user, actor=None, actor_label="command line",
                 after=snapshot(user))
    return user


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


@transactional
def sign_out_other_sessions(user: User, raw_token: str | None) -> int:
    """End every session of the user except this browser's."""
    count = _revoke_sessions(user, except_token=raw_token)
    if count:
        audit.record("user.other_sessions_revoked", user, actor=user, after={"count": count})
    return count


def _organisation_for(name_or_id: str | int) -> Organisation:
    """An organisation by id, or by its name ignoring case and spacing (a name that is all
    digits and matches no organisation is tried as an id)."""
    if isinstance(name_or_id, int):
        by_id = db.session.get(Organisation, name_or_id)
        if by_id is None:
            raise ValidationFailed(f"There is no organisation with id {name_or_id}",
                                   field="organisation")
        return by_id
    name = " ".join((name_or_id or "").split())
    if not name:
        raise ValidationFailed("Enter the name of the organisation", field="organisation")
    found = list(db.session.scalars(
        select(Organisation).where(Organisation.name_key == Organisation.key_for(name))
        .order_by(Organisation.id)))
    if len(found) > 1:
        listed = ", ".join(f"{o.kind} (id {o.id})" for o in found)
        raise ValidationFailed(
            f"{len(found)} organisations are called ‘{name}’: {listed}. Give the id instead",
            field="organisation")
    if found:
        return found[0]
    if name.isdigit():
        return _organisation_for(int(name))
    raise ValidationFailed(f"There is no organisation called ‘{name}’", field="organisation")


@transactional
def create_member(email: str, full_name: str, organisation_name_or_id: str | int,
                  role: str | list[str] | tuple[str, ...], password: str) -> User:
    """Create a verified account in an existing organisation, from the command line.

    ``role`` is one role or several; each must be a role of the organisation's kind.
    """
    email = normalise_email(email)
    local, _, domain = email.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 254:
        raise ValidationFailed("Enter an email address in the correct format, like "
                               "name@example.com", field="email")
    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise ValidationFailed("Enter the person's full name", field="full_name")
    if len(full_name) > 200:
        raise ValidationFailed("Full name must be 200 characters or fewer", field="full_name")
    organisation = _organisation_for(organisation_name_or_id)
    if organisation.status == OrgStatus.REJECTED:
        raise ValidationFailed(f"{organisation.name} was rejected, so it cannot have members",
                               field="organisation")
    kind = OrgKind(organisation.kind)
    allowed = [r.value for r in ROLES_BY_KIND[kind]]
    chosen = {r.strip().lower() for r in ([role] if isinstance(role, str) else role)}
    chosen.discard("")
    if not chosen:
        raise ValidationFailed("Give at least one role", field="role")
    known = {r.value for r in Role}
    for name in sorted(chosen):
        if name not in known:
            raise ValidationFailed(
                f"‘{name}’ is not a role. Roles are: {', '.join(sorted(known))}", field="role")
        if name not in allowed:
            raise ValidationFailed(
                f"‘{name}’ is not a role in a {kind.value} organisation. Choose from: "
                f"{', '.join(allowed)}", field="role")
    if kind == OrgKind.COUNCIL and not is_public_sector_email(email):
        raise ValidationFailed(
            "Council members need an email address on a public-sector domain (an admin can "
            "allow more domains)", field="email")
    user = _new_verified_user(email, full_name, password, organisation=organisation)
    set_user_roles(user, chosen)
    db.session.flush()
    audit.record("user.member_created", user, actor=None, actor_label="command line",
                 organisation=organisation, after=snapshot(user))
    return user
