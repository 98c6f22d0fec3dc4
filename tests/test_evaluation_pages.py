"""The evaluation pages through the test client: the whole flow from opening the bids to the
award, each refusal (wrong role, another council, before the deadline, a conflicted evaluator,
revising without a reason, awarding outside the shortlist), escaping of what suppliers and
evaluators write, CSRF on every form, and the links from the council's existing pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidAssessment,
    Challenge,
    ChallengeStatus,
    EvaluatorAssignment,
    ModeratedScore,
    ScoreSheet,
    User,
)
from marketplace.services import award as award_service
from marketplace.services import evaluation as evaluation_service
from tests.bid_support import open_challenge, submitted_bid
from tests.conftest import CSRFClient
from tests.evaluation_support import (
    EvalSetup,
    evaluation_setup,
    moderated,
    opened,
    score_bid,
    scored,
)
from tests.factories import SupplierFactory, council_user, supplier_user
from tests.team_admin_support import audit_events, browser, fresh, outbox, text_of

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def page(response: Any) -> str:
    return response.get_data(as_text=True)


def h1_count(response: Any) -> int:
    return len(re.findall(r"<h1[\s>]", page(response)))


def urls(challenge_id: int) -> dict[str, str]:
    base = f"/council/challenges/{challenge_id}/evaluation"
    return {name: base + path for name, path in (
        ("overview", ""), ("open", "/open"), ("evaluators", "/evaluators"),
        ("scale", "/scale"), ("comparison", "/comparison"), ("shortlist", "/shortlist"),
        ("award", "/award"), ("none", "/no-suitable-supplier"))}


def bid_url(bid_id: int, page_name: str) -> str:
    return f"/council/evaluation/bids/{bid_id}/{page_name}"


def score_form(challenge: Challenge, scores: list[int], *, comment: str = "Solid evidence.",
               met: str = "met", **extra: str) -> dict[str, str]:
    """What the scoring form sends for a complete sheet."""
    data = {"note": ""}
    for criterion, value in zip(challenge.criteria, scores, strict=True):
        data[f"score_{criterion.id}"] = str(value)
        data[f"comment_{criterion.id}"] = comment
    for requirement in challenge.essential_requirements:
        data[f"requirement_{requirement.id}"] = met
    data.update(extra)
    return data


def moderation_form(challenge: Challenge, scores: list[int],
                    rationale: str = "Agreed by the panel.", **extra: str) -> dict[str, str]:
    data = {}
    for criterion, value in zip(challenge.criteria, scores, strict=True):
        data[f"score_{criterion.id}"] = str(value)
        data[f"rationale_{criterion.id}"] = rationale
    data.update(extra)
    return data


def followed(client: CSRFClient, response: Any) -> Any:
    """The page a POST-redirect-GET ends on."""
    assert response.status_code == 302, (response.status_code, text_of(response)[:1500])
    return client.get(response.headers["Location"])


def error_summary(response: Any) -> str:
    found = re.search(r'<div class="govuk-error-summary".*?</div>\s*</div>', page(response),
                      re.S)
    assert found, "no error summary on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def declare_and_score(client: CSRFClient, challenge: Challenge, bid: Bid, scores: list[int],
                      comment: str = "Solid evidence.") -> None:
    """An evaluator's whole sheet through the pages: no conflict, then save and submit."""
    response = client.post(bid_url(bid.id, "conflict"), data={"has_conflict": "no"})
    assert response.headers["Location"] == bid_url(bid.id, "score")
    response = client.post(bid_url(bid.id, "submit"), data=score_form(
        challenge, scores, comment=comment, save_submit="1"))
    assert response.status_code == 302, error_summary(response)


@pytest.fixture
def app(app_factory, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app, with bid attachments stored in this test's own folder."""
    application = app_factory(UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with application.app_context():
        yield application


@pytest.fixture
def setup(app: Flask) -> EvalSetup:
    return evaluation_setup(bidders=3, evaluators=2)


# --------------------------------------------------------------------------- the whole flow


def test_the_whole_evaluation_through_the_pages(app: Flask, setup: EvalSetup) -> None:
    challenge, bids = setup.challenge, setup.bids
    u = urls(challenge.id)
    lead = browser(app, setup.lead)

    # The challenge page leads to the evaluation; the overview offers to open the bids.
    challenge_page = lead.get(f"/council/challenges/{challenge.id}")
    assert "Go to the evaluation" in text_of(challenge_page)
    assert u["overview"] in page(challenge_page)
    listing = lead.get(f"/council/challenges/{challenge.id}/bids")
    assert "Open the bids" in text_of(listing) and u["open"] in page(listing)
    overview = lead.get(u["overview"])
    assert overview.status_code == 200 and h1_count(overview) == 1
    assert "Open the bids" in text_of(overview) and u["open"] in page(overview)

    # Open the bids.
    done = followed(lead, lead.post(u["open"]))
    text = text_of(done)
    assert "Bids opened. 3 bids can now be evaluated" in text
    for bid in bids:
        assert bid.supplier.name in text
    assert fresh(Challenge, challenge.id).evaluation_started_at is not None
    assert len(audit_events("evaluation.bids_opened")) == 1
    assert "Open the bids" not in text_of(lead.get(u["overview"]))

    # Assign both evaluators.
    form_page = lead.get(u["evaluators"])
    assert form_page.status_code == 200
    for person in setup.evaluators:
        assert person.full_name in text_of(form_page)
    for person in setup.evaluators:
        done = followed(lead, lead.post(u["evaluators"], data={"user_id": str(person.id)}))
        assert f"{person.full_name} is now an evaluator" in text_of(done)
        assert outbox(person.email), "the evaluator was not emailed"

    # The score scale.
    scale = {f"description_{n}": f"Level {n} wording" for n in range(5)}
    done = followed(lead, lead.post(u["scale"], data=scale))
    assert "Score scale saved" in text_of(done)
    assert evaluation_service.score_descriptions(fresh(Challenge, challenge.id))[3] == \
        "Level 3 wording"

    # An evaluator sees the bids to evaluate on the dashboard and the overview.
    first, second = (browser(app, p) for p in setup.evaluators)
    dashboard = text_of(first.get("/council/challenges"))
    assert "Bids to evaluate" in dashboard and challenge.title in dashboard
    assert "3 bids still to declare or score" in dashboard
    mine = text_of(first.get(u["overview"]))
    assert "Your bids to evaluate" in mine and "Declare conflicts first" in mine
    assert "Evaluators and their progress" not in mine

    # Before declaring, the bid stays hidden: the score page sends them to declare.
    bid = bids[0]
    response = first.get(bid_url(bid.id, "score"))
    assert response.headers["Location"] == bid_url(bid.id, "conflict")
    declare = first.get(bid_url(bid.id, "conflict"))
    assert declare.status_code == 200 and bid.supplier.name in text_of(declare)
    assert "Our answer about" not in text_of(declare)
    assert "<legend" in page(declare)
    assert "Do you have a conflict of interest with this supplier?" in text_of(declare)
    assert "45,000" not in text_of(declare)

    # Declaring no conflict opens the bid: its submitted version, then the form.
    response = first.post(bid_url(bid.id, "conflict"), data={"has_conflict": "no"})
    score_page = first.get(response.headers["Location"])
    text = text_of(score_page)
    assert score_page.status_code == 200 and h1_count(score_page) == 1
    for criterion in challenge.criteria:
        assert f"Our answer about {criterion.name.lower()}." in text
    assert "words (limit" in text and "£45,000" in text
    assert "Two data scientists and a highways engineer." in text
    assert "We can start within two weeks of the award." in text
    assert "case-study.pdf" in text
    attachment_id = bid.current_attachments[0].id
    assert f"/bids/attachments/{attachment_id}" in page(score_page)
    download = first.get(f"/bids/attachments/{attachment_id}")
    assert download.status_code == 200 and download.data[:5] == b"%PDF-"
    assert "Level 4 wording" in text  # the challenge's own scale
    requirement = challenge.essential_requirements[0]
    assert re.search(r"<legend[^>]*>\s*" + re.escape(requirement.text), page(score_page))

    # A partial draft, then save and submit.
    criterion = challenge.criteria[0]
    done = followed(first, first.post(bid_url(bid.id, "score"), data={
        f"score_{criterion.id}": "3", f"comment_{criterion.id}": "Clear grasp.", "save": "1"}))
    assert "Draft saved" in text_of(done)
    done = followed(first, first.post(bid_url(bid.id, "submit"), data=score_form(
        challenge, [4, 3, 2], save_submit="1")))
    assert "Scores submitted" in text_of(done)
    for other in bids[1:]:
        declare_and_score(first, challenge, other, [2, 2, 2])
    for each in bids:
        declare_and_score(second, challenge, each, [3, 3, 2], comment="Second view.")

    # Having submitted, the first evaluator sees the second's scores.
    text = text_of(first.get(bid_url(bid.id, "score")))
    assert "Other evaluators’ scores" in text and "Second view." in text
    assert setup.evaluators[1].full_name in text
    assert "4 of 4" not in text

    # The lead's overview: progress of each evaluator.
    text = text_of(lead.get(u["overview"]))
    assert "3 of 3" in text

    # Moderation: side by side, then the agreed scores.
    moderation = lead.get(bid_url(bid.id, "moderate"))
    assert moderation.status_code == 200 and h1_count(moderation) == 1
    text = text_of(moderation)
    assert "Solid evidence." in text and "Second view." in text
    assert "3.5" in text  # the mean of 4 and 3
    assert f"Moderated score for {criterion.name}" in text
    for index, each in enumerate(bids):
        scores = [[4, 3, 2], [2, 3, 2], [3, 3, 2]][index]  # totals 80, 60, 70
        done = followed(lead, lead.post(bid_url(each.id, "moderate"),
                                        data=moderation_form(challenge, scores)))
        assert "Moderated scores saved" in text_of(done)
    assert "Weighted total 80" in text_of(lead.get(bid_url(bid.id, "moderate")))

    # The comparison: ranks, totals, and the advisory matching score set apart.
    comparison = lead.get(u["comparison"])
    assert comparison.status_code == 200
    text = text_of(comparison)
    assert "Advisory: matching score (not part of the evaluation)" in text
    assert "It is not part of the evaluation and does not affect the ranking" in text
    names = [b.supplier.name for b in bids]
    assert text.index(names[0]) < text.index(names[2]) < text.index(names[1])

    # Shortlist the top two.
    done = followed(lead, lead.post(u["shortlist"], data={"bids": [str(bids[0].id),
                                                                  str(bids[2].id)]}))
    assert "Shortlist confirmed" in text_of(done)
    assert fresh(BidAssessment, bids[0].id).shortlisted
    assert not fresh(BidAssessment, bids[1].id).shortlisted

    # An interview, in UK time.
    year = fresh(Challenge, challenge.id).submission_deadline.year + 1
    done = followed(lead, lead.post(bid_url(bids[0].id, "interview"), data={
        "interview_date": ["3", "6", str(year)], "interview_time": "2:30pm",
        "notes": "Bring the data team."}))
    assert "Interview saved" in text_of(done)
    when = fresh(BidAssessment, bids[0].id).interview_at
    assert when is not None and when.hour == 13 and when.minute == 30  # BST
    assert outbox(setup.bidders[0].email)

    # The award.
    award_page = lead.get(u["award"])
    assert award_page.status_code == 200
    assert names[0] in text_of(award_page) and names[1] not in text_of(award_page)
    done = followed(lead, lead.post(u["award"], data={
        "bids": [str(bids[0].id)], f"value_{bids[0].id}": "£48,500",
        "summary": "The strongest bid on every criterion."}))
    text = text_of(done)
    assert "Award decided" in text and "The standstill period ends after" in text
    decided = fresh(Challenge, challenge.id)
    assert decided.status == ChallengeStatus.STANDSTILL
    assert award_service.standstill_last_day(decided.awarded_at) in text
    assert "£48,500" in text
    assessment = fresh(BidAssessment, bids[0].id)
    assert assessment.awarded and str(assessment.award_value) == "48500.00"
    assert len(audit_events("challenge.award_decided")) == 1
    # Nothing can change after the decision, and the overview says when the standstill ends.
    text = text_of(lead.get(u["overview"]))
    assert "Standstill period" in text and "Award decided" in text
    assert "Award decided: standstill" in text_of(lead.get(f"/council/challenges/{challenge.id}"))
    assert "no longer change" in text_of(first.get(bid_url(bid.id, "score")))


def test_no_suitable_supplier_through_the_page(app: Flask, setup: EvalSetup) -> None:
    opened(setup)
    lead = browser(app, setup.lead)
    u = urls(setup.challenge.id)
    response = lead.post(u["none"], data={"reason": ""})
    assert response.status_code == 400
    assert "Enter the reason no bid is suitable" in error_summary(response)
    done = followed(lead, lead.post(u["none"], data={"reason": "Every bid was over budget."}))
    assert "no suitable supplier" in text_of(done)
    challenge = fresh(Challenge, setup.challenge.id)
    assert challenge.status == ChallengeStatus.NO_SUITABLE_SUPPLIER
    assert challenge.end_reason == "Every bid was over budget."


def test_exclude_and_reinstate(app: Flask, setup: EvalSetup) -> None:
    scored(setup)
    lead = browser(app, setup.lead)
    bid = setup.bids[1]
    response = lead.post(bid_url(bid.id, "exclude"), data={"reason": ""})
    assert response.status_code == 400 and "Enter the reason" in error_summary(response)
    done = followed(lead, lead.post(bid_url(bid.id, "exclude"),
                                    data={"reason": "Does not meet the essential requirement."}))
    text = text_of(done)
    assert f"The bid from {bid.supplier.name} is excluded from the ranking" in text
    assert "Does not meet the essential requirement." in text
    assert fresh(BidAssessment, bid.id).excluded
    done = followed(lead, lead.post(bid_url(bid.id, "reinstate"),
                                    data={"reason": "The evaluator misread it."}))
    assert "back in the ranking" in text_of(done)
    assert not fresh(BidAssessment, bid.id).excluded
    assert len(audit_events("evaluation.bid_excluded")) == 1
    assert len(audit_events("evaluation.bid_reinstated")) == 1


def test_removing_an_evaluator(app: Flask, setup: EvalSetup) -> None:
    opened(setup)
    lead = browser(app, setup.lead)
    person = setup.evaluators[0]
    u = urls(setup.challenge.id)
    done = followed(lead, lead.post(f"{u['evaluators']}/{person.id}/remove"))
    assert f"{person.full_name} is no longer an evaluator" in text_of(done)
    assignment = db.session.scalar(select(EvaluatorAssignment).where(
        EvaluatorAssignment.user_id == person.id))
    assert fresh(EvaluatorAssignment, assignment.id).removed_at is not None
    # Removed: the overview is no longer theirs.
    assert browser(app, person).get(u["overview"]).status_code == 403


# --------------------------------------------------------------------------- refusals


def test_wrong_roles_get_403(app: Flask, setup: EvalSetup) -> None:
    moderated(setup)
    challenge, bid = setup.challenge, setup.bids[0]
    u = urls(challenge.id)
    evaluator = browser(app, setup.evaluators[0])
    for url in (u["evaluators"], u["scale"], u["comparison"], u["shortlist"], u["award"],
                u["none"], bid_url(bid.id, "moderate"), bid_url(bid.id, "exclude"),
                bid_url(bid.id, "interview")):
        assert evaluator.get(url).status_code == 403, url
    for url in (u["open"], u["evaluators"], u["shortlist"], u["award"],
                bid_url(bid.id, "moderate"), bid_url(bid.id, "exclude")):
        assert evaluator.post(url, data={"reason": "x"}).status_code == 403, url
    # A council colleague who was not assigned, and a supplier.
    owner = browser(app, council_user("challenge_owner", organisation=setup.council))
    assert owner.get(u["overview"]).status_code == 403
    assert owner.get(bid_url(bid.id, "conflict")).status_code == 403
    assert owner.post(bid_url(bid.id, "conflict"), data={"has_conflict": "no"}).status_code \
        == 403
    bidder = browser(app, setup.bidders[0])
    assert bidder.get(u["overview"]).status_code == 403
    assert bidder.get(bid_url(bid.id, "score")).status_code == 403
    # The lead is not an evaluator: no sheet of their own.
    lead = browser(app, setup.lead)
    assert lead.get(bid_url(bid.id, "score")).status_code == 403
    assert db.session.scalars(select(ScoreSheet)).all() != []
    assert audit_events("challenge.award_decided") == []


def test_another_council_gets_404(app: Flask, setup: EvalSetup) -> None:
    scored(setup)
    challenge, bid = setup.challenge, setup.bids[0]
    u = urls(challenge.id)
    stranger_officer = council_user("procurement_officer")
    stranger = browser(app, stranger_officer)
    for url in u.values():
        if url.endswith("/open"):
            continue
        assert stranger.get(url).status_code == 404, url
    for name in ("conflict", "score", "moderate", "exclude", "reinstate", "interview"):
        assert stranger.get(bid_url(bid.id, name)).status_code == 404, name
    for url in (u["open"], u["shortlist"], u["award"], bid_url(bid.id, "moderate"),
                bid_url(bid.id, "submit"), bid_url(bid.id, "conflict")):
        assert stranger.post(url, data={"reason": "x"}).status_code == 404, url
    other_evaluator = browser(app, council_user("evaluator",
                                                organisation=stranger_officer.organisation))
    assert other_evaluator.get(bid_url(bid.id, "conflict")).status_code == 404
    assert other_evaluator.get(u["overview"]).status_code == 404
    unknown = browser(app, setup.lead)
    assert unknown.get(bid_url(987654, "moderate")).status_code == 404
    assert unknown.get(urls(987654)["overview"]).status_code == 404


def test_before_the_deadline_the_bids_stay_sealed(app: Flask) -> None:
    lead_user = council_user("procurement_officer")
    evaluator_user = council_user("evaluator", organisation=lead_user.organisation)
    challenge = open_challenge(lead_user)
    bid = submitted_bid(supplier_user("bidder", organisation=SupplierFactory()), challenge.id)
    evaluation_service.assign_evaluator(lead_user, challenge.id, evaluator_user.id)
    u = urls(challenge.id)
    lead = browser(app, lead_user)

    overview = text_of(lead.get(u["overview"]))
    assert "Bids stay sealed until the deadline" in overview
    assert "Open the bids" not in overview
    assert "Go to the evaluation" not in text_of(lead.get(f"/council/challenges/{challenge.id}"))
    done = followed(lead, lead.post(u["open"]))
    assert "Bids stay sealed until the submission deadline" in text_of(done)
    assert fresh(Challenge, challenge.id).evaluation_started_at is None

    evaluator = browser(app, evaluator_user)
    assert "The bids have not been opened yet" in text_of(evaluator.get(u["overview"]))
    done = followed(evaluator, evaluator.get(bid_url(bid.id, "conflict")))
    assert "The bids have not been opened yet" in text_of(done)
    response = evaluator.post(bid_url(bid.id, "conflict"), data={"has_conflict": "no"})
    assert "The bids have not been opened yet" in text_of(followed(evaluator, response))
    assert db.session.scalars(select(ScoreSheet)).all() == []
    assert "Our answer about" not in text_of(evaluator.get(bid_url(bid.id, "score"),
                                                           follow_redirects=True))


def test_a_conflicted_evaluator_cannot_see_the_bid(app: Flask, setup: EvalSetup) -> None:
    opened(setup)
    bid = setup.bids[0]
    evaluator = browser(app, setup.evaluators[0])
    response = evaluator.post(bid_url(bid.id, "conflict"), data={"has_conflict": "yes"})
    assert response.status_code == 400
    assert "Describe the conflict of interest" in error_summary(response)
    done = followed(evaluator, evaluator.post(bid_url(bid.id, "conflict"), data={
        "has_conflict": "yes", "details": "My brother works there."}))
    assert "Conflict of interest declared" in text_of(done)
    assert "Conflict declared" in text_of(done)
    assert evaluator.get(bid_url(bid.id, "score")).status_code == 403
    assert evaluator.post(bid_url(bid.id, "score"), data=score_form(
        setup.challenge, [4, 4, 4])).status_code == 403
    assert evaluator.post(bid_url(bid.id, "submit")).status_code == 403
    # The declaration cannot be withdrawn.
    declaration = text_of(evaluator.get(bid_url(bid.id, "conflict")))
    assert "cannot be withdrawn" in declaration and "My brother works there." in declaration
    response = evaluator.post(bid_url(bid.id, "conflict"), data={"has_conflict": "no"})
    assert "It cannot be withdrawn" in text_of(followed(evaluator, response))
    assert [e.after["has_conflict"] for e in audit_events("evaluation.conflict_declared")] \
        == [True]
    score_bid(setup.evaluators[1], bid, [2, 2, 2])
    moderation = text_of(browser(app, setup.lead).get(bid_url(bid.id, "moderate")))
    assert f"{setup.evaluators[0].full_name}: My brother works there." in moderation


def test_revising_submitted_scores_needs_a_reason(app: Flask, setup: EvalSetup) -> None:
    scored(setup)
    bid, challenge = setup.bids[0], setup.challenge
    evaluator = browser(app, setup.evaluators[0])
    score_page = text_of(evaluator.get(bid_url(bid.id, "score")))
    assert "Reason for changing your scores" in score_page

    response = evaluator.post(bid_url(bid.id, "score"), data=score_form(challenge, [1, 1, 1]))
    assert response.status_code == 400
    summary = error_summary(response)
    assert "Give the reason for changing your submitted scores" in summary
    assert 'href="#reason"' in page(response)
    assert "Error:" in page(response).split("</title>")[0]
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.bid_id == bid.id))
    assert [s.score for s in fresh(ScoreSheet, sheet.id).scores] != [1, 1, 1]

    done = followed(evaluator, evaluator.post(bid_url(bid.id, "score"), data=score_form(
        challenge, [1, 1, 1], reason="I misread the pricing section.")))
    assert "Scores changed. Your reason has been recorded" in text_of(done)
    revised = audit_events("evaluation.scores_revised")
    assert len(revised) == 1 and revised[0].after["reason"] == "I misread the pricing section."


def test_a_draft_cannot_be_submitted_incomplete(app: Flask, setup: EvalSetup) -> None:
    opened(setup)
    bid, challenge = setup.bids[0], setup.challenge
    evaluator = browser(app, setup.evaluators[0])
    evaluator.post(bid_url(bid.id, "conflict"), data={"has_conflict": "no"})
    data = score_form(challenge, [3, 3, 3], save_submit="1")
    del data[f"comment_{challenge.criteria[1].id}"]
    response = evaluator.post(bid_url(bid.id, "submit"), data=data)
    assert response.status_code == 400
    assert f"Explain your score for ‘{challenge.criteria[1].name}’" in error_summary(response)
    assert f'href="#comment_{challenge.criteria[1].id}"' in page(response)
    # A bare submission of an empty draft names the first gap.
    response = evaluator.post(bid_url(bid.id, "submit"))
    assert response.status_code == 400
    assert f"Score ‘{challenge.criteria[0].name}’" in error_summary(response)
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.bid_id == bid.id))
    assert fresh(ScoreSheet, sheet.id).submitted_at is None


def test_moderation_waits_for_the_leads_own_scores(app: Flask, setup: EvalSetup) -> None:
    """A lead who also evaluates a bid cannot moderate it before submitting their own."""
    opened(setup)
    evaluation_service.assign_evaluator(setup.lead, setup.challenge.id, setup.lead.id)
    for person in setup.evaluators:
        score_bid(person, setup.bids[0], [2, 2, 2])
    lead = browser(app, setup.lead)
    assert lead.get(bid_url(setup.bids[0].id, "moderate")).status_code == 403
    assert "Submit your own scores before you moderate" in text_of(
        lead.get(urls(setup.challenge.id)["overview"]))


def test_shortlist_and_award_limits(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=4, evaluators=1))
    challenge, bids = setup.challenge, setup.bids
    u = urls(challenge.id)
    lead = browser(app, setup.lead)
    response = lead.post(u["shortlist"], data={"bids": [str(b.id) for b in bids]})
    assert response.status_code == 400
    assert "You can shortlist up to 3 suppliers" in error_summary(response)
    assert challenge.shortlist_size == 3
    followed(lead, lead.post(u["shortlist"], data={"bids": [str(b.id) for b in bids[:2]]}))

    # Changing a confirmed shortlist needs a reason.
    response = lead.post(u["shortlist"], data={"bids": [str(bids[0].id)]})
    assert response.status_code == 400
    assert "Give the reason for changing the confirmed shortlist" in error_summary(response)

    # A bid that is not on the shortlist cannot be awarded, whatever is sent.
    response = lead.post(u["award"], data={
        "bids": [str(bids[0].id), str(bids[3].id)], f"value_{bids[0].id}": "10000",
        f"value_{bids[3].id}": "10000", "summary": "Two winners."})
    assert response.status_code == 400
    assert f"{bids[3].supplier.name} is not on the shortlist" in error_summary(response)
    response = lead.post(u["award"], data={"bids": [str(bids[0].id)], "summary": "x"})
    assert response.status_code == 400
    assert f"Enter the contract value for {bids[0].supplier.name}" in error_summary(response)
    response = lead.post(u["award"], data={"bids": [str(bids[0].id)],
                                           f"value_{bids[0].id}": "lots", "summary": "x"})
    assert response.status_code == 400 and "in pounds" in error_summary(response)
    assert fresh(Challenge, challenge.id).award_decided_at is None
    assert audit_events("challenge.award_decided") == []


def test_moderation_errors_are_shown_against_their_fields(app: Flask,
                                                         setup: EvalSetup) -> None:
    scored(setup)
    lead = browser(app, setup.lead)
    bid, challenge = setup.bids[0], setup.challenge
    criterion = challenge.criteria[0]
    response = lead.post(bid_url(bid.id, "moderate"), data={f"score_{criterion.id}": "3"})
    assert response.status_code == 400
    assert f"Give the rationale for the score of ‘{criterion.name}’" in error_summary(response)
    assert f'href="#rationale_{criterion.id}"' in page(response)
    assert db.session.scalars(select(ModeratedScore)).all() == []


# --------------------------------------------------------------------------- escaping


def test_what_suppliers_and_evaluators_write_is_escaped(app: Flask, setup: EvalSetup) -> None:
    bid = setup.bids[0]
    bid.supplier.name = f"{SCRIPT} Ltd"
    db.session.commit()
    opened(setup)
    first, second = (browser(app, p) for p in setup.evaluators)
    declare_and_score(first, setup.challenge, bid, [3, 3, 3], comment=f"Risky {SCRIPT}")
    declare_and_score(second, setup.challenge, bid, [2, 2, 2])
    lead = browser(app, setup.lead)
    u = urls(setup.challenge.id)
    for client, url in ((lead, u["overview"]), (lead, bid_url(bid.id, "moderate")),
                        (lead, u["comparison"]), (second, bid_url(bid.id, "score")),
                        (second, bid_url(bid.id, "conflict")), (second, u["overview"]),
                        (lead, bid_url(bid.id, "exclude"))):
        html = page(client.get(url))
        assert SCRIPT not in html, url
        assert ESCAPED in html, url


# --------------------------------------------------------------------------- CSRF


def test_every_form_needs_its_csrf_token(app: Flask, setup: EvalSetup) -> None:
    moderated(setup)
    challenge, bid = setup.challenge, setup.bids[0]
    u = urls(challenge.id)
    lead = browser(app, setup.lead)
    evaluator = browser(app, setup.evaluators[0])
    before = audit_events()
    posts = [
        (lead, u["open"], {}),
        (lead, u["evaluators"], {"user_id": str(setup.lead.id)}),
        (lead, f"{u['evaluators']}/{setup.evaluators[1].id}/remove", {}),
        (lead, u["scale"], {f"description_{n}": "x" for n in range(5)}),
        (evaluator, bid_url(bid.id, "conflict"), {"has_conflict": "yes", "details": "x"}),
        (evaluator, bid_url(bid.id, "score"), score_form(challenge, [0, 0, 0], reason="x")),
        (evaluator, bid_url(bid.id, "submit"), {}),
        (lead, bid_url(bid.id, "moderate"), moderation_form(challenge, [0, 0, 0])),
        (lead, bid_url(bid.id, "exclude"), {"reason": "x"}),
        (lead, bid_url(bid.id, "reinstate"), {"reason": "x"}),
        (lead, u["shortlist"], {"bids": [str(bid.id)]}),
        (lead, bid_url(bid.id, "interview"), {"notes": "x"}),
        (lead, u["award"], {"bids": [str(bid.id)], f"value_{bid.id}": "1", "summary": "x"}),
        (lead, u["none"], {"reason": "x"}),
    ]
    for client, url, data in posts:
        response = client.post(url, data=data, csrf=False)
        assert response.status_code == 400, (url, response.status_code)
    assert len(audit_events()) == len(before)
    assert fresh(Challenge, challenge.id).shortlisted_at is None


# --------------------------------------------------------------------------- pages


def test_every_page_renders_once_for_the_lead(app: Flask, setup: EvalSetup) -> None:
    """Each page has one h1 and a title, at every stage of the evaluation."""
    moderated(setup)
    lead = browser(app, setup.lead)
    u = urls(setup.challenge.id)
    bid = setup.bids[0]
    for url in (*u.values(), bid_url(bid.id, "moderate"), bid_url(bid.id, "exclude"),
                bid_url(bid.id, "reinstate"), bid_url(bid.id, "interview")):
        if url.endswith("/open"):
            continue
        response = lead.get(url)
        assert response.status_code == 200, url
        assert h1_count(response) == 1, url
        assert "<caption" in page(response) or "<table" not in page(response), url
        assert re.search(r"<th[^>]*scope=", page(response)) or "<table" not in page(response)


def test_lead_and_evaluator_see_the_evaluation_link(app: Flask, setup: EvalSetup) -> None:
    opened(setup)
    url = f"/council/challenges/{setup.challenge.id}"
    assert "Go to the evaluation" in text_of(browser(app, setup.lead).get(url))
    assert "You are an evaluator of this challenge" in text_of(
        browser(app, setup.evaluators[0]).get(url))
    bystander = council_user("evaluator", organisation=setup.council)
    assert "Go to the evaluation" not in text_of(browser(app, bystander).get(url))
    assert "Bids to evaluate" not in text_of(browser(app, bystander).get("/council/challenges"))
    user = db.session.get(User, setup.evaluators[0].id)
    assert user is not None


def test_moderation_highlights_wide_spreads_and_unmet_requirements(app: Flask,
                                                                   setup: EvalSetup) -> None:
    opened(setup)
    bid = setup.bids[0]
    first, second = setup.evaluators
    score_bid(first, bid, [4, 3, 2])
    score_bid(second, bid, [1, 3, 2], met=False)
    text = text_of(browser(app, setup.lead).get(bid_url(bid.id, "moderate")))
    assert "3: wide spread" in text and text.count("wide spread") == 2  # the key and one row
    assert f"Not met according to {second.full_name}" in text
    assert "exclude it" in text
    assert "Weighted total Not complete" in text
