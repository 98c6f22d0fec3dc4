"""Supplier pages in a real browser: axe-core on the directory, profile pages, every profile
section (with and without errors), alerts and the admin's import; the directory and the CPV
search used with JavaScript turned off."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from marketplace.services import suppliers as service
from marketplace.services.suppliers import CaseStudyInput, CertificationInput, ProfileChanges
from tests.conftest import TEST_PASSWORD
from tests.factories import SupplierFactory, admin_user, supplier_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

SECTIONS = ("details", "regions", "capabilities", "case-studies", "cpv", "certifications",
            "contact")


def _seed(live_server) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        owner = supplier_user("org_admin", email="owner@example.com",
                              organisation=SupplierFactory(name="Route Masters Ltd"))
        service.update_profile(owner, owner.organisation_id, ProfileChanges(
            companies_house_number="SC123456", size="small", website="https://routes.example",
            description="We plan refuse collection rounds.", regions=["Scotland", "Wales"],
            capabilities=["Route planning"], cpv_codes=["90511000"],
            case_studies=[CaseStudyInput(title="Bin rounds", client="Lowdale Council",
                                         outcome="Missed bins halved", year=2023)],
            certifications=[CertificationInput(kind="cyber_essentials",
                                               expires_on=date(2020, 1, 1))],
            contact_name="Ada", contact_email="ada@example.com"))
        other = supplier_user("org_admin", organisation=SupplierFactory(name="Care Connect"))
        service.update_profile(other, other.organisation_id, ProfileChanges(
            description="Social care scheduling", regions=["UK-wide"], size="medium"))
        admin_user(email="admin@example.gov.uk")
        return {"owner": owner.organisation_id}


def _sign_in(page, live_server, email: str, next_path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server(f"/sign-in?next={next_path}"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_supplier_pages_are_accessible(live_server, new_context, axe_check) -> None:
    ids = _seed(live_server)
    page = new_context().new_page()
    for path in ("/suppliers", "/suppliers?q=scheduing&region=London&size=medium",
                 "/suppliers?q=zebra", f"/suppliers/{ids['owner']}"):
        page.goto(live_server(path))
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        axe_check(page)

    _sign_in(page, live_server, "owner@example.com", "/supplier/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your supplier profile")
    axe_check(page)
    for slug in SECTIONS:
        page.goto(live_server(f"/supplier/profile/{slug}"))
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        axe_check(page)

    # An error on the details page: the summary links to the field.
    page.goto(live_server("/supplier/profile/details"))
    page.get_by_label("Companies House number (optional)").fill("XX123456")
    page.get_by_role("button", name="Save and return to your profile").click()
    expect(page.get_by_role("link", name="XX is not a Companies House prefix")).to_be_visible()
    axe_check(page)
    # And on a certification's date.
    page.goto(live_server("/supplier/profile/certifications"))
    page.locator("#certification_1_expires_on-day").fill("31")
    page.locator("#certification_1_expires_on-month").fill("2")
    page.get_by_role("button", name="Save and return to your profile").click()
    expect(page.get_by_role("link", name="must be a real date")).to_be_visible()
    axe_check(page)

    page.goto(live_server("/supplier/alerts"))
    axe_check(page)
    page.get_by_role("button", name="Create alert").click()
    expect(page.get_by_role("link", name="Enter keywords, or choose a region")).to_be_visible()
    axe_check(page)
    page.get_by_label("Keywords (optional)").fill("potholes")
    page.get_by_label("Wales").check()
    page.get_by_role("button", name="Create alert").click()
    expect(page.get_by_role("cell", name="“potholes” in Wales", exact=True)).to_be_visible()
    axe_check(page)

    admin = new_context().new_page()
    _sign_in(admin, live_server, "admin@example.gov.uk", "/admin/suppliers/import")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Import suppliers")
    axe_check(admin)
    admin.get_by_label("Or paste the CSV").fill("name,companies_house_number\n"
                                                 "New Co,01234567\nBad Co,1234\n")
    admin.get_by_role("button", name="Check only (dry run)").click()
    expect(admin.get_by_text("Rows with problems")).to_be_visible()
    axe_check(admin)


def test_directory_and_cpv_search_work_without_javascript(live_server, new_context) -> None:
    _seed(live_server)
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_server("/suppliers"))
    expect(page.locator("#results-count")).to_have_text("2 suppliers")
    page.get_by_label("Region served").select_option("London")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#results-count")).to_have_text("1 supplier")
    expect(page.get_by_role("link", name="Care Connect")).to_be_visible()
    page.get_by_label("Region served").select_option("")
    page.get_by_label("Search suppliers").fill("refuse colection")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("link", name="Route Masters Ltd")).to_be_visible()

    _sign_in(page, live_server, "owner@example.com", "/supplier/profile/cpv")
    page.get_by_label("Search CPV codes").fill("software")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_label("48000000").check()
    page.get_by_role("button", name="Save and return to your profile").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your supplier profile")
    expect(page.get_by_text("48000000")).to_be_visible()
