"""Personal access tokens: making, listing, revoking, and authenticating API calls.

A token's secret is ``mkt_`` followed by 43 random URL-safe characters. It is shown once; only
its SHA-256 is kept (a slow hash is not needed: the secret is random, not chosen by a person).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from marketplace import security
from marketplace.extensions import db
from marketplace.models import ApiToken, TokenScope, User, utcnow
from marketplace.services import audit
from marketplace.services.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.services.uow import transactional

PREFIX = "mkt_"
NAME_MAX = 100
DEFAULT_DAYS = 90
# last_used_at is written at most this often per token, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just made, with the secret that is never shown again."""

    token: ApiToken
    secret: str


def _snapshot(token: ApiToken) -> dict[str, object]:
    return {"name": token.name, "scope": token.scope, "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


def max_days() -> int:
    return int(current_app.config["API_TOKEN_MAX_DAYS"])


def _validate(name: str, scope: str, days: int) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("Enter a name for the token", field="name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"Name must be {NAME_MAX} characters or fewer", field="name")
    if scope not in {s.value for s in TokenScope}:
        raise ValidationFailed("Select read or write access", field="scope")
    if not 1 <= days <= max_days():
        raise ValidationFailed(f"Expiry must be between 1 and {max_days()} days", field="days")
    return name


def _make(user: User, name: str, scope: str, days: int, *, actor: User | None,
          actor_label: str | None = None) -> NewToken:
    name = _validate(name, scope, days)
    if not user.is_active:
        raise PermissionDenied("A suspended account cannot have API tokens")
    secret = PREFIX + security.random_token()
    now = utcnow()
    token = ApiToken(user=user, name=name, token_hash=security.digest(secret),
                     prefix=secret[: len(PREFIX) + 6], scope=scope, created_at=now,
                     expires_at=now + timedelta(days=days))
    db.session.add(token)
    audit.record("api_token.created", token, actor=actor, actor_label=actor_label,
                 organisation=user.organisation_id, after=_snapshot(token))
    return NewToken(token=token, secret=secret)


@transactional
def create_token(actor: User, name: str, scope: str, days: int = DEFAULT_DAYS) -> NewToken:
    """Make a token for the signed-in person."""
    return _make(actor, name, scope, days, actor=actor)


@transactional
def create_token_for(email: str, name: str, scope: str, days: int = DEFAULT_DAYS) -> NewToken:
    """Make a token for any account, from the command line."""
    from marketplace.services.accounts import normalise_email, user_by_email

    user = user_by_email(normalise_email(email))
    if user is None:
        raise NotFound(f"There is no account for {email}", field="email")
    return _make(user, name, scope, days, actor=None, actor_label="command line")


def tokens_for(actor: User) -> list[ApiToken]:
    """The person's tokens, newest first (revoked and expired ones too, for the record)."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == actor.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


@transactional
def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of the person's own tokens. Revoking twice changes nothing."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound("That token does not exist")
    if token.revoked_at is None:
        before = _snapshot(token)
        token.revoked_at = utcnow()
        audit.record("api_token.revoked", token, actor=actor, before=before,
                     after=_snapshot(token))
    return token


def revoke_all(user: User) -> int:
    """Revoke every live token of a user (inside the caller's transaction)."""
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    return result.rowcount or 0


class TokenRefused(Exception):
    """The presented token cannot be used; ``detail`` says why, for the 401 body."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def authenticate(secret: str, now: datetime | None = None) -> ApiToken:
    """The live token for a presented secret, its use recorded; TokenRefused otherwise."""
    now = now or utcnow()
    if not secret.startswith(PREFIX):
        raise TokenRefused("The token is not a marketplace API token")
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == security.digest(secret)))
    if token is None:
        raise TokenRefused("The token is not recognised")
    if token.revoked_at is not None:
        raise TokenRefused("The token has been revoked")
    if token.expires_at <= now:
        raise TokenRefused("The token has expired. Make a new one in your account settings")
    if not token.user.is_active:
        raise TokenRefused("The account this token belongs to is suspended")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # Its own small transaction, so a refused or failed call still shows as a use.
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=now))
        db.session.commit()
    return token
