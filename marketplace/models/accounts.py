"""Organisations, people, roles, sessions, invitations and join requests."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class OrgKind(enum.StrEnum):
    COUNCIL = "council"
    SUPPLIER = "supplier"


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Role(enum.StrEnum):
    CHALLENGE_OWNER = "challenge_owner"
    PROCUREMENT_OFFICER = "procurement_officer"
    EVALUATOR = "evaluator"
    BIDDER = "bidder"
    ORG_ADMIN = "org_admin"


ROLES_BY_KIND: dict[OrgKind, tuple[Role, ...]] = {
    OrgKind.COUNCIL: (
        Role.CHALLENGE_OWNER,
        Role.PROCUREMENT_OFFICER,
        Role.EVALUATOR,
        Role.ORG_ADMIN,
    ),
    OrgKind.SUPPLIER: (Role.BIDDER, Role.ORG_ADMIN),
}

ROLE_LABELS: dict[Role, str] = {
    Role.CHALLENGE_OWNER: "Challenge owner",
    Role.PROCUREMENT_OFFICER: "Procurement officer",
    Role.EVALUATOR: "Evaluator",
    Role.BIDDER: "Bidder",
    Role.ORG_ADMIN: "Organisation admin",
}

ROLE_HINTS: dict[Role, str] = {
    Role.CHALLENGE_OWNER: "Writes challenge statements and answers clarification questions",
    Role.PROCUREMENT_OFFICER: "Approves and publishes challenges, opens bids and runs awards",
    Role.EVALUATOR: "Scores the bids they are assigned to",
    Role.BIDDER: "Writes and submits bids for the company",
    Role.ORG_ADMIN: "Invites colleagues and manages their roles",
}


def _enum_check(column: str, values: type[enum.StrEnum]) -> str:
    quoted = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({quoted})"


class Organisation(Base):
    """A council (public buyer) or a supplier (company)."""

    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(_enum_check("kind", OrgKind), name="kind"),
        CheckConstraint(_enum_check("status", OrgStatus), name="status"),
        UniqueConstraint("kind", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=OrgStatus.PENDING.value)
    website: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None]
    status_reason: Mapped[str | None] = mapped_column(String(1000))

    members: Mapped[list[User]] = relationship(back_populates="organisation")

    @staticmethod
    def key_for(name: str) -> str:
        """Normalised name used for the uniqueness rule (case and spacing insensitive)."""
        return " ".join(name.lower().split())

    @property
    def is_council(self) -> bool:
        return self.kind == OrgKind.COUNCIL

    @property
    def is_supplier(self) -> bool:
        return self.kind == OrgKind.SUPPLIER

    @property
    def is_verified(self) -> bool:
        return self.status == OrgStatus.VERIFIED

    @property
    def kind_label(self) -> str:
        return "Council" if self.is_council else "Supplier"

    def allowed_roles(self) -> tuple[Role, ...]:
        return ROLES_BY_KIND[OrgKind(self.kind)]


class User(Base):
    """A person. Belongs to at most one organisation; platform admins may belong to none."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    suspended_reason: Mapped[str | None] = mapped_column(String(1000))
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(back_populates="members")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.suspended_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    # Roles ------------------------------------------------------------------
    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(str(r) for r in roles))

    @property
    def is_org_admin(self) -> bool:
        return Role.ORG_ADMIN.value in self.roles

    @property
    def is_council_user(self) -> bool:
        return self.organisation is not None and self.organisation.is_council

    @property
    def is_supplier_user(self) -> bool:
        return self.organisation is not None and self.organisation.is_supplier

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class UserRole(Base):
    """One role a person holds in their organisation."""

    __tablename__ = "user_role"
    __table_args__ = (CheckConstraint(_enum_check("role", Role), name="role"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class JoinStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class JoinRequest(Base):
    """A registered person asking to join an existing organisation."""

    __tablename__ = "join_request"
    __table_args__ = (
        CheckConstraint(_enum_check("status", JoinStatus), name="status"),
        Index(
            "uq_join_request_pending_user",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=JoinStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship()


class Invitation(Base):
    """An org admin's invitation for a colleague to join with given roles."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    roles: Mapped[list[str]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped[User | None] = relationship()

    def is_open(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


class AllowedDomain(Base):
    """An email domain an admin added to the public-sector list for council accounts."""

    __tablename__ = "allowed_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

