"""Suggested suppliers in a real browser: axe-core on the page (with results, after an error
in the weights and after an invitation) and on the admin's matching vocabulary page."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.services import suppliers as supplier_service
from marketplace.services.suppliers import CaseStudyInput, ProfileChanges
from tests.bid_support import open_challenge
from tests.conftest import TEST_PASSWORD
from tests.factories import CouncilFactory, SupplierFactory, admin_user, council_user, supplier_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect


def _seed(live_server) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        officer = council_user("procurement_officer", email="officer@leeds.gov.uk",
                               organisation=CouncilFactory(name="Leeds City Council"))
        challenge = open_challenge(officer)
        roads = supplier_user("org_admin", organisation=SupplierFactory(name="Roadsense Ltd"))
        supplier_service.update_profile(roads, roads.organisation_id, ProfileChanges(
            description="Computer vision that finds potholes before they form.",
            capabilities=["Computer vision on dashcam footage",
                          "Machine learning to predict potholes"],
            regions=["Yorkshire and The Humber"], cpv_codes=["72000000"], size="small",
            case_studies=[CaseStudyInput("Pothole pilot", "Emergency repairs fell by 22%")]))
        care = supplier_user("org_admin", organisation=SupplierFactory(name="Care Ltd"))
        supplier_service.update_profile(care, care.organisation_id, ProfileChanges(
            description="Telecare alarms", capabilities=["Telecare alarms"],
            regions=["Scotland"]))
        admin_user(email="admin@example.gov.uk")
        return {"challenge": challenge.id, "roads": roads.organisation_id}


def _sign_in(page, live_server, email: str, next_path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server(f"/sign-in?next={next_path}"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_suggested_suppliers_journey(live_server, new_context, axe_check) -> None:
    ids = _seed(live_server)
    page = new_context().new_page()
    path = f"/council/challenges/{ids['challenge']}/suggested-suppliers"
    _sign_in(page, live_server, "officer@leeds.gov.uk", path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Suggested suppliers")
    expect(page.get_by_role("link", name="Roadsense Ltd")).to_be_visible()
    page.get_by_text("Why Roadsense Ltd is suggested").click()
    expect(page.locator("mark").first).to_be_visible()
    axe_check(page)

    # A weight that is not a number: the error summary links to the field.
    page.get_by_label("Capabilities weight").fill("lots")
    page.get_by_role("button", name="Update suggestions").click()
    expect(page.get_by_role("link", name="Capabilities weight must be a whole number")
           ).to_be_visible()
    axe_check(page)

    # Invite with a message.
    page.goto(live_server(path))
    item = page.locator(f"#supplier-{ids['roads']}")
    item.get_by_text("Add a message (optional)").click()
    item.get_by_label("Message to Roadsense Ltd (optional)").fill("Your pilot looks relevant")
    item.get_by_role("button", name="Invite to bid").click()
    expect(page.get_by_text("Roadsense Ltd has been invited to bid")).to_be_visible()
    expect(page.locator(f"#supplier-{ids['roads']}").get_by_text("Invited on")).to_be_visible()
    axe_check(page)


def test_matching_vocabulary_page_is_accessible(live_server, new_context, axe_check) -> None:
    _seed(live_server)
    page = new_context().new_page()
    _sign_in(page, live_server, "admin@example.gov.uk", "/admin/matching-vocabulary")
    expect(page.get_by_role("heading", level=1)).to_have_text("Matching vocabulary")
    axe_check(page)
    page.get_by_label("Extra synonyms").fill("not a line")
    page.get_by_role("button", name="Save vocabulary").click()
    expect(page.get_by_role("link", name="line 1")).to_be_visible()
    axe_check(page)
