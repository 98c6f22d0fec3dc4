"""OCDS 1.1 open data: every demo challenge's package and every page of the release feed
validate against the bundled schemas and codelists; releases follow the challenge's timeline;
nothing sealed or from the evaluation ever leaks; identifiers, paging and HTTP behaviour."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace import create_app
from marketplace.demo import load_demo_data
from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidAssessment,
    Challenge,
    ChallengeStatus,
    EvaluatorScore,
    ModeratedScore,
    ScoreSheet,
    User,
    utcnow,
)
from marketplace.services import award as award_service
from marketplace.services import bids as bid_service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation, ocds
from marketplace.services.award import WinnerInput
from marketplace.services.challenges import ChallengeChanges
from marketplace.services.evaluation import ModeratedInput, ScoreInput
from tests.bid_support import complete_changes, open_challenge
from tests.conftest import CSRFClient, _migrate
from tests.dbutil import fresh_database, using_postgres
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.team_admin_support import fresh

CORE_TAGS = {"tender", "tenderAmendment", "tenderCancellation", "award"}

# Unique strings that must never appear in any open data.
TEAM_MARKER = "Quokka-team-marker-5521"
ANSWER_MARKER = "Quokka-answer-marker-8812"
COMMENT_MARKER = "Quokka-evaluator-comment-3307"
RATIONALE_MARKER = "Quokka-moderation-rationale-6640"
EXCLUSION_MARKER = "Quokka-exclusion-reason-9183"
INTERVIEW_MARKER = "Quokka-interview-notes-2275"
LOSING_PRICE = "31415.92"
WINNING_PRICE = "43210.98"
AWARD_VALUE = Decimal("40000.50")
SECRETS = (TEAM_MARKER, ANSWER_MARKER, COMMENT_MARKER, RATIONALE_MARKER, EXCLUSION_MARKER,
           INTERVIEW_MARKER, LOSING_PRICE, WINNING_PRICE, "27182.81")


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _feed(client: CSRFClient, url: str = "/ocds/releases.json?per_page=7"
          ) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Every page of the release feed, following ``links.next`` (and checking the Link
    header says the same)."""
    seen = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        package = response.get_json()
        yield response, package
        next_url = (package.get("links") or {}).get("next")
        if next_url:
            assert f'<{next_url}>; rel="next"' in response.headers["Link"]
        url = next_url.removeprefix("http://marketplace.test") if next_url else ""
        seen += 1
        assert seen < 200, "the feed does not end"


# The whole demo, loaded once for the module ------------------------------------------------

@pytest.fixture(scope="module")
def demo_app(migrated_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on its own database holding the demo data (on PostgreSQL a new database, so
    the per-test clean-ups of the other tests here do not touch it)."""
    tmp = tmp_path_factory.mktemp("ocds-demo")
    with ExitStack() as stack:
        if using_postgres():
            url = stack.enter_context(fresh_database(tmp, "ocds_demo"))
            _migrate(url, tmp)
        else:
            target = tmp / "demo.sqlite3"
            shutil.copyfile(migrated_db.removeprefix("sqlite:///"), target)
            url = f"sqlite:///{target}"
        application = create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": "testing",
                                  "BASE_URL": "http://marketplace.test"})
        application.test_client_class = CSRFClient
        with application.app_context():
            assert load_demo_data() is True
            db.session.remove()
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def demo_packages(demo_app: Flask) -> dict[int, dict[str, Any]]:
    """The OCDS package of every published demo challenge, fetched over HTTP; unpublished
    challenges answer 404 problem+json."""
    with demo_app.app_context():
        now = utcnow()
        challenges = [(c.id, c.status_at(now)) for c in db.session.scalars(
            select(Challenge).order_by(Challenge.id))]
    client = demo_app.test_client()
    packages = {}
    for challenge_id, status in challenges:
        response = client.get(f"/challenges/{challenge_id}/ocds.json")
        if status.value in {"draft", "awaiting_approval", "approved"}:
            assert response.status_code == 404, (challenge_id, status)
            assert response.mimetype == "application/problem+json"
            continue
        assert response.status_code == 200, (challenge_id, status)
        assert response.mimetype == "application/json"
        packages[challenge_id] = response.get_json()
    return packages


def test_every_published_demo_challenge_validates(demo_app: Flask,
                                                  demo_packages: dict[int, dict[str, Any]]
                                                  ) -> None:
    with demo_app.app_context():
        published = set(ocds.published_challenge_ids(utcnow()))
    assert set(demo_packages) == published and len(published) >= 10
    tags: set[str] = set()
    for challenge_id, package in demo_packages.items():
        assert ocds.validate(package) == [], challenge_id
        assert package["uri"] == f"http://marketplace.test/challenges/{challenge_id}/ocds.json"
        assert package["version"] == "1.1"
        assert ocds.SUITABILITY_EXTENSION in package["extensions"]
        assert ocds.BID_EXTENSION in package["extensions"]
        releases = package["releases"]
        assert releases[0]["tag"] == ["tender"]
        assert package["publishedDate"] == max(r["date"] for r in releases)
        dates = [_when(r["date"]) for r in releases]
        assert dates == sorted(dates)
        for release in releases:
            tags.update(release["tag"])
            assert release["ocid"] == f"ocds-cimkt0-{challenge_id}"
            assert release["id"].startswith(release["ocid"] + "-")
            assert release["initiationType"] == "tender" and release["language"] == "en"
            assert release["date"].endswith("Z")
            tender = release["tender"]
            assert {"title", "status", "items", "tenderPeriod", "enquiryPeriod",
                    "suitability", "procurementMethod", "awardCriteria"} <= set(tender)
            assert all(item["classification"]["scheme"] == "CPV" for item in tender["items"])
            assert tender["value"]["currency"] == "GBP"
    assert tags >= CORE_TAGS, tags


def test_demo_releases_follow_each_state(demo_app: Flask,
                                         demo_packages: dict[int, dict[str, Any]]) -> None:
    with demo_app.app_context():
        now = utcnow()
        states = {c.id: c.status_at(now) for c in db.session.scalars(select(Challenge))}
    by_state: dict[ChallengeStatus, list[dict[str, Any]]] = {}
    for challenge_id, package in demo_packages.items():
        by_state.setdefault(states[challenge_id], []).append(package)

    for package in by_state[ChallengeStatus.OPEN]:
        for release in package["releases"]:
            assert release["tender"]["status"] == "active"
            assert "bids" not in release and "tenderers" not in release["tender"]
            assert [p["roles"] for p in release["parties"]][0] == ["buyer", "procuringEntity"]
            assert all("tenderer" not in p["roles"] for p in release["parties"])
    amended = [p for p in demo_packages.values()
               if any(r["tag"] == ["tenderAmendment"] for r in p["releases"])]
    assert len(amended) == 3
    for package in amended:
        release = next(r for r in package["releases"] if r["tag"] == ["tenderAmendment"])
        [amendment] = release["tender"]["amendments"]
        assert amendment["releaseID"] == release["id"]
        assert amendment["amendsReleaseID"] == package["releases"][0]["id"]
        assert amendment["rationale"]
        assert "amendments" not in package["releases"][0]["tender"]

    [closed] = by_state[ChallengeStatus.CLOSED]
    update = closed["releases"][-1]
    assert update["tag"] == ["tenderUpdate"]
    counts = {s["measure"]: s["value"] for s in update["bids"]["statistics"]}
    assert counts["bids"] == update["tender"]["numberOfTenderers"] == len(
        update["tender"]["tenderers"]) > 0
    assert 0 <= counts["smeBids"] <= counts["bids"]
    assert "tenderers" not in closed["releases"][0]["tender"]

    [standstill] = by_state[ChallengeStatus.STANDSTILL]
    decision = standstill["releases"][-1]
    assert decision["tag"] == ["award"] and decision["tender"]["status"] == "active"
    [pending] = decision["awards"]
    # Until the standstill ends the public only learns that a decision was made.
    assert pending["status"] == "pending"
    assert "suppliers" not in pending and "value" not in pending
    assert all("supplier" not in p["roles"] for p in decision["parties"])

    [awarded] = by_state[ChallengeStatus.AWARDED]
    tags = [r["tag"] for r in awarded["releases"]]
    assert tags[-2:] == [["award"], ["awardUpdate"]]
    final = awarded["releases"][-1]
    assert final["tender"]["status"] == "complete"
    [award] = final["awards"]
    assert award["status"] == "active" and award["suppliers"] and award["value"]["amount"] > 0
    suppliers = {p["id"] for p in final["parties"] if "supplier" in p["roles"]}
    assert suppliers == {s["id"] for s in award["suppliers"]}
    assert award["date"] == awarded["releases"][-2]["awards"][0]["date"]

    [unsuccessful] = by_state[ChallengeStatus.NO_SUITABLE_SUPPLIER]
    last = unsuccessful["releases"][-1]
    assert last["tag"] == ["award"] and last["tender"]["status"] == "unsuccessful"
    assert [a["status"] for a in last["awards"]] == ["unsuccessful"]

    for state in (ChallengeStatus.WITHDRAWN, ChallengeStatus.CANCELLED):
        [ended] = by_state[state]
        last = ended["releases"][-1]
        assert last["tag"] == ["tenderCancellation"]
        assert last["tender"]["status"] == "cancelled"
        assert all(r["tender"]["status"] == "active" for r in ended["releases"][:-1])


def test_every_page_of_the_demo_feed_validates(demo_app: Flask,
                                               demo_packages: dict[int, dict[str, Any]]
                                               ) -> None:
    client = demo_app.test_client()
    collected: list[dict[str, Any]] = []
    pages = 0
    for response, package in _feed(client):
        pages += 1
        assert ocds.validate(package) == [], pages
        assert ocds.PAGINATION_EXTENSION in package["extensions"]
        assert response.headers["Cache-Control"] == "public, max-age=300"
        assert 1 <= len(package["releases"]) <= 7
        if pages > 1:
            assert package["links"]["prev"].endswith(f"page={pages - 1}&per_page=7")
        collected += package["releases"]
    assert pages >= 3
    # Newest first, then by release id; the same releases as the challenges' packages.
    keys = [(_when(r["date"]), r["id"]) for r in collected]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    expected = {r["id"]: r for p in demo_packages.values() for r in p["releases"]}
    assert {r["id"]: r for r in collected} == expected

    # The default page size holds them all.
    whole = client.get("/ocds/releases.json").get_json()
    assert [r["id"] for r in whole["releases"]] == [r["id"] for r in collected]
    assert "links" not in whole
    assert ocds.validate(whole) == []


def test_since_filters_the_demo_feed(demo_app: Flask) -> None:
    client = demo_app.test_client()
    everything = client.get("/ocds/releases.json").get_json()["releases"]
    cut = everything[5]["date"]
    newer = [r["id"] for r in everything if _when(r["date"]) > _when(cut)]
    found = client.get(f"/ocds/releases.json?since={cut}").get_json()
    assert [r["id"] for r in found["releases"]] == newer and newer
    # A naive date-time is UTC; a date means its midnight UTC.
    naive = _when(cut).astimezone(UTC).replace(tzinfo=None).isoformat()
    assert [r["id"] for r in client.get(
        f"/ocds/releases.json?since={naive}").get_json()["releases"]] == newer
    day = _when(cut).date()
    from_day = [r["id"] for r in everything
                if _when(r["date"]) > datetime(day.year, day.month, day.day, tzinfo=UTC)]
    assert [r["id"] for r in client.get(
        f"/ocds/releases.json?since={day.isoformat()}").get_json()["releases"]] == from_day
    # Paging keeps the filter.
    first = client.get(f"/ocds/releases.json?since={day.isoformat()}&per_page=1").get_json()
    assert "since=" in first["links"]["next"]
    # Nothing newer: no content (a release package must hold at least one release).
    later = client.get(f"/ocds/releases.json?since={everything[0]['date']}")
    assert later.status_code == 204 and later.get_data() == b""


def test_no_evaluation_or_bid_text_in_any_demo_data(demo_app: Flask,
                                                    demo_packages: dict[int, dict[str, Any]]
                                                    ) -> None:
    """Comments, rationale, exclusion reasons, interview notes and bid contents of the demo
    never appear in its open data."""
    with demo_app.app_context():
        secrets: set[str] = set()
        secrets.update(db.session.scalars(select(EvaluatorScore.comment)))
        secrets.update(db.session.scalars(select(ModeratedScore.rationale)))
        secrets.update(r for r in db.session.scalars(select(BidAssessment.exclusion_reason))
                       if r)
        secrets.update(db.session.scalars(select(BidAssessment.interview_notes)))
        secrets.update(db.session.scalars(select(ScoreSheet.requirements_note)))
        secrets.update(db.session.scalars(select(ScoreSheet.conflict_details)))
        for bid in db.session.scalars(select(Bid)):
            secrets.update([bid.team, bid.availability, bid.conflict_details,
                            *(str(v) for v in (bid.answers or {}).values())])
        assert len(secrets) > 20
    client = demo_app.test_client()
    text = json.dumps(demo_packages, ensure_ascii=False) + "".join(
        json.dumps(package, ensure_ascii=False) for _, package in _feed(client))
    leaked = [s for s in secrets if s and len(s) >= 20 and json.dumps(s)[1:-1] in text]
    assert leaked == []


def test_the_same_request_gives_the_same_json_and_etags_work(demo_app: Flask,
                                                             demo_packages: dict[int, Any]
                                                             ) -> None:
    client = demo_app.test_client()
    challenge_id = max(demo_packages)
    for url in (f"/challenges/{challenge_id}/ocds.json", "/ocds/releases.json?page=2&per_page=5"):
        first, second = client.get(url), client.get(url)
        assert first.status_code == second.status_code == 200
        assert first.get_data() == second.get_data()
        etag = first.headers["ETag"]
        assert etag and first.headers["Cache-Control"] == "public, max-age=300"
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_validate_finds_problems(demo_packages: dict[int, dict[str, Any]]) -> None:
    package = next(p for p in demo_packages.values()
                   if any("awards" in r for r in p["releases"]))
    assert ocds.validate(package) == []

    def broken(change: Any) -> list[str]:
        bad = copy.deepcopy(package)
        change(bad)
        return ocds.validate(bad)

    release = 0
    awarded = next(i for i, r in enumerate(package["releases"]) if "awards" in r)
    cases: list[tuple[Any, str]] = [
        (lambda p: p["releases"][release].update(tag=["tenderOpened"]), "tag"),
        (lambda p: p["releases"][release]["tender"].update(status="open"), "tender/status"),
        (lambda p: p["releases"][release].pop("ocid"), "'ocid' is a required property"),
        (lambda p: p["releases"][release].update(ocid="cimkt0-1"), "ocid"),
        (lambda p: p["releases"][release]["parties"][0].update(roles=["boss"]),
         "partyRole codelist"),
        (lambda p: p["releases"][release]["tender"].update(awardCriteria="bestProposal"),
         "awardCriteria codelist"),  # deprecated
        (lambda p: p["releases"][release]["tender"].update(submissionMethod=["pigeon"]),
         "submissionMethod codelist"),
        (lambda p: p["releases"][release]["tender"]["items"][0]["classification"].update(
            scheme="CPV2"), "itemClassificationScheme codelist"),
        (lambda p: p["releases"][release]["tender"]["value"].update(currency="ZZZ"),
         "currency"),
        (lambda p: p["releases"][release]["tender"].update(procurementMethod="closed"),
         "procurementMethod"),
        (lambda p: p["releases"][release]["tender"].update(suitability={"sme": "yes"}),
         "tender/suitability/sme"),
        (lambda p: p["releases"][release].update(initiationType="auction"),
         "initiationType"),
        (lambda p: p["releases"][release].update(date="yesterday"), "date"),
        (lambda p: p["releases"][awarded]["awards"][0].update(status="won"), "status"),
        (lambda p: p["releases"][awarded].update(bids={"statistics": [
            {"id": "1", "measure": "biddersGalore", "value": 3}]}), "statistic codelist"),
        (lambda p: p["releases"][awarded].update(bids={"statistics": [
            {"id": "1", "measure": "bids", "value": "three"}]}), "bids/statistics/0/value"),
        (lambda p: p.pop("publisher"), "'publisher' is a required property"),
        (lambda p: p.update(releases=[]), "releases"),
        (lambda p: p.update(version="one"), "version"),
        (lambda p: p.update(links={"next": "not a url"}), "links/next"),
    ]
    for change, expected in cases:
        errors = broken(change)
        assert errors, expected
        assert any(expected in error for error in errors), (expected, errors)
    assert ocds.validate("not a package") != []


# Building through the real services ----------------------------------------------------------

def _backdate_publication(challenge_id: int, days: float = 20) -> Challenge:
    """Move publication (and approval) ``days`` into the past, as if time had passed."""
    challenge = fresh(Challenge, challenge_id)
    delta = timedelta(days=days)
    assert challenge.published_at is not None and challenge.approved_at is not None
    challenge.published_at -= delta
    challenge.approved_at -= delta
    db.session.commit()
    return challenge


def _close(challenge_id: int) -> Challenge:
    """Move the deadlines into the past (publish earlier first)."""
    challenge = fresh(Challenge, challenge_id)
    now = utcnow()
    challenge.clarification_deadline = now - timedelta(days=3)
    challenge.submission_deadline = now - timedelta(minutes=5)
    db.session.commit()
    return fresh(Challenge, challenge_id)


def _bid(bidder: User, challenge_id: int, price: str) -> Bid:
    bid = bid_service.start_bid(bidder, challenge_id)
    changes = complete_changes(bid.challenge, price=price)
    changes.team = f"Our team: {TEAM_MARKER}."
    changes.answers = {c: f"{text} {ANSWER_MARKER}" for c, text in
                       (changes.answers or {}).items()}
    bid_service.save_bid(bidder, bid.id, changes)
    bid_service.submit_bid(bidder, bid.id)
    return fresh(Bid, bid.id)


def _all_open_data(client: CSRFClient, challenge_id: int) -> str:
    response = client.get(f"/challenges/{challenge_id}/ocds.json")
    assert response.status_code == 200
    package = response.get_json()
    assert ocds.validate(package) == []
    pages = [p for _, p in _feed(client, "/ocds/releases.json?per_page=2")]
    for page in pages:
        assert ocds.validate(page) == []
    # The other public surfaces of the same facts: the API's challenge, the feeds and CSV.
    others = [client.get(path).get_data(as_text=True) for path in (
        f"/api/v1/challenges/{challenge_id}", "/challenges/feed.atom",
        "/challenges/awards.atom", "/challenges/download.csv?status=",
        f"/challenges/{challenge_id}")]
    return json.dumps([package, *pages, *others], ensure_ascii=False)


def test_nothing_sealed_leaks_at_any_stage(app: Flask, client: CSRFClient) -> None:
    council = CouncilFactory(name="Sealham Borough Council")
    lead = council_user("procurement_officer", organisation=council)
    evaluator = council_user("evaluator", organisation=council)
    challenge = open_challenge(lead)
    cid = challenge.id
    _backdate_publication(cid)
    names = ["Winning Wombat Analytics Ltd", "Losing Lemur Data Ltd", "Excluded Emu Ltd"]
    bids = []
    for name, price in zip(names, (WINNING_PRICE, LOSING_PRICE, "27182.81"), strict=True):
        bidder = supplier_user("bidder", organisation=SupplierFactory(name=name))
        bids.append(_bid(bidder, cid, price))

    # Open: not even a count, no name, no bid detail.
    text = _all_open_data(client, cid)
    for secret in (*names, *SECRETS):
        assert secret not in text, secret
    package = client.get(f"/challenges/{cid}/ocds.json").get_json()
    assert all("bids" not in r and "tenderers" not in r["tender"] for r in package["releases"])

    # Closed: the bidders' names and the counts, nothing else of the bids.
    _close(cid)
    text = _all_open_data(client, cid)
    for name in names:
        assert name in text
    for secret in SECRETS:
        assert secret not in text, secret
    package = client.get(f"/challenges/{cid}/ocds.json").get_json()
    tender_release, closed_release = package["releases"]
    assert "tenderers" not in tender_release["tender"] and "bids" not in tender_release
    assert closed_release["tag"] == ["tenderUpdate"]
    assert closed_release["tender"]["numberOfTenderers"] == 3
    assert {s["measure"]: s["value"] for s in closed_release["bids"]["statistics"]}["bids"] == 3
    assert sorted(p["name"] for p in closed_release["parties"]
                  if p["roles"] == ["tenderer"]) == sorted(names)

    # Evaluated, with comments, rationale, an exclusion and an interview; then awarded.
    evaluation.open_bids(lead, cid)
    evaluation.assign_evaluator(lead, cid, evaluator.id)
    challenge = fresh(Challenge, cid)
    for bid, score in zip(bids, (4, 2, 1), strict=True):
        evaluation.declare_conflict(evaluator, bid.id, False, "")
        evaluation.save_scores(
            evaluator, bid.id,
            {c.id: ScoreInput(score, f"{COMMENT_MARKER} on {c.name}") for c in challenge.criteria},
            {r.id: True for r in challenge.essential_requirements}, "")
        evaluation.submit_sheet(evaluator, bid.id)
        evaluation.moderate(lead, bid.id, {c.id: ModeratedInput(score, RATIONALE_MARKER)
                                           for c in challenge.criteria})
    evaluation.exclude_bid(lead, bids[2].id, EXCLUSION_MARKER)
    award_service.shortlist(lead, cid, [bids[0].id, bids[1].id])
    award_service.set_interview(lead, bids[1].id, utcnow() + timedelta(days=1), INTERVIEW_MARKER)
    award_service.award(lead, cid, [WinnerInput(bids[0].id, AWARD_VALUE)],
                        "Winning Wombat offered the strongest approach.")
    text = _all_open_data(client, cid)
    for secret in (*SECRETS, "40000.5", "strongest approach"):
        assert secret not in text, secret  # standstill: not even the winner or value
    decision = client.get(f"/challenges/{cid}/ocds.json").get_json()["releases"][-1]
    assert decision["awards"][0]["status"] == "pending"
    in_standstill = client.get(f"/api/v1/challenges/{cid}").get_json()
    assert in_standstill["award"]["status"] == "standstill"
    assert in_standstill["award"]["winners"] == [] and in_standstill["end_reason"] is None

    # The standstill ends: the award, its supplier and value are published.
    challenge = fresh(Challenge, cid)
    challenge.award_decided_at = utcnow() - timedelta(days=12)
    challenge.awarded_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    text = _all_open_data(client, cid)
    for secret in SECRETS:
        assert secret not in text, secret
    assert "strongest approach" in text
    api_award = client.get(f"/api/v1/challenges/{cid}").get_json()["award"]
    assert api_award["status"] == "awarded" and api_award["total_value"] == 40000.5
    assert [w["supplier_name"] for w in api_award["winners"]] == [names[0]]
    final = client.get(f"/challenges/{cid}/ocds.json").get_json()["releases"][-1]
    assert final["tag"] == ["awardUpdate"] and final["tender"]["status"] == "complete"
    [award] = final["awards"]
    assert award["status"] == "active" and award["value"] == {"amount": 40000.5,
                                                              "currency": "GBP"}
    assert [s["name"] for s in award["suppliers"]] == ["Winning Wombat Analytics Ltd"]
    winner = next(p for p in final["parties"] if p["name"] == names[0])
    assert winner["roles"] == ["tenderer", "supplier"]
    assert all(p["roles"] == ["tenderer"] for p in final["parties"] if p["name"] in names[1:])


def test_amendments_rebuild_the_earlier_text(app: Flask, client: CSRFClient) -> None:
    lead = council_user("procurement_officer")
    challenge = open_challenge(lead, "Finding potholes early")
    cid = challenge.id
    _backdate_publication(cid, days=2)
    challenge_service.amend(lead, cid, ChallengeChanges(title="Finding potholes earlier",
                                                        budget_max=90_000, set_budget=True,
                                                        budget_min=20_000),
                            "A clearer title and a bigger budget.")
    challenge_service.amend(lead, cid, ChallengeChanges(title="Finding potholes before they form"),
                            "An even clearer title.")
    package = client.get(f"/challenges/{cid}/ocds.json").get_json()
    assert ocds.validate(package) == []
    tender, first, second = package["releases"]
    assert [r["tag"] for r in package["releases"]] == [["tender"], ["tenderAmendment"],
                                                       ["tenderAmendment"]]
    assert tender["tender"]["title"] == "Finding potholes early"
    assert tender["tender"]["value"]["amount"] == 80_000
    assert first["tender"]["title"] == "Finding potholes earlier"
    assert first["tender"]["value"]["amount"] == 90_000
    assert second["tender"]["title"] == "Finding potholes before they form"
    assert len(first["tender"]["amendments"]) == 1
    assert [a["rationale"] for a in second["tender"]["amendments"]] == [
        "A clearer title and a bigger budget.", "An even clearer title."]
    assert second["tender"]["amendments"][1]["amendsReleaseID"] == first["id"]
    assert "title" in second["tender"]["amendments"][1]["description"]


def test_a_withdrawn_challenge_never_closes(app: Flask, client: CSRFClient) -> None:
    lead = council_user("procurement_officer")
    challenge = open_challenge(lead)
    bidder = supplier_user("bidder", organisation=SupplierFactory(name="Early Bird Ltd"))
    _bid(bidder, challenge.id, "12000")
    challenge_service.withdraw(lead, challenge.id, "The service is being redesigned.")
    # Later, the old deadline passes.
    row = _backdate_publication(challenge.id)
    row.withdrawn_at = utcnow() - timedelta(days=2)
    row.clarification_deadline = utcnow() - timedelta(days=3)
    row.submission_deadline = utcnow() - timedelta(days=1)
    db.session.commit()
    package = client.get(f"/challenges/{challenge.id}/ocds.json").get_json()
    assert ocds.validate(package) == []
    assert [r["tag"] for r in package["releases"]] == [["tender"], ["tenderCancellation"]]
    cancellation = package["releases"][-1]
    assert cancellation["tender"]["status"] == "cancelled"
    assert "Early Bird" not in json.dumps(package) and "bids" not in cancellation
    assert any(d["documentType"] == "cancellationDetails"
               and d["description"] == "The service is being redesigned."
               for d in cancellation["tender"]["documents"])


def test_unpublished_and_unknown_challenges_are_not_found(app: Flask,
                                                          client: CSRFClient) -> None:
    from tests.challenge_support import publishable

    lead = council_user("procurement_officer")
    draft = publishable(lead)
    for url in (f"/challenges/{draft.id}/ocds.json", "/challenges/999999/ocds.json"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 404
    # Nothing is published: no content at all, so nothing of the draft either.
    nothing = client.get("/ocds/releases.json")
    assert nothing.status_code == 204 and nothing.get_data() == b""


@pytest.mark.parametrize(("query", "mentions"), [
    ("since=yesterday", "since"),
    ("since=2026-13-01", "since"),
    ("since=", "since"),
    ("page=0", "page"),
    ("page=two", "page"),
    ("per_page=101", "per_page"),
    ("per_page=0", "per_page"),
])
def test_bad_feed_parameters_are_400_problems(app: Flask, client: CSRFClient, query: str,
                                              mentions: str) -> None:
    response = client.get(f"/ocds/releases.json?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 400 and mentions in body["detail"]


def test_paging_newest_first(app: Flask, client: CSRFClient) -> None:
    lead = council_user("procurement_officer")
    made = []
    for i in range(3):
        challenge = open_challenge(lead, f"Challenge number {i}")
        _backdate_publication(challenge.id, days=10 - i)
        made.append(challenge.id)
    pages = [p for _, p in _feed(client, "/ocds/releases.json?per_page=2")]
    assert [[r["ocid"] for r in p["releases"]] for p in pages] == [
        [f"ocds-cimkt0-{made[2]}", f"ocds-cimkt0-{made[1]}"], [f"ocds-cimkt0-{made[0]}"]]
    assert pages[1]["links"] == {"prev": "http://marketplace.test/ocds/releases.json?page=1"
                                         "&per_page=2"}
    assert client.get("/ocds/releases.json?per_page=2&page=3").status_code == 404
    middle = pages[0]["releases"][1]["date"]
    since = client.get(f"/ocds/releases.json?since={middle}").get_json()
    assert [r["ocid"] for r in since["releases"]] == [f"ocds-cimkt0-{made[2]}"]


def test_the_ocid_prefix_is_configurable_and_checked(app_factory: Any) -> None:
    application = app_factory(OCDS_PREFIX="ocds-abc123")
    with application.app_context():
        lead = council_user("procurement_officer")
        challenge = open_challenge(lead)
        client = application.test_client()
        package = client.get(f"/challenges/{challenge.id}/ocds.json").get_json()
        assert package["releases"][0]["ocid"] == f"ocds-abc123-{challenge.id}"
        assert package["releases"][0]["id"] == f"ocds-abc123-{challenge.id}-tender"
        assert ocds.validate(package) == []
        result = application.test_cli_runner().invoke(args=["validate-ocds"])
        assert result.exit_code == 0, result.output
        assert "1 challenge, 1 release, all valid" in result.output

        for bad in ("ocds-abc12", "ocds_abc123", "abc123", "ocds-abc-12", ""):
            application.config["OCDS_PREFIX"] = bad
            with pytest.raises(ocds.OcdsConfigError, match="OCDS_PREFIX must be 'ocds-'"):
                ocds.ocid(challenge)
        response = client.get(f"/challenges/{challenge.id}/ocds.json")
        assert response.status_code == 500
        assert response.mimetype == "application/problem+json"
        result = application.test_cli_runner().invoke(args=["validate-ocds"])
        assert result.exit_code == 1 and "OCDS_PREFIX" in result.output


def test_the_challenge_page_links_to_its_open_data(app: Flask, client: CSRFClient) -> None:
    lead = council_user("procurement_officer")
    challenge = open_challenge(lead)
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert f'href="/challenges/{challenge.id}/ocds.json"' in page
    assert "this challenge in OCDS (JSON)" in page


def test_the_bundled_files_are_there(app: Flask) -> None:
    folder = Path(ocds.DATA_DIR)
    for name in ("release-package-schema.json", "release-schema.json", "LICENSE",
                 "README.md", "codelists/releaseTag.csv", "codelists/tenderStatus.csv"):
        assert (folder / name).is_file(), name
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert "tenderAmendment" in ocds.codelist("releaseTag.csv")
    assert "bestProposal" not in ocds.codelist("awardCriteria.csv")  # deprecated
