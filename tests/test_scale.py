"""``flask load-scale`` at a tiny size: every challenge state, consistent bids and evaluation
rows, the audit history, a consistent match index state, working sign-ins and pages."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from marketplace import scale
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Bid,
    BidAssessment,
    BidVersion,
    Challenge,
    ChallengeStatus,
    MatchIndexState,
    SupplierProfile,
    User,
    utcnow,
)
from tests.conftest import csrf_from, sign_in

SIZES = ["--challenges", "40", "--suppliers", "150", "--bids", "250", "--users", "90",
         "--seed", "3"]


def _load(app: Flask, tmp_path: Path) -> dict:
    path = tmp_path / "sign-ins.json"
    result = app.test_cli_runner().invoke(args=["load-scale", *SIZES, "--sign-ins", str(path)])
    assert result.exit_code == 0, result.output
    assert "Loaded the scale set" in result.output
    assert scale.SCALE_PASSWORD in result.output
    return json.loads(path.read_text())


def test_load_scale_makes_a_consistent_set(app: Flask, tmp_path: Path) -> None:
    signins = _load(app, tmp_path)
    now = utcnow()

    states = Counter(db.session.scalars(select(Challenge.status_sql(now))))
    assert set(states) == {s.value for s in ChallengeStatus}, states
    assert sum(states.values()) == 40
    assert db.session.scalar(select(func.count(SupplierProfile.organisation_id))) == 150
    assert db.session.scalar(select(func.count(User.id))) == 90
    assert db.session.scalar(select(func.count(Bid.id))) == 250

    versions: dict[int, list[BidVersion]] = {}
    for version in db.session.scalars(select(BidVersion)):
        versions.setdefault(version.bid_id, []).append(version)
    pairs = set()
    for bid in db.session.scalars(select(Bid)):
        challenge = bid.challenge
        assert challenge.published_at is not None, "no bids on unpublished challenges"
        assert (bid.challenge_id, bid.supplier_id) not in pairs
        pairs.add((bid.challenge_id, bid.supplier_id))
        assert challenge.published_at <= bid.created_at <= bid.changed_at <= now
        assert bid.changed_at <= challenge.submission_deadline
        numbers = sorted(v.number for v in versions.get(bid.id, []))
        assert numbers == list(range(1, bid.submitted_version + 1))
        if bid.submitted_at is None:
            assert bid.withdrawn_at is None and not numbers
            continue
        assert bid.submitted_at <= challenge.submission_deadline
        assert all(v.received_at <= bid.submitted_at for v in versions[bid.id])
        if bid.withdrawn_at is not None:
            assert bid.submitted_at <= bid.withdrawn_at <= challenge.submission_deadline
        for end in (challenge.withdrawn_at, challenge.cancelled_at):
            assert end is None or bid.submitted_at <= end

    for challenge in db.session.scalars(select(Challenge)):
        status = challenge.status_at(now)
        assessed = db.session.scalars(select(BidAssessment).where(
            BidAssessment.challenge_id == challenge.id)).all()
        if challenge.evaluation_started_at is None:
            assert not assessed
            continue
        evaluated = {b.id for b in db.session.scalars(select(Bid).where(
            Bid.challenge_id == challenge.id, Bid.submitted_at.is_not(None),
            Bid.withdrawn_at.is_(None)))}
        assert {a.bid_id for a in assessed} == evaluated
        winners = [a for a in assessed if a.awarded]
        if status in {ChallengeStatus.STANDSTILL, ChallengeStatus.AWARDED}:
            assert len(winners) == 1 and winners[0].shortlisted_at is not None
        else:
            assert not winners

    actions = Counter(db.session.scalars(select(AuditEvent.action)))
    published = db.session.scalar(select(func.count(Challenge.id)).where(
        Challenge.published_at.is_not(None)))
    assert actions["challenge.published"] == published
    assert actions["bid.started"] == 250
    assert actions["bid.submitted"] == db.session.scalar(select(func.count(BidVersion.id)))
    assert actions["challenge.award_decided"] == states["standstill"] + states["awarded"]

    revision = db.session.scalar(select(MatchIndexState.revision))
    assert db.session.scalar(select(func.max(SupplierProfile.match_revision))) == revision

    assert signins["password"] == scale.SCALE_PASSWORD
    assert signins["suppliers"] and signins["councils"] and signins["challenge_ids"]

    again = app.test_cli_runner().invoke(args=["load-scale", *SIZES, "--sign-ins",
                                               str(tmp_path / "again.json")])
    assert again.exit_code == 0 and "already present" in again.output
    assert db.session.scalar(select(func.count(Challenge.id))) == 40


def test_the_pages_render_on_the_scale_set(app: Flask, tmp_path: Path) -> None:
    signins = _load(app, tmp_path)
    now = utcnow()
    public = app.test_client()
    for path in ("/", "/challenges", "/challenges?q=pothole", "/challenges?status=open&sme=1",
                 "/challenges?page=2", "/suppliers?q=care"):
        assert public.get(path).status_code == 200, path
    for challenge in db.session.scalars(select(Challenge)):
        expected = 404 if challenge.published_at is None else 200
        response = public.get(f"/challenges/{challenge.id}")
        assert response.status_code == expected, (challenge.status_at(now), response.status)

    supplier = app.test_client()
    me = signins["suppliers"][0]
    assert sign_in(supplier, me["email"], scale.SCALE_PASSWORD).status_code == 302
    assert f"/bids/{me['bid_id']}" in supplier.get("/supplier/bids").get_data(as_text=True)
    assert supplier.get(f"/bids/{me['bid_id']}").status_code == 200
    form = supplier.get(f"/bids/{me['bid_id']}/team")
    saved = supplier.post(f"/bids/{me['bid_id']}/team", csrf=False, data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "team": "Two people.",
        "availability": "Next week.", "save_continue": "Save and continue"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:1000]

    council = app.test_client()
    officer = signins["councils"][0]
    assert sign_in(council, officer["email"], scale.SCALE_PASSWORD).status_code == 302
    dashboard = council.get("/council/challenges").get_data(as_text=True)
    assert f"/council/challenges/{officer['challenge_id']}" in dashboard
    suggested = council.get(f"/council/challenges/{officer['challenge_id']}/suggested-suppliers")
    assert suggested.status_code == 200 and "/suppliers/" in suggested.get_data(as_text=True)
    org_id = db.session.scalar(select(User.organisation_id).where(
        User.email == officer["email"]))
    for challenge in db.session.scalars(select(Challenge).where(
            Challenge.lead_council_id == org_id)):
        assert council.get(f"/council/challenges/{challenge.id}").status_code == 200
        if challenge.evaluation_started_at is not None:
            overview = council.get(f"/council/challenges/{challenge.id}/evaluation")
            assert overview.status_code == 200, challenge.status_at(now)
