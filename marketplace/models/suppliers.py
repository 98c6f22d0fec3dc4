"""Supplier profiles, alerts, and sealed bids with their submitted versions and attachments."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.accounts import Organisation, User, _enum_check
from marketplace.models.base import Base, utcnow
from marketplace.models.challenges import Challenge


class SizeBand(enum.StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


SIZE_LABELS: dict[str, tuple[str, str]] = {
    "micro": ("Micro", "Fewer than 10 staff and turnover or balance sheet up to £2 million"),
    "small": ("Small", "Fewer than 50 staff and turnover or balance sheet up to £10 million"),
    "medium": ("Medium", "Fewer than 250 staff and turnover up to £44 million or balance "
                         "sheet up to £38 million"),
    "large": ("Large", "250 staff or more, or above the medium-sized limits"),
}


class CertificationKind(enum.StrEnum):
    CYBER_ESSENTIALS = "cyber_essentials"
    CYBER_ESSENTIALS_PLUS = "cyber_essentials_plus"
    ISO_27001 = "iso_27001"
    ISO_9001 = "iso_9001"
    OTHER = "other"


CERTIFICATION_LABELS: dict[str, str] = {
    "cyber_essentials": "Cyber Essentials",
    "cyber_essentials_plus": "Cyber Essentials Plus",
    "iso_27001": "ISO/IEC 27001",
    "iso_9001": "ISO 9001",
    "other": "Other",
}


class SupplierProfile(Base):
    """What a supplier organisation can do, shown in the public directory."""

    __tablename__ = "supplier_profile"
    __table_args__ = (CheckConstraint(_enum_check("size", SizeBand), name="size"),)

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    companies_house_number: Mapped[str | None] = mapped_column(String(8), unique=True)
    size: Mapped[str | None] = mapped_column(String(8))
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    cpv_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    website: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The match index revision of the last change to anything the matching engine reads
    # about this supplier (see marketplace.services.matching.touch_supplier).
    match_revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0",
                                                index=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    case_studies: Mapped[list[CaseStudy]] = relationship(
        back_populates="profile", cascade="all, delete-orphan",
        order_by="CaseStudy.position", lazy="selectin",
    )
    certifications: Mapped[list[Certification]] = relationship(
        back_populates="profile", cascade="all, delete-orphan",
        order_by="Certification.position", lazy="selectin",
    )

    @property
    def is_sme(self) -> bool:
        return self.size in {SizeBand.MICRO, SizeBand.SMALL, SizeBand.MEDIUM}


class CaseStudy(Base):
    """An outcome the supplier delivered: for whom, what changed, how it was measured."""

    __tablename__ = "case_study"
    __table_args__ = (
        CheckConstraint("year IS NULL OR (year >= 1950 AND year <= 2100)", name="year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("supplier_profile.organisation_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    client: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)

    profile: Mapped[SupplierProfile] = relationship(back_populates="case_studies")


class Certification(Base):
    """A certification with its expiry date."""

    __tablename__ = "certification"
    __table_args__ = (CheckConstraint(_enum_check("kind", CertificationKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("supplier_profile.organisation_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    expires_on: Mapped[date | None] = mapped_column(Date)

    profile: Mapped[SupplierProfile] = relationship(back_populates="certifications")

    @property
    def label(self) -> str:
        if self.kind == CertificationKind.OTHER and self.name:
            return self.name
        return CERTIFICATION_LABELS.get(self.kind, self.kind)


class Alert(Base):
    """A saved search: new challenges matching it arrive in a daily email digest."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    keywords: Mapped[str] = mapped_column(String(200), default="")
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    divisions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Bid(Base):
    """A supplier organisation's bid for a challenge: one per organisation per challenge.

    The working copy here is editable until the deadline; each submission freezes a
    :class:`BidVersion`, and the last submitted version is the one that counts.
    """

    __tablename__ = "bid"
    __table_args__ = (
        UniqueConstraint("challenge_id", "supplier_id"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="RESTRICT"), index=True
    )
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requirements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    team: Mapped[str] = mapped_column(Text, default="")
    availability: Mapped[str] = mapped_column(Text, default="")
    has_conflict: Mapped[bool | None] = mapped_column(Boolean)
    conflict_details: Mapped[str] = mapped_column(Text, default="")
    terms_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None]
    submitted_version: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn_at: Mapped[datetime | None]

    challenge: Mapped[Challenge] = relationship(lazy="joined")
    supplier: Mapped[Organisation] = relationship(lazy="joined")
    versions: Mapped[list[BidVersion]] = relationship(
        back_populates="bid", cascade="all, delete-orphan", order_by="BidVersion.number"
    )
    attachments: Mapped[list[BidAttachment]] = relationship(
        back_populates="bid", cascade="all, delete-orphan",
        order_by="BidAttachment.uploaded_at", lazy="selectin",
    )

    @property
    def current_attachments(self) -> list[BidAttachment]:
        """Attachments of the working copy (not removed)."""
        return [a for a in self.attachments if a.removed_at is None]

    def status_at(self, now: datetime) -> str:
        """draft, submitted, changed (edited since the last submission) or withdrawn; after
        the deadline a bid that was never submitted is ``not_submitted``."""
        if self.withdrawn_at is not None:
            return "withdrawn"
        deadline = self.challenge.submission_deadline
        closed = deadline is not None and now >= deadline
        if self.submitted_at is None:
            return "not_submitted" if closed else "draft"
        if not closed and self.changed_at > self.submitted_at:
            return "changed"
        return "submitted"

    @property
    def status(self) -> str:
        return self.status_at(utcnow())


BID_STATUS_LABELS = {
    "draft": "Draft",
    "changed": "Changes not submitted",
    "submitted": "Submitted",
    "withdrawn": "Withdrawn",
    "not_submitted": "Not submitted",
}


class BidVersion(Base):
    """A submitted bid, frozen at the moment it was received."""

    __tablename__ = "bid_version"
    __table_args__ = (UniqueConstraint("bid_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    receipt: Mapped[str] = mapped_column(String(64), unique=True)

    bid: Mapped[Bid] = relationship(back_populates="versions")
    submitted_by: Mapped[User | None] = relationship()


class BidAttachment(Base):
    """A PDF uploaded with a bid, stored outside the web root under a generated name."""

    __tablename__ = "bid_attachment"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Removing an attachment from the working copy keeps the row (and file): a submitted
    # version may still refer to it.
    removed_at: Mapped[datetime | None]

    bid: Mapped[Bid] = relationship(back_populates="attachments")
