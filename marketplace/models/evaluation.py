"""Evaluation of bids after the deadline: evaluators, conflict declarations, independent
scores, moderation, exclusion, shortlist and award decisions.

The weighted total of a bid is never stored: it is derived from the moderated scores and the
published criterion weights, so it cannot drift from them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import User
from marketplace.models.base import Base, utcnow
from marketplace.models.challenges import Challenge, EvaluationCriterion
from marketplace.models.suppliers import Bid

MAX_SCORE = 4
DEFAULT_SCORE_DESCRIPTIONS: tuple[str, ...] = (
    "No response",
    "Very poor",
    "Poor",
    "Acceptable",
    "Good",
)
_SCORE_RANGE = f"score >= 0 AND score <= {MAX_SCORE}"


class EvaluatorAssignment(Base):
    """A council member assigned to evaluate the bids of a challenge."""

    __tablename__ = "evaluator_assignment"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    assigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Removal keeps the row (re-assigning clears it); removal is refused once they submitted.
    removed_at: Mapped[datetime | None]

    challenge: Mapped[Challenge] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    sheets: Mapped[list[ScoreSheet]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan"
    )

    @property
    def active(self) -> bool:
        return self.removed_at is None


class ScoreSheet(Base):
    """One evaluator's assessment of one bid: the conflict declaration made before seeing it,
    then a score and comment per criterion and the essential requirements they found unmet.

    A declared conflict blocks the sheet: it can never be submitted.
    """

    __tablename__ = "score_sheet"
    __table_args__ = (
        UniqueConstraint("assignment_id", "bid_id"),
        CheckConstraint("NOT has_conflict OR submitted_at IS NULL", name="conflicted_unsubmitted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("evaluator_assignment.id", ondelete="CASCADE"), index=True
    )
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="RESTRICT"), index=True)
    has_conflict: Mapped[bool] = mapped_column(Boolean)
    conflict_details: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {requirement id (str): true when met, false when not met}
    requirements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requirements_note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]

    assignment: Mapped[EvaluatorAssignment] = relationship(back_populates="sheets")
    bid: Mapped[Bid] = relationship()
    scores: Mapped[list[EvaluatorScore]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", lazy="selectin"
    )

    def score_for(self, criterion_id: int) -> EvaluatorScore | None:
        return next((s for s in self.scores if s.criterion_id == criterion_id), None)

    @property
    def unmet_requirement_ids(self) -> list[int]:
        return sorted(int(k) for k, met in self.requirements.items() if met is False)


class EvaluatorScore(Base):
    """An evaluator's 0-4 score for one criterion of one bid, with its mandatory comment."""

    __tablename__ = "evaluator_score"
    __table_args__ = (
        UniqueConstraint("sheet_id", "criterion_id"),
        CheckConstraint(_SCORE_RANGE, name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(
        ForeignKey("score_sheet.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_criterion.id", ondelete="RESTRICT"), index=True
    )
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")
    criterion: Mapped[EvaluationCriterion] = relationship()


class ModeratedScore(Base):
    """The lead's agreed score for one criterion of one bid, with the rationale the bidder is
    given as feedback."""

    __tablename__ = "moderated_score"
    __table_args__ = (
        UniqueConstraint("bid_id", "criterion_id"),
        CheckConstraint(_SCORE_RANGE, name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="RESTRICT"), index=True)
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_criterion.id", ondelete="RESTRICT"), index=True
    )
    score: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)
    moderated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    moderated_at: Mapped[datetime] = mapped_column(default=utcnow)

    bid: Mapped[Bid] = relationship()
    criterion: Mapped[EvaluationCriterion] = relationship()
    moderated_by: Mapped[User | None] = relationship()


class BidAssessment(Base):
    """The lead's decisions on one bid: exclusion, shortlist (with interview) and award.

    Created for every submitted bid when the bids are opened.
    """

    __tablename__ = "bid_assessment"
    __table_args__ = (
        CheckConstraint("excluded_at IS NULL OR shortlisted_at IS NULL",
                        name="excluded_not_shortlisted"),
        CheckConstraint("excluded_at IS NULL OR exclusion_reason IS NOT NULL",
                        name="exclusion_has_reason"),
        CheckConstraint("NOT awarded OR shortlisted_at IS NOT NULL", name="award_shortlisted"),
        CheckConstraint("NOT awarded OR award_value IS NOT NULL", name="award_has_value"),
        CheckConstraint("award_value IS NULL OR award_value >= 0", name="award_value_positive"),
    )

    bid_id: Mapped[int] = mapped_column(
        ForeignKey("bid.id", ondelete="RESTRICT"), primary_key=True
    )
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    excluded_at: Mapped[datetime | None]
    excluded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    exclusion_reason: Mapped[str | None] = mapped_column(Text)
    shortlisted_at: Mapped[datetime | None]
    interview_at: Mapped[datetime | None]
    interview_notes: Mapped[str] = mapped_column(Text, default="")
    awarded: Mapped[bool] = mapped_column(Boolean, default=False)
    award_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    bid: Mapped[Bid] = relationship(lazy="joined")
    challenge: Mapped[Challenge] = relationship()

    @property
    def excluded(self) -> bool:
        return self.excluded_at is not None

    @property
    def shortlisted(self) -> bool:
        return self.shortlisted_at is not None
