"""Supplier profiles, the supplier directory, challenge alerts and their daily digest, and
the admin's CSV import of suppliers (marketplace/services/suppliers.py and
marketplace/views/suppliers.py)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    Alert,
    AuditEvent,
    Organisation,
    OrgKind,
    OrgStatus,
    SupplierProfile,
    User,
    utcnow,
)
from marketplace.services import suppliers as service
from marketplace.services.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.services.suppliers import (
    CaseStudyInput,
    CertificationInput,
    DirectoryParams,
    ProfileChanges,
)
from tests.factories import CouncilFactory, SupplierFactory, admin_user, council_user, supplier_user
from tests.team_admin_support import audit_events, browser, fresh, outbox, text_of
from tests.test_public_challenges import make_challenge, result_titles

# --------------------------------------------------------------------------- helpers


def editor(name: str | None = None, role: str = "org_admin", **org: Any) -> User:
    """A supplier person who may edit their organisation's profile."""
    if name is not None:
        org["name"] = name
    return supplier_user(role, organisation=SupplierFactory(**org))


def profile_of(user: User) -> SupplierProfile:
    db.session.expire_all()
    profile = db.session.get(SupplierProfile, user.organisation_id)
    assert profile is not None
    return profile


def h1_count(response: Any) -> int:
    return len(re.findall(r"<h1\b", response.get_data(as_text=True)))


def listed(name: str, **changes: Any) -> SupplierProfile:
    """A verified supplier with a profile, through the service."""
    user = editor(name)
    return service.update_profile(user, user.organisation_id, ProfileChanges(**changes))


def directory_names(**params: Any) -> list[str]:
    page = service.directory(DirectoryParams(**params))
    return [p.organisation.name for p in page.items]


# --------------------------------------------------------------------------- profile: service


@pytest.mark.parametrize(("raw", "stored"), [
    ("01234567", "01234567"),
    ("SC123456", "SC123456"),
    ("sc 123 456", "SC123456"),
    ("OC301234", "OC301234"),
    ("NI012345", "NI012345"),
    ("R0000123", "R0000123"),
    ("", None),
])
def test_valid_companies_house_numbers(raw: str, stored: str | None) -> None:
    assert service.normalise_companies_house(raw) == stored


@pytest.mark.parametrize(("raw", "message"), [
    ("1234", "add the leading zeros"),
    ("XX123456", "XX is not a Companies House prefix"),
    ("AB12345C", "correct format"),
    ("SC12345", "correct format"),
    ("012345678", "correct format"),
    ("SC-123456", "correct format"),
])
def test_invalid_companies_house_numbers(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        service.normalise_companies_house(raw)


def test_editing_details_updates_the_organisation_index_and_audit(app: Flask) -> None:
    user = editor("Old Name Ltd")
    org_id = user.organisation_id
    profile = service.update_profile(user, org_id, ProfileChanges(
        name="  Route  Masters Ltd ", companies_house_number="sc123456", size="small",
        website="www.routemasters.example", description="We plan bin rounds."))
    org = fresh(Organisation, org_id)
    assert org.name == "Route Masters Ltd"
    assert org.name_key == "route masters ltd"
    assert org.website == "https://www.routemasters.example"
    assert profile.companies_house_number == "SC123456"
    assert profile.size == "small" and profile.is_sme
    assert "route masters ltd" in profile.search_text
    assert "bin rounds" in profile.search_text
    [created] = audit_events("supplier_profile.created")
    assert created.after["name"] == "Route Masters Ltd"
    assert created.object_id == str(org_id)

    before_update = profile.updated_at
    service.update_profile(user, org_id, ProfileChanges(size="medium"))
    [updated] = audit_events("supplier_profile.updated")
    assert updated.before == {"size": "small"}
    assert updated.after == {"size": "medium"}
    assert profile_of(user).updated_at >= before_update

    # Saving the same again changes nothing and records nothing.
    service.update_profile(user, org_id, ProfileChanges(size="medium"))
    assert len(audit_events("supplier_profile.updated")) == 1


def test_company_names_stay_unique_among_suppliers(app: Flask) -> None:
    SupplierFactory(name="Acme Ltd")
    CouncilFactory(name="Lowdale Council")
    user = editor("Beta Ltd")
    with pytest.raises(ValidationFailed) as err:
        service.update_profile(user, user.organisation_id, ProfileChanges(name="ACME  ltd"))
    assert err.value.field == "name"
    assert "already registered" in err.value.message
    # A council's name is not a supplier's.
    service.update_profile(user, user.organisation_id, ProfileChanges(name="Lowdale Council"))
    # Its own name, spelt differently, is fine.
    service.update_profile(user, user.organisation_id, ProfileChanges(name="LOWDALE council"))
    assert fresh(Organisation, user.organisation_id).name == "LOWDALE council"


def test_companies_house_numbers_are_unique(app: Flask) -> None:
    first = editor("First Ltd")
    service.update_profile(first, first.organisation_id,
                           ProfileChanges(companies_house_number="01234567"))
    second = editor("Second Ltd")
    with pytest.raises(ValidationFailed) as err:
        service.update_profile(second, second.organisation_id,
                               ProfileChanges(companies_house_number="0123 4567"))
    assert err.value.field == "companies_house_number"
    assert "Another supplier" in err.value.message
    assert db.session.get(SupplierProfile, second.organisation_id) is None
    # Clearing and setting one's own number again is fine.
    service.update_profile(first, first.organisation_id, ProfileChanges(companies_house_number=""))
    service.update_profile(second, second.organisation_id,
                           ProfileChanges(companies_house_number="01234567"))


@pytest.mark.parametrize(("changes", "field", "message"), [
    (ProfileChanges(name=""), "name", "Enter the name"),
    (ProfileChanges(companies_house_number="XX123456"), "companies_house_number", "prefix"),
    (ProfileChanges(size="enormous"), "size", "micro, small, medium or large"),
    (ProfileChanges(website="ftp://example.com"), "website", "correct format"),
    (ProfileChanges(website="not a website"), "website", "correct format"),
    (ProfileChanges(regions=["Atlantis"]), "regions", "not a UK region"),
    (ProfileChanges(cpv_codes=["123"]), "cpv_codes", "8 digits"),
    (ProfileChanges(cpv_codes=["99999999"]), "cpv_codes", "not in the list"),
    (ProfileChanges(contact_email="nobody"), "contact_email", "correct format"),
    (ProfileChanges(contact_phone="call me"), "contact_phone", "telephone number"),
    (ProfileChanges(capabilities=["x" * 301]), "capabilities", "300 characters"),
    (ProfileChanges(case_studies=[CaseStudyInput(title="", outcome="Fewer missed bins")]),
     "case_study_1_title", "Enter a title for case study 1"),
    (ProfileChanges(case_studies=[CaseStudyInput(title="Bins", outcome="")]),
     "case_study_1_outcome", "Describe the outcome"),
    (ProfileChanges(case_studies=[CaseStudyInput(title="Bins", outcome="Yes", year=1900)]),
     "case_study_1_year", "between 1950"),
    (ProfileChanges(certifications=[CertificationInput(kind="other",
                                                        expires_on=date(2030, 1, 1))]),
     "certification_1_name", "Enter the name of certification 1"),
    (ProfileChanges(certifications=[CertificationInput(kind="iso_9001")]),
     "certification_1_expires_on", "Enter the expiry date"),
    (ProfileChanges(certifications=[CertificationInput(kind="gold_star",
                                                        expires_on=date(2030, 1, 1))]),
     "certification_1_kind", "Select certification 1"),
])
def test_profile_validation(app: Flask, changes: ProfileChanges, field: str,
                            message: str) -> None:
    user = editor()
    with pytest.raises(ValidationFailed) as err:
        service.update_profile(user, user.organisation_id, changes)
    assert err.value.field == field
    assert message in err.value.message


def test_every_section_is_saved(app: Flask) -> None:
    user = editor("Full Profile Ltd")
    service.update_profile(user, user.organisation_id, ProfileChanges(
        regions=["wales", "north west", "North West"],
        capabilities=["Route planning", " route  planning ", "User research"],
        cpv_codes=["72000000", "72000000-5", "90511000"],
        case_studies=[CaseStudyInput(title="Bin rounds", client="Lowdale Council",
                                     outcome="Missed bins halved", measure="Reports per month",
                                     year=2023),
                      CaseStudyInput(title="", outcome="")],
        certifications=[CertificationInput(kind="cyber_essentials",
                                           expires_on=date(2030, 3, 31)),
                        CertificationInput(kind="other", name="B Corp",
                                           expires_on=date(2029, 1, 1))],
        contact_name="Ada Lovelace", contact_email="ada@example.com",
        contact_phone="+44 808 157 0192"))
    profile = profile_of(user)
    assert profile.regions == ["North West", "Wales"]
    assert profile.capabilities == ["Route planning", "User research"]
    assert profile.cpv_codes == ["72000000", "90511000"]
    assert [(c.title, c.client, c.year) for c in profile.case_studies] == [
        ("Bin rounds", "Lowdale Council", 2023)]
    assert [c.label for c in profile.certifications] == ["Cyber Essentials", "B Corp"]
    assert profile.contact_email == "ada@example.com"
    assert "b corp" in profile.search_text and "lowdale council" in profile.search_text


def test_get_or_create_profile(app: Flask) -> None:
    user = editor("Fresh Ltd")
    profile = service.get_or_create_profile(user)
    assert profile.organisation_id == user.organisation_id
    assert profile.regions == [] and profile.case_studies == []
    assert service.get_or_create_profile(user).organisation_id == profile.organisation_id
    assert len(audit_events("supplier_profile.created")) == 1
    with pytest.raises(PermissionDenied):
        service.get_or_create_profile(council_user("challenge_owner"))


def test_other_suppliers_and_councils_cannot_edit(app: Flask) -> None:
    owner = editor("Owner Ltd")
    org_id = owner.organisation_id
    other = editor("Other Ltd")
    with pytest.raises(PermissionDenied):
        service.update_profile(other, org_id, ProfileChanges(description="Hijacked"))
    council = council_user("procurement_officer")
    with pytest.raises(PermissionDenied):
        service.update_profile(council, org_id, ProfileChanges(description="Hijacked"))
    with pytest.raises(PermissionDenied):
        service.update_profile(admin_user(), org_id, ProfileChanges(description="Hijacked"))
    # Both roles of the supplier itself may edit.
    bidder = supplier_user("bidder", organisation=owner.organisation)
    service.update_profile(bidder, org_id, ProfileChanges(description="Ours"))
    assert profile_of(owner).description == "Ours"
    assert not service.can_edit(other, org_id)
    assert not service.can_edit(council, org_id)
    assert service.can_edit(bidder, org_id)


# --------------------------------------------------------------------------- profile: pages


SECTION_SLUGS = ("details", "regions", "capabilities", "case-studies", "cpv",
                 "certifications", "contact")


def test_profile_overview_and_every_section_page(app: Flask) -> None:
    user = editor("Pages Ltd")
    client = browser(app, user)
    response = client.get("/supplier/profile")
    assert response.status_code == 200
    page = text_of(response)
    assert "Your supplier profile" in page and "Not added" in page
    assert h1_count(response) == 1
    # Looking does not create anything.
    assert db.session.get(SupplierProfile, user.organisation_id) is None
    for slug in SECTION_SLUGS:
        assert f'href="/supplier/profile/{slug}"' in response.get_data(as_text=True)
        page = client.get(f"/supplier/profile/{slug}")
        assert page.status_code == 200, slug
        assert h1_count(page) == 1
    assert client.get("/supplier/profile/bids").status_code == 404
    assert "Your profile" in text_of(client.get("/suppliers"))


def test_details_page_saves_and_shows_errors(app: Flask) -> None:
    user = editor("Details Ltd")
    client = browser(app, user)
    response = client.post("/supplier/profile/details", data={
        "name": "Details Ltd", "companies_house_number": "XX123456", "size": "micro",
        "website": "", "description": ""})
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page
    assert "XX is not a Companies House prefix" in page
    assert 'href="#companies_house_number"' in response.get_data(as_text=True)
    assert "Fewer than 10 staff" in page  # the size band's UK definition as its hint

    response = client.post("/supplier/profile/details", data={
        "name": "Details Ltd", "companies_house_number": "01234567", "size": "micro",
        "website": "https://details.example", "description": "Small and nimble."})
    assert response.status_code == 302
    assert response.headers["Location"] == "/supplier/profile"
    profile = profile_of(user)
    assert (profile.companies_house_number, profile.size) == ("01234567", "micro")
    overview = text_of(client.get("/supplier/profile"))
    assert "01234567" in overview and "Company details saved" in overview

    response = client.post("/supplier/profile/details", data={"name": "", "size": ""})
    assert response.status_code == 400
    assert "Enter the name of your company" in text_of(response)


def test_case_studies_certifications_regions_and_contact_pages(app: Flask) -> None:
    user = editor("Sections Ltd")
    client = browser(app, user)
    response = client.post("/supplier/profile/case-studies", data={
        "case_study_1_outcome": "Fewer missed bins"})
    assert response.status_code == 400
    assert "Enter a title for case study 1" in text_of(response)
    response = client.post("/supplier/profile/case-studies", data={
        "case_study_1_title": "Bin rounds", "case_study_1_client": "Lowdale Council",
        "case_study_1_outcome": "Missed bins halved", "case_study_1_measure": "Reports",
        "case_study_1_year": "2023"})
    assert response.status_code == 302
    assert profile_of(user).case_studies[0].year == 2023

    response = client.post("/supplier/profile/certifications", data={
        "certification_1_kind": "iso_27001", "certification_1_expires_on": ["31", "2", "2030"]})
    assert response.status_code == 400
    assert "must be a real date" in text_of(response)
    assert 'href="#certification_1_expires_on-day"' in response.get_data(as_text=True)
    response = client.post("/supplier/profile/certifications", data={
        "certification_1_kind": "iso_27001", "certification_1_expires_on": ["31", "3", "2030"],
        "certification_2_kind": "other", "certification_2_name": "B Corp",
        "certification_2_expires_on": ["1", "1", "2029"]})
    assert response.status_code == 302
    assert [c.label for c in profile_of(user).certifications] == ["ISO/IEC 27001", "B Corp"]

    response = client.post("/supplier/profile/regions", data={"regions": ["Wales", "London"]})
    assert response.status_code == 302
    assert profile_of(user).regions == ["London", "Wales"]

    response = client.post("/supplier/profile/capabilities", data={
        "capabilities": "- Route planning\n\n* User research\n"})
    assert response.status_code == 302
    assert profile_of(user).capabilities == ["Route planning", "User research"]

    response = client.post("/supplier/profile/contact", data={
        "contact_name": "Ada", "contact_email": "not-an-email", "contact_phone": ""})
    assert response.status_code == 400
    assert "correct format" in text_of(response)
    response = client.post("/supplier/profile/contact", data={
        "contact_name": "Ada", "contact_email": "ada@example.com",
        "contact_phone": "01632 960 001"})
    assert response.status_code == 302
    page = text_of(client.get(f"/suppliers/{user.organisation_id}"))
    assert "ada@example.com" in page and "Bin rounds" in page and "B Corp" in page


def test_cpv_section_search_works_without_javascript(app: Flask) -> None:
    user = editor("Codes Ltd")
    client = browser(app, user)
    response = client.get("/supplier/profile/cpv?q=software")
    assert response.status_code == 200
    assert 'value="48000000"' in response.get_data(as_text=True)
    # The search button shows results and keeps what is ticked, without saving.
    response = client.post("/supplier/profile/cpv", data={
        "q": "refuse", "search": "y", "cpv_codes": ["72000000"]})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'value="90511000"' in body
    assert re.search(r'value="72000000"\s+checked', body)
    assert db.session.get(SupplierProfile, user.organisation_id) is None
    response = client.post("/supplier/profile/cpv", data={
        "cpv_codes": ["72000000"], "cpv_typed": "90511000, 12"})
    assert response.status_code == 400
    assert "8 digits" in text_of(response)
    response = client.post("/supplier/profile/cpv", data={
        "cpv_codes": ["72000000"], "cpv_typed": "90511000"})
    assert response.status_code == 302
    assert profile_of(user).cpv_codes == ["72000000", "90511000"]


def test_councils_and_admins_cannot_use_the_profile_pages(app: Flask) -> None:
    for person in (council_user("procurement_officer"), admin_user()):
        client = browser(app, person)
        assert client.get("/supplier/profile").status_code == 403
        assert client.post("/supplier/profile/details", data={"name": "X"}).status_code == 403
        assert "Your profile" not in text_of(client.get("/suppliers"))


def test_another_supplier_sees_only_the_public_page(app: Flask) -> None:
    owner = editor("Owner Ltd")
    service.update_profile(owner, owner.organisation_id, ProfileChanges(description="Ours"))
    other = editor("Other Ltd")
    client = browser(app, other)
    page = client.get(f"/suppliers/{owner.organisation_id}")
    assert page.status_code == 200
    assert "Change your profile" not in text_of(page)
    # Their own profile pages edit their own organisation, whatever they send.
    response = client.post("/supplier/profile/details", data={"name": "Taken Over"})
    assert response.status_code == 302
    assert fresh(Organisation, owner.organisation_id).name == "Owner Ltd"
    assert fresh(Organisation, other.organisation_id).name == "Taken Over"
    assert "Change your profile" in text_of(browser(app, owner).get(
        f"/suppliers/{owner.organisation_id}"))


def test_unverified_profiles_are_hidden_except_from_their_own_people(app: Flask) -> None:
    pending = editor("Pending Ltd", status=OrgStatus.PENDING.value, verified_at=None)
    service.update_profile(pending, pending.organisation_id,
                           ProfileChanges(description="Not yet verified"))
    rejected = editor("Rejected Ltd", status=OrgStatus.REJECTED.value, verified_at=None)
    service.update_profile(rejected, rejected.organisation_id,
                           ProfileChanges(description="Rejected"))
    listed("Verified Ltd", description="Verified")
    assert directory_names() == ["Verified Ltd"]
    anonymous = browser(app)
    assert anonymous.get(f"/suppliers/{pending.organisation_id}").status_code == 404
    assert anonymous.get(f"/suppliers/{rejected.organisation_id}").status_code == 404
    assert "Pending Ltd" not in text_of(anonymous.get("/suppliers"))
    own = browser(app, pending).get(f"/suppliers/{pending.organisation_id}")
    assert own.status_code == 200
    assert "Not listed yet" in text_of(own)
    # Words of unlisted profiles are not in the directory's spelling vocabulary.
    words, _known = service.VOCABULARY.words()
    assert "rejected" not in words


def test_certification_expiry_is_shown_and_filtered(app: Flask) -> None:
    today = service.uk_today()
    current = listed("Current Ltd", certifications=[
        CertificationInput(kind="cyber_essentials", expires_on=today + timedelta(days=30))])
    expired = listed("Lapsed Ltd", certifications=[
        CertificationInput(kind="cyber_essentials", expires_on=today - timedelta(days=1))])
    listed("Uncertified Ltd")
    assert directory_names(certification="cyber_essentials") == ["Current Ltd"]
    client = browser(app)
    page = text_of(client.get(f"/suppliers/{expired.organisation_id}"))
    assert "Cyber Essentials Expired" in page
    page = text_of(client.get(f"/suppliers/{current.organisation_id}"))
    assert "Expired" not in page and "expires" in page
    assert service.certification_expired(expired.certifications[0])
    assert not service.certification_expired(current.certifications[0])


def test_public_profile_shows_everything_and_nothing_about_bids(app: Flask) -> None:
    profile = listed(
        "Everything Ltd", companies_house_number="SC123456", size="medium",
        website="https://everything.example", description="All of it.",
        regions=["Scotland"], capabilities=["Data science"], cpv_codes=["72000000"],
        case_studies=[CaseStudyInput(title="Gritting routes", client="Highland Council",
                                     outcome="Roads gritted sooner", measure="Two hours",
                                     year=2022)],
        certifications=[CertificationInput(kind="iso_9001", expires_on=date(2031, 1, 1))],
        contact_name="Grace", contact_email="grace@example.com", contact_phone="0131 496 0000")
    response = browser(app).get(f"/suppliers/{profile.organisation_id}")
    assert response.status_code == 200
    assert h1_count(response) == 1
    page = text_of(response)
    for text in ("Everything Ltd", "SC123456", "Medium", "Fewer than 250 staff",
                 "https://everything.example", "All of it.", "Scotland", "Data science",
                 "72000000", "Gritting routes", "Highland Council", "Roads gritted sooner",
                 "Two hours", "2022", "ISO 9001", "1 January 2031", "Grace",
                 "grace@example.com", "0131 496 0000", "SME"):
        assert text in page, text
    assert "bid" not in page.lower()


# --------------------------------------------------------------------------- directory


def test_directory_search_is_typo_tolerant(app: Flask) -> None:
    listed("Route Masters Ltd", capabilities=["Refuse collection route planning"])
    listed("Care Connect Ltd", description="Social care scheduling")
    assert directory_names(q="routing planing") == []  # "routing" is not a near spelling
    assert directory_names(q="route planing") == ["Route Masters Ltd"]
    assert directory_names(q="scheduing") == ["Care Connect Ltd"]
    assert directory_names(q="connect") == ["Care Connect Ltd"]
    response = browser(app).get("/suppliers?q=scheduing")
    assert result_titles(response) == ["Care Connect Ltd"]
    assert "Showing results for scheduling instead of scheduing" in text_of(response)


def test_directory_filters(app: Flask) -> None:
    listed("London Ltd", regions=["London"], size="micro", cpv_codes=["72000000"])
    listed("Everywhere Ltd", regions=["UK-wide"], size="large", cpv_codes=["90511000"])
    listed("Wales Ltd", regions=["Wales"], size="small", cpv_codes=["72220000", "90511000"])
    listed("Nowhere Ltd")
    assert directory_names() == ["Everywhere Ltd", "London Ltd", "Nowhere Ltd", "Wales Ltd"]
    assert directory_names(region="London") == ["Everywhere Ltd", "London Ltd"]
    assert directory_names(region="UK-wide") == ["Everywhere Ltd"]
    assert directory_names(size="small") == ["Wales Ltd"]
    assert directory_names(division="72") == ["London Ltd", "Wales Ltd"]
    assert directory_names(division="90", region="Wales") == ["Everywhere Ltd", "Wales Ltd"]
    client = browser(app)
    response = client.get("/suppliers?region=london&size=micro&division=72")
    assert result_titles(response) == ["London Ltd"]
    assert "Filtered by: London, Micro" in text_of(response)
    # Unknown values are ignored rather than failing.
    response = client.get("/suppliers?region=Atlantis&size=huge&certification=x&division=zz"
                          "&page=abc")
    assert response.status_code == 200
    assert len(result_titles(response)) == 4


def test_directory_pagination(app: Flask) -> None:
    for n in range(23):
        listed(f"Supplier {n:02d} Ltd", regions=["Wales"])
    first = service.directory(DirectoryParams(region="Wales"))
    assert (first.total, first.pages, len(first.items)) == (23, 2, 20)
    second = service.directory(DirectoryParams(region="Wales", page=2))
    assert [p.organisation.name for p in second.items] == [
        "Supplier 20 Ltd", "Supplier 21 Ltd", "Supplier 22 Ltd"]
    response = browser(app).get("/suppliers?region=Wales&page=2")
    assert len(result_titles(response)) == 3
    assert 'href="/suppliers?region=Wales"' in response.get_data(as_text=True)
    assert service.directory(DirectoryParams(page=99)).page == 2


def test_navigation_links(app: Flask) -> None:
    page = browser(app).get("/challenges").get_data(as_text=True)
    assert 'href="/suppliers"' in page and 'href="/supplier/profile"' not in page
    user = editor()
    page = browser(app, user).get("/challenges").get_data(as_text=True)
    assert 'href="/supplier/profile"' in page


# --------------------------------------------------------------------------- alerts


def test_create_list_and_delete_alerts(app: Flask) -> None:
    user = supplier_user("bidder")
    client = browser(app, user)
    assert client.get("/supplier/alerts").status_code == 200
    response = client.post("/supplier/alerts", data={})
    assert response.status_code == 400
    assert "Enter keywords, or choose a region or a category" in text_of(response)
    response = client.post("/supplier/alerts", data={
        "keywords": "  fly   tipping ", "regions": ["North West"], "divisions": ["90"]})
    assert response.status_code == 302
    [alert] = service.alerts_for(user)
    assert (alert.keywords, alert.regions, alert.divisions) == (
        "fly tipping", ["North West"], ["90"])
    page = text_of(client.get("/supplier/alerts"))
    assert "“fly tipping” in North West about Sewage, refuse" in page
    assert audit_events("alert.created")[0].after["keywords"] == "fly tipping"

    response = client.post(f"/supplier/alerts/{alert.id}/delete")
    assert response.status_code == 302
    assert service.alerts_for(user) == []
    assert len(audit_events("alert.deleted")) == 1


def test_someone_elses_alert_is_not_found(app: Flask) -> None:
    owner = supplier_user("bidder")
    alert = service.create_alert(owner, "potholes", [], [])
    colleague = supplier_user("org_admin", organisation=owner.organisation)
    with pytest.raises(NotFound):
        service.delete_alert(colleague, alert.id)
    assert browser(app, colleague).post(f"/supplier/alerts/{alert.id}/delete").status_code \
        == 404
    assert browser(app, council_user("evaluator")).post(
        f"/supplier/alerts/{alert.id}/delete").status_code == 403
    assert db.session.get(Alert, alert.id) is not None


def test_alert_validation(app: Flask) -> None:
    user = supplier_user("bidder")
    with pytest.raises(ValidationFailed, match="region"):
        service.create_alert(user, "", ["Atlantis"], [])
    with pytest.raises(ValidationFailed, match="categories"):
        service.create_alert(user, "", [], ["7"])
    with pytest.raises(PermissionDenied):
        service.create_alert(council_user("challenge_owner"), "roads", [], [])
    for n in range(service.MAX_ALERTS):
        service.create_alert(user, f"word{n}", [], [])
    response = browser(app, user).post("/supplier/alerts", data={"keywords": "one more"})
    assert response.status_code == 400
    assert f"up to {service.MAX_ALERTS} alerts" in text_of(response)


# --------------------------------------------------------------------------- digests


def _alert(user: User, keywords: str = "", regions: list[str] | None = None,
           divisions: list[str] | None = None, days_ago: int = 3) -> Alert:
    alert = service.create_alert(user, keywords, regions or [], divisions or [])
    alert.created_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return alert


def test_digest_sends_one_email_per_person_with_new_matches(app: Flask) -> None:
    council = CouncilFactory(name="Lowdale Borough Council")
    bidder = supplier_user("bidder")
    _alert(bidder, "pothole")
    _alert(bidder, regions=["Wales"])
    quiet = supplier_user("bidder", email="quiet@example.com")
    _alert(quiet, "libraries")
    pothole = make_challenge(council, "Finding potholles before they grow",
                             published_ago=timedelta(days=1), region="North West")
    welsh = make_challenge(council, "Gritting Welsh roads", published_ago=timedelta(hours=5),
                           region="Wales", summary="Winter roads.")
    uk_wide = make_challenge(council, "Everywhere roads", published_ago=timedelta(hours=2),
                             region="UK-wide", summary="Roads everywhere.")
    make_challenge(council, "Old pothole challenge", published_ago=timedelta(days=10))
    make_challenge(council, "Closed pothole challenge", published_ago=timedelta(days=1),
                   deadline=timedelta(days=-1), questions_close=timedelta(days=-2))
    make_challenge(council, "Draft pothole challenge", published=False)

    now = utcnow()
    assert service.send_alert_digests(now) == 1
    [email] = outbox(bidder.email)
    assert email.subject == "3 new challenges matching your alerts"
    for challenge in (pothole, welsh, uk_wide):
        assert challenge.title in email.body_text
        assert f"http://marketplace.test/challenges/{challenge.id}" in email.body_text
    for title in ("Old pothole", "Closed pothole", "Draft pothole"):
        assert title not in email.body_text
    assert "http://marketplace.test/supplier/alerts" in email.body_text
    assert outbox(quiet.email) == []
    assert all(a.last_sent_at == now for a in service.alerts_for(fresh(User, bidder.id)))
    assert all(a.last_sent_at is None for a in service.alerts_for(fresh(User, quiet.id)))

    # Not twice in one day, even with something new.
    make_challenge(council, "Another pothole", published_ago=-timedelta(seconds=2))
    assert service.send_alert_digests(now + timedelta(seconds=10)) == 0
    assert len(outbox(bidder.email)) == 1

    # The next day: only what is new since the last email.
    assert service.send_alert_digests(now + timedelta(days=1)) == 1
    latest = outbox(bidder.email)[-1]
    assert latest.subject == "1 new challenge matching your alerts"
    assert "Another pothole" in latest.body_text and pothole.title not in latest.body_text
    # And nothing when nothing is new.
    assert service.send_alert_digests(now + timedelta(days=2)) == 0


def test_digest_matches_regions_and_categories_and_skips_who_cannot_manage_alerts(
        app: Flask) -> None:
    council = CouncilFactory()
    both = supplier_user("bidder")
    _alert(both, regions=["London", "Wales"], divisions=["90"])
    suspended = supplier_user("bidder")
    _alert(suspended, "refuse")
    suspended.suspended_at = utcnow()
    db.session.commit()
    make_challenge(council, "London refuse", published_ago=timedelta(hours=1),
                   region="London", cpv=("90511000",))
    make_challenge(council, "London software", published_ago=timedelta(hours=1),
                   region="London", cpv=("72000000",))
    make_challenge(council, "Leeds refuse", published_ago=timedelta(hours=1),
                   region="Yorkshire and The Humber", cpv=("90511000",))
    assert service.send_alert_digests() == 1
    [email] = outbox(both.email)
    assert "London refuse" in email.body_text
    assert "London software" not in email.body_text and "Leeds refuse" not in email.body_text
    assert outbox(suspended.email) == []


def test_send_alert_digests_command(app: Flask) -> None:
    user = supplier_user("bidder")
    _alert(user, "pothole")
    make_challenge(CouncilFactory(), published_ago=timedelta(hours=1))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-alert-digests"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 alert email" in result.output
    result = runner.invoke(args=["send-alert-digests"])
    assert "Queued 0 alert emails" in result.output


# --------------------------------------------------------------------------- CSV import

HEADER = ("name,companies_house_number,size,regions,website,description,capabilities,"
          "cpv_codes,contact_name,contact_email\n")


def _count_suppliers() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Organisation.id)).where(
        Organisation.kind == OrgKind.SUPPLIER.value)) or 0


def test_import_dry_run_reports_row_errors_and_writes_nothing(app: Flask) -> None:
    admin = admin_user()
    existing = editor("Existing Ltd")
    csv_text = HEADER + (
        "Good Ltd,01234567,small,North West; Wales,good.example,Good at things,"
        "Planning;Research,72000000,Ann,ann@example.com\n"
        ",,,,,,,,,\n"
        "Bad Number Ltd,XX123456,tiny,Atlantis,,,,123,,not-an-email\n"
        ",SC123456,,,,,,,,\n"
        "good ltd,,,,,,,,,\n"
        "existing ltd,NI012345,,,,,,,,\n")
    before = _count_suppliers()
    events = len(audit_events())
    report = service.import_suppliers(admin, csv_text, dry_run=True)
    assert report.dry_run and not report.imported and not report.ok
    errors = {row.number: row.errors for row in report.error_rows}
    assert set(errors) == {4, 5, 6}
    assert any("XX is not a Companies House prefix" in e for e in errors[4])
    assert any(e.startswith("size:") for e in errors[4])
    assert any("Atlantis is not a UK region" in e for e in errors[4])
    assert any(e.startswith("cpv_codes:") for e in errors[4])
    assert any(e.startswith("contact_email:") for e in errors[4])
    assert errors[5] == ["name: Enter the name of your company"]
    assert errors[6] == ["name: the same supplier is in row 2"]
    actions = {row.number: (row.action, row.existing_name) for row in report.rows
               if not row.errors}
    assert actions == {2: ("create", None), 7: ("update", "Existing Ltd")}
    assert _count_suppliers() == before
    assert len(audit_events()) == events
    assert db.session.get(SupplierProfile, existing.organisation_id) is None


def test_import_is_all_or_nothing(app: Flask) -> None:
    admin = admin_user()
    csv_text = HEADER + ("Fine Ltd,,,,,,,,,\n"
                         "Broken Ltd,1234,,,,,,,,\n")
    before = _count_suppliers()
    report = service.import_suppliers(admin, csv_text, dry_run=False)
    assert not report.imported
    assert [row.number for row in report.error_rows] == [3]
    assert _count_suppliers() == before
    assert audit_events("suppliers.imported") == []


def test_import_creates_verified_suppliers_and_updates_existing_ones(app: Flask) -> None:
    admin = admin_user()
    by_number = editor("Numbered Ltd")
    service.update_profile(by_number, by_number.organisation_id, ProfileChanges(
        companies_house_number="SC123456", description="Keep me", regions=["Scotland"]))
    by_name = editor("Named Ltd")
    csv_text = "\ufeff" + HEADER.upper() + (
        "New Co Ltd,01234567,micro,North West; UK-wide,https://newco.example,"
        "\"New, with a comma\nand a line break\",Planning;Research,72000000;90511000,"
        "Ann,ann@example.com\n"
        "Numbered Trading Name,SC123456,medium,,,,,,,\n"
        "NAMED LTD,,,Wales,,,,,Bob,bob@example.com\n")
    report = service.import_suppliers(admin, csv_text, dry_run=False)
    assert report.imported, [r.errors for r in report.rows] + report.errors
    assert (report.to_create, report.to_update) == (1, 2)

    new = db.session.scalar(select(Organisation).where(Organisation.name == "New Co Ltd"))
    assert new is not None
    assert (new.kind, new.status) == ("supplier", "verified") and new.verified_at is not None
    assert db.session.scalars(select(User).where(User.organisation_id == new.id)).all() == []
    profile = db.session.get(SupplierProfile, new.id)
    assert profile is not None
    assert profile.companies_house_number == "01234567"
    assert profile.regions == ["North West", "UK-wide"]
    assert profile.description == "New, with a comma\nand a line break"
    assert profile.capabilities == ["Planning", "Research"]
    assert profile.cpv_codes == ["72000000", "90511000"]
    assert (profile.contact_name, profile.contact_email) == ("Ann", "ann@example.com")
    assert "new co ltd" in profile.search_text

    numbered = profile_of(by_number)
    assert fresh(Organisation, by_number.organisation_id).name == "Numbered Ltd"  # kept
    assert (numbered.size, numbered.description, numbered.regions) == (
        "medium", "Keep me", ["Scotland"])
    named = profile_of(by_name)
    assert (named.regions, named.contact_name) == (["Wales"], "Bob")

    [event] = audit_events("suppliers.imported")
    assert event.after == {"rows": 3, "created": 1, "updated": 2}
    assert [e.object_id for e in audit_events("organisation.imported")] == [str(new.id)]
    assert "New Co Ltd" in directory_names(q="new co")


def test_import_refuses_a_bad_header_and_conflicting_matches(app: Flask) -> None:
    admin = admin_user()
    report = service.import_suppliers(admin, "company,phone\nAcme,1\n", dry_run=True)
    assert report.errors and "name" in report.errors[0] and not report.rows
    assert service.import_suppliers(admin, "", dry_run=True).errors
    assert service.import_suppliers(admin, HEADER, dry_run=True).errors == [
        "The file has a header row but no suppliers"]
    one = editor("One Ltd")
    service.update_profile(one, one.organisation_id,
                           ProfileChanges(companies_house_number="01234567"))
    editor("Two Ltd")
    report = service.import_suppliers(admin, HEADER + "Two Ltd,01234567,,,,,,,,\n"
                                      "One Ltd,07654321,,,,,,,,\n", dry_run=True)
    assert [row.number for row in report.error_rows] == [2, 3]
    assert "belongs to One Ltd" in report.rows[0].errors[0]
    assert "registered with Companies House number 01234567" in report.rows[1].errors[0]
    with pytest.raises(PermissionDenied):
        service.import_suppliers(supplier_user("org_admin"), HEADER, dry_run=True)


def test_import_page(app: Flask) -> None:
    admin = admin_user()
    client = browser(app, admin)
    response = client.get("/admin/suppliers/import")
    assert response.status_code == 200 and h1_count(response) == 1
    assert 'href="/admin/suppliers/import"' in client.get("/admin").get_data(as_text=True)

    response = client.post("/admin/suppliers/import", data={"check": "y"})
    assert response.status_code == 400
    assert "Upload a CSV file or paste the CSV" in text_of(response)

    bad = HEADER + "Fine Ltd,,,,,,,,,\nBroken Ltd,1234,,,,,,,,\n"
    response = client.post("/admin/suppliers/import", data={"csv_text": bad, "check": "y"})
    page = text_of(response)
    assert "Rows with problems" in page and "Broken Ltd" in page
    assert "3 Broken Ltd companies_house_number: A Companies House number must be 8" in page
    assert "1 row has problems" in page
    response = client.post("/admin/suppliers/import", data={"csv_text": bad, "run": "y"})
    assert response.status_code == 400
    assert "Import refused" in text_of(response)
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Fine Ltd")) \
        is None

    good = (HEADER + "Fine Ltd,,small,,,,,,,\n").encode()
    response = client.post("/admin/suppliers/import", data={
        "csv_file": (io.BytesIO(good), "suppliers.csv"), "check": "y"},
        content_type="multipart/form-data")
    assert response.status_code == 200
    assert "No problems found" in text_of(response)
    response = client.post("/admin/suppliers/import", data={
        "csv_file": (io.BytesIO(good), "suppliers.csv"), "run": "y"},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Imported 1 suppliers: 1 added" in text_of(client.get(response.headers["Location"]))
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Fine Ltd"))

    response = client.post("/admin/suppliers/import", data={
        "csv_file": (io.BytesIO("name\nCafé\n".encode("latin-1")), "s.csv"), "check": "y"},
        content_type="multipart/form-data")
    assert "CSV UTF-8" in text_of(response)
    response = client.post("/admin/suppliers/import", data={
        "csv_file": (io.BytesIO(b"x" * (1024 * 1024 + 10)), "big.csv"), "check": "y"},
        content_type="multipart/form-data")
    assert "smaller than 1 MB" in text_of(response)

    for person in (supplier_user("org_admin"), council_user("procurement_officer")):
        assert browser(app, person).get("/admin/suppliers/import").status_code == 403


def test_audit_events_of_profiles_name_the_organisation(app: Flask) -> None:
    user = editor("Audited Ltd")
    service.update_profile(user, user.organisation_id, ProfileChanges(description="x"))
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "supplier_profile.created"))
    assert event is not None
    assert event.organisation_id == user.organisation_id
    assert event.object_type == "supplier_profile"
    assert event.actor_id == user.id
