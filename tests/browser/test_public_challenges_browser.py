"""The public challenge pages in a real browser: axe-core on each state of the list and the
challenge page, and the search form used with JavaScript turned off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.models import utcnow
from tests.conftest import TEST_PASSWORD
from tests.factories import CouncilFactory, supplier_user
from tests.test_public_challenges import make_challenge

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect


def _seed(live_server) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        council = CouncilFactory(name="Lowdale Borough Council")
        other = CouncilFactory(name="Highcliff Council")
        main = make_challenge(council, "Finding potholes before they grow", region="London",
                              sponsors=(other,))
        make_challenge(other, "Stopping fly-tipping in back lanes", region="Wales",
                       summary="Fly-tipping costs us a fortune.", sme=False)
        for n in range(22):
            make_challenge(council, f"Road challenge {n}", region="London",
                           deadline=timedelta(days=30 + n))
        withdrawn = make_challenge(council, "Withdrawn challenge",
                                   withdrawn_at=utcnow() - timedelta(hours=1),
                                   end_reason="The budget was cut.")
        supplier_user("bidder", email="bidder@example.com")
        return {"main": main.id, "withdrawn": withdrawn.id}


def test_public_pages_are_accessible(live_server, new_context, axe_check) -> None:
    ids = _seed(live_server)
    page = new_context().new_page()
    for path in ("/challenges", "/challenges?q=potholle&status=open&sme=1&region=London",
                 "/challenges?page=2", "/challenges?q=zebra", f"/challenges/{ids['main']}",
                 f"/challenges/{ids['withdrawn']}"):
        page.goto(live_server(path))
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        axe_check(page)

    # A supplier: follow, then a question with an error, then a good one.
    page.goto(live_server(f"/sign-in?next=/challenges/{ids['main']}"))
    page.get_by_label("Email address").fill("bidder@example.com")
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Finding potholes before they grow")
    axe_check(page)
    page.get_by_role("button", name="Follow this challenge").click()
    expect(page.get_by_role("button", name="Stop following this challenge")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Send question").click()
    expect(page.get_by_role("link", name="Enter your question")).to_be_visible()
    axe_check(page)
    page.get_by_label("Your question").fill("Can we use drones?")
    page.get_by_role("button", name="Send question").click()
    expect(page.get_by_text("Waiting for an answer")).to_be_visible()
    axe_check(page)


def test_search_and_filters_work_without_javascript(live_server, new_context) -> None:
    _seed(live_server)
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_server("/challenges"))
    expect(page.locator("#results-count")).to_have_text("25 challenges")
    page.get_by_label("Place of delivery").select_option("Wales")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#results-count")).to_have_text("1 challenge")
    page.get_by_label("Place of delivery").select_option("")
    page.get_by_label("Search challenges").fill("flytipping")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("link", name="Stopping fly-tipping in back lanes")).to_be_visible()
    page.get_by_label("Search challenges").fill("")
    page.get_by_label("Sort by").select_option("newest")
    page.get_by_role("button", name="Sort", exact=True).click()
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(live_server("/challenges?sort=newest&page=2"))
    expect(page.get_by_role("link", name="Road challenge 0", exact=True)).to_be_visible()
