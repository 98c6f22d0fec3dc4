"""Notices the service sends by itself when time passes (the ``send_deadline_notices`` job).

- A published challenge's submission deadline passed and its bids are still sealed: the lead
  council's challenge owners and procurement officers hear that the bids can be opened.
- An award's standstill ended (``awarded_at`` reached): the sponsoring councils' team and
  every bidder hear that the award is final. (The decision itself was announced to bidders,
  with their feedback, by ``award_successful`` / ``award_unsuccessful`` when it was made.)

Each notice is sent once: a marker column on the challenge (``deadline_notified_at``,
``award_final_notified_at``) is set in the same transaction that queues the emails and
records the audit event, with the challenge row locked, so runs that overlap (two workers,
or a retried job) never send one twice. Only events of the last :data:`WINDOW` are
considered, so a database upgraded with old challenges does not send stale notices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Challenge, User, UserRole, utcnow
from marketplace.services import audit, evaluation
from marketplace.services.award import _people, _winner_names
from marketplace.services.challenges import EDITORS
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.uow import unit_of_work

log = logging.getLogger(__name__)

WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class NoticeCounts:
    deadlines: int = 0
    awards: int = 0
    emails: int = 0


def _editors(org_ids: set[int]) -> list[User]:
    """Active challenge owners and procurement officers of these councils."""
    return list(db.session.scalars(
        select(User).join(UserRole).where(
            User.organisation_id.in_(org_ids), UserRole.role.in_(EDITORS),
            User.suspended_at.is_(None)).distinct().order_by(User.id)))


def _locked(challenge_id: int) -> Challenge | None:
    return db.session.scalar(
        select(Challenge).where(Challenge.id == challenge_id).with_for_update())


def _deadline_due(now: datetime) -> list[int]:
    return list(db.session.scalars(
        select(Challenge.id).where(
            Challenge.published_at.is_not(None),
            Challenge.submission_deadline <= now,
            Challenge.submission_deadline > now - WINDOW,
            Challenge.deadline_notified_at.is_(None),
            Challenge.evaluation_started_at.is_(None),
            Challenge.withdrawn_at.is_(None), Challenge.cancelled_at.is_(None),
        ).order_by(Challenge.submission_deadline, Challenge.id)))


def _award_due(now: datetime) -> list[int]:
    return list(db.session.scalars(
        select(Challenge.id).where(
            Challenge.awarded_at <= now,
            Challenge.awarded_at > now - WINDOW,
            Challenge.award_final_notified_at.is_(None),
            Challenge.withdrawn_at.is_(None), Challenge.cancelled_at.is_(None),
        ).order_by(Challenge.awarded_at, Challenge.id)))


def _notify_deadline(challenge_id: int, now: datetime) -> int:
    """Tell the lead council's team the bids can be opened. Returns emails queued (-1: skipped)."""
    challenge = _locked(challenge_id)
    if challenge is None or challenge.deadline_notified_at is not None \
            or challenge.evaluation_started_at is not None:
        return -1
    bids = len(evaluation.evaluation_bids(challenge))
    link = absolute_url("evaluation.overview", challenge_id=challenge.id)
    people = _editors({challenge.lead_council_id})
    for person in people:
        queue_email(person.email, "deadline_passed", user=person, challenge=challenge,
                    bids=bids, link=link)
    challenge.deadline_notified_at = now
    audit.record("challenge.deadline_notice_sent", challenge, actor=None,
                 organisation=challenge.lead_council_id,
                 after={"recipients": len(people), "bids": bids})
    return len(people)


def _notify_award_final(challenge_id: int, now: datetime) -> int:
    """Tell the councils' team and every bidder that the award is final."""
    challenge = _locked(challenge_id)
    if challenge is None or challenge.award_final_notified_at is not None \
            or challenge.awarded_at is None or challenge.awarded_at > now:
        return -1
    winners = _winner_names(challenge)
    sent = 0
    council_link = absolute_url("council.challenge", challenge_id=challenge.id)
    for person in _editors(challenge.sponsor_ids):
        queue_email(person.email, "award_final", user=person, challenge=challenge,
                    winners=winners, supplier=None, link=council_link)
        sent += 1
    for bid in evaluation.evaluation_bids(challenge):
        link = absolute_url("bids.outcome", bid_id=bid.id)
        for person in _people(bid.supplier_id):
            queue_email(person.email, "award_final", user=person, challenge=challenge,
                        winners=winners, supplier=bid.supplier, link=link)
            sent += 1
    challenge.award_final_notified_at = now
    audit.record("challenge.award_final_notice_sent", challenge, actor=None,
                 organisation=challenge.lead_council_id,
                 after={"recipients": sent, "winners": winners})
    return sent


def send_deadline_notices(now: datetime | None = None) -> NoticeCounts:
    """Send every notice that is due, each challenge in its own transaction."""
    now = now or utcnow()
    deadlines = awards = emails = 0
    for challenge_id in _deadline_due(now):
        with unit_of_work():
            queued = _notify_deadline(challenge_id, now)
        if queued >= 0:
            deadlines += 1
            emails += queued
    for challenge_id in _award_due(now):
        with unit_of_work():
            queued = _notify_award_final(challenge_id, now)
        if queued >= 0:
            awards += 1
            emails += queued
    if deadlines or awards:
        log.info("deadline notices sent",
                 extra={"deadlines": deadlines, "awards": awards, "emails": emails})
    return NoticeCounts(deadlines, awards, emails)
