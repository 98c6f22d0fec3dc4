"""The bid pages through the test client: starting a bid from the challenge page, each section
with its errors, PDF attachments, submission with a receipt, resubmission, withdrawal, the
deadline, and the sealed council side (a count before the deadline; the bids once opened after
it, for the challenge's procurement officers only)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Bid,
    BidAttachment,
    BidVersion,
    Challenge,
    ClarificationQuestion,
    User,
)
from marketplace.services import bids as bid_service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation
from marketplace.services.bids import BidChanges
from marketplace.services.challenges import ChallengeChanges, CriterionInput
from marketplace.views.bids import uk_datetime_seconds
from tests.bid_support import close, complete_changes, open_challenge, pdf_bytes, submitted_bid
from tests.conftest import CSRFClient
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.team_admin_support import audit_events, browser, fresh, outbox, text_of

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
SECONDS_RE = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4} at \d{1,2}:\d{2}:\d{2}(am|pm)")
DEADLINE_PASSED = "The deadline for this challenge has passed"


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(app_factory, upload_dir: Path):  # type: ignore[no-untyped-def]
    """The app, with attachments stored in this test's own folder."""
    application = app_factory(UPLOAD_FOLDER=str(upload_dir))
    with application.app_context():
        yield application


@dataclass
class Scene:
    council: Any
    officer: User
    evaluator: User
    bidder: User
    challenge: Challenge


@pytest.fixture
def scene(app: Flask) -> Scene:
    officer = council_user("procurement_officer", organisation=CouncilFactory(
        name="Lowdale Borough Council"))
    evaluator = council_user("evaluator", organisation=officer.organisation)
    bidder = supplier_user("bidder", organisation=SupplierFactory(name="Pothole Prophets Ltd"),
                           full_name="Sam Bidwell")
    challenge = open_challenge(officer)
    return Scene(officer.organisation, officer, evaluator, bidder, challenge)


# --------------------------------------------------------------------------- helpers


def page(response: Any) -> str:
    return response.get_data(as_text=True)


def h1_count(response: Any) -> int:
    return len(re.findall(r"<h1[\s>]", page(response)))


def start(client: CSRFClient, challenge_id: int) -> int:
    response = client.post(f"/challenges/{challenge_id}/bid")
    assert response.status_code == 302, response.status_code
    found = re.fullmatch(r"/bids/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def upload(client: CSRFClient, bid_id: int, data: bytes, name: str = "x.pdf",
           button: str = "upload") -> Any:
    return client.post(f"/bids/{bid_id}/attachments", data={
        "attachment": (io.BytesIO(data), name, "application/pdf"), button: "1"},
        content_type="multipart/form-data")


def answers_form(challenge: Challenge, text: str = "We will predict potholes.") -> dict[str, str]:
    return {f"answer_{c.id}": text for c in challenge.criteria}


def requirements_form(challenge: Challenge) -> dict[str, str]:
    data = {}
    for r in challenge.essential_requirements:
        data[f"requirement_{r.id}"] = "y"
        data[f"evidence_{r.id}"] = "Live with two councils since 2024."
    for r in challenge.nice_to_haves:
        data[f"requirement_{r.id}"] = "yes"
        data[f"evidence_{r.id}"] = "Our cameras fit refuse lorries."
    return data


def fill_every_section(client: CSRFClient, challenge: Challenge, bid_id: int) -> None:
    """Every required section, through the pages, with Save and continue."""
    steps = [
        ("answers", answers_form(challenge), "requirements"),
        ("requirements", requirements_form(challenge), "price"),
        ("price", {"price": "£45,000"}, "team"),
        ("team", {"team": "Two data scientists.", "availability": "From March."},
         "declarations"),
        ("declarations", {"has_conflict": "no", "terms_accepted": "y"}, "attachments"),
    ]
    for section, data, following in steps:
        response = client.post(f"/bids/{bid_id}/{section}",
                               data={**data, "save_continue": "1"})
        assert response.status_code == 302, (section, text_of(response)[:800])
        assert response.headers["Location"] == f"/bids/{bid_id}/{following}"


def state(bid_id: int) -> dict[str, Any]:
    """Everything stored about a bid (and every bid), to compare before and after."""
    bid = fresh(Bid, bid_id)
    return {
        "bid": {name: getattr(bid, name) for name in (
            "answers", "requirements", "price", "team", "availability", "has_conflict",
            "conflict_details", "terms_accepted", "submitted_at", "submitted_version",
            "withdrawn_at", "changed_at")},
        "attachments": [(a.id, a.removed_at, a.stored_name) for a in bid.attachments],
        "versions": db.session.scalar(select(func.count(BidVersion.id))),
        "bids": db.session.scalar(select(func.count(Bid.id))),
        "attachment_rows": db.session.scalar(select(func.count(BidAttachment.id))),
    }


# --------------------------------------------------------------------------- starting


def test_a_bidder_starts_a_bid_from_the_challenge_page(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    detail = client.get(f"/challenges/{scene.challenge.id}")
    assert "Start a bid" in page(detail)
    assert f'action="/challenges/{scene.challenge.id}/bid"' in page(detail)

    bid_id = start(client, scene.challenge.id)
    task_list = client.get(f"/bids/{bid_id}")
    assert task_list.status_code == 200
    assert h1_count(task_list) == 1
    text = text_of(task_list)
    assert "Your bid" in text and "Draft" in text
    assert "21 days left" in text or "20 days left" in text
    for title in ("Your answers", "Requirements", "Price", "Team and availability",
                  "Declarations", "Supporting documents"):
        assert title in text
    assert text.count("Incomplete") == 5

    # The challenge page now offers to continue it, with its status; starting again is the
    # same bid (one per supplier).
    detail = text_of(client.get(f"/challenges/{scene.challenge.id}"))
    assert "Continue your bid" in detail and "Your bid: Draft" in detail
    assert "Start a bid" not in detail
    assert start(client, scene.challenge.id) == bid_id
    # A colleague sees the organisation's bid too.
    colleague = browser(app, supplier_user("org_admin", organisation=scene.bidder.organisation))
    assert "Continue your bid" in text_of(colleague.get(f"/challenges/{scene.challenge.id}"))
    assert db.session.scalar(select(func.count(Bid.id))) == 1


def test_only_bidders_see_the_button(app: Flask, scene: Scene) -> None:
    anonymous = text_of(browser(app).get(f"/challenges/{scene.challenge.id}"))
    assert "Start a bid" not in anonymous
    for person in (scene.officer, scene.evaluator):
        council_page = browser(app, person)
        assert "Start a bid" not in text_of(council_page.get(
            f"/challenges/{scene.challenge.id}"))
        assert council_page.post(f"/challenges/{scene.challenge.id}/bid").status_code == 403
    assert db.session.scalar(select(func.count(Bid.id))) == 0


def test_no_bid_on_a_closed_challenge(app: Flask, scene: Scene) -> None:
    close(scene.challenge.id)
    client = browser(app, scene.bidder)
    assert "Start a bid" not in text_of(client.get(f"/challenges/{scene.challenge.id}"))
    response = client.post(f"/challenges/{scene.challenge.id}/bid")
    assert response.status_code == 302
    assert "not open for bids" in text_of(client.get(response.headers["Location"]))
    assert db.session.scalar(select(func.count(Bid.id))) == 0


# --------------------------------------------------------------------------- sections


def test_every_section_saves_and_the_task_list_shows_it(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    for section in ("answers", "requirements", "price", "team", "declarations",
                    "attachments"):
        response = client.get(f"/bids/{bid_id}/{section}")
        assert response.status_code == 200, section
        assert h1_count(response) == 1, section
    answers = page(client.get(f"/bids/{bid_id}/answers"))
    first = scene.challenge.criteria[0]
    assert 'data-maxwords="500"' in answers
    assert f"{first.name} ({first.weight}%)" in answers
    assert "Up to 500 words." in answers

    fill_every_section(client, scene.challenge, bid_id)
    bid = fresh(Bid, bid_id)
    assert bid.answers == {str(c.id): "We will predict potholes." for c in
                           scene.challenge.criteria}
    essential = scene.challenge.essential_requirements[0]
    nice = scene.challenge.nice_to_haves[0]
    assert bid.requirements[str(essential.id)] == {
        "met": True, "evidence": "Live with two councils since 2024."}
    assert bid.requirements[str(nice.id)]["met"] is True
    assert str(bid.price) == "45000.00"
    assert bid.team == "Two data scientists." and bid.availability == "From March."
    assert bid.has_conflict is False and bid.terms_accepted is True
    assert bid_service.problems(bid) == []

    # The pages show what was saved.
    assert 'value="45,000"' in page(client.get(f"/bids/{bid_id}/price"))
    assert "Two data scientists." in page(client.get(f"/bids/{bid_id}/team"))
    text = text_of(client.get(f"/bids/{bid_id}"))
    assert "Incomplete" not in text
    assert text.count("Completed") == 5
    # The last section goes back to the task list.
    response = client.post(f"/bids/{bid_id}/attachments", data={"save_continue": "1"},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == f"/bids/{bid_id}"


def test_an_answer_over_the_word_limit_is_refused(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    limited = scene.challenge.criteria[2]  # 300 words
    data = answers_form(scene.challenge)
    data[f"answer_{limited.id}"] = "word " * 301
    response = client.post(f"/bids/{bid_id}/answers", data=data)
    assert response.status_code == 400
    text = text_of(response)
    assert "There is a problem" in text
    assert f"Your answer to ‘{limited.name}’ has 301 words; the limit is 300" in text
    assert f'href="#answer_{limited.id}"' in page(response)
    assert "<title>Error:" in page(response)
    # What was typed is kept, and nothing was saved.
    assert "word word word" in page(response)
    assert fresh(Bid, bid_id).answers == {}


def test_price_errors_and_the_budget_warning(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    for typed, message in (("-5", "Price cannot be negative"),
                           ("abc", "Enter the price in pounds, like 12500 or £12,500.50"),
                           ("12.345", "Price can have at most 2 decimal places")):
        response = client.post(f"/bids/{bid_id}/price", data={"price": typed})
        assert response.status_code == 400, typed
        assert message in text_of(response), typed
        assert f'value="{typed}"' in page(response)
        assert fresh(Bid, bid_id).price is None

    # Above the budget is a warning, not an error.
    response = client.post(f"/bids/{bid_id}/price", data={"price": "95,000.50"})
    assert response.status_code == 302
    assert str(fresh(Bid, bid_id).price) == "95000.50"
    warning = ("Your price of £95,000.50 is above the maximum budget of £80,000. You can still "
               "submit it")
    assert warning in text_of(client.get(f"/bids/{bid_id}/price"))
    assert warning in text_of(client.get(f"/bids/{bid_id}"))
    assert "The council’s budget is £20,000 to £80,000" in text_of(
        client.get(f"/bids/{bid_id}/price"))


def test_declarations_and_requirements_need_their_details(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    client.post(f"/bids/{bid_id}/declarations", data={"has_conflict": "yes"})
    essential = scene.challenge.essential_requirements[0]
    client.post(f"/bids/{bid_id}/requirements", data={f"requirement_{essential.id}": "y"})
    response = client.post(f"/bids/{bid_id}/submit")
    text = text_of(response)
    assert "Describe the conflict of interest" in text
    assert "Accept the terms to submit" in text
    assert f"Give evidence for ‘{essential.text}’" in text
    # Evidence that is too long is shown against the evidence.
    response = client.post(f"/bids/{bid_id}/requirements", data={
        f"requirement_{essential.id}": "y", f"evidence_{essential.id}": "x" * 5001})
    assert response.status_code == 400
    assert "Evidence must be 5,000 characters or fewer" in text_of(response)
    assert f'href="#evidence_{essential.id}"' in page(response)


# --------------------------------------------------------------------------- attachments


@pytest.mark.parametrize(("data", "message"), [
    (PNG, "The selected file must be a PDF"),
    (b"", "The selected file is empty"),
    (b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), "The selected file must be smaller than 10MB"),
    (b"%PDF-1.7\nnot really a pdf", "The selected file is not a valid PDF"),
], ids=["png-named-pdf", "empty", "over-10mb", "broken-pdf"])
def test_bad_files_are_refused(app: Flask, scene: Scene, upload_dir: Path, data: bytes,
                               message: str) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    response = upload(client, bid_id, data)
    assert response.status_code == 400
    text = text_of(response)
    assert "There is a problem" in text and message in text
    assert 'href="#attachment"' in page(response)
    assert db.session.scalar(select(func.count(BidAttachment.id))) == 0
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


def test_a_request_over_the_size_limit_gets_a_clear_page(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    response = upload(client, bid_id, b"%PDF-1.7\n" + b"0" * (12 * 1024 * 1024))
    assert response.status_code == 413
    assert "The file you sent is too big" in text_of(response)
    assert "smaller than 10MB" in text_of(response)
    assert db.session.scalar(select(func.count(BidAttachment.id))) == 0


def test_no_file_chosen(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    response = client.post(f"/bids/{bid_id}/attachments", data={"upload": "1"},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Select a PDF file to upload" in text_of(response)


def test_a_pdf_is_uploaded_downloaded_and_removed(app: Flask, scene: Scene,
                                                  upload_dir: Path) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    form = page(client.get(f"/bids/{bid_id}/attachments"))
    assert 'enctype="multipart/form-data"' in form
    assert 'type="file"' in form

    pdf = pdf_bytes()
    response = upload(client, bid_id, pdf, name="Case study (2026).pdf")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/bids/{bid_id}/attachments"
    listing = client.get(response.headers["Location"])
    assert "Case study (2026).pdf uploaded" in text_of(listing)
    attachment = db.session.scalars(select(BidAttachment)).one()
    assert attachment.original_name == "Case study (2026).pdf"
    stored = upload_dir / attachment.stored_name
    assert stored.read_bytes() == pdf
    assert f"/bids/attachments/{attachment.id}" in page(listing)
    assert "Remove" in text_of(listing)
    assert "1 file" in text_of(client.get(f"/bids/{bid_id}"))

    download = client.get(f"/bids/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.data == pdf
    assert download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "Case study (2026).pdf" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    response = client.post(f"/bids/attachments/{attachment.id}/remove")
    assert response.status_code == 302
    listing = client.get(response.headers["Location"])
    assert "Case study (2026).pdf removed" in text_of(listing)
    assert "No documents added yet." in text_of(listing)
    assert fresh(BidAttachment, attachment.id).removed_at is not None
    # Removing it again: it is gone.
    assert client.post(f"/bids/attachments/{attachment.id}/remove").status_code == 404


# --------------------------------------------------------------------------- submission


def test_submitting_an_incomplete_bid_lists_every_problem(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    client.post(f"/bids/{bid_id}/price", data={"price": "45000"})
    response = client.post(f"/bids/{bid_id}/submit")
    assert response.status_code == 400
    assert h1_count(response) == 1
    html = page(response)
    text = text_of(response)
    assert "Your bid is not ready to submit" in text
    for criterion in scene.challenge.criteria:
        assert f"Answer ‘{criterion.name}’" in text
        assert f'href="/bids/{bid_id}/answers#answer_{criterion.id}"' in html
    assert "Describe your team" in text and "Accept the terms to submit" in text
    assert "Enter your price" not in text
    assert f'href="/bids/{bid_id}/declarations#terms_accepted"' in html
    assert "<title>Error:" in html
    assert db.session.scalar(select(func.count(BidVersion.id))) == 0
    assert fresh(Bid, bid_id).submitted_at is None
    assert outbox(scene.bidder.email) == []


def test_submitting_gives_a_receipt_with_the_exact_time(app: Flask, scene: Scene) -> None:
    client = browser(app, scene.bidder)
    bid_id = start(client, scene.challenge.id)
    fill_every_section(client, scene.challenge, bid_id)
    assert "Submit bid" in text_of(client.get(f"/bids/{bid_id}"))
    response = client.post(f"/bids/{bid_id}/submit")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/bids/{bid_id}/receipts/1"

    version = db.session.scalars(select(BidVersion)).one()
    received = uk_datetime_seconds(version.received_at)
    assert SECONDS_RE.fullmatch(received), received
    receipt = client.get(response.headers["Location"])
    assert receipt.status_code == 200 and h1_count(receipt) == 1
    text = text_of(receipt)
    assert "Bid submitted" in text
    assert f"Your receipt reference {version.receipt}" in text
    assert f"at {received} (UK time)" in text
    assert "What happens next" in text

    message = outbox(scene.bidder.email)[-1]
    assert message.subject == f"Bid received: {scene.challenge.title}"
    assert version.receipt in message.body_text
    assert f"Received: {received} (UK time)" in message.body_text
    assert f"/bids/{bid_id}/receipts/1" in message.body_text

    task_list = text_of(client.get(f"/bids/{bid_id}"))
    assert "Submitted" in task_list and received in task_list
    assert "Withdraw your bid" in task_list
    dashboard = text_of(client.get("/supplier/bids"))
    assert "Submitted (1)" in dashboard and scene.challenge.title in dashboard
    assert received in dashboard


def test_edit_and_resubmit_makes_version_2(app: Flask, scene: Scene) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id, attachment=False)
    client = browser(app, scene.bidder)
    first = scene.challenge.criteria[0]
    response = client.post(f"/bids/{bid.id}/answers", data={
        **{f"answer_{c.id}": (bid.answers or {})[str(c.id)] for c in scene.challenge.criteria},
        f"answer_{first.id}": "A better answer."})
    assert response.status_code == 302
    text = text_of(client.get(f"/bids/{bid.id}"))
    assert "Changes not submitted" in text and "Resubmit bid" in text
    assert "Changes not submitted (1)" in text_of(client.get("/supplier/bids"))

    response = client.post(f"/bids/{bid.id}/submit")
    assert response.headers["Location"] == f"/bids/{bid.id}/receipts/2"
    receipt = text_of(client.get(response.headers["Location"]))
    assert "We received version 2" in receipt
    versions = db.session.scalars(select(BidVersion).order_by(BidVersion.number)).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].content["answers"][str(first.id)] == "A better answer."
    assert versions[0].content["answers"][str(first.id)] != "A better answer."
    # The first receipt still exists, marked as earlier.
    old = text_of(client.get(f"/bids/{bid.id}/receipts/1"))
    assert "This is the receipt for an earlier version" in old
    assert client.get(f"/bids/{bid.id}/receipts/3").status_code == 404


def test_withdraw(app: Flask, scene: Scene) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    client = browser(app, scene.bidder)
    confirm = client.get(f"/bids/{bid.id}/withdraw")
    assert confirm.status_code == 200 and h1_count(confirm) == 1
    assert "Warning" in text_of(confirm) and "Withdraw bid" in text_of(confirm)
    response = client.post(f"/bids/{bid.id}/withdraw")
    assert response.status_code == 302 and response.headers["Location"] == f"/bids/{bid.id}"
    text = text_of(client.get(response.headers["Location"]))
    assert "Bid withdrawn" in text and "Withdrawn" in text and "Resubmit bid" in text
    assert fresh(Bid, bid.id).withdrawn_at is not None
    assert outbox(scene.bidder.email)[-1].subject == (
        f"Bid withdrawn: {scene.challenge.title}")
    assert "Withdrawn (1)" in text_of(client.get("/supplier/bids"))
    # Nothing left to withdraw.
    response = client.post(f"/bids/{bid.id}/withdraw")
    assert response.status_code == 409
    assert "Only a submitted bid can be withdrawn" in text_of(response)
    # The council counts it no more.
    officer = browser(app, scene.officer)
    assert "0 bids submitted" in text_of(officer.get(
        f"/council/challenges/{scene.challenge.id}/bids"))


# --------------------------------------------------------------------------- the deadline


def test_after_the_deadline_every_post_is_refused_and_nothing_changes(
        app: Flask, scene: Scene, upload_dir: Path) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    client = browser(app, scene.bidder)
    # A change not submitted, and an attachment still there, before the deadline.
    client.post(f"/bids/{bid.id}/team", data={"team": "A bigger team.", "availability": "Now"})
    attachment_id = fresh(Bid, bid.id).current_attachments[0].id
    close(scene.challenge.id)
    before = state(bid.id)
    files = sorted(p.name for p in upload_dir.iterdir())

    task_list = client.get(f"/bids/{bid.id}")
    text = text_of(task_list)
    assert "Your bid can no longer be changed" in text
    assert "Submit bid" not in text and "Resubmit bid" not in text
    assert "Withdraw your bid" not in text
    assert "Outcome not yet published" in text
    # The sections show the submitted version, read-only.
    section = client.get(f"/bids/{bid.id}/team")
    assert section.status_code == 200 and "<form" not in page(section).split("<main")[1]
    assert "Two data scientists and a highways engineer." in text_of(section)
    assert "A bigger team." not in text_of(section)

    posts = [
        (f"/bids/{bid.id}/answers", answers_form(scene.challenge, "Too late."), None),
        (f"/bids/{bid.id}/requirements", requirements_form(scene.challenge), None),
        (f"/bids/{bid.id}/price", {"price": "1"}, None),
        (f"/bids/{bid.id}/price", {"price": "abc"}, None),
        (f"/bids/{bid.id}/answers", {f"answer_{scene.challenge.criteria[2].id}": "w " * 301},
         None),
        (f"/bids/{bid.id}/team", {"team": "Late", "availability": "Late"}, None),
        (f"/bids/{bid.id}/declarations", {"has_conflict": "yes", "conflict_details": "x"},
         None),
        (f"/bids/{bid.id}/attachments", {"attachment": (io.BytesIO(pdf_bytes()), "late.pdf"),
                                         "upload": "1"}, "multipart/form-data"),
        (f"/bids/{bid.id}/submit", {}, None),
        (f"/bids/{bid.id}/withdraw", {}, None),
    ]
    for url, data, content_type in posts:
        kwargs = {"content_type": content_type} if content_type else {}
        response = client.post(url, data=data, **kwargs)
        assert response.status_code == 409, (url, response.status_code)
        assert DEADLINE_PASSED in text_of(response), url
    response = client.post(f"/bids/attachments/{attachment_id}/remove")
    assert response.status_code == 302
    assert DEADLINE_PASSED in text_of(client.get(response.headers["Location"]))
    response = client.post(f"/challenges/{scene.challenge.id}/bid")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/challenges/{scene.challenge.id}"

    assert state(bid.id) == before
    assert sorted(p.name for p in upload_dir.iterdir()) == files
    assert len(outbox(scene.bidder.email)) == 1  # the first receipt only


# --------------------------------------------------------------------------- councils


def test_sealed_before_the_deadline(app: Flask, scene: Scene) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    attachment_id = bid.current_attachments[0].id
    officer = browser(app, scene.officer)

    response = officer.get(f"/council/challenges/{scene.challenge.id}/bids")
    assert response.status_code == 200 and h1_count(response) == 1
    text = text_of(response)
    assert "1 bid submitted" in text and "sealed until the deadline" in text
    for secret in ("Pothole Prophets", "45,000", "Two data scientists", bid.versions[0].receipt):
        assert secret not in text
    assert f"/council/bids/{bid.id}" not in page(response)

    challenge_page = text_of(officer.get(f"/council/challenges/{scene.challenge.id}"))
    assert "1 bid submitted (sealed until the deadline)" in challenge_page
    assert "Open the bids" not in challenge_page
    evaluator_page = text_of(browser(app, scene.evaluator).get(
        f"/council/challenges/{scene.challenge.id}"))
    assert "1 bid submitted (sealed until the deadline)" in evaluator_page

    assert officer.get(f"/council/bids/{bid.id}").status_code == 403
    assert officer.get(f"/bids/attachments/{attachment_id}").status_code == 403
    refused = audit_events("bid.access_refused")
    assert len(refused) == 2
    assert audit_events("bid.opened") == []


def test_other_suppliers_get_404(app: Flask, scene: Scene) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    attachment_id = bid.current_attachments[0].id
    before = state(bid.id)
    rival = browser(app, supplier_user("org_admin"))
    for url in (f"/bids/{bid.id}", f"/bids/{bid.id}/answers", f"/bids/{bid.id}/attachments",
                f"/bids/{bid.id}/receipts/1", f"/bids/{bid.id}/withdraw",
                f"/bids/attachments/{attachment_id}"):
        assert rival.get(url).status_code == 404, url
    for url in (f"/bids/{bid.id}/answers", f"/bids/{bid.id}/price", f"/bids/{bid.id}/submit",
                f"/bids/{bid.id}/withdraw", f"/bids/attachments/{attachment_id}/remove"):
        assert rival.post(url, data={"price": "1"}).status_code == 404, url
    assert state(bid.id) == before


def close_and_open(scene: Scene) -> None:
    """Let the deadline pass, then have the procurement officer open the bids."""
    close(scene.challenge.id)
    evaluation.open_bids(scene.officer, scene.challenge.id)


def test_an_evaluator_gets_403(app: Flask, scene: Scene) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    attachment_id = bid.current_attachments[0].id
    close_and_open(scene)
    evaluator = browser(app, scene.evaluator)
    assert evaluator.get(f"/council/challenges/{scene.challenge.id}/bids").status_code == 403
    assert evaluator.get(f"/council/bids/{bid.id}").status_code == 403
    assert evaluator.get(f"/bids/attachments/{attachment_id}").status_code == 403
    challenge_page = text_of(evaluator.get(f"/council/challenges/{scene.challenge.id}"))
    assert "1 bid submitted." in challenge_page
    assert "Only procurement officers can open them" in challenge_page
    assert "Open the bids" not in challenge_page and "Read the bids" not in challenge_page


def test_after_the_deadline_the_officer_opens_the_bids(app: Flask, scene: Scene) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    draft_only = supplier_user("bidder", organisation=SupplierFactory(name="Never Sent Ltd"))
    bid_service.start_bid(draft_only, scene.challenge.id)
    attachment = bid.current_attachments[0]
    version = bid.versions[0]
    close_and_open(scene)
    officer = browser(app, scene.officer)

    challenge_page = officer.get(f"/council/challenges/{scene.challenge.id}")
    assert "Read the bids" in text_of(challenge_page)
    listing = officer.get(f"/council/challenges/{scene.challenge.id}/bids")
    assert listing.status_code == 200 and h1_count(listing) == 1
    text = text_of(listing)
    assert "Pothole Prophets Ltd" in text and "£45,000" in text
    assert uk_datetime_seconds(version.received_at) in text
    assert "Never Sent Ltd" not in text

    opened = officer.get(f"/council/bids/{bid.id}")
    assert opened.status_code == 200 and h1_count(opened) == 1
    text = text_of(opened)
    assert "Bid from Pothole Prophets Ltd" in text
    for criterion in scene.challenge.criteria:
        assert criterion.name in text
        assert f"Our answer about {criterion.name.lower()}." in text
    assert scene.challenge.essential_requirements[0].text in text
    assert "Meets this" in text and "We did this for two councils." in text
    assert "Does not offer this" in text
    assert "£45,000" in text and "Two data scientists and a highways engineer." in text
    assert "Conflict of interest No" in text and "Terms accepted Yes" in text
    assert version.receipt in text
    assert f"/bids/attachments/{attachment.id}" in page(opened)
    assert len(audit_events("bid.opened")) == 1

    download = officer.get(f"/bids/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.data[:5] == b"%PDF-"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert len(audit_events("bid.attachment_downloaded")) == 1
    # A bid that was never submitted is not there to open.
    never = db.session.scalar(select(Bid).where(Bid.supplier_id == draft_only.organisation_id))
    assert officer.get(f"/council/bids/{never.id}").status_code == 404


def test_the_council_sees_the_last_submitted_version(app: Flask, scene: Scene) -> None:
    """Changes made after the last submission, and answers to criteria amended since, do not
    change or hide what the council reads."""
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    old_answer = f"Our answer about {scene.challenge.criteria[2].name.lower()}."
    bid_service.save_bid(scene.bidder, bid.id, BidChanges(price="99999", set_price=True,
                                                          team="Someone else"))
    challenge_service.amend(scene.officer, scene.challenge.id, ChallengeChanges(criteria=[
        CriterionInput("Track record", 60), CriterionInput("Cost", 40)]),
        "Criteria simplified")
    close_and_open(scene)
    officer = browser(app, scene.officer)
    listing = text_of(officer.get(f"/council/challenges/{scene.challenge.id}/bids"))
    assert "£45,000" in listing and "99,999" not in listing
    opened = text_of(officer.get(f"/council/bids/{bid.id}"))
    assert "Two data scientists and a highways engineer." in opened
    assert "Someone else" not in opened and "99,999" not in opened
    assert "Answers to criteria that have since been amended" in opened
    assert old_answer in opened


def test_an_officer_of_another_council_gets_404(app: Flask, scene: Scene) -> None:
    bid = submitted_bid(scene.bidder, scene.challenge.id)
    attachment_id = bid.current_attachments[0].id
    close_and_open(scene)
    stranger = browser(app, council_user("procurement_officer"))
    assert stranger.get(f"/council/challenges/{scene.challenge.id}/bids").status_code == 404
    assert stranger.get(f"/council/bids/{bid.id}").status_code == 404
    assert stranger.get(f"/bids/attachments/{attachment_id}").status_code == 404
    refused = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "bid.access_refused")).all()
    assert len(refused) == 2


def test_pages_escape_what_suppliers_write(app: Flask, scene: Scene) -> None:
    bid = bid_service.start_bid(scene.bidder, scene.challenge.id)
    changes = complete_changes(scene.challenge)
    changes.team = "<script>alert(1)</script>"
    bid_service.save_bid(scene.bidder, bid.id, changes)
    bid_service.submit_bid(scene.bidder, bid.id)
    close_and_open(scene)
    for client, url in ((browser(app, scene.bidder), f"/bids/{bid.id}/team"),
                        (browser(app, scene.officer), f"/council/bids/{bid.id}")):
        html = page(client.get(url))
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_questions_untouched_by_bids(app: Flask, scene: Scene) -> None:
    """Bidding does not disturb the rest of the challenge page (questions still work)."""
    client = browser(app, scene.bidder)
    start(client, scene.challenge.id)
    response = client.post(f"/challenges/{scene.challenge.id}/questions",
                           data={"question": "Is there a data room?"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(ClarificationQuestion.id))) == 1
