"""The council's challenge pages: dashboard, drafting section by section, the task list,
approval and publication, amendments, withdrawal, cancellation, reuse and questions."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeAmendment,
    ChallengeStatus,
    ClarificationQuestion,
    OrgStatus,
    User,
    utcnow,
)
from marketplace.services import challenges as service
from marketplace.services.challenges import (
    ChallengeChanges,
    CriterionInput,
    OutcomeInput,
    StageInput,
)
from tests.factories import CouncilFactory, council_user, supplier_user
from tests.team_admin_support import browser, fresh, outbox, text_of

UK = ZoneInfo("Europe/London")
SECTION_SLUGS = ("about", "problem", "outcomes", "requirements", "capabilities",
                 "place-and-budget", "stages", "criteria", "shortlist", "dates", "sponsors")


# --------------------------------------------------------------------------- helpers


def fill_all(user: User, challenge_id: int, *, days: int = 20) -> Challenge:
    """Every section filled with valid data through the service, deadline ``days`` ahead."""
    deadline = (utcnow() + timedelta(days=days)).replace(microsecond=0)
    return service.update_draft(user, challenge_id, ChallengeChanges(
        summary="Food waste from flats is not collected, so it goes to landfill.",
        problem="Residents in flats have nowhere to put food waste.",
        background="We tried communal bins in 2023.",
        affected="About 12,000 households in flats.",
        success="Half of the flats recycle food waste.",
        outcomes=[OutcomeInput("More food waste recycled", "50% of flats within a year")],
        essential_requirements=["Works for blocks of flats"],
        nice_to_haves=["Uses existing bins"],
        capabilities=["behaviour change", "logistics"],
        cpv_codes=["90511000"],
        region="London", budget_min=25_000, budget_max=100_000, set_budget=True,
        sme_suitable=True, shortlist_size=3,
        stages=[StageInput("Exploration", "6 weeks", 5_000, 3)],
        criteria=[CriterionInput("Approach", 60), CriterionInput("Cost", 40)],
        clarification_deadline=deadline - timedelta(days=5),
        submission_deadline=deadline,
        expected_award_date=(deadline + timedelta(days=30)).date(),
        set_dates=True,
    ))


def draft(owner: User, title: str = "How might we recycle more food waste?") -> Challenge:
    return service.create_draft(owner, title)


def publishable(owner: User, **kwargs: Any) -> Challenge:
    challenge = draft(owner, **kwargs)
    return fill_all(owner, challenge.id)


def published(officer: User, **kwargs: Any) -> Challenge:
    challenge = publishable(officer, **kwargs)
    return service.publish(officer, challenge.id)


def error_summary(response: Any) -> str:
    """The text of the page's error summary ("" when there is none)."""
    page = response.get_data(as_text=True)
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', page, flags=re.S)
    if not match:
        return ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def field_error(response: Any, field_id: str) -> str:
    """The GOV.UK error message shown with the input ``field_id``."""
    page = response.get_data(as_text=True)
    match = re.search(rf'<p id="{re.escape(field_id)}-error" class="govuk-error-message">'
                      r"(.*?)</p>", page, flags=re.S)
    assert match, f"no error message for {field_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def section_url(challenge_id: int, section: str, *, amend: bool = False) -> str:
    return f"/council/challenges/{challenge_id}/{'amend' if amend else 'edit'}/{section}"


def task_list_statuses(response: Any) -> dict[str, str]:
    page = response.get_data(as_text=True)
    items = re.findall(r'<li class="govuk-task-list__item.*?</li>', page, flags=re.S)
    found = {}
    for item in items:
        name = re.search(r'(?:govuk-task-list__link[^>]*>|<div>)\s*(.*?)\s*</', item, re.S)
        status = re.search(r'govuk-task-list__status[^>]*>(.*?)</div>', item, re.S)
        assert name and status
        found[html.unescape(name.group(1).strip())] = " ".join(
            re.sub(r"<[^>]+>", " ", status.group(1)).split())
    return found


def fresh_challenge(challenge_id: int) -> Challenge:
    return fresh(Challenge, challenge_id)


def emails_with(template_subject: str) -> list[Any]:
    return [m for m in outbox() if m.subject.startswith(template_subject)]


@pytest.fixture
def lead(app: Flask):  # type: ignore[no-untyped-def]
    return CouncilFactory(name="Riverside Borough Council")


@pytest.fixture
def owner(lead) -> User:  # type: ignore[no-untyped-def]
    return council_user("challenge_owner", organisation=lead, full_name="Olu Owner",
                        email="owner@riverside.gov.uk")


@pytest.fixture
def officer(lead) -> User:  # type: ignore[no-untyped-def]
    return council_user("procurement_officer", organisation=lead, full_name="Pat Officer",
                        email="officer@riverside.gov.uk")


@pytest.fixture
def second_officer(lead) -> User:  # type: ignore[no-untyped-def]
    return council_user("procurement_officer", organisation=lead, full_name="Sam Second",
                        email="second@riverside.gov.uk")


# --------------------------------------------------------------------------- access


def test_supplier_is_refused_every_council_page(app: Flask, owner: User) -> None:
    challenge = draft(owner)
    supplier = browser(app, supplier_user("bidder", "org_admin"))
    for path in ("/council/challenges", "/council/challenges/new",
                 f"/council/challenges/{challenge.id}",
                 section_url(challenge.id, "about"),
                 f"/council/challenges/{challenge.id}/questions"):
        assert supplier.get(path).status_code == 403, path
    assert supplier.post(f"/council/challenges/{challenge.id}/copy").status_code == 403


def test_anonymous_is_sent_to_sign_in(app: Flask, owner: User) -> None:
    challenge = draft(owner)
    response = app.test_client().get(f"/council/challenges/{challenge.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_another_council_gets_404_on_this_challenge(app: Flask, owner: User,
                                                    officer: User) -> None:
    challenge = draft(owner)
    stranger = browser(app, council_user("challenge_owner", "procurement_officer"))
    for path in (f"/council/challenges/{challenge.id}",
                 f"/council/challenges/{challenge.id}/preview",
                 f"/council/challenges/{challenge.id}/questions",
                 f"/council/challenges/{challenge.id}/withdraw",
                 section_url(challenge.id, "about")):
        assert stranger.get(path).status_code == 404, path
    for path in (section_url(challenge.id, "about"),
                 f"/council/challenges/{challenge.id}/submit",
                 f"/council/challenges/{challenge.id}/publish",
                 f"/council/challenges/{challenge.id}/copy"):
        assert stranger.post(path, data={"title": "Mine now"}).status_code == 404, path
    # Even once it is published, its council pages are not theirs (the public page is).
    fill_all(owner, challenge.id)
    service.publish(officer, challenge.id)
    assert stranger.get(f"/council/challenges/{challenge.id}").status_code == 404
    assert stranger.get(f"/challenges/{challenge.id}").status_code == 200
    assert fresh_challenge(challenge.id).title == "How might we recycle more food waste?"


def test_evaluator_can_look_but_not_edit(app: Flask, lead, owner: User) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    evaluator = browser(app, council_user("evaluator", organisation=lead))
    dashboard = evaluator.get("/council/challenges")
    assert dashboard.status_code == 200
    assert "Create a challenge" not in dashboard.get_data(as_text=True)
    assert challenge.title in text_of(dashboard)
    page = evaluator.get(f"/council/challenges/{challenge.id}")
    assert page.status_code == 200
    assert section_url(challenge.id, "about") not in page.get_data(as_text=True)
    assert "Send for approval" not in text_of(page)
    assert evaluator.get(section_url(challenge.id, "about")).status_code == 403
    response = evaluator.post(section_url(challenge.id, "about"),
                              data={"title": "Changed", "save_return": "y"})
    assert response.status_code == 403
    assert evaluator.get("/council/challenges/new").status_code == 403
    assert evaluator.post(f"/council/challenges/{challenge.id}/submit").status_code == 403
    assert fresh_challenge(challenge.id).title == "How might we recycle more food waste?"


def test_challenge_owner_cannot_approve_publish_or_withdraw(app: Flask, owner: User) -> None:
    challenge = publishable(owner)
    client = browser(app, owner)
    for action in ("approve", "publish", "withdraw", "cancel"):
        assert client.post(f"/council/challenges/{challenge.id}/{action}",
                           data={"reason": "x"}).status_code == 403, action
    assert fresh_challenge(challenge.id).status == ChallengeStatus.DRAFT


def test_unknown_section_and_challenge_are_404(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    client = login(owner)
    assert client.get(section_url(challenge.id, "nonsense")).status_code == 404
    assert client.post(section_url(challenge.id, "nonsense"), data={}).status_code == 404
    assert client.get("/council/challenges/99999").status_code == 404
    assert client.get(section_url(99999, "about")).status_code == 404


# --------------------------------------------------------------------------- dashboard


def test_dashboard_groups_challenges_by_state(app: Flask, lead, owner: User,  # type: ignore[no-untyped-def]
                                              officer: User, login) -> None:
    draft(owner, title="How might we fix potholes faster?")
    open_one = published(officer, title="How might we cut missed bin collections?")
    withdrawn = published(officer, title="How might we plant more trees?")
    service.withdraw(officer, withdrawn.id, "The budget was cut")
    # A challenge another council leads, co-sponsored by ours.
    other = council_user("procurement_officer", organisation=CouncilFactory(name="Hilltop"))
    shared = draft(other, title="How might we share a fleet of e-bikes?")
    service.update_draft(other, shared.id, ChallengeChanges(co_sponsor_ids=[lead.id]))
    draft(other, title="How might we keep this private?")

    page = login(owner).get("/council/challenges")
    assert page.status_code == 200
    text = text_of(page)
    assert "Create a challenge" in text
    assert "In preparation (2)" in text
    assert "Open (1)" in text
    assert "Closed and in evaluation (0)" in text
    assert "Finished (1)" in text
    assert "How might we share a fleet of e-bikes? Led by Hilltop" in text
    assert "keep this private" not in text
    assert f"Questions close: {open_one.clarification_deadline.astimezone(UK):%-d %B %Y}" \
        in text
    assert "Withdrawn" in text


def test_dashboard_for_a_council_without_challenges(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    text = text_of(login(owner).get("/council/challenges"))
    assert "Your council has no challenges yet" in text


# --------------------------------------------------------------------------- drafting


def test_create_a_draft(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    client = login(owner)
    page = client.get("/council/challenges/new")
    assert page.status_code == 200
    assert "How might we" in text_of(page)

    response = client.post("/council/challenges/new", data={"title": "  "})
    assert response.status_code == 200
    assert "Enter a title" in error_summary(response)
    assert text_of(response).startswith("Error:") or "<title>Error:" in response.get_data(
        as_text=True)

    response = client.post("/council/challenges/new",
                           data={"title": "How might we reduce food waste?"})
    assert response.status_code == 302
    challenge = db.session.scalar(select(Challenge))
    assert challenge.title == "How might we reduce food waste?"
    assert challenge.lead_council_id == owner.organisation_id
    assert response.headers["Location"] == f"/council/challenges/{challenge.id}"


def test_new_draft_task_list_shows_what_is_missing(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    page = login(owner).get(f"/council/challenges/{challenge.id}")
    assert page.status_code == 200
    statuses = task_list_statuses(page)
    assert statuses == {
        "Title and summary": "Incomplete", "The problem": "Incomplete",
        "Outcomes you want": "Incomplete", "Requirements": "Incomplete",
        "Capabilities and CPV codes": "Incomplete", "Place and budget": "Incomplete",
        "Contract stages": "Optional", "Evaluation criteria": "Incomplete",
        "Shortlist": "Incomplete", "Dates": "Incomplete",
        "Co-sponsoring councils": "Optional",
    }
    summary = error_summary(page)
    assert "Before this challenge can be published" in summary
    assert "Write a one-paragraph summary" in summary
    assert "Enter the submission deadline" in summary
    # The problems link to the sections that put them right.
    assert f'href="{section_url(challenge.id, "dates")}"' in page.get_data(as_text=True)
    # Not ready: no button to send it for approval yet.
    assert f"/council/challenges/{challenge.id}/submit" not in page.get_data(as_text=True)

    fill_all(owner, challenge.id)
    page = login(owner).get(f"/council/challenges/{challenge.id}")
    assert set(task_list_statuses(page).values()) == {"Completed", "Optional"}
    assert task_list_statuses(page)["Contract stages"] == "Completed"
    assert error_summary(page) == ""
    assert f"/council/challenges/{challenge.id}/submit" in page.get_data(as_text=True)


def _post_section(client, challenge_id: int, section: str, data: dict[str, Any],  # type: ignore[no-untyped-def]
                  button: str = "save_continue"):
    return client.post(section_url(challenge_id, section), data={**data, button: "y"})


def test_every_section_saves_through_the_pages(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    other = CouncilFactory(name="Hilltop District Council")
    CouncilFactory(name="Pending Council", status=OrgStatus.PENDING.value)
    challenge = draft(owner)
    client = login(owner)
    for slug in SECTION_SLUGS:
        page = client.get(section_url(challenge.id, slug))
        assert page.status_code == 200, slug
        assert page.get_data(as_text=True).count("<h1") == 1

    deadline_day = (datetime.now(UK) + timedelta(days=30)).date()
    questions_day = deadline_day - timedelta(days=7)
    award_day = deadline_day + timedelta(days=40)
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("about", {"title": "How might we recycle more food waste in flats?",
                   "summary": "A short summary."}, "problem"),
        ("problem", {"problem": "No food bins in flats.", "background": "Tried before.",
                     "affected": "12,000 households", "success": "Half recycle"}, "outcomes"),
        ("outcomes", {"outcome_1_description": "More food waste recycled",
                      "outcome_1_measure": "50% of flats", "outcome_3_description": "Less "
                      "landfill"}, "requirements"),
        ("requirements", {"essential": "- Works in flats\n\n• Accessible\n",
                          "nice_to_have": "Uses existing bins"}, "capabilities"),
        ("capabilities", {"capabilities": "logistics, behaviour change\nuser research",
                          "cpv_typed": "90511000-2, 72000000"}, "place-and-budget"),
        ("place-and-budget", {"region": "London", "budget_min": "£25,000",
                              "budget_max": "100000", "sme_suitable": "no"}, "stages"),
        ("stages", {"stage_1_name": "Exploration", "stage_1_duration": "6 weeks",
                    "stage_1_funding": "£5,000", "stage_1_suppliers": "3",
                    "stage_2_name": "Pilot"}, "criteria"),
        ("criteria", {"criterion_1_name": "Approach", "criterion_1_weight": "70",
                      "criterion_1_description": "How well it fits",
                      "criterion_2_name": "Cost", "criterion_2_weight": "30",
                      "criterion_2_words": "250"}, "shortlist"),
        ("shortlist", {"shortlist_size": "4"}, "dates"),
        ("dates", {"clarification_deadline": [str(questions_day.day), str(questions_day.month),
                                              str(questions_day.year)],
                   "clarification_deadline_time": "5pm",
                   "submission_deadline": [str(deadline_day.day), str(deadline_day.month),
                                           str(deadline_day.year)],
                   "submission_deadline_time": "",
                   "expected_award_date": [str(award_day.day), str(award_day.month),
                                           str(award_day.year)]}, "sponsors"),
    ]
    for slug, data, following in steps:
        response = _post_section(client, challenge.id, slug, data)
        assert response.status_code == 302, (slug, error_summary(response))
        assert response.headers["Location"] == section_url(challenge.id, following), slug

    page = client.get(section_url(challenge.id, "sponsors"))
    assert "Hilltop District Council" in text_of(page)
    assert "Pending Council" not in text_of(page)
    assert "Riverside Borough Council" not in text_of(page)  # the lead council itself
    response = _post_section(client, challenge.id, "sponsors", {"co_sponsor_ids": str(other.id)},
                             button="save_return")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/council/challenges/{challenge.id}"

    c = fresh_challenge(challenge.id)
    assert c.title == "How might we recycle more food waste in flats?"
    assert c.summary == "A short summary."
    assert (c.problem, c.background, c.affected, c.success) == (
        "No food bins in flats.", "Tried before.", "12,000 households", "Half recycle")
    assert [(o.description, o.measure) for o in c.outcomes] == [
        ("More food waste recycled", "50% of flats"), ("Less landfill", None)]
    assert [r.text for r in c.essential_requirements] == ["Works in flats", "Accessible"]
    assert [r.text for r in c.nice_to_haves] == ["Uses existing bins"]
    assert c.capabilities == ["logistics", "behaviour change", "user research"]
    assert c.cpv_codes == ["72000000", "90511000"]
    assert (c.region, c.budget_min, c.budget_max, c.sme_suitable) == (
        "London", 25_000, 100_000, False)
    assert [(s.name, s.duration, s.funding_per_supplier, s.max_suppliers)
            for s in c.stages] == [("Exploration", "6 weeks", 5_000, 3),
                                   ("Pilot", None, None, None)]
    assert [(k.name, k.description, k.weight, k.word_limit) for k in c.criteria] == [
        ("Approach", "How well it fits", 70, 500), ("Cost", None, 30, 250)]
    assert c.shortlist_size == 4
    assert c.clarification_deadline == datetime.combine(
        questions_day, time(17, 0), tzinfo=UK).astimezone(UTC)
    assert c.submission_deadline == datetime.combine(
        deadline_day, time(23, 59), tzinfo=UK).astimezone(UTC)
    assert c.expected_award_date == award_day
    assert [s.organisation_id for s in c.sponsors] == [other.id]
    assert service.problems(c) == []

    # Saving the same codes and sponsors again (rows with the same keys) works.
    for slug, data in (("sponsors", {"co_sponsor_ids": str(other.id)}),
                       ("capabilities", {"cpv_codes": ["72000000", "90511000"],
                                         "cpv_typed": "90511000"})):
        assert _post_section(client, challenge.id, slug, data).status_code == 302, slug
    c = fresh_challenge(challenge.id)
    assert c.cpv_codes == ["72000000", "90511000"]
    assert [s.organisation_id for s in c.sponsors] == [other.id]

    # Each page shows what was saved.
    text = text_of(client.get(section_url(challenge.id, "place-and-budget")))
    assert 'value="25,000"' in client.get(
        section_url(challenge.id, "place-and-budget")).get_data(as_text=True)
    assert "Where will the work be delivered?" in text
    dates = client.get(section_url(challenge.id, "dates")).get_data(as_text=True)
    assert 'value="17:00"' in dates
    assert f'value="{deadline_day.year}"' in dates
    criteria = client.get(section_url(challenge.id, "criteria"))
    assert "100%" in text_of(criteria)
    cpv = text_of(client.get(section_url(challenge.id, "capabilities")))
    assert "90511000 Refuse collection services" in cpv


def test_weights_must_total_100(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    client = login(owner)
    response = _post_section(client, challenge.id, "criteria", {
        "criterion_1_name": "Approach", "criterion_1_weight": "60",
        "criterion_2_name": "Cost", "criterion_2_weight": "30"})
    assert response.status_code == 400
    assert "Weights must total 100; they total 90" in error_summary(response)
    assert 'href="#criterion_1_name"' in response.get_data(as_text=True)
    assert "Total of the weights you entered: 90%" in text_of(response)
    assert fresh_challenge(challenge.id).criteria == []

    response = _post_section(client, challenge.id, "criteria", {
        "criterion_1_name": "Approach", "criterion_1_weight": "sixty",
        "criterion_2_description": "No name", "criterion_3_name": "No weight"})
    assert response.status_code == 400
    summary = error_summary(response)
    assert "The weight of criterion 1 must be a whole number" in summary
    assert "Enter a name for criterion 2" in summary
    assert "Enter a weight for criterion 3" in summary
    assert field_error(response, "criterion_3_weight") == "Error: Enter a weight for criterion 3"


def test_budget_rules(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    client = login(owner)
    response = _post_section(client, challenge.id, "place-and-budget", {
        "region": "London", "budget_min": "£100,000", "budget_max": "£25,000",
        "sme_suitable": "yes"})
    assert response.status_code == 400
    assert "Minimum budget must not be more than the maximum" in error_summary(response)
    assert field_error(response, "budget_min") == (
        "Error: Minimum budget must not be more than the maximum")
    assert fresh_challenge(challenge.id).budget_max is None

    response = _post_section(client, challenge.id, "place-and-budget", {
        "budget_min": "25k", "budget_max": "£1,000.50"})
    assert response.status_code == 400
    summary = error_summary(response)
    assert "The minimum budget must be an amount in whole pounds, like £25,000" in summary
    assert "The maximum budget must be an amount in whole pounds" in summary
    # What was typed is shown again.
    assert 'value="25k"' in response.get_data(as_text=True)


def test_bad_cpv_codes(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    client = login(owner)
    response = _post_section(client, challenge.id, "capabilities", {"cpv_typed": "1234"})
    assert response.status_code == 400
    assert "Enter a CPV code of 8 digits, like 72000000" in error_summary(response)
    response = _post_section(client, challenge.id, "capabilities", {"cpv_typed": "12345678"})
    assert "12345678 is not in the list of CPV codes" in error_summary(response)
    # A tampered checkbox value is refused by the service.
    response = _post_section(client, challenge.id, "capabilities", {"cpv_codes": "99999999"})
    assert response.status_code == 400
    assert "99999999 is not in the list of CPV codes" in error_summary(response)
    assert fresh_challenge(challenge.id).cpv_codes == []


def test_cpv_search_without_javascript(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    service.update_draft(owner, challenge.id, ChallengeChanges(cpv_codes=["72000000"]))
    client = login(owner)
    page = client.get(section_url(challenge.id, "capabilities") + "?q=refuse")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'value="90511000"' in body            # a search result, not ticked
    assert re.search(r'value="72000000" checked', body)  # the saved code, ticked
    # The search button keeps what was typed and saves nothing.
    response = client.post(section_url(challenge.id, "capabilities"), data={
        "capabilities": "logistics", "q": "refuse", "cpv_codes": "72000000", "search": "y"})
    assert response.status_code == 200
    assert "90511000 Refuse collection services" in text_of(response)
    assert ">logistics</textarea>" in response.get_data(as_text=True)
    assert fresh_challenge(challenge.id).capabilities == []
    # Ticking a result and saving adds it; unticking the saved one removes it.
    response = _post_section(client, challenge.id, "capabilities",
                             {"capabilities": "logistics", "cpv_codes": "90511000"})
    assert response.status_code == 302
    assert fresh_challenge(challenge.id).cpv_codes == ["90511000"]
    text = text_of(client.get(section_url(challenge.id, "capabilities") + "?q=zzzzqqq"))
    assert "No CPV codes match “zzzzqqq”" in text


def test_dates_in_the_wrong_format(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    client = login(owner)
    response = _post_section(client, challenge.id, "dates", {
        "clarification_deadline": ["31", "2", "2030"],
        "clarification_deadline_time": "25:00",
        "submission_deadline": ["1", "", "2030"],
        "expected_award_date": ["1", "6", "30"]})
    assert response.status_code == 400
    summary = error_summary(response)
    assert "The deadline for questions must be a real date" in summary
    assert "Enter the time questions close in the correct format, like 5pm or 17:00" in summary
    assert "The submission deadline must include a month" in summary
    assert "Year must include 4 numbers" in summary
    body = response.get_data(as_text=True)
    assert 'href="#clarification_deadline-day"' in body
    assert 'href="#clarification_deadline_time"' in body
    assert fresh_challenge(challenge.id).submission_deadline is None

    # The service's rule: questions close before the deadline.
    response = _post_section(client, challenge.id, "dates", {
        "clarification_deadline": ["10", "6", "2030"],
        "submission_deadline": ["1", "6", "2030"]})
    assert response.status_code == 400
    assert "The deadline for questions must be before the submission deadline" in \
        error_summary(response)


def test_outcomes_and_stages_rows(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    client = login(owner)
    response = _post_section(client, challenge.id, "outcomes",
                             {"outcome_2_measure": "A measure without an outcome"})
    assert response.status_code == 400
    assert "Describe outcome 2, or clear its measure" in error_summary(response)
    response = _post_section(client, challenge.id, "stages",
                             {"stage_2_funding": "5000", "stage_3_name": "Pilot",
                              "stage_3_suppliers": "0"})
    assert response.status_code == 400
    summary = error_summary(response)
    assert "Enter a name for stage 2" in summary
    assert "The number of suppliers in stage 3 must be 1 or more" in summary


def test_title_is_required_when_editing(app: Flask, owner: User, login) -> None:  # type: ignore[no-untyped-def]
    challenge = draft(owner)
    response = _post_section(login(owner), challenge.id, "about", {"title": "", "summary": "x"})
    assert response.status_code == 400
    assert "Enter a title" in error_summary(response)
    too_long = "x" * 1001
    response = _post_section(login(owner), challenge.id, "about",
                             {"title": "T", "summary": too_long})
    assert "Summary must be 1,000 characters or fewer" in error_summary(response)


# --------------------------------------------------------------------------- approval flow


def test_submit_approve_publish(app: Flask, owner: User, officer: User,  # type: ignore[no-untyped-def]
                                second_officer: User) -> None:
    challenge = publishable(owner)
    owner_client = browser(app, owner)
    response = owner_client.post(f"/council/challenges/{challenge.id}/submit")
    assert response.status_code == 302
    assert fresh_challenge(challenge.id).status == ChallengeStatus.AWAITING_APPROVAL
    page = owner_client.get(f"/council/challenges/{challenge.id}")
    assert "Sent for approval. The procurement officers of your council have been told" \
        in text_of(page)
    assert "Awaiting approval" in text_of(page)
    needs = emails_with("Approve the challenge")
    assert {m.to_address for m in needs} == {officer.email, second_officer.email}
    assert f"/council/challenges/{challenge.id}" in needs[0].body_text
    assert "Olu Owner has sent this challenge for approval" in needs[0].body_text

    officer_client = browser(app, officer)
    page = officer_client.get(f"/council/challenges/{challenge.id}")
    assert f"/council/challenges/{challenge.id}/approve" in page.get_data(as_text=True)
    response = officer_client.post(f"/council/challenges/{challenge.id}/approve")
    assert response.status_code == 302
    assert fresh_challenge(challenge.id).status == ChallengeStatus.APPROVED
    approved = emails_with("Challenge approved")
    assert [m.to_address for m in approved] == [owner.email]
    assert "Pat Officer approved the challenge" in approved[0].body_text

    # Another officer publishes.
    second = browser(app, second_officer)
    page = second.get(f"/council/challenges/{challenge.id}")
    assert "Publish challenge" in text_of(page)
    response = second.post(f"/council/challenges/{challenge.id}/publish")
    assert response.status_code == 302
    c = fresh_challenge(challenge.id)
    assert c.status == ChallengeStatus.OPEN
    assert c.approved_by_id == officer.id
    text = text_of(second.get(f"/council/challenges/{challenge.id}"))
    assert "Challenge published" in text
    assert "Open" in text
    published_emails = emails_with("Challenge published")
    assert {m.to_address for m in published_emails} == {owner.email, officer.email}
    assert "Sam Second published this challenge" in published_emails[0].body_text


def test_officer_publishes_their_own_draft_directly(app: Flask, officer: User) -> None:
    challenge = publishable(officer)
    client = browser(app, officer)
    page = client.get(f"/council/challenges/{challenge.id}")
    assert "Publish challenge" in text_of(page)
    assert client.post(f"/council/challenges/{challenge.id}/publish").status_code == 302
    c = fresh_challenge(challenge.id)
    assert c.status == ChallengeStatus.OPEN
    assert c.approved_by_id == officer.id


def test_officer_cannot_approve_their_own_submission(app: Flask, officer: User) -> None:
    challenge = publishable(officer)
    client = browser(app, officer)
    client.post(f"/council/challenges/{challenge.id}/submit")
    page = client.get(f"/council/challenges/{challenge.id}")
    assert f"/council/challenges/{challenge.id}/approve" not in page.get_data(as_text=True)
    assert "Another procurement officer must approve it" in text_of(page)
    assert client.post(f"/council/challenges/{challenge.id}/approve").status_code == 403
    assert client.post(f"/council/challenges/{challenge.id}/publish").status_code == 403
    assert fresh_challenge(challenge.id).status == ChallengeStatus.AWAITING_APPROVAL


def test_publish_refused_when_the_deadline_is_too_soon(app: Flask, officer: User) -> None:
    challenge = draft(officer)
    fill_all(officer, challenge.id, days=5)
    client = browser(app, officer)
    page = client.get(f"/council/challenges/{challenge.id}")
    assert "The submission deadline must be at least 10 days after publication" in \
        error_summary(page)
    assert task_list_statuses(page)["Dates"] == "Incomplete"
    response = client.post(f"/council/challenges/{challenge.id}/publish",
                           follow_redirects=True)
    assert response.status_code == 200
    assert "The submission deadline must be at least 10 days after publication" in \
        error_summary(response)
    assert fresh_challenge(challenge.id).published_at is None


def test_unverified_council_cannot_publish(app: Flask, lead, officer: User) -> None:  # type: ignore[no-untyped-def]
    challenge = publishable(officer)
    lead.status = OrgStatus.PENDING.value
    db.session.commit()
    client = browser(app, officer)
    text = text_of(client.get(f"/council/challenges/{challenge.id}"))
    assert "must be verified by the marketplace team" in text
    client.post(f"/council/challenges/{challenge.id}/publish")
    assert fresh_challenge(challenge.id).published_at is None


def test_return_to_draft_with_a_reason(app: Flask, owner: User, officer: User) -> None:
    challenge = publishable(owner)
    service.submit_for_approval(owner, challenge.id)
    client = browser(app, officer)
    response = client.post(f"/council/challenges/{challenge.id}/return", data={"reason": " "})
    assert response.status_code == 400
    assert "Enter what needs to change" in error_summary(response)
    assert fresh_challenge(challenge.id).status == ChallengeStatus.AWAITING_APPROVAL
    response = client.post(f"/council/challenges/{challenge.id}/return",
                           data={"reason": "Add a pilot stage"})
    assert response.status_code == 302
    assert fresh_challenge(challenge.id).status == ChallengeStatus.DRAFT
    returned = emails_with("Changes needed")
    assert [m.to_address for m in returned] == [owner.email]
    assert "Add a pilot stage" in returned[0].body_text


def test_editing_an_approved_challenge_sends_it_back_to_draft(app: Flask, owner: User,  # type: ignore[no-untyped-def]
                                                              officer: User) -> None:
    challenge = publishable(owner)
    service.submit_for_approval(owner, challenge.id)
    service.approve(officer, challenge.id)
    client = browser(app, owner)
    page = client.get(section_url(challenge.id, "shortlist"))
    assert "it goes back to draft and must be approved again" in text_of(page)
    response = _post_section(client, challenge.id, "shortlist", {"shortlist_size": "5"},
                             button="save_return")
    assert response.status_code == 302
    assert fresh_challenge(challenge.id).status == ChallengeStatus.DRAFT
    assert "the challenge is back in draft" in text_of(
        client.get(f"/council/challenges/{challenge.id}"))


# --------------------------------------------------------------------------- open challenges


def test_amend_an_open_challenge(app: Flask, owner: User, officer: User) -> None:
    challenge = published(officer)
    follower = supplier_user("bidder")
    service.follow(follower, challenge.id)
    client = browser(app, owner)
    page = client.get(f"/council/challenges/{challenge.id}")
    assert "Amend the challenge" in text_of(page)
    assert section_url(challenge.id, "dates", amend=True) in page.get_data(as_text=True)
    # The drafting pages send an open challenge to the amendment pages.
    response = client.get(section_url(challenge.id, "dates"))
    assert response.status_code == 302
    assert response.headers["Location"] == section_url(challenge.id, "dates", amend=True)
    page = client.get(section_url(challenge.id, "dates", amend=True))
    assert page.status_code == 200
    assert "Summary of the change (published)" in text_of(page)

    new_deadline = (datetime.now(UK) + timedelta(days=40)).date()
    data = {"submission_deadline": [str(new_deadline.day), str(new_deadline.month),
                                    str(new_deadline.year)],
            "clarification_deadline": [str(new_deadline.day), str(new_deadline.month),
                                       str(new_deadline.year)],
            "clarification_deadline_time": "9am",
            "submission_deadline_time": "17:00",
            "expected_award_date": [str(new_deadline.day), str(new_deadline.month),
                                    str(new_deadline.year + 1)],
            "publish_amendment": "y"}
    response = client.post(section_url(challenge.id, "dates", amend=True), data=data)
    assert response.status_code == 400
    assert "Describe the amendment for suppliers" in error_summary(response)

    response = client.post(section_url(challenge.id, "dates", amend=True),
                           data={**data, "summary_of_change": "The deadline is later"})
    assert response.status_code == 302
    amendment = db.session.scalar(select(ChallengeAmendment))
    assert amendment.summary == "The deadline is later"
    assert amendment.author_id == owner.id
    assert "submission_deadline" in amendment.changes["after"]
    c = fresh_challenge(challenge.id)
    assert c.submission_deadline == datetime.combine(new_deadline, time(17, 0),
                                                     tzinfo=UK).astimezone(UTC)
    assert "Amendment published" in text_of(client.get(f"/council/challenges/{challenge.id}"))
    amended = emails_with("Challenge amended")
    assert [m.to_address for m in amended] == [follower.email]
    assert "The deadline is later" in amended[0].body_text
    assert f"{new_deadline:%-d %B %Y} at 5:00pm" in amended[0].body_text

    # Nothing changed: the service says so.
    response = client.post(section_url(challenge.id, "shortlist", amend=True),
                           data={"shortlist_size": "3", "summary_of_change": "No change"})
    assert response.status_code == 400
    assert "Nothing was changed" in error_summary(response)


def test_an_amendment_cannot_remove_a_required_part(app: Flask, owner: User,
                                                    officer: User) -> None:
    challenge = published(officer)
    response = browser(app, owner).post(
        section_url(challenge.id, "requirements", amend=True),
        data={"essential": "", "nice_to_have": "", "summary_of_change": "Removed them"})
    assert response.status_code == 400
    assert "Add at least one essential requirement" in error_summary(response)
    assert field_error(response, "essential") == (
        "Error: Add at least one essential requirement")
    assert [r.text for r in fresh_challenge(challenge.id).essential_requirements] == [
        "Works for blocks of flats"]


def test_amending_a_draft_goes_to_the_drafting_page(app: Flask, owner: User) -> None:
    challenge = draft(owner)
    response = browser(app, owner).get(section_url(challenge.id, "about", amend=True))
    assert response.status_code == 302
    assert response.headers["Location"] == section_url(challenge.id, "about")


def test_withdraw_with_a_reason(app: Flask, owner: User, officer: User) -> None:
    challenge = published(officer)
    supplier = supplier_user("bidder")
    service.follow(supplier, challenge.id)
    client = browser(app, officer)
    page = client.get(f"/council/challenges/{challenge.id}/withdraw")
    assert page.status_code == 200
    assert "You cannot undo this" in text_of(page)
    response = client.post(f"/council/challenges/{challenge.id}/withdraw", data={"reason": ""})
    assert response.status_code == 400
    assert "Enter the reason" in error_summary(response)
    response = client.post(f"/council/challenges/{challenge.id}/withdraw",
                           data={"reason": "The service is being outsourced"})
    assert response.status_code == 302
    c = fresh_challenge(challenge.id)
    assert c.status == ChallengeStatus.WITHDRAWN
    assert c.end_reason == "The service is being outsourced"
    withdrawn = emails_with("Challenge withdrawn")
    assert supplier.email in {m.to_address for m in withdrawn}
    assert "The service is being outsourced" in withdrawn[0].body_text
    task_list = client.get(f"/council/challenges/{challenge.id}")
    text = text_of(task_list)
    assert "It was withdrawn on" in text
    html = task_list.get_data(as_text=True)
    assert '<h3 class="govuk-heading-s">Reason given</h3>' in html
    assert "&lt;h3" not in html
    assert "The service is being outsourced" in text
    # Nothing more can be done to it.
    response = client.get(f"/council/challenges/{challenge.id}/withdraw")
    assert response.status_code == 302
    assert "A challenge that is withdrawn cannot be withdrawn" in error_summary(
        client.get(response.headers["Location"]))
    response = client.post(f"/council/challenges/{challenge.id}/withdraw",
                           data={"reason": "Again"})
    assert response.status_code == 400
    assert "cannot be withdrawn" in error_summary(response)


def test_cancel_a_draft_and_an_open_challenge(app: Flask, owner: User, officer: User) -> None:
    challenge = draft(owner)
    client = browser(app, officer)
    page = client.get(f"/council/challenges/{challenge.id}/cancel")
    assert "no supplier has seen it" in text_of(page)
    response = client.post(f"/council/challenges/{challenge.id}/cancel",
                           data={"reason": "Duplicate of another challenge"})
    assert response.status_code == 302
    c = fresh_challenge(challenge.id)
    assert c.status == ChallengeStatus.CANCELLED
    assert c.end_reason == "Duplicate of another challenge"
    # A cancelled draft can no longer be edited.
    response = browser(app, owner).get(section_url(challenge.id, "about"))
    assert response.status_code == 302

    open_one = published(officer, title="How might we light parks better?")
    response = client.post(f"/council/challenges/{open_one.id}/cancel",
                           data={"reason": "No longer needed"})
    assert response.status_code == 302
    assert fresh_challenge(open_one.id).status == ChallengeStatus.CANCELLED
    assert any("No longer needed" in m.body_text for m in emails_with("Challenge cancelled"))


# --------------------------------------------------------------------------- reuse


def test_copy_a_challenge(app: Flask, owner: User, officer: User) -> None:
    original = published(officer)
    client = browser(app, owner)
    response = client.post(f"/council/challenges/{original.id}/copy")
    assert response.status_code == 302
    copy = db.session.scalar(select(Challenge).where(Challenge.copied_from_id == original.id))
    assert response.headers["Location"] == f"/council/challenges/{copy.id}"
    assert copy.status == ChallengeStatus.DRAFT
    assert copy.title == original.title
    assert copy.cpv_codes == ["90511000"]
    text = text_of(client.get(response.headers["Location"]))
    assert "This is your council’s copy of" in text

    # Another council's editors may reuse a published challenge, not a draft.
    elsewhere = council_user("challenge_owner")
    other_client = browser(app, elsewhere)
    response = other_client.post(f"/council/challenges/{original.id}/copy")
    assert response.status_code == 302
    theirs = db.session.scalar(select(Challenge).where(
        Challenge.lead_council_id == elsewhere.organisation_id))
    assert theirs.copied_from_id == original.id
    assert service.reuse_count(fresh_challenge(original.id)) == 2
    assert other_client.post(f"/council/challenges/{copy.id}/copy").status_code == 404


# --------------------------------------------------------------------------- questions


def _ask(challenge: Challenge, text: str = "Can we use existing bins?") -> ClarificationQuestion:
    bidder = supplier_user("bidder", full_name="Bea Bidder")
    bidder.organisation.name = "Bins R Us Ltd"
    db.session.commit()
    return service.ask_question(bidder, challenge.id, text)


def test_answer_a_question(app: Flask, owner: User, officer: User) -> None:
    challenge = published(officer)
    question = _ask(challenge, "Bins R Us asks: can we use existing bins?")
    asked = emails_with("New question about")
    assert {m.to_address for m in asked} == {owner.email, officer.email}
    assert f"/council/challenges/{challenge.id}/questions" in asked[0].body_text

    client = browser(app, owner)
    page = client.get(f"/council/challenges/{challenge.id}/questions")
    assert page.status_code == 200
    text = text_of(page)
    assert "Waiting for an answer (1)" in text
    assert "Question from Bins R Us Ltd" in text
    assert "1 question waiting for an answer" in text_of(
        client.get(f"/council/challenges/{challenge.id}"))

    prefix = f"answer-{question.id}"
    response = client.post(f"/council/questions/{question.id}/answer",
                           data={f"{prefix}-published_question": "Can we use existing bins?",
                                 f"{prefix}-answer": ""})
    assert response.status_code == 400
    assert "Enter the answer" in error_summary(response)
    assert f'href="#{prefix}-answer"' in response.get_data(as_text=True)

    response = client.post(f"/council/questions/{question.id}/answer",
                           data={f"{prefix}-published_question": "Can we use existing bins?",
                                 f"{prefix}-answer": "Yes, any bins."})
    assert response.status_code == 302
    q = fresh(ClarificationQuestion, question.id)
    assert q.status == "published"
    assert q.published_question == "Can we use existing bins?"
    assert q.answer == "Yes, any bins."
    text = text_of(client.get(f"/council/challenges/{challenge.id}/questions"))
    assert "Answer published" in text
    assert "Answered (1)" in text
    answered = emails_with("Question answered")
    assert any("Yes, any bins." in m.body_text for m in answered)
    assert all("Bins R Us asks" not in m.body_text for m in answered)

    # Already dealt with.
    response = client.post(f"/council/questions/{question.id}/answer",
                           data={f"{prefix}-published_question": "Again",
                                 f"{prefix}-answer": "Again"})
    assert response.status_code == 302
    assert "already been dealt with" in error_summary(client.get(response.headers["Location"]))


def test_reject_a_question(app: Flask, owner: User, officer: User) -> None:
    challenge = published(officer)
    question = _ask(challenge, "What is your favourite colour?")
    client = browser(app, owner)
    prefix = f"reject-{question.id}"
    response = client.post(f"/council/questions/{question.id}/reject",
                           data={f"{prefix}-reason": ""})
    assert response.status_code == 400
    assert "Enter the reason for the supplier" in error_summary(response)
    response = client.post(f"/council/questions/{question.id}/reject",
                           data={f"{prefix}-reason": "Out of scope"})
    assert response.status_code == 302
    q = fresh(ClarificationQuestion, question.id)
    assert (q.status, q.rejection_reason) == ("rejected", "Out of scope")
    text = text_of(client.get(f"/council/challenges/{challenge.id}/questions"))
    assert "Rejected (1)" in text
    assert "Out of scope" in text
    rejected = emails_with("Your question was not answered")
    assert len(rejected) == 1
    assert "Out of scope" in rejected[0].body_text


def test_questions_are_the_councils_own(app: Flask, lead, officer: User) -> None:  # type: ignore[no-untyped-def]
    challenge = published(officer)
    question = _ask(challenge)
    stranger = browser(app, council_user("challenge_owner"))
    assert stranger.get(f"/council/challenges/{challenge.id}/questions").status_code == 404
    prefix = f"answer-{question.id}"
    response = stranger.post(f"/council/questions/{question.id}/answer",
                             data={f"{prefix}-published_question": "Q", f"{prefix}-answer": "A"})
    assert response.status_code == 404
    evaluator = browser(app, council_user("evaluator", organisation=lead))
    page = evaluator.get(f"/council/challenges/{challenge.id}/questions")
    assert page.status_code == 200
    assert f"/council/questions/{question.id}/answer" not in page.get_data(as_text=True)
    assert evaluator.post(f"/council/questions/{question.id}/answer",
                          data={f"{prefix}-published_question": "Q",
                                f"{prefix}-answer": "A"}).status_code == 403
    assert fresh(ClarificationQuestion, question.id).status == "pending"


# --------------------------------------------------------------------------- preview


def test_preview_shows_the_statement(app: Flask, owner: User) -> None:
    challenge = publishable(owner)
    page = browser(app, owner).get(f"/council/challenges/{challenge.id}/preview")
    assert page.status_code == 200
    text = text_of(page)
    assert "This is a preview of the challenge page" in text
    assert "£25,000 to £100,000" in text
    assert "90511000" in text
    assert page.get_data(as_text=True).count("<h1") == 1


def test_co_sponsors_share_the_work_but_only_the_lead_publishes(app: Flask, lead,  # type: ignore[no-untyped-def]
                                                                 owner: User) -> None:
    partner = CouncilFactory(name="Hilltop District Council")
    partner_owner = council_user("challenge_owner", organisation=partner)
    partner_officer = council_user("procurement_officer", organisation=partner)
    challenge = publishable(owner)
    service.update_draft(owner, challenge.id, ChallengeChanges(co_sponsor_ids=[partner.id]))

    editor = browser(app, partner_owner)
    assert "How might we recycle more food waste?" in text_of(editor.get("/council/challenges"))
    response = _post_section(editor, challenge.id, "shortlist", {"shortlist_size": "6"})
    assert response.status_code == 302
    assert fresh_challenge(challenge.id).shortlist_size == 6

    officer_client = browser(app, partner_officer)
    page = officer_client.get(f"/council/challenges/{challenge.id}")
    assert page.status_code == 200
    assert f"/council/challenges/{challenge.id}/publish" not in page.get_data(as_text=True)
    assert officer_client.post(f"/council/challenges/{challenge.id}/publish").status_code == 403
    assert fresh_challenge(challenge.id).published_at is None
