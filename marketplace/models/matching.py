"""Supplier matching in the app: the shared state of every process's match index, and the
invitations to bid that councils send to suggested suppliers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import Organisation, User
from marketplace.models.base import Base, utcnow
from marketplace.models.challenges import Challenge


class MatchIndexState(Base):
    """The single row (id 1) every web process reads to keep its in-memory match index fresh.

    ``revision`` goes up by one with every change that feeds a supplier's matching input (the
    supplier's profile row records the revision of its last change); ``vocabulary`` holds the
    synonym lines the marketplace team added, and ``vocabulary_changed_at`` tells processes
    to rebuild their index from scratch.
    """

    __tablename__ = "match_index_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    vocabulary: Mapped[str] = mapped_column(Text, default="")
    vocabulary_changed_at: Mapped[datetime | None]


class ChallengeInvitation(Base):
    """A council's invitation to a supplier to bid for an open challenge (once per supplier)."""

    __tablename__ = "challenge_invitation"
    __table_args__ = (UniqueConstraint("challenge_id", "supplier_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    challenge: Mapped[Challenge] = relationship()
    supplier: Mapped[Organisation] = relationship()
    invited_by: Mapped[User | None] = relationship()
