"""An evaluation from opened bids to the public award notice, in a real browser.

The lead procurement officer opens the bids, assigns an evaluator and words the score scale.
The evaluator declares no conflict of interest and scores each bid (once tripping over a
missing comment). The lead moderates both bids, compares them, shortlists, arranges an
interview and awards the contract; then reads the audit trail and the council's insights.
The unsuccessful supplier reads their own scores and who won; once the standstill period is
over, anyone can read the award notice on the public challenge page. axe-core checks each kind
of page on the way, and the error states.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import Challenge, utcnow
from marketplace.services import suppliers as supplier_service
from marketplace.services.suppliers import ProfileChanges
from tests.conftest import TEST_PASSWORD
from tests.evaluation_support import evaluation_setup, opened

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

WINNER = "Pothole Prophets Ltd"
RUNNER_UP = "Tarmac Tomorrow Ltd"
EXCELLENT = "Excellent: exceeds every need we published"
# Scores per criterion (weights 40/40/20): 40 + 40 + 10 = 90 and 20 + 10 + 5 = 35.
SCORES = {WINNER: (4, 4, 2), RUNNER_UP: (2, 1, 1)}


def h1(page):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", level=1)


def sign_in(page, live_server, name: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server("/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(h1(page)).to_have_text(f"Welcome, {name}")


def flash(page):  # type: ignore[no-untyped-def]
    return page.locator(".govuk-notification-banner")


def score_criterion(page, criterion: str, score: int,  # type: ignore[no-untyped-def]
                    comment: str, prefix: str = "Score") -> None:
    """Choose a score (by its accessible radio label "N: meaning") and explain it."""
    group = page.get_by_role("group", name=f"{prefix} for {criterion}", exact=True)
    group.get_by_role("radio", name=re.compile(rf"^{score}: ")).check()
    label = "Comment on" if prefix == "Score" else "Rationale for"
    page.get_by_label(f"{label} {criterion}", exact=True).fill(comment)


def test_an_evaluation_from_opened_bids_to_the_public_award_notice(
        live_server, new_context, axe_check) -> None:
    with live_server.app.app_context():
        setup = evaluation_setup(bidders=2, evaluators=1)
        # Profiles with only a size band: the award notice's SME column needs it, and the
        # comparison page must cope with bidders whose profiles have no text to match on.
        for bidder, (name, size) in zip(setup.bidders, [(WINNER, "small"),
                                                          (RUNNER_UP, "large")], strict=True):
            bidder.organisation.name = name
            db.session.commit()
            supplier_service.update_profile(bidder, bidder.organisation_id,
                                            ProfileChanges(size=size))
        lead = (setup.lead.full_name, setup.lead.email)
        evaluator = (setup.evaluators[0].full_name, setup.evaluators[0].email)
        council = setup.council.name
        runner_up_bidder = (setup.bidders[1].full_name, setup.bidders[1].email)
        challenge_id = setup.challenge.id
        title = setup.challenge.title
        criteria = [c.name for c in setup.challenge.criteria]
        essential = setup.challenge.essential_requirements[0].text
    overview_url = live_server(f"/council/challenges/{challenge_id}/evaluation")

    # 1. The lead opens the bids, assigns an evaluator and words the scale --------------------
    lead_page = new_context().new_page()
    sign_in(lead_page, live_server, *lead)
    lead_page.goto(live_server(f"/council/challenges/{challenge_id}"))
    expect(lead_page.locator("#evaluation")).to_contain_text("The bids stay sealed")
    lead_page.get_by_role("button", name="Open the bids").click()
    expect(h1(lead_page)).to_have_text("Evaluation")
    expect(flash(lead_page)).to_contain_text("Bids opened. 2 bids can now be evaluated")
    expect(lead_page.get_by_text("No evaluators have been assigned yet.")).to_be_visible()
    axe_check(lead_page)  # the lead's overview

    lead_page.get_by_role("link", name="Add or remove evaluators").click()
    expect(h1(lead_page)).to_have_text("Evaluators")
    lead_page.get_by_role("button", name="Add evaluator").click()  # nobody chosen
    expect(lead_page.locator(".govuk-error-summary")).to_contain_text(
        "Select the person to add as an evaluator")
    axe_check(lead_page)  # the evaluators page with its error summary
    lead_page.get_by_label("Person").select_option(label=f"{evaluator[0]} ({council})")
    lead_page.get_by_role("button", name="Add evaluator").click()
    expect(flash(lead_page)).to_contain_text(f"{evaluator[0]} is now an evaluator")
    table = lead_page.get_by_role("table", name="Current evaluators")
    expect(table.get_by_role("row", name=re.compile(re.escape(evaluator[0])))).to_contain_text(
        "0 of 2")
    axe_check(lead_page)  # the evaluators table with its Remove button

    lead_page.get_by_role("link", name="Back to the evaluation").click()
    lead_page.get_by_role("link", name="See or change the score scale").click()
    expect(h1(lead_page)).to_have_text("Score scale")
    axe_check(lead_page)
    lead_page.get_by_label("Score 4", exact=True).fill(EXCELLENT)
    lead_page.get_by_role("button", name="Save the scale").click()
    expect(flash(lead_page)).to_contain_text("Score scale saved")

    # 2. The evaluator declares and scores each bid ------------------------------------------
    eval_page = new_context().new_page()
    sign_in(eval_page, live_server, *evaluator)
    eval_page.goto(overview_url)
    mine = eval_page.get_by_role("table", name="Your bids to evaluate")
    expect(mine.get_by_text("Declare conflicts first")).to_have_count(2)
    axe_check(eval_page)  # the evaluator's overview
    for n, supplier in enumerate((WINNER, RUNNER_UP)):
        eval_page.get_by_role(
            "link", name=f"Declare conflicts for the bid from {supplier}").click()
        expect(h1(eval_page)).to_have_text(f"Conflict of interest: {supplier}")
        question = eval_page.get_by_role(
            "group", name="Do you have a conflict of interest with this supplier?")
        if n == 0:
            axe_check(eval_page)  # the declaration
        question.get_by_label("No", exact=True).check()
        eval_page.get_by_role("button", name="Confirm declaration").click()
        expect(h1(eval_page)).to_have_text(f"Score the bid from {supplier}")
        expect(flash(eval_page)).to_contain_text("no conflict of interest")

        scores = SCORES[supplier]
        if n == 0:
            axe_check(eval_page)  # the bid and the scoring form
            expect(eval_page.get_by_role("group", name=f"Score for {criteria[0]}")
                   .get_by_label(f"4: {EXCELLENT}")).to_be_visible()
            # A score without a comment is refused, and the error summary links to the box.
            group = eval_page.get_by_role("group", name=f"Score for {criteria[0]}", exact=True)
            group.get_by_role("radio", name=re.compile(rf"^{scores[0]}: ")).check()
            eval_page.get_by_role("button", name="Save and submit scores").click()
            summary = eval_page.locator(".govuk-error-summary")
            expect(summary).to_be_visible()
            expect(eval_page).to_have_title(re.compile("^Error: "))
            axe_check(eval_page)  # the scoring form with its error summary
            summary.get_by_role("link").first.click()
            expect(eval_page.get_by_label(f"Comment on {criteria[0]}", exact=True)
                   ).to_be_focused()
        for criterion, score in zip(criteria, scores, strict=True):
            score_criterion(eval_page, criterion, score,
                            f"{supplier}: {criterion.lower()} deserves {score}.")
        eval_page.get_by_role("group", name=essential).get_by_label("Met", exact=True).check()
        eval_page.get_by_role("button", name="Save and submit scores").click()
        expect(h1(eval_page)).to_have_text("Evaluation")
        expect(flash(eval_page)).to_contain_text(f"Scores submitted for the bid from {supplier}")
    expect(mine.get_by_text("Scores submitted")).to_have_count(2)

    # 3. The lead moderates, compares, shortlists, interviews and awards --------------------
    lead_page.goto(overview_url)
    progress = lead_page.get_by_role("table", name="Evaluators and their progress")
    expect(progress.get_by_role("row", name=re.compile(re.escape(evaluator[0])))
           ).to_contain_text("2 of 2")
    for n, supplier in enumerate((WINNER, RUNNER_UP)):
        lead_page.get_by_role("link", name=f"Moderate the bid from {supplier}").click()
        expect(h1(lead_page)).to_have_text(f"Moderate the bid from {supplier}")
        if n == 0:
            expect(lead_page.get_by_role("table", name=re.compile("^Submitted scores"))
                   ).to_contain_text(f"{supplier}: {criteria[0].lower()} deserves 4.")
            axe_check(lead_page)  # the moderation page
        for criterion, score in zip(criteria, SCORES[supplier], strict=True):
            score_criterion(lead_page, criterion, score,
                            f"Agreed: {criterion.lower()} for {supplier} is {score}.",
                            prefix="Moderated score")
        lead_page.get_by_role("button", name="Save moderated scores").click()
        expect(flash(lead_page)).to_contain_text(
            f"Moderated scores saved for the bid from {supplier}")
        lead_page.get_by_role("link", name="Back to the evaluation").click()

    lead_page.get_by_role("link", name="Compare the bids").click()
    expect(h1(lead_page)).to_have_text("Compare the bids")
    rows = lead_page.locator("#comparison tbody tr")
    expect(rows.nth(0)).to_contain_text(WINNER)
    expect(rows.nth(0)).to_contain_text("90")
    expect(rows.nth(1)).to_contain_text(RUNNER_UP)
    expect(rows.nth(1)).to_contain_text("35")
    axe_check(lead_page)  # the comparison table

    lead_page.get_by_role("link", name="Go to the shortlist").click()
    expect(h1(lead_page)).to_have_text("Shortlist")
    axe_check(lead_page)  # the shortlist form
    choice = lead_page.get_by_role("group", name="Which bids do you want to shortlist?")
    choice.get_by_label(WINNER).check()
    choice.get_by_label(RUNNER_UP).check()
    lead_page.get_by_role("button", name="Confirm shortlist").click()
    expect(flash(lead_page)).to_contain_text("Shortlist confirmed")
    expect(lead_page.get_by_role("table", name="The shortlist").get_by_role("row")).to_have_count(
        3)

    lead_page.get_by_role("link", name=f"Arrange an interview with {WINNER}").click()
    expect(h1(lead_page)).to_have_text(f"Interview with {WINNER}")
    axe_check(lead_page)  # the interview form
    day = (utcnow() + timedelta(days=14)).date()
    when = lead_page.get_by_role("group", name="Interview date (optional)")
    when.get_by_label("Day").fill(str(day.day))
    when.get_by_label("Month").fill(str(day.month))
    when.get_by_label("Year").fill(str(day.year))
    lead_page.get_by_label("Interview time").fill("10am")
    lead_page.get_by_label("Notes (optional)").fill("Ask about their camera coverage.")
    lead_page.get_by_role("button", name="Save interview").click()
    expect(h1(lead_page)).to_have_text("Shortlist")
    expect(flash(lead_page)).to_contain_text(f"Interview saved. We have emailed {WINNER}")

    lead_page.get_by_role("link", name="Go to the award decision").click()
    expect(h1(lead_page)).to_have_text("Award the contract")
    axe_check(lead_page)  # the award form
    lead_page.get_by_role("group", name="Who are you awarding the contract to?").get_by_label(
        WINNER, exact=True).check()
    lead_page.get_by_label(f"Contract value for {WINNER}").fill("£48,500")
    lead_page.get_by_label("Summary of the decision").fill(
        "Pothole Prophets showed the clearest approach and the best value for money.")
    lead_page.get_by_role("button", name="Award the contract").click()
    expect(flash(lead_page)).to_contain_text("Award decided. Every bidder has been told.")
    expect(flash(lead_page)).to_contain_text("The standstill period ends after")
    awarded = lead_page.get_by_role("table", name="Suppliers awarded")
    expect(awarded).to_contain_text(WINNER)
    expect(awarded).to_contain_text("£48,500")
    axe_check(lead_page)  # the decision during the standstill period

    # 4. The records: audit trail and insights -----------------------------------------------
    lead_page.get_by_role("link", name="Back to the evaluation").click()
    lead_page.get_by_role("link", name="Audit trail of this challenge").click()
    expect(h1(lead_page)).to_have_text("Audit trail")
    trail = lead_page.locator(".app-audit-trail")
    for action in ("Bids opened for evaluation", "Evaluator assigned", "Award decided"):
        expect(trail.get_by_text(action, exact=True).first).to_be_visible()
    axe_check(lead_page)  # the audit trail
    lead_page.get_by_label("Show").select_option(label="Award decided")
    lead_page.get_by_role("button", name="Filter").click()
    expect(lead_page.get_by_role("table", name=re.compile(r"^1 event of \d+$"))).to_be_visible()

    lead_page.goto(live_server("/council/challenges"))
    lead_page.get_by_role("link", name="See your council’s insights").click()
    expect(h1(lead_page)).to_have_text("Insights")
    expect(lead_page.locator("#smes ~ p").first).to_contain_text("of winning bids went to SMEs")
    axe_check(lead_page)  # the charts and their tables

    # 5. The unsuccessful supplier reads their feedback ------------------------------------
    supplier_page = new_context().new_page()
    sign_in(supplier_page, live_server, *runner_up_bidder)
    supplier_page.goto(live_server(f"/challenges/{challenge_id}"))
    supplier_page.get_by_role("link", name="See the outcome of your bid").click()
    expect(h1(supplier_page)).to_have_text("Your bid was not successful")
    expect(supplier_page.locator("#winners")).to_have_text(WINNER)
    expect(supplier_page.locator("#standstill-ends")).to_contain_text("Ends at the end of")
    feedback = supplier_page.get_by_role("table", name="Your score for each criterion")
    expect(feedback.get_by_role("row")).to_have_count(len(criteria) + 1)
    expect(feedback).to_contain_text(f"Agreed: {criteria[0].lower()} for {RUNNER_UP} is 2.")
    expect(feedback).not_to_contain_text(WINNER)
    expect(supplier_page.locator("#total")).to_contain_text("35 out of 100")
    axe_check(supplier_page)  # the outcome page

    # 6. The standstill period ends: the public award notice -----------------------------------
    with live_server.app.app_context():
        challenge = db.session.get(Challenge, challenge_id)
        assert challenge is not None and challenge.awarded_at is not None
        now = utcnow()
        challenge.award_decided_at = now - timedelta(days=12)
        challenge.awarded_at = now - timedelta(days=1)
        db.session.commit()
    public = new_context().new_page()
    public.goto(live_server(f"/challenges/{challenge_id}"))
    expect(h1(public)).to_have_text(title)
    expect(public.get_by_role("heading", name="Award notice")).to_be_visible()
    notice = public.get_by_role("table", name="Suppliers awarded a contract")
    row = notice.get_by_role("row", name=re.compile(re.escape(WINNER)))
    expect(row).to_contain_text("Yes (Small)")
    expect(row).to_contain_text("£48,500")
    expect(notice).not_to_contain_text(RUNNER_UP)
    expect(public.get_by_text("showed the clearest approach")).to_be_visible()
    axe_check(public)  # the public challenge page with its award notice


def test_an_evaluator_who_declares_a_conflict_never_sees_the_bid(
        live_server, new_context, axe_check) -> None:
    with live_server.app.app_context():
        setup = opened(evaluation_setup(bidders=1, evaluators=1))
        person = (setup.evaluators[0].full_name, setup.evaluators[0].email)
        supplier = setup.bids[0].supplier.name
        bid_id = setup.bids[0].id
        challenge_id = setup.challenge.id

    page = new_context().new_page()
    sign_in(page, live_server, *person)
    page.goto(live_server(f"/council/challenges/{challenge_id}/evaluation"))
    page.get_by_role("link", name=f"Declare conflicts for the bid from {supplier}").click()
    question = page.get_by_role("group",
                                name="Do you have a conflict of interest with this supplier?")
    question.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Confirm declaration").click()  # no details given
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Describe the conflict of interest")
    expect(page).to_have_title(re.compile("^Error: "))
    axe_check(page)  # the declaration with its error summary
    summary.get_by_role("link", name="Describe the conflict of interest").click()
    details = page.get_by_label("If yes, describe the conflict")
    expect(details).to_be_focused()
    details.fill("My brother is one of their directors.")
    page.get_by_role("button", name="Confirm declaration").click()

    expect(h1(page)).to_have_text("Evaluation")
    expect(flash(page)).to_contain_text(f"You will not see or score the bid from {supplier}")
    mine = page.get_by_role("table", name="Your bids to evaluate")
    expect(mine.get_by_text("Conflict declared")).to_be_visible()
    expect(mine.get_by_text("You cannot score this bid")).to_be_visible()
    expect(mine.get_by_role("link")).to_have_count(0)
    # Going straight to the scoring page is refused, and the bid is not shown.
    page.goto(live_server(f"/council/evaluation/bids/{bid_id}/score"))
    expect(h1(page)).to_have_text("You do not have permission to see this page")
    expect(page.get_by_text("You declared a conflict of interest with this bid")).to_be_visible()
    expect(page.get_by_text("Our answer about")).to_have_count(0)
