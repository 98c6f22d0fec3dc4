"""The demo data: loads once into a fresh database, shows a challenge in every state, and
every demo login works."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace.demo import DEMO_PASSWORD, ORGS, demo_logins, load_demo_data
from marketplace.demo_challenges import CHALLENGES, POTHOLES
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeAmendment,
    ChallengeFollow,
    ChallengeStatus,
    ClarificationQuestion,
    Organisation,
    QuestionStatus,
    User,
    utcnow,
)
from marketplace.services import challenges as service
from marketplace.services.search import SearchParams, search
from tests.conftest import sign_in
from tests.team_admin_support import browser, text_of

# Every state is shown; evaluations and their outcomes go through the use cases.
SKIPPED_STATES: set[ChallengeStatus] = set()


@pytest.fixture
def demo(app: Flask) -> dict[str, Challenge]:
    assert load_demo_data() is True
    return {c.title: c for c in db.session.scalars(select(Challenge))}


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_loading_twice_keeps_the_data(demo: dict[str, Challenge]) -> None:
    counts = {m.__name__: _count(m) for m in (User, Organisation, Challenge, AuditEvent)}
    assert load_demo_data() is False
    assert {m.__name__: _count(m) for m in (User, Organisation, Challenge, AuditEvent)} == counts


def test_every_state_appears(demo: dict[str, Challenge]) -> None:
    now = utcnow()
    states = Counter(c.status_at(now) for c in demo.values())
    assert set(states) == set(ChallengeStatus) - SKIPPED_STATES, states
    assert states[ChallengeStatus.OPEN] >= 4
    # Each specification reached the state it asked for.
    assert {spec.title: spec.state for spec in CHALLENGES} == {
        title: c.status_at(now) for title, c in demo.items()}
    # The SQL derivation agrees.
    rows = dict(db.session.execute(select(Challenge.id, Challenge.status_sql(now))).all())
    assert rows == {c.id: c.status_at(now).value for c in demo.values()}


def test_open_challenges_pass_the_publication_checks(demo: dict[str, Challenge]) -> None:
    now = utcnow()
    for challenge in demo.values():
        if challenge.status_at(now) == ChallengeStatus.OPEN:
            assert service.problems(challenge, now) == [], challenge.title
            assert service.questions_open(challenge, now), challenge.title
            assert challenge.total_weight == 100
            assert challenge.published_at is not None and challenge.published_at <= now
            assert challenge.search_text


def test_timelines_are_consistent(demo: dict[str, Challenge]) -> None:
    now = utcnow()
    for challenge in demo.values():
        status = challenge.status_at(now)
        if challenge.published_at is None:
            continue
        assert challenge.approved_at is not None and challenge.approved_at <= \
            challenge.published_at
        assert challenge.clarification_deadline is not None
        assert challenge.submission_deadline is not None
        assert challenge.published_at < challenge.clarification_deadline < \
            challenge.submission_deadline
        assert challenge.expected_award_date is not None
        assert challenge.expected_award_date > challenge.submission_deadline.date()
        if status in {ChallengeStatus.CLOSED, ChallengeStatus.EVALUATION,
                      ChallengeStatus.STANDSTILL, ChallengeStatus.AWARDED,
                      ChallengeStatus.NO_SUITABLE_SUPPLIER}:
            assert challenge.submission_deadline < now, challenge.title
        if challenge.evaluation_started_at:
            assert challenge.submission_deadline < challenge.evaluation_started_at < now
        for end in (challenge.award_decided_at, challenge.no_suitable_supplier_at):
            if end:
                assert challenge.evaluation_started_at is not None
                assert challenge.evaluation_started_at < end < now
        if challenge.award_decided_at:
            # The standstill runs from the decision; it is over only for awarded challenges.
            assert challenge.awarded_at is not None
            assert challenge.award_decided_at < challenge.awarded_at
            assert (challenge.awarded_at <= now) == (status == ChallengeStatus.AWARDED)
        if status in {ChallengeStatus.WITHDRAWN, ChallengeStatus.CANCELLED}:
            assert challenge.end_reason
        for question in db.session.scalars(select(ClarificationQuestion).where(
                ClarificationQuestion.challenge_id == challenge.id)):
            assert challenge.published_at <= question.asked_at < \
                challenge.clarification_deadline
    # Moving a timeline into the past is on the record.
    backdated = {e.object_id for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "challenge.demo_backdated"))}
    assert str(demo["Better routes for home-to-school transport for children with SEND"].id) \
        in backdated


def test_reuse_co_sponsors_amendments_questions_and_follows(demo: dict[str, Challenge]
                                                            ) -> None:
    kent = demo["Preventing fly-tipping in rural lanes and lay-bys"]
    cardiff = demo["Preventing fly-tipping in Cardiff's back lanes"]
    assert cardiff.copied_from_id == kent.id
    assert cardiff.lead_council.name == "Cardiff Council" and cardiff.region == "Wales"
    assert service.reuse_count(kent) == 1
    potholes = demo[POTHOLES.title]
    assert service.reuse_count(potholes) == 1  # Northumberland's draft copy

    discharge = demo["Getting people home from hospital when they are ready"]
    assert {s.organisation.name for s in discharge.sponsors} == {"Vale of Glamorgan Council"}

    [amendment] = db.session.scalars(select(ChallengeAmendment).where(
        ChallengeAmendment.challenge_id == potholes.id)).all()
    assert "clarification_deadline" in amendment.changes["after"]
    assert _count(ChallengeAmendment) == 3

    states = Counter(q.status for q in db.session.scalars(select(ClarificationQuestion).where(
        ClarificationQuestion.challenge_id == potholes.id)))
    assert states == {QuestionStatus.PUBLISHED: 2, QuestionStatus.REJECTED: 1,
                      QuestionStatus.PENDING: 1}
    assert _count(ChallengeFollow) >= 5


def test_the_public_can_find_and_read_the_demo(app: Flask,
                                               demo: dict[str, Challenge]) -> None:
    potholes = demo[POTHOLES.title]
    found = search(SearchParams(q="pothole"))
    assert [c.title for c in found.items] == [POTHOLES.title]  # not the Northumberland draft
    assert {c.title for c in search(SearchParams(q="fly-tipping")).items} == {
        "Preventing fly-tipping in rural lanes and lay-bys",
        "Preventing fly-tipping in Cardiff's back lanes"}

    visitor = browser(app)
    listing = visitor.get("/challenges?q=pothole")
    assert listing.status_code == 200
    assert POTHOLES.title in text_of(listing)
    page = visitor.get(f"/challenges/{potholes.id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "How many years of SCANNER survey data do you hold" in text
    # Published answers do not name who asked; rejected and pending questions are not shown.
    for hidden in ("Roadsense", "Sam Patel", "CareLink", "which suppliers have already",
                   "preferred format for the weekly risk map"):
        assert hidden not in text, hidden


@pytest.mark.parametrize("state", ["draft", "awaiting_approval", "approved"])
def test_unpublished_demo_challenges_are_not_public(app: Flask, demo: dict[str, Challenge],
                                                    state: str) -> None:
    now = utcnow()
    for challenge in demo.values():
        if challenge.status_at(now) == state:
            assert browser(app).get(f"/challenges/{challenge.id}").status_code == 404


def test_every_demo_login_can_sign_in(app: Flask, demo: dict[str, Challenge]) -> None:
    logins = demo_logins()
    emails = [email for _, email in logins]
    assert len(emails) == len(set(emails))
    for label, email in logins:
        response = sign_in(browser(app), email, DEMO_PASSWORD)
        assert response.status_code == 302, (label, email)
        assert "/sign-in" not in response.headers["Location"], (label, email)
    # Everyone else in the demo organisations has the same password.
    assert {p.email for org in ORGS for p in org.people} <= {
        u.email for u in db.session.scalars(select(User))}


def test_bids_in_every_state_and_profiles(demo: dict[str, Challenge]) -> None:
    from marketplace.models import Bid, SupplierProfile
    from marketplace.services import bids as bid_service

    bids = list(db.session.scalars(select(Bid)))
    states = Counter(bid.status for bid in bids)
    assert {"draft", "changed", "submitted", "withdrawn"} <= set(states)
    # Bids on challenges that have closed were all received before their deadlines.
    for bid in bids:
        for version in bid.versions:
            assert version.received_at < bid.challenge.submission_deadline
    resubmitted = [b for b in bids if b.submitted_version == 2]
    assert resubmitted, "one demo bid was edited and resubmitted"
    profiles = list(db.session.scalars(select(SupplierProfile)))
    assert len(profiles) >= 4
    assert all(p.description and p.capabilities and p.regions for p in profiles)
    # Open challenges show councils only a count.
    potholes = demo[POTHOLES.title]
    assert bid_service.submitted_count(potholes) == 1
