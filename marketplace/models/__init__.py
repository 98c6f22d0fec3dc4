"""SQLAlchemy models. Import from here so Alembic sees every table."""

from marketplace.models.accounts import (
    ROLE_HINTS,
    ROLE_LABELS,
    ROLES_BY_KIND,
    AllowedDomain,
    Invitation,
    JoinRequest,
    JoinStatus,
    Organisation,
    OrgKind,
    OrgStatus,
    Role,
    User,
    UserRole,
    UserSession,
)
from marketplace.models.audit import AuditEvent, OutboxEmail
from marketplace.models.base import Base, utcnow

__all__ = [
    "ROLES_BY_KIND",
    "ROLE_HINTS",
    "ROLE_LABELS",
    "AllowedDomain",
    "AuditEvent",
    "Base",
    "Invitation",
    "JoinRequest",
    "JoinStatus",
    "OrgKind",
    "OrgStatus",
    "Organisation",
    "OutboxEmail",
    "Role",
    "User",
    "UserRole",
    "UserSession",
    "utcnow",
]
