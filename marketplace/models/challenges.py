"""Challenge statements, their parts, amendments, clarification questions and followers."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    case,
    literal,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from marketplace.models.accounts import Organisation, User, _enum_check
from marketplace.models.base import Base, utcnow


class ChallengeStatus(enum.StrEnum):
    """Lifecycle states. ``open`` and ``closed`` are derived from the deadline, not stored."""

    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    OPEN = "open"
    CLOSED = "closed"
    EVALUATION = "evaluation"
    STANDSTILL = "standstill"
    AWARDED = "awarded"
    NO_SUITABLE_SUPPLIER = "no_suitable_supplier"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


STATUS_LABELS: dict[str, str] = {
    "draft": "Draft",
    "awaiting_approval": "Awaiting approval",
    "approved": "Approved",
    "open": "Open",
    "closed": "Closed",
    "evaluation": "In evaluation",
    "standstill": "Award decided: standstill",
    "awarded": "Awarded",
    "no_suitable_supplier": "No suitable supplier",
    "withdrawn": "Withdrawn",
    "cancelled": "Cancelled",
}

# States the public can see (anything that has been published).
PUBLIC_STATUSES = ("open", "closed", "evaluation", "standstill", "awarded",
                   "no_suitable_supplier", "withdrawn", "cancelled")


class RequirementKind(enum.StrEnum):
    ESSENTIAL = "essential"
    NICE_TO_HAVE = "nice_to_have"


class QuestionStatus(enum.StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"


_ONE_END_STATE = (
    "(CASE WHEN withdrawn_at IS NULL THEN 0 ELSE 1 END"
    " + CASE WHEN cancelled_at IS NULL THEN 0 ELSE 1 END"
    " + CASE WHEN awarded_at IS NULL THEN 0 ELSE 1 END"
    " + CASE WHEN no_suitable_supplier_at IS NULL THEN 0 ELSE 1 END) <= 1"
)


class Challenge(Base):
    """A council's problem statement: what it wants solved and the outcomes it wants."""

    __tablename__ = "challenge"
    __table_args__ = (
        CheckConstraint(_ONE_END_STATE, name="one_end_state"),
        CheckConstraint("budget_min IS NULL OR budget_min >= 0", name="budget_min_positive"),
        CheckConstraint(
            "budget_min IS NULL OR budget_max IS NULL OR budget_min <= budget_max",
            name="budget_range",
        ),
        CheckConstraint("shortlist_size IS NULL OR shortlist_size >= 1", name="shortlist_size"),
        CheckConstraint("published_at IS NULL OR submission_deadline IS NOT NULL",
                        name="published_has_deadline"),
        # An award decision and the moment it becomes final (the end of standstill) go together.
        CheckConstraint("(award_decided_at IS NULL) = (awarded_at IS NULL)",
                        name="award_decided_with_end"),
        CheckConstraint("award_decided_at IS NULL OR award_decided_at <= awarded_at",
                        name="standstill_order"),
        Index("ix_challenge_public", "published_at", "submission_deadline"),
        # The council filter of the public search: councils with published challenges.
        Index("ix_challenge_lead_published", "lead_council_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_council_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    copied_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenge.id", ondelete="SET NULL"), index=True
    )

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[str] = mapped_column(Text, default="")
    background: Mapped[str] = mapped_column(Text, default="")
    affected: Mapped[str] = mapped_column(Text, default="")
    success: Mapped[str] = mapped_column(Text, default="")
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    region: Mapped[str | None] = mapped_column(String(40), index=True)
    budget_min: Mapped[int | None] = mapped_column(Integer)
    budget_max: Mapped[int | None] = mapped_column(Integer)
    sme_suitable: Mapped[bool] = mapped_column(Boolean, default=True)
    shortlist_size: Mapped[int | None] = mapped_column(Integer)

    clarification_deadline: Mapped[datetime | None]
    submission_deadline: Mapped[datetime | None] = mapped_column(index=True)
    expected_award_date: Mapped[date | None] = mapped_column(Date)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: the search vocabulary's freshness check reads the latest change.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None]
    # Set when a procurement officer opens the bids after the deadline.
    evaluation_started_at: Mapped[datetime | None]
    # Score scale wording for this challenge (None: DEFAULT_SCORE_DESCRIPTIONS).
    score_descriptions: Mapped[list[str] | None] = mapped_column(JSON)
    shortlisted_at: Mapped[datetime | None]
    # The award decision starts the standstill; ``awarded_at`` is when it ends and the award
    # becomes final (and public), so "awarded" is derived from the clock like "closed".
    award_decided_at: Mapped[datetime | None]
    award_decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    awarded_at: Mapped[datetime | None]
    no_suitable_supplier_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    # Background notices (marketplace.services.notices): when the council team was told the
    # deadline passed and the bids can be opened, and when the final award was announced.
    deadline_notified_at: Mapped[datetime | None]
    award_final_notified_at: Mapped[datetime | None]

    search_text: Mapped[str] = mapped_column(Text, default="")

    lead_council: Mapped[Organisation] = relationship(foreign_keys=[lead_council_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    copied_from: Mapped[Challenge | None] = relationship(remote_side=[id])
    sponsors: Mapped[list[ChallengeSponsor]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan", lazy="selectin"
    )
    outcomes: Mapped[list[ChallengeOutcome]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan",
        order_by="ChallengeOutcome.position", lazy="selectin",
    )
    requirements: Mapped[list[ChallengeRequirement]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan",
        order_by="ChallengeRequirement.position", lazy="selectin",
    )
    stages: Mapped[list[ChallengeStage]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan",
        order_by="ChallengeStage.position", lazy="selectin",
    )
    criteria: Mapped[list[EvaluationCriterion]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan",
        order_by="EvaluationCriterion.position", lazy="selectin",
    )
    cpv_rows: Mapped[list[ChallengeCpv]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan", lazy="selectin"
    )
    amendments: Mapped[list[ChallengeAmendment]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan",
        order_by="ChallengeAmendment.created_at",
    )

    # Derived state -------------------------------------------------------------------------
    def status_at(self, now: datetime) -> ChallengeStatus:
        """The state at ``now``: stored timestamps, with open/closed derived from the deadline."""
        if self.cancelled_at:
            return ChallengeStatus.CANCELLED
        if self.withdrawn_at:
            return ChallengeStatus.WITHDRAWN
        if self.awarded_at:
            if now >= self.awarded_at:
                return ChallengeStatus.AWARDED
            return ChallengeStatus.STANDSTILL
        if self.no_suitable_supplier_at:
            return ChallengeStatus.NO_SUITABLE_SUPPLIER
        if self.published_at is None:
            if self.approved_at:
                return ChallengeStatus.APPROVED
            if self.submitted_at:
                return ChallengeStatus.AWAITING_APPROVAL
            return ChallengeStatus.DRAFT
        if self.evaluation_started_at:
            return ChallengeStatus.EVALUATION
        assert self.submission_deadline is not None
        if now >= self.submission_deadline:
            return ChallengeStatus.CLOSED
        return ChallengeStatus.OPEN

    @property
    def status(self) -> ChallengeStatus:
        return self.status_at(utcnow())

    @classmethod
    def status_sql(cls, now: datetime) -> ColumnElement[str]:
        """The same derivation as :meth:`status_at`, as a SQL expression for filtering."""
        return case(
            (cls.cancelled_at.is_not(None), literal("cancelled")),
            (cls.withdrawn_at.is_not(None), literal("withdrawn")),
            (cls.awarded_at <= now, literal("awarded")),
            (cls.awarded_at.is_not(None), literal("standstill")),
            (cls.no_suitable_supplier_at.is_not(None), literal("no_suitable_supplier")),
            (and_(cls.published_at.is_(None), cls.approved_at.is_not(None)),
             literal("approved")),
            (and_(cls.published_at.is_(None), cls.submitted_at.is_not(None)),
             literal("awaiting_approval")),
            (cls.published_at.is_(None), literal("draft")),
            (cls.evaluation_started_at.is_not(None), literal("evaluation")),
            (cls.submission_deadline <= now, literal("closed")),
            else_=literal("open"),
        )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def cpv_codes(self) -> list[str]:
        return sorted(row.code for row in self.cpv_rows)

    @property
    def sponsor_ids(self) -> set[int]:
        """The lead council and co-sponsors: the councils that own the challenge."""
        return {self.lead_council_id, *(s.organisation_id for s in self.sponsors)}

    @property
    def essential_requirements(self) -> list[ChallengeRequirement]:
        return [r for r in self.requirements if r.kind == RequirementKind.ESSENTIAL]

    @property
    def nice_to_haves(self) -> list[ChallengeRequirement]:
        return [r for r in self.requirements if r.kind == RequirementKind.NICE_TO_HAVE]

    @property
    def total_weight(self) -> int:
        return sum(c.weight for c in self.criteria)


class ChallengeSponsor(Base):
    """A council co-sponsoring a challenge; it shares ownership with the lead council."""

    __tablename__ = "challenge_sponsor"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), primary_key=True, index=True
    )

    challenge: Mapped[Challenge] = relationship(back_populates="sponsors")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class ChallengeOutcome(Base):
    """An outcome the council wants, with an optional measure or target."""

    __tablename__ = "challenge_outcome"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(Text)

    challenge: Mapped[Challenge] = relationship(back_populates="outcomes")


class ChallengeRequirement(Base):
    """An essential requirement or a nice-to-have."""

    __tablename__ = "challenge_requirement"
    __table_args__ = (CheckConstraint(_enum_check("kind", RequirementKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)

    challenge: Mapped[Challenge] = relationship(back_populates="requirements")


class ChallengeStage(Base):
    """A contract stage, e.g. Exploration: 3 weeks, £5,000 each for up to 3 suppliers."""

    __tablename__ = "challenge_stage"
    __table_args__ = (
        CheckConstraint("funding_per_supplier IS NULL OR funding_per_supplier >= 0",
                        name="funding_positive"),
        CheckConstraint("max_suppliers IS NULL OR max_suppliers >= 1", name="max_suppliers"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    duration: Mapped[str | None] = mapped_column(String(100))
    funding_per_supplier: Mapped[int | None] = mapped_column(Integer)
    max_suppliers: Mapped[int | None] = mapped_column(Integer)

    challenge: Mapped[Challenge] = relationship(back_populates="stages")


class EvaluationCriterion(Base):
    """A published evaluation criterion; weights of a challenge total 100."""

    __tablename__ = "evaluation_criterion"
    __table_args__ = (
        CheckConstraint("weight >= 1 AND weight <= 100", name="weight_range"),
        CheckConstraint("word_limit >= 50 AND word_limit <= 5000", name="word_limit_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(Integer)
    word_limit: Mapped[int] = mapped_column(Integer, default=500)

    challenge: Mapped[Challenge] = relationship(back_populates="criteria")


class ChallengeCpv(Base):
    """A CPV code (8 digits, no check digit) classifying a challenge."""

    __tablename__ = "challenge_cpv"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)

    challenge: Mapped[Challenge] = relationship(back_populates="cpv_rows")


class ChallengeAmendment(Base):
    """A public record of a change made to a published challenge."""

    __tablename__ = "challenge_amendment"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    summary: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    challenge: Mapped[Challenge] = relationship(back_populates="amendments")


class ClarificationQuestion(Base):
    """A supplier's question; published with its answer to everyone, without the asker."""

    __tablename__ = "clarification_question"
    __table_args__ = (CheckConstraint(_enum_check("status", QuestionStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    asked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=QuestionStatus.PENDING.value)
    published_question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    challenge: Mapped[Challenge] = relationship()
    asked_by: Mapped[User | None] = relationship(foreign_keys=[asked_by_id])
    supplier: Mapped[Organisation] = relationship()


class ChallengeFollow(Base):
    """A person following a challenge for emails about changes and answers."""

    __tablename__ = "challenge_follow"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
