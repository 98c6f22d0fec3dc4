"""The public award notice on the challenge page and each supplier's outcome page."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from flask import Flask

from marketplace.extensions import db
from marketplace.models import Organisation
from marketplace.services import award as svc
from marketplace.services import evaluation
from marketplace.services import suppliers as supplier_service
from marketplace.services.award import WinnerInput
from tests.evaluation_support import evaluation_setup, opened
from tests.factories import supplier_user
from tests.team_admin_support import browser, is_sign_in_redirect
from tests.test_award_service import WINNER_SECRET, awarded, ready, shortlisted, time_passes

EVIL_NAME = "<b>Zebedee</b> & Co Ltd"
EVIL_SUMMARY = "<script>alert('award')</script> Best approach."


def page(client, url: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    return response.get_data(as_text=True)


def text_of(body: str) -> str:
    """The page's text without tags, whitespace collapsed and entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_public_notice_is_hidden_during_standstill_and_shown_after(app: Flask) -> None:
    setup = shortlisted(ready(), 0, 1)
    winner = setup.bids[0].supplier
    winner.name = EVIL_NAME
    db.session.commit()
    supplier_service.update_profile(setup.bidders[0], winner.id,
                                    supplier_service.ProfileChanges(size="micro"))
    svc.award(setup.lead, setup.challenge.id,
              [WinnerInput(setup.bids[0].id, Decimal("4321.99")),
               WinnerInput(setup.bids[1].id, Decimal("2500.50"))], EVIL_SUMMARY)
    setup.refresh()
    url = f"/challenges/{setup.challenge.id}"
    public = browser(app)

    during = page(public, url)
    words = text_of(during)
    end = svc.standstill_last_day(setup.challenge.awarded_at)
    assert "Award decided: standstill" in words
    assert "Award decision" in words
    assert f"standstill period, which ends at the end of {end} (UK time)" in words
    # Nothing about who won, the value or the decision's summary until the standstill is over.
    assert "Zebedee" not in during and "4,321" not in during and "Best approach" not in during
    assert "Award notice" not in during

    time_passes(setup)
    after = page(public, url)
    words = text_of(after)
    assert "Award notice" in words
    assert "&lt;b&gt;Zebedee&lt;/b&gt; &amp; Co Ltd" in after
    assert "<b>Zebedee</b>" not in after
    assert "&lt;script&gt;alert(" in after and "<script>alert(" not in after
    assert "Yes (Micro)" in words
    assert setup.bids[1].supplier.name in words and "Not known" in words
    assert "£4,321.99" in words and "£2,500.50" in words and "£6,822.49" in words
    assert f"decided the award on {setup.challenge.award_decided_at.day}" in words
    # Scores and rationale are never public.
    assert WINNER_SECRET not in after and "out of 100" not in after


def test_no_suitable_supplier_is_shown_with_its_reason(app: Flask) -> None:
    setup = ready()
    svc.declare_no_suitable_supplier(setup.lead, setup.challenge.id,
                                     "No bid met <the> essential requirement.")
    body = page(browser(app), f"/challenges/{setup.challenge.id}")
    words = text_of(body)
    assert "No contract awarded" in words
    assert "No bid met &lt;the&gt; essential requirement." in body
    assert "Award notice" not in words


def test_no_award_section_while_evaluating(app: Flask) -> None:
    setup = opened(evaluation_setup(bidders=1))
    words = text_of(page(browser(app), f"/challenges/{setup.challenge.id}"))
    assert "Award notice" not in words and "Award decision" not in words


def test_a_supplier_sees_its_own_outcome_with_scores_rationale_and_winners(app: Flask) -> None:
    setup = ready()
    evaluation.exclude_bid(setup.lead, setup.bids[2].id, "Missing <insurance> certificate.")
    awarded(setup)
    end = svc.standstill_last_day(setup.challenge.awarded_at)
    winner_name = setup.bids[0].supplier.name

    loser = browser(app, setup.bidders[1])
    body = page(loser, f"/bids/{setup.bids[1].id}/outcome")
    words = text_of(body)
    assert "Your bid was not successful" in words
    assert "3 out of 4 Meets the need" in words and "2 out of 4 Falls short" in words
    assert "Agreed score for understanding of the problem." in words
    assert "Your weighted total: 65 out of 100" in words
    assert winner_name in words
    assert f"Ends at the end of {end} (UK time)" in words
    assert "Bidder 1 offered the strongest approach." in words
    assert WINNER_SECRET not in words and "90 out of 100" not in words

    # The dashboard and the bid's task list link to it.
    dashboard = text_of(page(loser, "/supplier/bids"))
    assert "Not successful" in dashboard and "See the outcome" in dashboard
    assert f'href="/bids/{setup.bids[1].id}/outcome"' in page(loser, "/supplier/bids")
    task_list = page(loser, f"/bids/{setup.bids[1].id}")
    assert f'href="/bids/{setup.bids[1].id}/outcome"' in task_list
    challenge_page = page(loser, f"/challenges/{setup.challenge.id}")
    assert f'href="/bids/{setup.bids[1].id}/outcome"' in challenge_page
    assert "Outcome: Not successful" in text_of(challenge_page)

    won = text_of(page(browser(app, setup.bidders[0]), f"/bids/{setup.bids[0].id}/outcome"))
    assert "Your bid was successful" in won and "Contract value £5,000" in won
    assert WINNER_SECRET in won

    excluded = page(browser(app, setup.bidders[2]), f"/bids/{setup.bids[2].id}/outcome")
    assert "Your bid was excluded" in text_of(excluded)
    assert "Missing &lt;insurance&gt; certificate." in excluded


def test_the_outcome_page_is_for_the_bids_own_supplier_only(app: Flask) -> None:
    setup = awarded(ready())
    url = f"/bids/{setup.bids[0].id}/outcome"
    # Another supplier's bidder: the bid does not exist for them.
    assert browser(app, setup.bidders[1]).get(url).status_code == 404
    assert browser(app, supplier_user("bidder")).get(url).status_code == 404
    # Council people, even the lead who made the decision, are not suppliers.
    assert browser(app, setup.lead).get(url).status_code == 403
    assert browser(app, setup.evaluators[0]).get(url).status_code == 403
    assert is_sign_in_redirect(browser(app).get(url), url)
    assert browser(app, setup.bidders[0]).get("/bids/987654/outcome").status_code == 404
    # A colleague in the same supplier may see it.
    colleague = supplier_user("org_admin", organisation=db.session.get(
        Organisation, setup.bids[0].supplier_id))
    assert browser(app, colleague).get(url).status_code == 200


def test_before_a_decision_the_outcome_page_says_so(app: Flask) -> None:
    setup = shortlisted(ready(), 0)
    client = browser(app, setup.bidders[0])
    words = text_of(page(client, f"/bids/{setup.bids[0].id}/outcome"))
    assert "has not made its decision yet" in words
    assert "Agreed score" not in words and "out of 100" not in words
    assert "See the outcome" not in text_of(page(client, "/supplier/bids"))
    assert "Outcome not yet published" in text_of(page(client, f"/bids/{setup.bids[0].id}"))
