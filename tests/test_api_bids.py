"""The bids API: a supplier's bid lifecycle (start, change, problems, submit, withdraw), whose
bids are whose, token scopes, and the council's list of submitted bids after the deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from marketplace.extensions import db
from marketplace.models import ApiToken, Bid, User, utcnow
from marketplace.services import bids as bid_service
from marketplace.services import tokens
from marketplace.services.bids import BidChanges
from tests.api_support import ApiClient, api, token_for
from tests.bid_support import close, complete_changes, open_challenge, submitted_bid
from tests.evaluation_support import evaluation_setup, opened
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.team_admin_support import audit_events

BASE = "/api/v1"


@pytest.fixture
def officer(app: Flask) -> User:
    return council_user("procurement_officer", organisation=CouncilFactory(name="Leeds"))


@pytest.fixture
def bidder(app: Flask) -> User:
    return supplier_user("bidder", organisation=SupplierFactory(name="Roadsense Ltd"))


def complete_body(challenge_id: int) -> dict[str, Any]:
    """A JSON body that completes a bid for the standard test challenge."""
    challenge = bid_service.challenge_service.get_challenge(challenge_id)
    return {
        "answers": {str(c.id): f"Our answer about {c.name.lower()}."
                    for c in challenge.criteria},
        "requirements": {
            **{str(r.id): {"met": True, "evidence": "We did this for two councils."}
               for r in challenge.essential_requirements},
            **{str(r.id): {"met": False} for r in challenge.nice_to_haves}},
        "price": "£45,000",
        "team": "Two data scientists and a highways engineer.",
        "availability": "Within two weeks of the award.",
        "has_conflict": False,
        "terms_accepted": True,
    }


def fields_of(response: Any) -> list[str]:
    return [e["field"] for e in response.get_json().get("errors", [])]


# --------------------------------------------------------------------------- lifecycle


def test_bid_lifecycle_through_the_api(app: Flask, officer: User, bidder: User) -> None:
    challenge = open_challenge(officer)
    client = api(app, bidder)

    response = client.post(f"{BASE}/challenges/{challenge.id}/bids")
    assert response.status_code == 201, response.get_json()
    bid = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/bids/{bid['id']}")
    assert bid["status"] == "draft" and bid["submitted_version"] == 0
    assert bid["receipt"] is None and bid["versions"] == [] and bid["attachments"] == []
    assert [c["id"] for c in bid["challenge"]["criteria"]] == [
        c.id for c in challenge.criteria]

    # Only one bid per supplier: a second start is a conflict pointing at the first.
    again = client.post(f"{BASE}/challenges/{challenge.id}/bids")
    assert again.status_code == 409
    assert again.headers["Location"].endswith(f"/api/v1/bids/{bid['id']}")
    assert f"/api/v1/bids/{bid['id']}" in again.get_json()["detail"]
    colleague = supplier_user("org_admin", organisation=bidder.organisation)
    assert api(app, colleague).post(f"{BASE}/challenges/{challenge.id}/bids"
                                    ).status_code == 409

    url = f"{BASE}/bids/{bid['id']}"
    problems = client.get(f"{url}/problems").get_json()
    assert problems["complete"] is False and problems["can_submit"] is False
    fields = [p["field"] for p in problems["problems"]]
    assert f"answers.{challenge.criteria[0].id}" in fields
    assert f"requirements.{challenge.essential_requirements[0].id}" in fields
    assert {"price", "team", "availability", "has_conflict", "terms_accepted"} <= set(fields)

    # Submitting too early lists everything still missing.
    early = client.post(f"{url}/submit")
    assert early.status_code == 422
    assert set(fields_of(early)) == set(fields)

    body = complete_body(challenge.id)
    response = client.patch(url, json=body)
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()
    assert saved["price"] == 45000 and saved["has_conflict"] is False
    assert saved["answers"][str(challenge.criteria[0].id)].startswith("Our answer")
    essential = str(challenge.essential_requirements[0].id)
    assert saved["requirements"][essential] == {"met": True,
                                                "evidence": "We did this for two councils."}
    assert client.get(f"{url}/problems").get_json() == {
        "bid_id": bid["id"], "complete": True, "can_submit": True, "problems": [],
        "price_warning": None}

    # Only what is sent changes: conflict details alone keep the declared answer.
    response = client.patch(url, json={"conflict_details": "None", "price": 52000.5})
    assert response.get_json()["has_conflict"] is False
    assert response.get_json()["price"] == 52000.5

    submitted = client.post(f"{url}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    receipt = submitted.get_json()["receipt"]
    assert receipt["number"] == 1 and receipt["receipt"].startswith(f"R{challenge.id}-")
    assert submitted.get_json()["status"] == "submitted"

    # A change after submitting must be submitted again.
    changed = client.patch(url, json={"team": "Three data scientists."}).get_json()
    assert changed["status"] == "changed" and changed["receipt"]["number"] == 1

    withdrawn = client.post(f"{url}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert withdrawn.get_json()["receipt"] is None
    assert client.post(f"{url}/withdraw").status_code == 409

    resubmitted = client.post(f"{url}/submit", json={})
    assert resubmitted.get_json()["receipt"]["number"] == 2
    assert [v["number"] for v in resubmitted.get_json()["versions"]] == [1, 2]

    # Every change was audited, and the audit trail says nothing of the bid's content.
    actions = [e.action for e in audit_events() if e.object_type == "bid"]
    assert actions == ["bid.started", "bid.saved", "bid.saved", "bid.submitted", "bid.saved",
                       "bid.withdrawn", "bid.submitted"]
    for event in audit_events("bid.saved"):
        assert event.actor_id == bidder.id
        assert "Our answer" not in str(event.after)


def test_own_bids_list_is_paged_and_filtered(app: Flask, officer: User, bidder: User) -> None:
    first = open_challenge(officer, "Predicting potholes")
    second = open_challenge(officer, "Gritting routes")
    submitted_bid(bidder, first.id, attachment=True, name="method.pdf")
    draft = bid_service.start_bid(bidder, second.id)
    other = supplier_user("bidder")
    bid_service.start_bid(other, first.id)
    client = api(app, bidder)

    response = client.get(f"{BASE}/bids?per_page=1")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 2 and body["pages"] == 2 and len(body["items"]) == 1
    assert body["items"][0]["id"] == draft.id  # newest first
    assert "page=2" in body["links"]["next"] and "prev" not in body["links"]
    assert 'rel="next"' in response.headers["Link"]
    second_page = client.get(body["links"]["next"]).get_json()
    assert second_page["items"][0]["status"] == "submitted"
    assert "prev" in second_page["links"]

    drafts = client.get(f"{BASE}/bids?status=draft").get_json()
    assert [b["id"] for b in drafts["items"]] == [draft.id]
    bad = client.get(f"{BASE}/bids?status=sealed")
    assert bad.status_code == 400 and fields_of(bad) == ["status"]
    assert client.get(f"{BASE}/bids?per_page=1000").status_code == 400

    # The bid lists its attachment by name (attachments themselves are not in the API).
    bid = client.get(second_page["items"][0]["links"]["self"]).get_json()
    assert [a["name"] for a in bid["attachments"]] == ["method.pdf"]


def test_etag_gives_not_modified(app: Flask, officer: User, bidder: User) -> None:
    bid = bid_service.start_bid(bidder, open_challenge(officer).id)
    client = api(app, bidder)
    first = client.get(f"{BASE}/bids/{bid.id}")
    assert first.status_code == 200 and first.headers["ETag"]
    assert "private" in first.headers["Cache-Control"]
    again = client.get(f"{BASE}/bids/{bid.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    client.patch(f"{BASE}/bids/{bid.id}", json={"team": "Two people"})
    changed = client.get(f"{BASE}/bids/{bid.id}",
                         headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200


# --------------------------------------------------------------------------- validation


def test_patch_names_the_fields_at_fault(app: Flask, officer: User, bidder: User) -> None:
    challenge = open_challenge(officer)
    bid = bid_service.start_bid(bidder, challenge.id)
    client = api(app, bidder)
    url = f"{BASE}/bids/{bid.id}"
    criterion = challenge.criteria[0]

    response = client.patch(url, json={"colour": "red", "team": 5, "has_conflict": "no",
                                       "answers": {"first": "x"}, "terms_accepted": None,
                                       "requirements": {"1": "yes"}})
    assert response.status_code == 422
    assert set(fields_of(response)) == {"colour", "team", "has_conflict", "answers",
                                        "terms_accepted", "requirements.1"}

    assert fields_of(client.patch(url, json={"answers": {"999999": "Hello"}})) == ["answers"]
    too_long = " ".join(["word"] * (criterion.word_limit + 1))
    response = client.patch(url, json={"answers": {str(criterion.id): too_long}})
    assert response.status_code == 422
    assert fields_of(response) == [f"answers.{criterion.id}"]
    for price in ("lots", -5, "1e3", 12.345, True):
        response = client.patch(url, json={"price": price})
        assert response.status_code == 422, price
        assert fields_of(response) == ["price"]
    response = client.patch(url, json={"team": "nul\x00byte"})
    assert response.status_code == 422 and fields_of(response) == ["team"]
    evidence = {str(challenge.essential_requirements[0].id): {"met": True,
                                                               "evidence": "x" * 5001}}
    response = client.patch(url, json={"requirements": evidence})
    assert fields_of(response) == [f"requirements.{challenge.essential_requirements[0].id}"
                                   ".evidence"]

    not_json = client.client.patch(url, data="team=x", headers={
        "Authorization": f"Bearer {client.secret}", "Content-Type": "text/plain"})
    assert not_json.status_code == 415
    assert client.patch(url, json=["team"]).status_code == 400
    assert client.post(f"{url}/submit", json={"now": True}).status_code == 422

    # Nothing was saved by any of these.
    db.session.expire_all()
    saved = db.session.get(Bid, bid.id)
    assert saved is not None and saved.team == "" and saved.answers == {}
    assert audit_events("bid.saved") == []


def test_nothing_changes_after_the_deadline(app: Flask, officer: User, bidder: User) -> None:
    challenge = open_challenge(officer)
    bid = submitted_bid(bidder, challenge.id, attachment=False)
    close(challenge.id)
    client = api(app, bidder)
    url = f"{BASE}/bids/{bid.id}"
    assert client.patch(url, json={"team": "Late"}).status_code == 409
    assert client.post(f"{url}/submit").status_code == 409
    assert client.post(f"{url}/withdraw").status_code == 409
    assert client.post(f"{BASE}/challenges/{challenge.id}/bids").status_code == 409
    late = supplier_user("bidder")
    assert api(app, late).post(f"{BASE}/challenges/{challenge.id}/bids").status_code == 409
    body = client.get(url).get_json()
    assert body["status"] == "submitted"
    assert client.get(f"{url}/problems").get_json()["can_submit"] is False


# --------------------------------------------------------------------------- access


def test_another_suppliers_bid_does_not_exist(app: Flask, officer: User, bidder: User) -> None:
    challenge = open_challenge(officer)
    bid = submitted_bid(bidder, challenge.id, attachment=False)
    rival = api(app, supplier_user("bidder"))
    url = f"{BASE}/bids/{bid.id}"
    assert rival.get(url).status_code == 404
    assert rival.get(f"{url}/problems").status_code == 404
    assert rival.patch(url, json={"team": "Ours now"}).status_code == 404
    assert rival.post(f"{url}/submit").status_code == 404
    assert rival.post(f"{url}/withdraw").status_code == 404
    assert rival.get(f"{BASE}/bids").get_json()["items"] == []
    assert rival.get(f"{BASE}/bids/2147483647").status_code == 404
    assert rival.get(f"{BASE}/bids/99999999999").status_code == 404
    assert rival.post(f"{BASE}/challenges/99999999999/bids").status_code == 404
    assert rival.post(f"{BASE}/challenges/999999/bids").status_code == 404
    # A council's draft challenge does not exist for suppliers.
    from tests.challenge_support import publishable

    draft = publishable(officer, "Secret plans")
    assert rival.post(f"{BASE}/challenges/{draft.id}/bids").status_code == 404
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).team == "Two data scientists and a highways engineer."


def test_tokens_scopes_and_roles(app: Flask, officer: User, bidder: User) -> None:
    challenge = open_challenge(officer)
    bid = bid_service.start_bid(bidder, challenge.id)
    url = f"{BASE}/bids/{bid.id}"

    reader = api(app, bidder, scope="read")
    assert reader.get(url).status_code == 200
    for response in (reader.patch(url, json={"team": "x"}), reader.post(f"{url}/submit"),
                     reader.post(f"{url}/withdraw"),
                     reader.post(f"{BASE}/challenges/{challenge.id}/bids")):
        assert response.status_code == 403
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]

    assert api(app).get(url).status_code == 401
    assert ApiClient(app, "mkt_not-a-real-token").get(url).status_code == 401
    revoked = token_for(bidder)
    token = db.session.query(ApiToken).order_by(ApiToken.id.desc()).first()
    tokens.revoke_token(bidder, token.id)
    response = ApiClient(app, revoked).get(url)
    assert response.status_code == 401 and "revoked" in response.get_json()["detail"]
    expired = token_for(bidder)
    token = db.session.query(ApiToken).order_by(ApiToken.id.desc()).first()
    token.expires_at = utcnow() - timedelta(minutes=1)
    token.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    response = ApiClient(app, expired).get(url)
    assert response.status_code == 401 and "expired" in response.get_json()["detail"]

    # Councils and suppliers without the bidder role cannot work on bids.
    assert api(app, officer).get(f"{BASE}/bids").status_code == 403
    assert api(app, officer).get(url).status_code == 403
    viewer = supplier_user(organisation=bidder.organisation)
    assert api(app, viewer).get(url).status_code == 403
    assert api(app, viewer).post(f"{BASE}/challenges/{challenge.id}/bids").status_code == 403


# --------------------------------------------------------------------------- councils


def test_council_sees_bids_only_after_the_deadline_once_opened(app: Flask) -> None:
    setup = evaluation_setup(bidders=2, evaluators=1)
    challenge_id = setup.challenge.id
    url = f"{BASE}/challenges/{challenge_id}/bids"
    lead = api(app, setup.lead)

    # Closed but not opened: still sealed, and the attempt is recorded.
    response = lead.get(url)
    assert response.status_code == 403
    refused = audit_events("bid.access_refused")
    assert len(refused) == 1 and refused[0].actor_id == setup.lead.id

    opened(setup)
    # Another challenge of the same council, with its own bid, stays out of the list.
    other = open_challenge(setup.lead, "Gritting routes")
    submitted_bid(supplier_user("bidder"), other.id, attachment=False)

    response = lead.get(url)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["challenge_id"] == challenge_id and body["total"] == 2
    assert {b["id"] for b in body["items"]} == {b.id for b in setup.bids}
    first = body["items"][0]
    assert first["version"] == 1 and first["content"]["price"] == 45000
    assert first["content"]["attachments"][0]["name"] == "case-study.pdf"
    assert first["supplier"]["name"].startswith("Bidder")
    # Reading bids is recorded as opening them, one event per bid.
    assert sorted(int(e.object_id) for e in audit_events("bid.opened")) == sorted(
        b.id for b in setup.bids)

    paged = lead.get(f"{url}?per_page=1").get_json()
    assert len(paged["items"]) == 1 and "next" in paged["links"]

    # The other challenge's bids are still sealed (its deadline has not passed).
    assert lead.get(f"{BASE}/challenges/{other.id}/bids").status_code == 403

    # Only the challenge's procurement officers.
    assert api(app, setup.evaluators[0]).get(url).status_code == 403
    assert api(app, council_user("procurement_officer")).get(url).status_code == 404
    assert api(app, setup.bidders[0]).get(url).status_code == 403
    assert api(app).get(url).status_code == 401
    assert lead.get(f"{BASE}/challenges/999999/bids").status_code == 404


def test_council_list_shows_the_submitted_version(app: Flask, officer: User,
                                                   bidder: User) -> None:
    challenge = open_challenge(officer)
    bid = submitted_bid(bidder, challenge.id, attachment=False)
    # Changed after submitting, never resubmitted: the council sees the submitted price.
    bid_service.save_bid(bidder, bid.id, BidChanges(price="99999", set_price=True))
    client = api(app, officer)
    before = client.get(f"{BASE}/challenges/{challenge.id}/bids")
    assert before.status_code == 403  # before the deadline
    close(challenge.id)
    from marketplace.services import evaluation

    evaluation.open_bids(officer, challenge.id)
    items = client.get(f"{BASE}/challenges/{challenge.id}/bids").get_json()["items"]
    assert [i["content"]["price"] for i in items] == [45000]
    assert items[0]["content"]["answers"] == {
        str(k): v for k, v in complete_changes(challenge).answers.items()}  # type: ignore[union-attr]
