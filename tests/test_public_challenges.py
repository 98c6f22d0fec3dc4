"""The public challenge pages (marketplace/views/challenges.py): search, filters, sorting and
pagination, the challenge page with its Q&A and amendments, following, asking questions and
the Atom feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeAmendment,
    ChallengeCpv,
    ChallengeFollow,
    ChallengeOutcome,
    ChallengeRequirement,
    ChallengeSponsor,
    ChallengeStage,
    ClarificationQuestion,
    EvaluationCriterion,
    Organisation,
    utcnow,
)
from marketplace.services import challenges as svc
from marketplace.services.search import PAGE_SIZE
from marketplace.templating import UK, time_left
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.team_admin_support import browser, is_sign_in_redirect

ATOM = "{http://www.w3.org/2005/Atom}"


# --------------------------------------------------------------------------- helpers


def make_challenge(council: Organisation, title: str = "Finding potholes before they grow", *,
                   summary: str = "Potholes on rural roads take too long to find and repair.",
                   problem: str = "The way we work now is slow.\n\nIt also costs too much.",
                   published: bool = True, published_ago: timedelta = timedelta(days=5),
                   deadline: datetime | timedelta = timedelta(days=20),
                   questions_close: datetime | timedelta | None = None,
                   region: str = "North West", budget: tuple[int | None, int | None] = (
                       10_000, 80_000),
                   sme: bool = True, cpv: tuple[str, ...] = ("45233141",),
                   sponsors: tuple[Organisation, ...] = (), **columns: Any) -> Challenge:
    """A complete challenge, published by default, created with the ORM."""
    now = utcnow()
    submission = now + deadline if isinstance(deadline, timedelta) else deadline
    if questions_close is None:
        clarification = submission - timedelta(days=5)
    elif isinstance(questions_close, timedelta):
        clarification = now + questions_close
    else:
        clarification = questions_close
    challenge = Challenge(
        lead_council=council, title=title, summary=summary,
        problem=problem, background="We maintain 2,000 miles of road.",
        affected="Drivers and cyclists.", success="Half the time and half the cost.",
        capabilities=["Computer vision", "Mapping"],
        region=region, budget_min=budget[0], budget_max=budget[1], sme_suitable=sme,
        shortlist_size=3, clarification_deadline=clarification,
        submission_deadline=submission,
        expected_award_date=(submission + timedelta(days=30)).date(),
        submitted_at=now - published_ago - timedelta(days=2) if published else None,
        approved_at=now - published_ago - timedelta(days=1) if published else None,
        published_at=now - published_ago if published else None,
        **columns,
    )
    challenge.outcomes = [ChallengeOutcome(position=0, description="Fewer repeat reports",
                                           measure="Reports per month halved")]
    challenge.requirements = [
        ChallengeRequirement(position=0, kind="essential", text="Works on existing vans"),
        ChallengeRequirement(position=1, kind="nice_to_have", text="Publishes open data"),
    ]
    challenge.stages = [
        ChallengeStage(position=0, name="Discovery", duration="4 weeks",
                       funding_per_supplier=10_000, max_suppliers=3),
        ChallengeStage(position=1, name="Pilot", duration="3 months",
                       funding_per_supplier=50_000, max_suppliers=1),
    ]
    challenge.criteria = [
        EvaluationCriterion(position=0, name="Understanding of the problem", weight=60,
                            word_limit=500),
        EvaluationCriterion(position=1, name="Value for money", weight=40, word_limit=300),
    ]
    challenge.cpv_rows = [ChallengeCpv(code=code) for code in cpv]
    challenge.sponsors = [ChallengeSponsor(organisation=org) for org in sponsors]
    db.session.add(challenge)
    db.session.flush()
    challenge.search_text = svc.index_text(challenge)
    db.session.commit()
    return challenge


def html_of(response: Any) -> str:
    return response.get_data(as_text=True)


def text_of(response: Any) -> str:
    """The page as text, tags removed and whitespace collapsed."""
    body = html_of(response)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def result_titles(response: Any) -> list[str]:
    body = html_of(response)
    return [unescape(t) for t in re.findall(
        r'<h3 class="govuk-heading-s app-result__title"><a [^>]*>(.*?)</a>', body)]


def count_h1(response: Any) -> int:
    return len(re.findall(r"<h1\b", html_of(response)))


@pytest.fixture
def council() -> Organisation:
    return CouncilFactory(name="Lowdale Borough Council")


# --------------------------------------------------------------------------- the list


def test_list_shows_only_published_challenges(client, council) -> None:
    make_challenge(council, "Published pothole challenge")
    make_challenge(council, "Our own draft", published=False)
    make_challenge(CouncilFactory(), "Another council's draft", published=False)
    make_challenge(council, "Published tomorrow", published_ago=timedelta(days=-1))

    response = client.get("/challenges")
    assert response.status_code == 200
    assert result_titles(response) == ["Published pothole challenge"]
    assert "1 challenge" in text_of(response)
    assert count_h1(response) == 1
    assert 'rel="alternate" type="application/atom+xml"' in html_of(response)


def test_a_draft_is_404_except_to_its_councils(app: Flask, client, council) -> None:
    draft = make_challenge(council, "Secret draft", published=False)
    url = f"/challenges/{draft.id}"
    assert client.get(url).status_code == 404
    assert browser(app, supplier_user("bidder")).get(url).status_code == 404
    assert browser(app, council_user("challenge_owner")).get(url).status_code == 404

    # Someone in the lead council sees it, marked as not published.
    own = browser(app, council_user("evaluator", organisation=council)).get(url)
    assert own.status_code == 200
    assert "Suppliers and the public cannot see this challenge yet" in text_of(own)
    # So does a co-sponsor.
    partner = CouncilFactory()
    draft.sponsors = [ChallengeSponsor(organisation=partner)]
    db.session.commit()
    assert browser(app, council_user("evaluator", organisation=partner)).get(url
                                                                            ).status_code == 200
    assert client.get("/challenges/987654").status_code == 404


def test_each_result_shows_its_summary(client, council) -> None:
    long_summary = "Potholes cause accidents. " * 30
    # Noon (UK time) twelve calendar days from today: "12 days left" whatever the time of day
    # the test runs (a fixed 12 days 2 hours crossed into a 13th day after 22:00).
    now = datetime.now(UTC)
    noon = datetime.combine(now.astimezone(UK).date() + timedelta(days=12), time(12), UK)
    make_challenge(council, "Pothole finder", summary=long_summary, budget=(5_000, 25_000),
                   region="London", deadline=noon - now)
    make_challenge(council, "Old one", deadline=timedelta(days=-3), sme=False,
                   budget=(None, None))
    page = text_of(client.get("/challenges"))
    assert "Lowdale Borough Council" in page
    assert "£5,000 to £25,000" in page
    assert "London" in page
    assert "12 days left" in page
    assert "Suitable for SMEs" in page
    assert "Not stated" in page  # the budget of the old one
    assert "Closed" in page
    assert long_summary.strip() not in page  # truncated
    assert "Potholes cause accidents. Potholes" in page and "…" in page


# --------------------------------------------------------------------------- filters


def test_status_filter(client, council) -> None:
    make_challenge(council, "Open one")
    make_challenge(council, "Closed one", deadline=timedelta(days=-2))
    make_challenge(council, "In evaluation", deadline=timedelta(days=-5),
                   evaluation_started_at=utcnow() - timedelta(days=4))
    make_challenge(council, "Awarded one", deadline=timedelta(days=-30),
                   evaluation_started_at=utcnow() - timedelta(days=29),
                   award_decided_at=utcnow() - timedelta(days=12),
                   awarded_at=utcnow() - timedelta(days=1))
    # Decided, but the standstill has not ended: not awarded yet.
    make_challenge(council, "In standstill", deadline=timedelta(days=-20),
                   evaluation_started_at=utcnow() - timedelta(days=19),
                   award_decided_at=utcnow() - timedelta(days=2),
                   awarded_at=utcnow() + timedelta(days=8))
    assert result_titles(client.get("/challenges?status=open")) == ["Open one"]
    assert set(result_titles(client.get("/challenges?status=closed"))) == {
        "Closed one", "In evaluation", "In standstill"}
    assert result_titles(client.get("/challenges?status=awarded")) == ["Awarded one"]
    # An unknown status is ignored.
    assert len(result_titles(client.get("/challenges?status=nonsense"))) == 5


def test_region_filter_includes_uk_wide(client, council) -> None:
    make_challenge(council, "In London", region="London")
    make_challenge(council, "Everywhere", region="UK-wide")
    make_challenge(council, "In Wales", region="Wales")
    assert set(result_titles(client.get("/challenges?region=London"))) == {
        "In London", "Everywhere"}
    assert set(result_titles(client.get("/challenges?region=london"))) == {
        "In London", "Everywhere"}
    assert len(result_titles(client.get("/challenges?region=Atlantis"))) == 3


def test_division_budget_council_and_sme_filters(client, council) -> None:
    other = CouncilFactory(name="Highcliff Council")
    partner = CouncilFactory(name="Ashford Vale Council")
    make_challenge(council, "Roads", cpv=("45233141",), budget=(5_000, 20_000), sme=True)
    make_challenge(council, "Bins", cpv=("90511000",), budget=(50_000, 90_000), sme=False)
    make_challenge(other, "Software", cpv=("72000000",), budget=(100_000, 600_000), sme=True,
                   sponsors=(partner,))
    make_challenge(CouncilFactory(name="Drafty Council"), "Draft", published=False)

    assert result_titles(client.get("/challenges?division=90")) == ["Bins"]
    assert result_titles(client.get("/challenges?budget=under-25k")) == ["Roads"]
    assert result_titles(client.get("/challenges?budget=25k-100k")) == ["Bins"]
    assert result_titles(client.get("/challenges?budget=500k-plus")) == ["Software"]
    assert result_titles(client.get(f"/challenges?council={other.id}")) == ["Software"]
    # A co-sponsor's challenges count as theirs.
    assert result_titles(client.get(f"/challenges?council={partner.id}")) == ["Software"]
    assert set(result_titles(client.get("/challenges?sme=1"))) == {"Roads", "Software"}
    assert result_titles(client.get("/challenges?sme=1&division=72&budget=500k-plus")) == [
        "Software"]

    # The council select lists councils with published challenges only.
    page = html_of(client.get("/challenges"))
    assert "Highcliff Council" in page and "Ashford Vale Council" in page
    assert "Drafty Council" not in page
    # Unknown values are ignored rather than failing.
    for junk in ("division=ab", "division=99", "budget=lots", "council=abc", "council=987654",
                 "sort=random", "page=abc", "page=-4", "sme=maybe"):
        response = client.get(f"/challenges?{junk}")
        assert response.status_code == 200, junk
        assert len(result_titles(response)) == 3, junk


def test_sorting(client, council) -> None:
    make_challenge(council, "Closes later, newest", deadline=timedelta(days=40),
                   published_ago=timedelta(days=1), budget=(None, 50_000))
    make_challenge(council, "Closes soon", deadline=timedelta(days=3),
                   published_ago=timedelta(days=9), budget=(None, 900_000))
    make_challenge(council, "Closed", deadline=timedelta(days=-1),
                   published_ago=timedelta(days=30), budget=(None, 5_000))
    make_challenge(council, "No budget", deadline=timedelta(days=20),
                   published_ago=timedelta(days=3), budget=(None, None))
    assert result_titles(client.get("/challenges")) == [
        "Closes soon", "No budget", "Closes later, newest", "Closed"]
    assert result_titles(client.get("/challenges?sort=closing")) == result_titles(
        client.get("/challenges"))
    assert result_titles(client.get("/challenges?sort=newest")) == [
        "Closes later, newest", "No budget", "Closes soon", "Closed"]
    assert result_titles(client.get("/challenges?sort=budget")) == [
        "Closes soon", "Closes later, newest", "Closed", "No budget"]
    page = html_of(client.get("/challenges?sort=budget"))
    assert '<option value="budget" selected>' in page


def test_pagination_keeps_the_filters(client, council) -> None:
    for n in range(PAGE_SIZE + 5):
        make_challenge(council, f"Pothole challenge {n:02d}", region="London",
                       deadline=timedelta(days=10 + n))
    make_challenge(council, "Elsewhere", region="Wales")

    first = client.get("/challenges?region=London&sme=1&q=pothole")
    assert len(result_titles(first)) == PAGE_SIZE
    assert f"{PAGE_SIZE + 5} challenges" in text_of(first)
    links = re.findall(r'class="govuk-link govuk-pagination__link" href="([^"]+)"', html_of(first))
    assert links, "no pagination links"
    query = parse_qs(urlsplit(unescape(links[-1])).query)
    assert query == {"q": ["pothole"], "region": ["London"], "sme": ["1"], "page": ["2"]}

    second = client.get("/challenges?region=London&sme=1&q=pothole&page=2")
    assert result_titles(second) == [f"Pothole challenge {n:02d}" for n in range(20, 25)]
    assert 'aria-current="page"' in html_of(second)
    # Past the end shows the last page; nonsense shows the first.
    assert result_titles(client.get("/challenges?region=London&page=99")) == result_titles(
        second)
    assert result_titles(client.get("/challenges?region=London&page=x"))[0] == (
        "Pothole challenge 00")


# --------------------------------------------------------------------------- keywords


def test_typo_tolerant_search(client, council) -> None:
    make_challenge(council, "Finding potholes before they grow")
    make_challenge(council, "Stopping fly-tipping in back lanes",
                   summary="Fly-tipping costs us a fortune.")
    make_challenge(council, "Lonely older residents", summary="Befriending services.")

    typo = client.get("/challenges?q=potholle")
    assert result_titles(typo) == ["Finding potholes before they grow"]
    assert "Showing results for" in text_of(typo)
    assert "instead of potholle" in text_of(typo)

    exact = client.get("/challenges?q=potholes")
    assert result_titles(exact) == ["Finding potholes before they grow"]
    assert "Showing results for" not in text_of(exact)

    for query in ("flytipping", "fly-tipping", "fly tipping", "Fly-Tipping"):
        assert result_titles(client.get(f"/challenges?q={query}")) == [
            "Stopping fly-tipping in back lanes"], query

    nothing = client.get("/challenges?q=zebra+crossings")
    assert result_titles(nothing) == []
    assert "No challenges match your search" in text_of(nothing)
    assert 'value="zebra crossings"' in html_of(nothing)


# --------------------------------------------------------------------------- the page


def test_challenge_page_content(client, council) -> None:
    partner = CouncilFactory(name="Ashford Vale Council")
    year = utcnow().year + 1
    challenge = make_challenge(
        council, "Finding potholes", sponsors=(partner,),
        problem="Residents report the same pothole many times.\n\nCrews cannot find them.",
        questions_close=datetime(year, 1, 15, 12, 0, tzinfo=UTC),  # GMT
        deadline=datetime(year, 7, 1, 16, 0, tzinfo=UTC),  # BST: 5pm in the UK
        cpv=("45233141", "72000000"))
    response = client.get(f"/challenges/{challenge.id}")
    assert response.status_code == 200
    assert count_h1(response) == 1
    page = text_of(response)
    for expected in (
        "Finding potholes", "Lowdale Borough Council", "Ashford Vale Council", "Open",
        "Potholes on rural roads take too long to find and repair.",
        "Residents report the same pothole many times.", "Crews cannot find them.",
        "Drivers and cyclists.", "Fewer repeat reports", "Reports per month halved",
        "Half the time and half the cost.", "Works on existing vans", "Publishes open data",
        "Computer vision", "45233141 Road-maintenance works", "72000000 IT services",
        "North West", "£10,000 to £80,000", "Discovery", "£50,000",
        "Understanding of the problem", "60%", "500 words", "shortlist 3 suppliers",
        f"15 January {year} at 12:00pm", f"1 July {year} at 5:00pm",
        f"31 July {year}",  # expected award
        "All times are UK time",
        "Sign in to ask a question or follow this challenge",
    ):
        assert expected in page, expected
    days = (datetime(year, 7, 1, 17, 0).date() - datetime.now(UTC).date()).days
    assert f"{days} days left" in page
    # Tables have captions and headers.
    body = html_of(response)
    assert body.count("<caption") == body.count("<table")
    assert "<th scope=\"col\"" in body


def test_time_left_wording() -> None:
    now = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    assert time_left(now + timedelta(hours=3), now) == "closes today"
    assert time_left(now + timedelta(days=1), now) == "1 day left"
    assert time_left(now + timedelta(days=12), now) == "12 days left"
    assert time_left(now - timedelta(minutes=1), now) == ""
    # UK dates, not UTC ones: 11:30pm UTC in summer is already tomorrow in London.
    summer = datetime(2027, 7, 1, 21, 0, tzinfo=UTC)
    assert time_left(datetime(2027, 7, 1, 23, 30, tzinfo=UTC), summer) == "1 day left"


def test_questions_and_answers_never_name_the_asker(app: Flask, client, council) -> None:
    challenge = make_challenge(council, "Finding potholes")
    owner = council_user("challenge_owner", organisation=council)
    acme = SupplierFactory(name="Acme Widgets Ltd")
    asker = supplier_user("bidder", organisation=acme, full_name="Priya Asker")
    asked = svc.ask_question(asker, challenge.id, "Can Acme Widgets use its own vans?")
    svc.answer_question(owner, asked.id, "Yes, any vans will do.",
                        published_question="Can suppliers use their own vans?")
    declined = svc.ask_question(asker, challenge.id, "What is your lunch budget?")
    svc.reject_question(owner, declined.id, "This is not about the challenge")
    svc.ask_question(asker, challenge.id, "Is Sunday work allowed?")

    public = text_of(client.get(f"/challenges/{challenge.id}"))
    assert "Can suppliers use their own vans?" in public
    assert "Yes, any vans will do." in public
    for secret in ("Acme Widgets", "Priya Asker", asker.email, "lunch budget",
                   "This is not about the challenge", "Sunday work"):
        assert secret not in public, secret

    # The asker's organisation sees its own questions, with the reason for the refusal.
    colleague = supplier_user("org_admin", organisation=acme)
    own = text_of(browser(app, colleague).get(f"/challenges/{challenge.id}"))
    assert "Your organisation’s questions" in own
    assert "What is your lunch budget?" in own
    assert "Not answered" in own and "Reason: This is not about the challenge" in own
    assert "Is Sunday work allowed?" in own and "Waiting for an answer" in own
    assert "Answered" in own

    # Another supplier sees only the published Q&A.
    other = text_of(browser(app, supplier_user("bidder")).get(f"/challenges/{challenge.id}"))
    assert "Can suppliers use their own vans?" in other
    assert "lunch budget" not in other and "Your organisation’s questions" not in other


def test_amendments_newest_first(client, council) -> None:
    challenge = make_challenge(council)
    now = utcnow()
    db.session.add_all([
        ChallengeAmendment(challenge=challenge, summary="Moved the deadline by a week",
                           created_at=now - timedelta(days=3), changes={}),
        ChallengeAmendment(challenge=challenge, summary="Added a nice-to-have",
                           created_at=now - timedelta(days=1), changes={}),
    ])
    db.session.commit()
    page = text_of(client.get(f"/challenges/{challenge.id}"))
    assert "Amendments" in page
    assert page.index("Added a nice-to-have") < page.index("Moved the deadline by a week")


def test_withdrawn_challenge_shows_the_public_reason(app: Flask, client, council
                                                      ) -> None:
    withdrawn = make_challenge(council, "Withdrawn one",
                               withdrawn_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
                               end_reason="The budget was cut by the cabinet.")
    cancelled = make_challenge(council, "Cancelled one", deadline=timedelta(days=-10),
                               cancelled_at=utcnow() - timedelta(days=1),
                               end_reason="No longer needed.")
    page = text_of(client.get(f"/challenges/{withdrawn.id}"))
    assert "This challenge was withdrawn on 3 March 2026" in page
    assert "The budget was cut by the cabinet." in page
    assert "Withdrawn" in page
    assert "days left" not in page  # its deadlines no longer count down
    page = text_of(client.get(f"/challenges/{cancelled.id}"))
    assert "This challenge was cancelled on" in page and "No longer needed." in page
    listing = text_of(client.get("/challenges"))
    assert "Withdrawn" in listing and "Cancelled" in listing
    # Suppliers are not offered to follow a withdrawn challenge.
    bidder = browser(app, supplier_user("bidder"))
    assert "Follow this challenge" not in text_of(bidder.get(f"/challenges/{withdrawn.id}"))


def test_user_text_is_escaped(client, council) -> None:
    challenge = make_challenge(council, "<script>alert('title')</script>",
                               summary="<b>bold</b> & <img src=x onerror=alert(1)>")
    for url in ("/challenges", f"/challenges/{challenge.id}", "/challenges?q=script"):
        body = html_of(client.get(url))
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body and "<b>bold</b>" not in body, url
        assert "&lt;script&gt;alert(" in body, url


def test_reuse_and_based_on(app: Flask, client, council) -> None:
    original = make_challenge(council, "The original")
    other = CouncilFactory(name="Highcliff Council")
    copy = make_challenge(other, "A copy", copied_from_id=original.id)
    page = text_of(client.get(f"/challenges/{original.id}"))
    assert "Reused 1 time" in page
    assert "Reuse this challenge" not in page
    copied = client.get(f"/challenges/{copy.id}")
    assert "Based on The original by Lowdale Borough Council" in text_of(copied)
    assert f'href="/challenges/{original.id}"' in html_of(copied)

    editor = browser(app, council_user("challenge_owner", organisation=other))
    body = html_of(editor.get(f"/challenges/{original.id}"))
    assert f'action="/council/challenges/{original.id}/copy"' in body
    for person in (council_user("evaluator", organisation=other), supplier_user("bidder")):
        assert "Reuse this challenge" not in text_of(
            browser(app, person).get(f"/challenges/{original.id}"))


# --------------------------------------------------------------------------- following


def test_follow_and_unfollow(app: Flask, council) -> None:
    challenge = make_challenge(council)
    bidder = supplier_user("bidder")
    client = browser(app, bidder)
    page = text_of(client.get(f"/challenges/{challenge.id}"))
    assert "Follow this challenge" in page

    response = client.post(f"/challenges/{challenge.id}/follow")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/challenges/{challenge.id}"
    assert db.session.get(ChallengeFollow, (challenge.id, bidder.id)) is not None
    page = text_of(client.get(f"/challenges/{challenge.id}"))
    assert "Stop following this challenge" in page
    assert "You are following this challenge" in page

    client.post(f"/challenges/{challenge.id}/unfollow")
    db.session.expire_all()
    assert db.session.get(ChallengeFollow, (challenge.id, bidder.id)) is None
    assert "Follow this challenge" in text_of(client.get(f"/challenges/{challenge.id}"))


def test_following_needs_sign_in_a_token_and_a_published_challenge(app: Flask, client,
                                                                    council) -> None:
    challenge = make_challenge(council)
    draft = make_challenge(council, "Draft", published=False)
    response = client.post(f"/challenges/{challenge.id}/follow")
    assert is_sign_in_redirect(response, f"/challenges/{challenge.id}/follow")
    bidder = browser(app, supplier_user("bidder"))
    assert bidder.post(f"/challenges/{draft.id}/follow").status_code == 404
    assert bidder.post(f"/challenges/{challenge.id}/follow", csrf=False).status_code == 400
    assert db.session.scalars(select(ChallengeFollow)).all() == []


# --------------------------------------------------------------------------- questions


def test_supplier_asks_a_question(app: Flask, council) -> None:
    challenge = make_challenge(council)
    bidder = supplier_user("bidder")
    client = browser(app, bidder)
    page = html_of(client.get(f"/challenges/{challenge.id}"))
    assert f'action="/challenges/{challenge.id}/questions"' in page
    assert '<label class="govuk-label govuk-label--s" for="question">' in page

    response = client.post(f"/challenges/{challenge.id}/questions",
                           data={"question": "  Can we use drones?  "})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/challenges/{challenge.id}#your-questions")
    question = db.session.scalars(select(ClarificationQuestion)).one()
    assert question.question == "Can we use drones?"
    assert question.supplier_id == bidder.organisation_id
    page = text_of(client.get(f"/challenges/{challenge.id}"))
    assert "Your question has been sent to the council" in page
    assert "Can we use drones?" in page and "Waiting for an answer" in page


def test_empty_question_is_refused(app: Flask, council) -> None:
    challenge = make_challenge(council)
    client = browser(app, supplier_user("bidder"))
    response = client.post(f"/challenges/{challenge.id}/questions", data={"question": "  "})
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page and "Enter your question" in page
    assert re.search(r"<title>\s*Error: ", html_of(response))
    too_long = client.post(f"/challenges/{challenge.id}/questions", data={"question": "x" * 2001})
    assert too_long.status_code == 400
    assert "2,000 characters or fewer" in text_of(too_long)
    assert db.session.scalars(select(ClarificationQuestion)).all() == []


def test_question_after_the_deadline_is_refused(app: Flask, council) -> None:
    challenge = make_challenge(council, questions_close=timedelta(hours=-1),
                               deadline=timedelta(days=4))
    client = browser(app, supplier_user("bidder"))
    page = text_of(client.get(f"/challenges/{challenge.id}"))
    assert "Questions for this challenge closed on" in page
    assert "Send question" not in page

    response = client.post(f"/challenges/{challenge.id}/questions",
                           data={"question": "Too late?"})
    assert response.status_code == 409
    assert "There is a problem" in text_of(response)
    assert "Questions for this challenge closed on" in text_of(response)
    # Even an empty question gets an explanation, though the form is no longer shown.
    empty = client.post(f"/challenges/{challenge.id}/questions", data={"question": ""})
    assert empty.status_code == 400
    assert "There is a problem" in text_of(empty) and "Enter your question" in text_of(empty)
    assert db.session.scalars(select(ClarificationQuestion)).all() == []


def test_only_suppliers_can_ask(app: Flask, client, council) -> None:
    challenge = make_challenge(council)
    url = f"/challenges/{challenge.id}/questions"
    assert is_sign_in_redirect(client.post(url, data={"question": "Hello?"}), url)
    for person in (council_user("challenge_owner", organisation=council),
                   council_user("procurement_officer")):
        assert browser(app, person).post(url, data={"question": "Hello?"}).status_code == 403
    draft = make_challenge(council, "Draft", published=False)
    bidder = browser(app, supplier_user("bidder"))
    assert bidder.post(f"/challenges/{draft.id}/questions",
                       data={"question": "Hello?"}).status_code == 404
    assert db.session.scalars(select(ClarificationQuestion)).all() == []
    # Council people see no question form.
    page = text_of(browser(app, council_user("challenge_owner")).get(f"/challenges/{challenge.id}"))
    assert "Send question" not in page and "Follow this challenge" not in page


# --------------------------------------------------------------------------- the feed


def test_atom_feed(client, council) -> None:
    for n in range(55):
        make_challenge(council, f"Challenge {n:02d}", published_ago=timedelta(hours=100 - n))
    make_challenge(council, "Draft in the feed?", published=False)
    response = client.get("/challenges/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)  # noqa: S314 (our own feed, not untrusted input)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}title").text
    assert root.find(f"{ATOM}updated").text
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 50
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert titles[0] == "Challenge 54" and titles[-1] == "Challenge 05"
    assert "Draft in the feed?" not in titles
    first = entries[0]
    assert first.find(f"{ATOM}author/{ATOM}name").text == "Lowdale Borough Council"
    assert first.find(f"{ATOM}link").get("href").startswith("http://marketplace.test/challenges/")
    assert first.find(f"{ATOM}summary").text.startswith("Potholes on rural roads")
    assert first.find(f"{ATOM}published").text and first.find(f"{ATOM}updated").text


def test_empty_feed_is_valid(client) -> None:
    response = client.get("/challenges/feed.atom")
    root = ET.fromstring(response.data)  # noqa: S314 (our own feed, not untrusted input)
    assert root.findall(f"{ATOM}entry") == []
    assert root.find(f"{ATOM}id").text == "http://marketplace.test/challenges"
