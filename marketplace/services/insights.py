"""A council's dashboard figures for the challenges it leads or co-sponsors: challenges by
state, bids received, the share of awards won by SMEs and the time from publication to the
award decision.

Sealed bids stay sealed: the only bid figure is the count of submitted bids, which councils
already see, and it is charted only for challenges whose deadline has passed (final counts).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from marketplace.extensions import db
from marketplace.models import (
    STATUS_LABELS,
    Bid,
    BidAssessment,
    Challenge,
    ChallengeSponsor,
    ChallengeStatus,
    Organisation,
    OrgKind,
    SupplierProfile,
    User,
    utcnow,
)
from marketplace.services.errors import PermissionDenied

UK = ZoneInfo("Europe/London")
SME_SIZES = ("micro", "small", "medium")
# Lifecycle order for the chart of challenges by state.
STATE_ORDER = [s.value for s in ChallengeStatus]


@dataclass(frozen=True)
class StateCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class BidCount:
    challenge: Challenge
    bids: int


@dataclass(frozen=True)
class Winner:
    challenge: Challenge
    supplier_name: str
    size: str | None

    @property
    def size_group(self) -> str:
        """"sme", "large" or "unknown" (no size band in the supplier's profile)."""
        if self.size is None:
            return "unknown"
        return "sme" if self.size in SME_SIZES else "large"


@dataclass(frozen=True)
class AwardTime:
    challenge: Challenge
    published_at: datetime
    decided_at: datetime

    @property
    def days(self) -> int:
        """Calendar days (UK dates) from publication to the award decision."""
        return (self.decided_at.astimezone(UK).date()
                - self.published_at.astimezone(UK).date()).days


@dataclass
class Insights:
    organisation: Organisation
    now: datetime
    states: list[StateCount]
    bids: list[BidCount]
    winners: list[Winner]
    award_times: list[AwardTime]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.states)

    def winners_in(self, group: str) -> int:
        return sum(1 for w in self.winners if w.size_group == group)

    @property
    def sme_share(self) -> float | None:
        """Percentage of winning bids by SMEs (micro, small or medium), 1dp; None without
        awards."""
        if not self.winners:
            return None
        return round(100 * self.winners_in("sme") / len(self.winners), 1)

    @property
    def median_days(self) -> float | None:
        if not self.award_times:
            return None
        return float(statistics.median(a.days for a in self.award_times))


def _council_filter(org_id: int) -> ColumnElement[bool]:
    sponsored = select(ChallengeSponsor.challenge_id).where(
        ChallengeSponsor.organisation_id == org_id)
    return or_(Challenge.lead_council_id == org_id, Challenge.id.in_(sponsored))


def _states(org_id: int, now: datetime) -> list[StateCount]:
    status = Challenge.status_sql(now).label("status")
    inner = select(status).where(_council_filter(org_id)).subquery()
    counts = dict(db.session.execute(
        select(inner.c.status, func.count()).group_by(inner.c.status)).all())
    return [StateCount(s, STATUS_LABELS[s], counts[s]) for s in STATE_ORDER if counts.get(s)]


def _closed_challenges(org_id: int, now: datetime) -> Select[tuple[Challenge, int]]:
    return (
        select(Challenge, func.count(Bid.id))
        .outerjoin(Bid, and_(Bid.challenge_id == Challenge.id, Bid.submitted_at.is_not(None),
                             Bid.withdrawn_at.is_(None)))
        .where(_council_filter(org_id), Challenge.published_at.is_not(None),
               Challenge.withdrawn_at.is_(None), Challenge.submission_deadline <= now)
        .group_by(Challenge.id)
        .order_by(Challenge.submission_deadline.desc(), Challenge.id.desc()))


def _winners(org_id: int) -> list[Winner]:
    rows = db.session.execute(
        select(Challenge, Organisation.name, SupplierProfile.size)
        .join(BidAssessment, BidAssessment.challenge_id == Challenge.id)
        .join(Bid, Bid.id == BidAssessment.bid_id)
        .join(Organisation, Organisation.id == Bid.supplier_id)
        .outerjoin(SupplierProfile, SupplierProfile.organisation_id == Bid.supplier_id)
        .where(_council_filter(org_id), BidAssessment.awarded.is_(True),
               Challenge.award_decided_at.is_not(None))
        .order_by(Challenge.award_decided_at, Organisation.name))
    return [Winner(challenge, name, size) for challenge, name, size in rows]


def _award_times(org_id: int) -> list[AwardTime]:
    challenges = db.session.scalars(
        select(Challenge).where(_council_filter(org_id),
                                Challenge.award_decided_at.is_not(None),
                                Challenge.published_at.is_not(None))
        .order_by(Challenge.award_decided_at, Challenge.id))
    return [AwardTime(c, c.published_at, c.award_decided_at)
            for c in challenges]


def council_insights(actor: User, now: datetime | None = None) -> Insights:
    """The figures for the actor's council: any active member of a council."""
    org = actor.organisation
    if org is None or org.kind != OrgKind.COUNCIL or not actor.is_active:
        raise PermissionDenied("Only council staff can see council insights")
    now = now or utcnow()
    bids = [BidCount(challenge, count)
            for challenge, count in db.session.execute(_closed_challenges(org.id, now))]
    return Insights(organisation=org, now=now, states=_states(org.id, now), bids=bids,
                    winners=_winners(org.id), award_times=_award_times(org.id))
