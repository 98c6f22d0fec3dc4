"""A bid from start to resubmission, in a real browser: a supplier finds an open challenge,
starts a bid, fills in every section (with a PDF upload), submits it and gets a receipt, then
changes an answer and resubmits (version 2). Then the council's side: the sealed count before
the deadline, and the bids opened by the procurement officer after it. axe-core checks every
page visited, and the error states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bid_support import close, open_challenge, pdf_bytes, submitted_bid
from tests.conftest import TEST_PASSWORD
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

COUNCIL = "Lowdale Borough Council"
OFFICER = ("Priya Patel", "priya.patel@lowdale.gov.uk")
COMPANY = "Pothole Prophets Ltd"
BIDDER = ("Sam Bidwell", "sam@potholeprophets.example.com")
TITLE = "Predicting potholes before they form"


def sign_in(page, live_server, user: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    name, email = user
    page.goto(live_server("/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {name}")


def h1(page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def save_and_continue(page, next_title: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Save and continue").click()
    expect(h1(page)).to_have_text(next_title)


def test_a_supplier_bids_and_resubmits(live_server, new_context, axe_check,
                                       tmp_path: Path) -> None:
    with live_server.app.app_context():
        council = CouncilFactory(name=COUNCIL)
        officer = council_user("procurement_officer", organisation=council,
                               full_name=OFFICER[0], email=OFFICER[1])
        supplier_user("bidder", organisation=SupplierFactory(name=COMPANY),
                      full_name=BIDDER[0], email=BIDDER[1])
        challenge = open_challenge(officer, TITLE)
        criteria = [(c.name, c.weight) for c in challenge.criteria]
        essential = challenge.essential_requirements[0].text
        nice = challenge.nice_to_haves[0].text
    pdf = tmp_path / "case-study.pdf"
    pdf.write_bytes(pdf_bytes())

    # 0. The supplier completes their profile ----------------------------------------------
    page = new_context().new_page()
    sign_in(page, live_server, BIDDER)
    page.goto(live_server("/supplier/profile/details"))
    axe_check(page)
    page.get_by_label("Companies House number (optional)").fill("01234567")
    page.get_by_label("Small").check()
    page.get_by_label("Website (optional)").fill("https://pothole-prophets.example.com")
    page.get_by_label("About your company (optional)").fill(
        "We predict where roads will fail, using footage from vehicles councils already run.")
    page.get_by_role("button", name="Save and return to your profile").click()
    expect(h1(page)).to_have_text("Your supplier profile")
    page.goto(live_server("/supplier/profile/regions"))
    page.get_by_label("Yorkshire and The Humber").check()
    page.get_by_role("button", name="Save and return to your profile").click()
    page.goto(live_server("/supplier/profile/capabilities"))
    page.get_by_label("Capability statements").fill(
        "Predictive maintenance for carriageways\nComputer vision on dashcam footage")
    page.get_by_role("button", name="Save and return to your profile").click()
    expect(h1(page)).to_have_text("Your supplier profile")
    expect(page.get_by_text("Predictive maintenance for carriageways")).to_be_visible()
    axe_check(page)  # the completed profile overview

    # 1. The supplier finds the open challenge and starts a bid ---------------------------
    page.get_by_role("navigation").get_by_role("link", name="Challenges").click()
    page.get_by_label("Search challenges").fill("potholes")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name=TITLE).click()
    expect(h1(page)).to_have_text(TITLE)
    axe_check(page)  # the challenge page with its "Start a bid" button
    page.get_by_role("button", name="Start a bid").click()

    expect(h1(page)).to_have_text("Your bid")
    found = re.search(r"/bids/(\d+)$", page.url)
    assert found, page.url
    bid_id = int(found.group(1))
    expect(page.locator("#status")).to_have_text("Draft")
    axe_check(page)  # the task list

    # Submitting now lists everything still missing.
    page.get_by_role("button", name="Submit bid").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("Your bid is not ready to submit")
    expect(summary.get_by_role("link", name="Enter your price")).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: Your bid"))
    axe_check(page)  # the task list with its error summary

    # 2. Every section ------------------------------------------------------------------
    page.get_by_role("link", name="Your answers").click()
    expect(h1(page)).to_have_text("Your answers")
    axe_check(page)
    for name, weight in criteria:
        page.get_by_label(f"{name} ({weight}%)").fill(
            f"Our approach to {name.lower()}: we rank road segments by the chance of a "
            "pothole forming in the next 90 days, using refuse lorry camera footage.")
    save_and_continue(page, "Requirements")

    axe_check(page)
    group = page.get_by_role("group", name=essential)
    group.get_by_label("I confirm we meet this").check()
    group.get_by_label("Evidence").fill("We connect to Confirm and Symology today.")
    group = page.get_by_role("group", name=nice)
    group.get_by_label("Yes, we offer this").check()
    group.get_by_label("Evidence").fill("Our cameras already ride on refuse lorries.")
    save_and_continue(page, "Price")

    # The price: a typo first, then one above the budget (a warning, not an error).
    axe_check(page)
    page.get_by_label("Your price").fill("abc")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter the price in pounds, like 12500 or £12,500.50")
    axe_check(page)  # the error state
    page.get_by_label("Your price").fill("£85,000")
    save_and_continue(page, "Team and availability")
    axe_check(page)
    page.get_by_label("Your team", exact=True).fill("Two data scientists and a highways engineer.")
    page.get_by_label("When your team is available").fill("From 1 March, three days a week.")
    save_and_continue(page, "Declarations")

    axe_check(page)
    page.get_by_role("group", name="Do you have a conflict of interest?").get_by_label(
        "No", exact=True).check()
    page.get_by_label("I accept the terms").check()
    save_and_continue(page, "Supporting documents")

    axe_check(page)
    page.get_by_label("Upload a file").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload file").click()
    expect(page.get_by_text("case-study.pdf uploaded")).to_be_visible()
    expect(page.get_by_role("link", name="case-study.pdf")).to_be_visible()
    axe_check(page)  # the list of documents with its Remove button
    page.get_by_role("button", name="Save and return to your bid").click()

    # 3. Submit: the receipt ----------------------------------------------------------------
    expect(h1(page)).to_have_text("Your bid")
    expect(page.get_by_text("Incomplete")).to_have_count(0)
    expect(page.get_by_text("above the maximum budget of £80,000")).to_be_visible()
    page.get_by_role("button", name="Submit bid").click()
    expect(h1(page)).to_have_text("Bid submitted")
    assert page.url.endswith(f"/bids/{bid_id}/receipts/1")
    expect(page.locator("#receipt-reference")).to_have_text(re.compile(rf"^R\d+-{bid_id}-1-"))
    expect(page.locator("#received-at")).to_have_text(
        re.compile(r"^\d{1,2} [A-Z][a-z]+ \d{4} at \d{1,2}:\d{2}:\d{2}(am|pm)$"))
    axe_check(page)

    # 4. Change an answer and resubmit: version 2 ---------------------------------------------
    page.get_by_role("link", name="Back to your bid").first.click()
    expect(page.locator("#status")).to_have_text("Submitted")
    page.get_by_role("link", name="Withdraw your bid").click()
    expect(h1(page)).to_have_text("Withdraw your bid")
    axe_check(page)  # the confirmation (not confirmed)
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Your answers").click()
    first_name, first_weight = criteria[0]
    page.get_by_label(f"{first_name} ({first_weight}%)").fill(
        "A sharper answer: we predict 70% of new potholes three months ahead.")
    save_and_continue(page, "Requirements")
    page.get_by_role("link", name="Back to your bid").click()
    expect(page.locator("#status")).to_have_text("Changes not submitted")
    axe_check(page)
    page.get_by_role("button", name="Resubmit bid").click()
    expect(h1(page)).to_have_text("Bid submitted")
    assert page.url.endswith(f"/bids/{bid_id}/receipts/2")
    expect(page.get_by_text("We received version 2")).to_be_visible()
    expect(page.locator("#receipt-reference")).to_have_text(re.compile(rf"-{bid_id}-2-"))

    # 5. The bids dashboard --------------------------------------------------------------------
    page.goto(live_server("/supplier/bids"))
    expect(h1(page)).to_have_text("Your bids")
    expect(page.get_by_role("heading", name="Submitted (1)")).to_be_visible()
    axe_check(page)


def test_the_council_sees_a_count_then_the_bids(live_server, new_context,
                                                 axe_check) -> None:
    with live_server.app.app_context():
        council = CouncilFactory(name=COUNCIL)
        officer = council_user("procurement_officer", organisation=council,
                               full_name=OFFICER[0], email=OFFICER[1])
        bidder = supplier_user("bidder", organisation=SupplierFactory(name=COMPANY),
                               full_name=BIDDER[0], email=BIDDER[1])
        challenge = open_challenge(officer, TITLE)
        challenge_id = challenge.id
        submitted_bid(bidder, challenge_id)

    page = new_context().new_page()
    sign_in(page, live_server, OFFICER)
    page.goto(live_server(f"/council/challenges/{challenge_id}"))
    expect(page.locator("#bid-count")).to_contain_text(
        "1 bid submitted (sealed until the deadline)")
    page.goto(live_server(f"/council/challenges/{challenge_id}/bids"))
    expect(h1(page)).to_have_text("Bids")
    expect(page.locator("#bid-count")).to_have_text("1 bid submitted")
    expect(page.get_by_text(COMPANY)).to_have_count(0)
    axe_check(page)  # sealed

    with live_server.app.app_context():
        close(challenge_id)
    page.goto(live_server(f"/council/challenges/{challenge_id}"))
    page.get_by_role("button", name="Open the bids").click()  # the audited opening
    expect(page.get_by_text("Bids opened. 1 bid can now be evaluated")).to_be_visible()
    page.goto(live_server(f"/council/challenges/{challenge_id}"))
    page.get_by_role("link", name="Read the bids").click()
    expect(h1(page)).to_have_text("Bids")
    axe_check(page)  # the list
    page.get_by_role("link", name=COMPANY).click()
    expect(h1(page)).to_have_text(f"Bid from {COMPANY}")
    expect(page.get_by_role("link", name="case-study.pdf")).to_be_visible()
    axe_check(page)  # the bid
