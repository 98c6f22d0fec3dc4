"""A challenge from first draft to a published answer, in a real browser: a challenge owner
drafts it section by section, a procurement officer approves and publishes it, a supplier
finds it with a misspelt search and asks a question, the owner publishes an answer, and an
anonymous visitor reads it. axe-core checks every page visited, and an error state."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.conftest import TEST_PASSWORD
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

COUNCIL = "Lowdale Borough Council"
OTHER_COUNCIL = "Highcliff Council"
OWNER = ("Olivia Okafor", "olivia.okafor@lowdale.gov.uk")
OFFICER = ("Priya Patel", "priya.patel@lowdale.gov.uk")
COMPANY = "Pothole Prophets Ltd"
BIDDER = ("Sam Bidwell", "sam@potholeprophets.example.com")

TITLE = "How might we predict potholes before they form?"
SUMMARY = ("We want to find roads that are about to fail, so that we can repair them before "
           "potholes form, rather than after residents report them.")
ASKED = ("At Pothole Prophets we fit cameras to vehicles. Could the council’s refuse lorries "
         "carry our cameras on their weekly rounds?")
PUBLISHED = "Could suppliers fit cameras to the council’s refuse lorries on their weekly rounds?"
ANSWER = ("Yes. Our 24 refuse lorries cover every street each fortnight, and the depot can fit "
          "small cameras during the pilot.")


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


def fill_date(page, legend: str, day: date) -> None:  # type: ignore[no-untyped-def]
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def fill_criterion(page, n: int, name: str, description: str,  # type: ignore[no-untyped-def]
                   weight: int) -> None:
    group = page.get_by_role("group", name=f"Criterion {n}", exact=True)
    group.get_by_label(f"Name of criterion {n}").fill(name)
    group.get_by_label("What you will look for (optional)").fill(description)
    group.get_by_label("Weight (%)").fill(str(weight))


def test_challenge_from_draft_to_published_answer(live_server, new_context, axe_check) -> None:
    with live_server.app.app_context():
        council = CouncilFactory(name=COUNCIL)
        CouncilFactory(name=OTHER_COUNCIL)  # so the co-sponsors page offers a choice
        council_user("challenge_owner", organisation=council, full_name=OWNER[0],
                     email=OWNER[1])
        council_user("procurement_officer", organisation=council, full_name=OFFICER[0],
                     email=OFFICER[1])
        supplier_user("bidder", organisation=SupplierFactory(name=COMPANY),
                      full_name=BIDDER[0], email=BIDDER[1])
    today = date.today()

    # 1. The challenge owner drafts the challenge ------------------------------------------
    owner = new_context().new_page()
    owner.goto(live_server("/sign-in"))
    axe_check(owner)
    sign_in(owner, live_server, OWNER)
    owner.get_by_role("navigation").get_by_role("link", name="Your challenges").click()
    expect(h1(owner)).to_have_text("Your challenges")
    expect(owner.get_by_text("Your council has no challenges yet.")).to_be_visible()
    axe_check(owner)

    owner.get_by_role("button", name="Create a challenge").click()
    expect(h1(owner)).to_have_text("What is the title of your challenge?")
    axe_check(owner)
    owner.get_by_label("What is the title of your challenge?").fill(TITLE)
    owner.get_by_role("button", name="Create draft").click()

    expect(h1(owner)).to_have_text(TITLE)
    found = re.search(r"/council/challenges/(\d+)$", owner.url)
    assert found, owner.url
    challenge_id = int(found.group(1))
    expect(owner.get_by_text("Draft created.")).to_be_visible()
    expect(owner.get_by_text("Before this challenge can be published")).to_be_visible()
    axe_check(owner)  # the task list, with what is still missing
    owner.get_by_role("link", name="Title and summary").click()

    # About.
    expect(h1(owner)).to_have_text("Title and summary")
    expect(owner.get_by_label("Challenge title")).to_have_value(TITLE)
    axe_check(owner)
    owner.get_by_label("Summary").fill(SUMMARY)
    save_and_continue(owner, "The problem")

    # The problem.
    axe_check(owner)
    owner.get_by_label("What is the problem?").fill(
        "Potholes damage vehicles, injure cyclists and cost us £2 million a year in repairs "
        "and compensation claims. We only find them once they have formed and someone has "
        "reported them.")
    owner.get_by_label("Background").fill(
        "Our highway inspectors walk or drive every road on a fixed cycle. We have ten years "
        "of repair records and weather data that nobody has analysed.")
    owner.get_by_label("Who is affected?").fill(
        "About 180,000 residents who drive, cycle or walk on 1,200 km of council roads.")
    owner.get_by_label("What does success look like?").fill(
        "We repair surfaces before they fail, so fewer potholes form and fewer claims are "
        "made.")
    save_and_continue(owner, "Outcomes you want")

    # Outcomes.
    axe_check(owner)
    owner.get_by_label("Outcome 1", exact=True).fill(
        "Predict where potholes will form in the next three months")
    owner.get_by_label("Measure or target for outcome 1 (optional)").fill(
        "70% of new potholes on roads flagged as at risk")
    owner.get_by_label("Outcome 2", exact=True).fill("Fewer compensation claims")
    owner.get_by_label("Measure or target for outcome 2 (optional)").fill(
        "Claims down by a quarter within two years")
    save_and_continue(owner, "Requirements")

    # Requirements.
    axe_check(owner)
    owner.get_by_label("Essential requirements").fill(
        "Uses data we already hold\nShows the risk on a map\nWorks on inspectors’ tablets")
    owner.get_by_label("Nice-to-haves (optional)").fill("Exports to our asset system")
    save_and_continue(owner, "Capabilities and CPV codes")

    # Capabilities and CPV codes, with a search for codes.
    axe_check(owner)
    owner.get_by_label("Capabilities sought").fill(
        "machine learning, data analysis, highways engineering")
    owner.get_by_label("Search CPV codes").fill("road")
    owner.get_by_role("button", name="Search", exact=True).click()
    code = owner.get_by_label("45233141 Road-maintenance works")
    expect(code).to_be_visible()
    expect(code).not_to_be_checked()
    expect(owner.get_by_label("Capabilities sought")).to_have_value(
        "machine learning, data analysis, highways engineering")
    axe_check(owner)  # the search results
    code.check()
    owner.get_by_label("Add CPV codes by number (optional)").fill("72000000")
    save_and_continue(owner, "Place and budget")

    # Place and budget.
    axe_check(owner)
    owner.get_by_label("London", exact=True).check()
    owner.get_by_label("Minimum budget (optional)").fill("£25,000")
    owner.get_by_label("Maximum budget").fill("£120,000")
    owner.get_by_role("group", name="Is it suitable for small").get_by_label(
        "Yes", exact=True).check()
    save_and_continue(owner, "Contract stages")

    # Contract stages.
    axe_check(owner)
    for n, (name, duration, funding, suppliers) in enumerate(
            [("Discovery", "6 weeks", "£10,000", "3"), ("Pilot", "6 months", "£60,000", "1")],
            start=1):
        stage = owner.get_by_role("group", name=f"Stage {n}", exact=True)
        stage.get_by_label(f"Name of stage {n}").fill(name)
        stage.get_by_label("Duration (optional)").fill(duration)
        stage.get_by_label("Funding for each supplier (optional)").fill(funding)
        stage.get_by_label("Most suppliers in this stage (optional)").fill(suppliers)
    save_and_continue(owner, "Evaluation criteria")

    # Evaluation criteria: first with weights that do not total 100.
    axe_check(owner)
    fill_criterion(owner, 1, "Accuracy of prediction", "Evidence from past trials", 40)
    fill_criterion(owner, 2, "Use of our data", "How it uses the data we hold", 30)
    fill_criterion(owner, 3, "Value for money", "Cost over the pilot", 20)
    owner.get_by_role("button", name="Save and continue").click()
    summary = owner.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link", name="Weights must total 100; they total 90")
           ).to_be_visible()
    expect(owner).to_have_title(re.compile("^Error: Evaluation criteria"))
    axe_check(owner)  # the error state
    owner.get_by_role("group", name="Criterion 3", exact=True).get_by_label(
        "Weight (%)").fill("30")
    save_and_continue(owner, "Shortlist")

    # Shortlist.
    axe_check(owner)
    owner.get_by_label("How many suppliers will you shortlist?").fill("3")
    save_and_continue(owner, "Dates")

    # Dates.
    axe_check(owner)
    fill_date(owner, "Deadline for clarification questions", today + timedelta(days=7))
    fill_date(owner, "Submission deadline", today + timedelta(days=21))
    fill_date(owner, "Expected award date", today + timedelta(days=45))
    save_and_continue(owner, "Co-sponsoring councils")

    # Co-sponsors (optional, left empty), the last section.
    expect(owner.get_by_label(OTHER_COUNCIL)).not_to_be_checked()
    axe_check(owner)
    owner.get_by_role("button", name="Save and return to task list").click()

    # The task list, ready to send.
    expect(h1(owner)).to_have_text(TITLE)
    expect(owner.get_by_text("Before this challenge can be published")).to_have_count(0)
    expect(owner.get_by_role("button", name="Send for approval")).to_be_visible()
    axe_check(owner)

    # The preview.
    owner.get_by_role("link", name="Preview the challenge as suppliers will see it").click()
    expect(h1(owner)).to_have_text(TITLE)
    expect(owner.get_by_text("This is a preview of the challenge page")).to_be_visible()
    main = owner.get_by_role("main")
    expect(main).to_contain_text("45233141")
    expect(main).to_contain_text("72000000")
    expect(main).to_contain_text("£25,000")
    expect(main).to_contain_text("The council will shortlist 3 suppliers.")
    axe_check(owner)
    owner.get_by_role("main").get_by_role("link", name="Back to the task list").click()

    owner.get_by_role("button", name="Send for approval").click()
    expect(owner.get_by_text("Sent for approval.")).to_be_visible()
    expect(owner.get_by_role("main").get_by_text("Awaiting approval", exact=True)
           ).to_be_visible()
    axe_check(owner)

    # 2. The procurement officer approves and publishes it ---------------------------------
    officer = new_context().new_page()
    sign_in(officer, live_server, OFFICER)
    officer.get_by_role("navigation").get_by_role("link", name="Your challenges").click()
    expect(h1(officer)).to_have_text("Your challenges")
    axe_check(officer)
    officer.get_by_role("link", name=TITLE).click()
    expect(h1(officer)).to_have_text(TITLE)
    axe_check(officer)
    officer.get_by_role("button", name="Approve this challenge").click()
    expect(officer.get_by_text("Challenge approved.")).to_be_visible()
    axe_check(officer)
    officer.get_by_role("button", name="Publish challenge").click()
    expect(officer.get_by_text("Challenge published.")).to_be_visible()
    expect(officer.get_by_role("main").get_by_text("Open", exact=True)).to_be_visible()
    axe_check(officer)

    # 3. A supplier finds it with a misspelt search and asks a question --------------------
    supplier = new_context().new_page()
    sign_in(supplier, live_server, BIDDER)
    supplier.get_by_role("navigation").get_by_role("link", name="Challenges").click()
    expect(h1(supplier)).to_have_text("Find a challenge")
    axe_check(supplier)
    supplier.get_by_label("Search challenges").fill("predikt potholle")
    supplier.get_by_role("button", name="Search", exact=True).click()
    expect(supplier.locator("#results-count")).to_have_text("1 challenge")
    expect(supplier.locator("#spelling")).to_contain_text("instead of")
    axe_check(supplier)
    supplier.get_by_role("link", name=TITLE).click()
    expect(h1(supplier)).to_have_text(TITLE)
    expect(supplier.get_by_text("No questions have been answered yet.")).to_be_visible()
    axe_check(supplier)
    supplier.get_by_label("Your question").fill(ASKED)
    supplier.get_by_role("button", name="Send question").click()
    expect(supplier.get_by_text("Your question has been sent to the council.")).to_be_visible()
    expect(supplier.get_by_text("Waiting for an answer")).to_be_visible()
    axe_check(supplier)

    # 4. The challenge owner publishes an answer, reworded to hide who asked ---------------
    owner.reload()
    expect(owner.get_by_text("1 question waiting for an answer.")).to_be_visible()
    axe_check(owner)  # the task list of an open challenge
    owner.get_by_role("link", name="See all questions").click()
    expect(h1(owner)).to_have_text("Clarification questions")
    expect(owner.get_by_role("heading", name=f"Question from {COMPANY}")).to_be_visible()
    axe_check(owner)
    owner.get_by_label("Question as published").fill(PUBLISHED)
    owner.get_by_label("Answer", exact=True).fill(ANSWER)
    owner.get_by_role("button", name="Publish answer").click()
    expect(owner.get_by_text("Answer published.")).to_be_visible()
    expect(owner.get_by_role("heading", name="Answered (1)")).to_be_visible()
    axe_check(owner)

    # 5. Anyone can read the question and answer, without who asked ------------------------
    visitor = new_context().new_page()
    visitor.goto(live_server(f"/challenges/{challenge_id}"))
    expect(h1(visitor)).to_have_text(TITLE)
    qa = visitor.locator(".app-qa")
    expect(qa).to_have_count(1)
    expect(qa).to_contain_text(PUBLISHED)
    expect(qa).to_contain_text(ANSWER)
    main = visitor.get_by_role("main")
    expect(main).not_to_contain_text(COMPANY)
    expect(main).not_to_contain_text("Pothole Prophets")
    expect(main).not_to_contain_text(BIDDER[0])
    expect(main).not_to_contain_text(ASKED)
    axe_check(visitor)
