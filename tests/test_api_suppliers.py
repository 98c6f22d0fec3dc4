"""The suppliers and matches API: the public directory and profiles, a supplier's own profile,
suggested suppliers for a council's challenge and matching challenges for a supplier."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from marketplace.extensions import db
from marketplace.models import ChallengeSponsor, OrgStatus, SupplierProfile, User, utcnow
from marketplace.services import challenges as challenge_service
from marketplace.services import suppliers as supplier_service
from marketplace.services.suppliers import CaseStudyInput, CertificationInput, ProfileChanges
from tests.api_support import api
from tests.bid_support import open_challenge
from tests.challenge_support import publishable
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.team_admin_support import audit_events

BASE = "/api/v1"
POTHOLE_CAPABILITIES = ["Computer vision on dashcam and refuse lorry footage",
                        "Machine learning to predict potholes and road defects"]


def supplier_with_profile(name: str, *, status: str = OrgStatus.VERIFIED.value,
                          role: str = "org_admin", **changes: Any) -> User:
    user = supplier_user(role, organisation=SupplierFactory(
        name=name, status=status, verified_at=utcnow() if status == "verified" else None))
    supplier_service.update_profile(user, user.organisation_id, ProfileChanges(**changes))
    return user


def roads_supplier(name: str = "Roadsense Analytics Ltd", **changes: Any) -> User:
    values: dict[str, Any] = dict(
        description="We use computer vision and machine learning to find potholes early.",
        capabilities=POTHOLE_CAPABILITIES, regions=["Yorkshire and The Humber"],
        cpv_codes=["72000000"], size="small",
        case_studies=[CaseStudyInput("Pothole prediction pilot",
                                     "Emergency pothole repairs fell by 22%",
                                     measure="Category 1 defects per 100 miles")],
        certifications=[CertificationInput("iso_27001", date.today() + timedelta(days=300))],
        contact_email="hello@roadsense.example.com")
    values.update(changes)
    return supplier_with_profile(name, **values)


def care_supplier(name: str = "CareLink Technologies", **changes: Any) -> User:
    values: dict[str, Any] = dict(
        description="Digital telecare alarms and a monitoring centre for older people.",
        capabilities=["Digital telecare alarms", "24-hour monitoring and response centre"],
        regions=["Scotland"], cpv_codes=["85300000"], size="medium",
        certifications=[CertificationInput("iso_27001", date.today() - timedelta(days=3))])
    values.update(changes)
    return supplier_with_profile(name, **values)


def fields_of(response: Any) -> list[str]:
    return [e["field"] for e in response.get_json().get("errors", [])]


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


@pytest.fixture
def officer(app: Flask) -> User:
    return council_user("procurement_officer", organisation=CouncilFactory(name="Leeds"))


# --------------------------------------------------------------------------- directory


def test_directory_lists_listed_suppliers_with_filters(app: Flask) -> None:
    roads = roads_supplier()
    care_supplier()
    supplier_with_profile("Pending Potholes Ltd", status=OrgStatus.PENDING.value,
                          description="Potholes")
    client = api(app)  # anyone

    assert names(client.get(f"{BASE}/suppliers")) == ["CareLink Technologies",
                                                      "Roadsense Analytics Ltd"]
    assert names(client.get(f"{BASE}/suppliers?q=potholes")) == ["Roadsense Analytics Ltd"]
    assert names(client.get(f"{BASE}/suppliers?q=pothols")) == ["Roadsense Analytics Ltd"]
    assert names(client.get(f"{BASE}/suppliers?region=scotland")) == ["CareLink Technologies"]
    assert names(client.get(f"{BASE}/suppliers?size=small")) == ["Roadsense Analytics Ltd"]
    assert names(client.get(f"{BASE}/suppliers?division=85")) == ["CareLink Technologies"]
    # CareLink's certificate has expired.
    assert names(client.get(f"{BASE}/suppliers?certification=iso_27001")) == [
        "Roadsense Analytics Ltd"]

    item = client.get(f"{BASE}/suppliers?q=potholes").get_json()["items"][0]
    assert item["id"] == roads.organisation_id and item["is_sme"] is True
    assert item["certifications"][0]["label"] == "ISO/IEC 27001"
    assert item["links"]["self"].endswith(f"/api/v1/suppliers/{roads.organisation_id}")

    for query, field in (("region=Atlantis", "region"), ("size=huge", "size"),
                         ("certification=other", "certification"), ("division=00", "division"),
                         ("q=" + "x" * 201, "q"), ("q=a%00b", "q"), ("page=0", "page"),
                         ("per_page=abc", "per_page")):
        response = client.get(f"{BASE}/suppliers?{query}")
        assert response.status_code == 400, query
        assert response.mimetype == "application/problem+json"
        assert fields_of(response) == [field]


def test_directory_pages_and_etag(app: Flask) -> None:
    for n in range(3):
        supplier_with_profile(f"Supplier {n} Ltd", description="Web design")
    client = api(app)
    response = client.get(f"{BASE}/suppliers?per_page=2&q=web")
    body = response.get_json()
    assert body["total"] == 3 and body["pages"] == 2 and len(body["items"]) == 2
    assert "q=web" in body["links"]["next"] and "page=2" in body["links"]["next"]
    assert response.headers["Link"].count("rel=") == 3  # first, last, next
    last = client.get(body["links"]["last"]).get_json()
    assert [i["name"] for i in last["items"]] == ["Supplier 2 Ltd"]
    assert client.get(f"{BASE}/suppliers?page=9").get_json()["items"] == []

    etag = response.headers["ETag"]
    assert client.get(f"{BASE}/suppliers?per_page=2&q=web",
                      headers={"If-None-Match": etag}).status_code == 304


def test_public_profile(app: Flask) -> None:
    roads = roads_supplier()
    pending = supplier_with_profile("Pending Ltd", status=OrgStatus.PENDING.value,
                                    description="Not yet")
    client = api(app)
    body = client.get(f"{BASE}/suppliers/{roads.organisation_id}").get_json()
    assert body["name"] == "Roadsense Analytics Ltd" and body["listed"] is True
    assert body["regions"] == ["Yorkshire and The Humber"]
    assert body["cpv_codes"][0]["code"] == "72000000" and body["cpv_codes"][0]["label"]
    assert body["case_studies"][0]["title"] == "Pothole prediction pilot"
    assert body["contact"]["email"] == "hello@roadsense.example.com"
    assert "search_text" not in body and "match_revision" not in body

    assert client.get(f"{BASE}/suppliers/{pending.organisation_id}").status_code == 404
    # Its own people may preview it.
    own = api(app, pending).get(f"{BASE}/suppliers/{pending.organisation_id}")
    assert own.status_code == 200 and own.get_json()["listed"] is False
    assert client.get(f"{BASE}/suppliers/999999").status_code == 404
    assert client.get(f"{BASE}/suppliers/99999999999").status_code == 404
    # A council is not a supplier.
    council = council_user("procurement_officer")
    assert client.get(f"{BASE}/suppliers/{council.organisation_id}").status_code == 404


# --------------------------------------------------------------------------- own profile


def test_read_and_update_own_profile(app: Flask) -> None:
    user = supplier_user("bidder", organisation=SupplierFactory(name="Fresh Ltd"))
    client = api(app, user)
    empty = client.get(f"{BASE}/supplier/profile")
    assert empty.status_code == 200
    assert empty.get_json()["updated_at"] is None and empty.get_json()["regions"] == []

    response = client.patch(f"{BASE}/supplier/profile", json={
        "name": "Fresh Digital Ltd", "size": "micro", "website": "fresh.example.com",
        "regions": ["north west", "Wales"], "capabilities": ["Accessible web services"],
        "cpv_codes": ["72000000"],
        "case_studies": [{"title": "Bins online", "outcome": "Missed bin reports down 30%",
                          "year": 2024}],
        "certifications": [{"kind": "cyber_essentials", "expires_on": "2030-01-31"}],
        "contact_phone": "01632 960 001"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "Fresh Digital Ltd" and body["website"] == "https://fresh.example.com"
    assert body["regions"] == ["North West", "Wales"]
    assert body["case_studies"][0]["year"] == 2024
    assert body["certifications"] == [{"kind": "cyber_essentials", "name": None,
                                       "expires_on": "2030-01-31"}]
    assert audit_events("supplier_profile.created")[0].actor_id == user.id

    # An absent field is left alone; null clears.
    body = client.patch(f"{BASE}/supplier/profile",
                        json={"website": None, "description": "We build services."}
                        ).get_json()
    assert body["website"] is None and body["regions"] == ["North West", "Wales"]
    updated = audit_events("supplier_profile.updated")
    assert len(updated) == 1 and set(updated[0].after) == {"website", "description"}
    db.session.expire_all()
    assert db.session.get(SupplierProfile, user.organisation_id).description == (
        "We build services.")

    # The same for the page's other editor role; refused for everyone else.
    admin = supplier_user("org_admin", organisation=user.organisation)
    assert api(app, admin).get(f"{BASE}/supplier/profile").get_json()["name"] == (
        "Fresh Digital Ltd")
    viewer = supplier_user(organisation=user.organisation)
    assert api(app, viewer).get(f"{BASE}/supplier/profile").status_code == 403
    assert api(app, council_user("procurement_officer")).get(
        f"{BASE}/supplier/profile").status_code == 403
    assert api(app).get(f"{BASE}/supplier/profile").status_code == 401
    reader = api(app, user, scope="read")
    assert reader.get(f"{BASE}/supplier/profile").status_code == 200
    assert reader.patch(f"{BASE}/supplier/profile", json={"name": "Read Only"}
                        ).status_code == 403


def test_profile_update_names_the_fields_at_fault(app: Flask) -> None:
    user = roads_supplier()
    supplier_with_profile("Taken Name Ltd")
    client = api(app, user)
    url = f"{BASE}/supplier/profile"

    response = client.patch(url, json={"nickname": "Roady", "regions": "Wales", "size": 3,
                                       "case_studies": [{"title": 1, "colour": "red"}],
                                       "certifications": {"kind": "iso_9001"}})
    assert response.status_code == 422
    assert set(fields_of(response)) == {"nickname", "regions", "size", "case_studies[0].title",
                                        "case_studies[0].colour", "certifications"}

    cases = [
        ({"regions": ["Atlantis"]}, "regions"),
        ({"size": "huge"}, "size"),
        ({"website": "not a website"}, "website"),
        ({"companies_house_number": "XX123456"}, "companies_house_number"),
        ({"contact_email": "nobody"}, "contact_email"),
        ({"cpv_codes": ["12"]}, "cpv_codes"),
        ({"name": None}, "name"),
        ({"name": "Taken Name Ltd"}, "name"),
        ({"description": "x" * 5001}, "description"),
        ({"case_studies": [{"title": "A pilot"}]}, "case_studies[0].outcome"),
        ({"case_studies": [{"title": "A", "outcome": "B"}, {"outcome": "C"}]},
         "case_studies[1].title"),
        ({"case_studies": [{"title": "A", "outcome": "B", "year": 1800}]},
         "case_studies[0].year"),
        ({"certifications": [{"kind": "iso_9001"}]}, "certifications[0].expires_on"),
        ({"certifications": [{"kind": "iso_9001", "expires_on": "31/01/2030"}]},
         "certifications[0].expires_on"),
        ({"certifications": [{"kind": "made_up", "expires_on": "2030-01-31"}]},
         "certifications[0].kind"),
        ({"contact_name": "Bad\x00name"}, "contact_name"),
        ({"capabilities": ["ok", "bad\x00"]}, "capabilities[1]"),
    ]
    for body, field in cases:
        response = client.patch(url, json=body)
        assert response.status_code == 422, body
        assert fields_of(response) == [field], (body, response.get_json())
    assert client.client.patch(url, data="name=x", headers={
        "Authorization": f"Bearer {client.secret}"}).status_code == 415
    # Nothing changed.
    assert audit_events("supplier_profile.updated") == []
    assert client.get(url).get_json()["name"] == "Roadsense Analytics Ltd"


# --------------------------------------------------------------------------- suggestions


def test_suggested_suppliers_with_breakdowns(app: Flask, officer: User) -> None:
    roads = roads_supplier()
    care_supplier()
    challenge = open_challenge(officer)
    client = api(app, officer)
    url = f"{BASE}/challenges/{challenge.id}/suggested-suppliers"

    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["challenge_id"] == challenge.id and body["can_invite"] is True
    assert body["weights"] == {"capability": 60, "outcome": 30, "cpv": 7, "region": 3}
    top = body["items"][0]
    assert top["supplier"]["id"] == roads.organisation_id
    assert 0 < top["score"] <= 100
    assert set(top["breakdown"]) == {"capability", "outcome", "cpv", "region"}
    assert top["breakdown"]["region"] == 1
    assert top["matched_phrases"] and top["matched_phrases"][0]["challenge_spans"]
    assert "Works in the challenge's region" in top["notes"]
    assert top["invited_at"] is None

    filtered = client.get(f"{url}?region=Scotland&size=medium").get_json()
    assert filtered["filters"] == {"region": "Scotland", "size": "medium",
                                   "certification": None}
    assert filtered["considered"] == 1
    assert roads.organisation_id not in [i["supplier"]["id"] for i in filtered["items"]]
    assert client.get(f"{url}?region=Scotland&size=small").get_json()["considered"] == 0
    assert client.get(f"{url}?certification=iso_27001").get_json()["considered"] == 1

    weighted = client.get(f"{url}?weight_capability=0&weight_outcome=0&weight_cpv=0"
                          "&weight_region=100").get_json()
    assert weighted["weights"] == {"capability": 0, "outcome": 0, "cpv": 0, "region": 100}
    assert weighted["items"][0]["score"] == 100

    for query, field in (("weight_cpv=101", ["weight_cpv"]),
                         ("weight_cpv=x&weight_region=-1", ["weight_cpv", "weight_region"]),
                         ("weight_capability=0&weight_outcome=0&weight_cpv=0&weight_region=0",
                          ["weight_capability"]),
                         ("region=Atlantis", ["region"]), ("size=huge", ["size"]),
                         ("certification=other", ["certification"])):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, query
        assert fields_of(response) == field


def test_suggested_suppliers_only_for_the_lead_council(app: Flask, officer: User) -> None:
    roads_supplier()
    challenge = open_challenge(officer)
    url = f"{BASE}/challenges/{challenge.id}/suggested-suppliers"
    owner = council_user("challenge_owner", organisation=officer.organisation)
    assert api(app, owner).get(url).status_code == 200
    evaluator = council_user("evaluator", organisation=officer.organisation)
    assert api(app, evaluator).get(url).status_code == 403
    assert api(app, council_user("procurement_officer")).get(url).status_code == 404
    assert api(app, supplier_user("bidder")).get(url).status_code == 403
    assert api(app).get(url).status_code == 401
    sponsor = council_user("procurement_officer")
    db.session.add(ChallengeSponsor(challenge_id=challenge.id,
                                    organisation_id=sponsor.organisation_id))
    db.session.commit()
    assert api(app, sponsor).get(url).status_code == 403
    assert api(app, officer).get(f"{BASE}/challenges/999999/suggested-suppliers"
                                 ).status_code == 404

    challenge_service.withdraw(officer, challenge.id, "Budget cut")
    assert api(app, officer).get(url).status_code == 409


# --------------------------------------------------------------------------- matching


def test_matching_challenges_for_the_supplier(app: Flask, officer: User) -> None:
    roads = roads_supplier()
    pothole = open_challenge(officer)
    challenge_service.publish(officer, publishable(
        officer, "Telecare for older people", summary="Digital telecare alarms.",
        capabilities=["Telecare alarms"], cpv_codes=["85300000"], region="Scotland").id)
    response = api(app, roads).get(f"{BASE}/supplier/matching-challenges")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["listed"] is True
    assert body["items"][0]["challenge"]["id"] == pothole.id
    item = body["items"][0]
    assert item["score"] >= body["min_score"]
    assert set(item["breakdown"]) == {"capability", "outcome", "cpv", "region"}
    assert item["reason"] and item["matched_phrases"]
    assert all(i["challenge"]["title"] != "Telecare for older people" for i in body["items"])

    # Anyone in the supplier may see them, as on the dashboard.
    viewer = supplier_user(organisation=roads.organisation)
    assert api(app, viewer).get(f"{BASE}/supplier/matching-challenges").get_json()["items"]

    pending = supplier_with_profile("Pending Ltd", status=OrgStatus.PENDING.value,
                                    capabilities=POTHOLE_CAPABILITIES)
    assert api(app, pending).get(f"{BASE}/supplier/matching-challenges").get_json() == {
        "listed": False, "min_score": body["min_score"], "items": []}
    assert api(app, officer).get(f"{BASE}/supplier/matching-challenges").status_code == 403
    assert api(app).get(f"{BASE}/supplier/matching-challenges").status_code == 401
