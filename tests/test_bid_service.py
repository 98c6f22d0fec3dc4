"""The bid use cases (marketplace/services/bids.py): who may work on a bid, one bid per supplier
per challenge, drafts, submission receipts and versions, withdrawal, PDF attachments, what
councils may see before and after the deadline, and the races the row lock and the deadline
check inside the transaction must survive."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfWriter
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidAttachment,
    BidVersion,
    Challenge,
    Organisation,
    OutboxEmail,
    User,
    utcnow,
)
from marketplace.services import bids as svc
from marketplace.services import challenges as challenge_svc
from marketplace.services import evaluation
from marketplace.services.bids import BidChanges, RequirementAnswer
from marketplace.services.challenges import ChallengeChanges
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.challenge_support import days, publishable
from tests.dbutil import using_postgres
from tests.factories import (
    CouncilFactory,
    SupplierFactory,
    admin_user,
    council_user,
    supplier_user,
)
from tests.team_admin_support import audit_events, fresh, outbox

needs_postgres = pytest.mark.skipif(
    not using_postgres(),
    reason="SQLite ignores SELECT ... FOR UPDATE and lets one writer in at a time on a file "
           "lock, so concurrent bids only test the row locking on PostgreSQL "
           "(set TEST_DATABASE_URL to run)",
)

# --------------------------------------------------------------------------- the app


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(app_factory: Any, uploads: Path) -> Iterator[Flask]:
    """The usual app, with attachments stored in a folder of this test's own."""
    application = app_factory(UPLOAD_FOLDER=str(uploads))
    with application.app_context():
        yield application


# --------------------------------------------------------------------------- the people


@dataclass
class Council:
    org: Organisation
    owner: User  # challenge owner
    officer: User  # procurement officer
    evaluator: User
    admin: User  # organisation admin only


def make_council(name: str, slug: str) -> Council:
    council = CouncilFactory(name=name, name_key=Organisation.key_for(name))

    def person(role: str, who: str) -> User:
        return council_user(role, organisation=council, email=f"{who}@{slug}.gov.uk")

    return Council(org=council, owner=person("challenge_owner", "owner"),
                   officer=person("procurement_officer", "officer"),
                   evaluator=person("evaluator", "evaluator"), admin=person("org_admin", "admin"))


@dataclass
class Supplier:
    org: Organisation
    bidder: User
    admin: User  # organisation admin (may bid too)
    colleague: User  # a second bidder
    member: User  # in the organisation, without a role


def make_supplier(name: str, slug: str) -> Supplier:
    org = SupplierFactory(name=name, name_key=Organisation.key_for(name))

    def person(who: str, *roles: str) -> User:
        return supplier_user(*roles, organisation=org, email=f"{who}@{slug}.example.com")

    return Supplier(org=org, bidder=person("bidder", "bidder"), admin=person("admin", "org_admin"),
                    colleague=person("colleague", "bidder"), member=person("member"))


@pytest.fixture
def leeds(app: Flask) -> Council:
    return make_council("Leeds City Council", "leeds")


@pytest.fixture
def kent(app: Flask) -> Council:
    """Co-sponsor of the challenge."""
    return make_council("Kent County Council", "kent")


@pytest.fixture
def york(app: Flask) -> Council:
    """A council with nothing to do with the challenge."""
    return make_council("City of York Council", "york")


@pytest.fixture
def roadsense(app: Flask) -> Supplier:
    return make_supplier("Roadsense Analytics Ltd", "roadsense")


@pytest.fixture
def carelink(app: Flask) -> Supplier:
    return make_supplier("CareLink Technologies", "carelink")


# --------------------------------------------------------------------------- challenges


@pytest.fixture
def challenge(leeds: Council, kent: Council) -> Challenge:
    """An open challenge led by Leeds and co-sponsored by Kent: three criteria (word limits
    500, 750 and 300), one essential requirement, one nice-to-have, budget up to £80,000."""
    draft = publishable(leeds.officer, co_sponsor_ids=[kent.org.id])
    return challenge_svc.publish(leeds.officer, draft.id)


def set_columns(model: type[Any], ident: int, **values: Any) -> Any:
    """Change stored columns directly (time passing, or a state no use case reaches)."""
    row = db.session.get(model, ident)
    assert row is not None
    for name, value in values.items():
        setattr(row, name, value)
    db.session.commit()
    return fresh(model, ident)


def close(challenge_id: int) -> Challenge:
    """Let the deadline pass."""
    return set_columns(Challenge, challenge_id, clarification_deadline=days(-10),
                       submission_deadline=days(-1))


def close_and_open(challenge_id: int, officer: User) -> Challenge:
    """Let the deadline pass, then have a procurement officer open the bids (the evaluation
    starts): only then may the council read them."""
    close(challenge_id)
    evaluation.open_bids(officer, challenge_id)
    return fresh(Challenge, challenge_id)


# --------------------------------------------------------------------------- bids


def full_changes(challenge: Challenge, marker: str = "") -> BidChanges:
    """Every part of a bid, filled in."""
    challenge = fresh(Challenge, challenge.id)
    return BidChanges(
        answers={c.id: f"Our answer on {c.name.lower()} {marker}".strip()
                 for c in challenge.criteria},
        requirements={r.id: RequirementAnswer(True, f"How we meet it: {r.text} {marker}".strip())
                      for r in challenge.requirements},
        price="£48,500", set_price=True,
        team=f"Two data scientists and a highways engineer {marker}".strip(),
        availability=f"From 1 May, four days a week {marker}".strip(),
        has_conflict=False, set_conflict=True, terms_accepted=True,
    )


def ready_bid(supplier: Supplier, challenge: Challenge, marker: str = "") -> Bid:
    """A complete bid, not submitted."""
    bid = svc.start_bid(supplier.bidder, challenge.id)
    svc.save_bid(supplier.bidder, bid.id, full_changes(challenge, marker))
    return fresh(Bid, bid.id)


def submitted_bid(supplier: Supplier, challenge: Challenge) -> tuple[Bid, BidVersion]:
    bid = ready_bid(supplier, challenge)
    version = svc.submit_bid(supplier.bidder, bid.id)
    return fresh(Bid, bid.id), fresh(BidVersion, version.id)


def pdf_bytes(pages: int = 1) -> bytes:
    """A real PDF."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(100, 100)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def attach(actor: User, bid_id: int, name: str = "proposal.pdf",
           data: bytes | None = None) -> BidAttachment:
    attachment = svc.add_attachment(actor, bid_id, name, io.BytesIO(data or pdf_bytes()))
    return fresh(BidAttachment, attachment.id)


BID_COLUMNS = [attr.key for attr in inspect(Bid).column_attrs]


def stored(bid_id: int) -> dict[str, Any]:
    """Everything stored about a bid: its columns, versions and attachments."""
    bid = fresh(Bid, bid_id)
    return {
        **{name: getattr(bid, name) for name in BID_COLUMNS},
        "versions": [(v.number, v.receipt, v.received_at, v.content) for v in bid.versions],
        "attachments": [(a.id, a.stored_name, a.removed_at) for a in bid.attachments],
    }


def versions_of(bid_id: int) -> list[BidVersion]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(BidVersion).where(BidVersion.bid_id == bid_id).order_by(BidVersion.number)))


def bid_count() -> int:
    return db.session.scalar(select(func.count(Bid.id))) or 0


def events(action: str, object_id: int | None = None) -> list[Any]:
    found = audit_events(action)
    if object_id is not None:
        found = [e for e in found if e.object_id == str(object_id)]
    return found


def clear_outbox() -> None:
    db.session.execute(OutboxEmail.__table__.delete())
    db.session.commit()


def recipients() -> set[str]:
    return {m.to_address for m in outbox()}


# ========================================================================== permissions


def test_bidders_and_org_admins_work_on_the_same_bid(challenge: Challenge,
                                                     roadsense: Supplier) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    assert bid.challenge_id == challenge.id
    assert bid.supplier_id == roadsense.org.id
    assert bid.created_by_id == roadsense.bidder.id
    assert fresh(Bid, bid.id).status == "draft"
    assert svc.start_bid(roadsense.admin, challenge.id).id == bid.id
    svc.save_bid(roadsense.admin, bid.id, BidChanges(team="Sam and Nadia"))
    assert svc.get_own_bid(roadsense.colleague, bid.id).team == "Sam and Nadia"
    assert [b.id for b in svc.bids_for_supplier(roadsense.colleague)] == [bid.id]
    assert svc.bid_for(roadsense.admin, challenge.id).id == bid.id  # type: ignore[union-attr]


OUTSIDERS = ["council_officer", "council_owner", "council_evaluator", "council_admin",
             "supplier_member", "suspended_bidder", "platform_admin"]


def outsider(kind: str, leeds: Council, roadsense: Supplier) -> User:
    """Someone who is not one of the supplier's active bidders (but may be in the supplier)."""
    if kind.startswith("council_"):
        return getattr(leeds, kind.removeprefix("council_"))  # type: ignore[no-any-return]
    if kind == "supplier_member":
        return roadsense.member
    if kind == "suspended_bidder":
        return supplier_user("bidder", organisation=roadsense.org, suspended_at=utcnow(),
                             email="suspended@roadsense.example.com")
    return admin_user()


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_only_supplier_bidders_start_bids(kind: str, challenge: Challenge, leeds: Council,
                                          roadsense: Supplier) -> None:
    with pytest.raises(PermissionDenied):
        svc.start_bid(outsider(kind, leeds, roadsense), challenge.id)
    assert bid_count() == 0


OWN_BID_CALLS: dict[str, Callable[[User, int, int], object]] = {
    "get_own_bid": lambda u, b, a: svc.get_own_bid(u, b),
    "save_bid": lambda u, b, a: svc.save_bid(u, b, BidChanges(team="Taken over")),
    "submit_bid": lambda u, b, a: svc.submit_bid(u, b),
    "withdraw_bid": lambda u, b, a: svc.withdraw_bid(u, b),
    "receipt": lambda u, b, a: svc.receipt(u, b, 1),
    "add_attachment": lambda u, b, a: svc.add_attachment(u, b, "x.pdf", io.BytesIO(pdf_bytes())),
    "remove_attachment": lambda u, b, a: svc.remove_attachment(u, a),
}


@pytest.fixture
def roadsense_bid(challenge: Challenge, roadsense: Supplier) -> tuple[Bid, BidAttachment]:
    """Roadsense's bid, submitted with an attachment."""
    bid = ready_bid(roadsense, challenge)
    attachment = attach(roadsense.bidder, bid.id)
    svc.submit_bid(roadsense.bidder, bid.id)
    return fresh(Bid, bid.id), attachment


def expect(error: type[Exception], name: str, call: Callable[..., object], *args: Any) -> None:
    """``call(*args)`` (named ``name`` in the failure) raises exactly ``error``."""
    try:
        call(*args)
    except error:
        return
    except Exception as exc:  # noqa: BLE001 - reported as the failure
        pytest.fail(f"{name} raised {exc!r}, not {error.__name__}")
    pytest.fail(f"{name} was allowed; expected {error.__name__}")


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_people_without_the_bidder_role_cannot_touch_a_bid(
        kind: str, leeds: Council, roadsense: Supplier,
        roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    bid, attachment = roadsense_bid
    person = outsider(kind, leeds, roadsense)
    before = stored(bid.id)
    for name, call in OWN_BID_CALLS.items():
        expect(PermissionDenied, name, call, person, bid.id, attachment.id)
    assert stored(bid.id) == before


@pytest.mark.parametrize("kind", ["supplier_member", "suspended_bidder"])
def test_the_suppliers_own_people_without_the_role_cannot_download(
        kind: str, leeds: Council, roadsense: Supplier,
        roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    _, attachment = roadsense_bid
    with pytest.raises(NotFound):
        svc.attachment_for_download(outsider(kind, leeds, roadsense), attachment.id)
    assert svc.attachment_for_download(roadsense.colleague, attachment.id)[0].id == \
        attachment.id


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_people_without_the_bidder_role_list_no_bids(kind: str, leeds: Council,
                                                     roadsense: Supplier) -> None:
    with pytest.raises(PermissionDenied):
        svc.bids_for_supplier(outsider(kind, leeds, roadsense))


@pytest.mark.parametrize("who", ["bidder", "admin"])
def test_another_suppliers_bid_does_not_exist_for_them(
        who: str, carelink: Supplier, roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    bid, attachment = roadsense_bid
    person = getattr(carelink, who)
    before = stored(bid.id)
    calls = {**OWN_BID_CALLS,
             "attachment_for_download": lambda u, b, a: svc.attachment_for_download(u, a)}
    for name, call in calls.items():
        expect(NotFound, name, call, person, bid.id, attachment.id)
    assert stored(bid.id) == before
    assert svc.bids_for_supplier(person) == []


def test_unknown_ids_are_not_found(challenge: Challenge, roadsense: Supplier) -> None:
    for call in OWN_BID_CALLS.values():
        with pytest.raises(NotFound):
            call(roadsense.bidder, 999_999, 999_999)
    with pytest.raises(NotFound):
        svc.start_bid(roadsense.bidder, 999_999)
    with pytest.raises(NotFound):
        svc.attachment_for_download(roadsense.bidder, 999_999)


def test_a_supplier_lists_only_its_own_bids_newest_first(leeds: Council, kent: Council,
                                                         roadsense: Supplier,
                                                         carelink: Supplier) -> None:
    first = challenge_svc.publish(leeds.officer, publishable(leeds.officer).id)
    second = challenge_svc.publish(kent.officer, publishable(kent.officer).id)
    older = svc.start_bid(roadsense.bidder, first.id)
    newer = svc.start_bid(roadsense.admin, second.id)
    theirs = svc.start_bid(carelink.bidder, first.id)
    assert [b.id for b in svc.bids_for_supplier(roadsense.bidder)] == [newer.id, older.id]
    assert [b.id for b in svc.bids_for_supplier(carelink.admin)] == [theirs.id]
    assert svc.bid_for(carelink.bidder, second.id) is None
    assert svc.bid_for(leeds.officer, first.id) is None


# ========================================================================== one bid each


def test_starting_twice_returns_the_same_bid(challenge: Challenge, roadsense: Supplier,
                                             carelink: Supplier) -> None:
    first = svc.start_bid(roadsense.bidder, challenge.id)
    again = svc.start_bid(roadsense.bidder, challenge.id)
    colleague = svc.start_bid(roadsense.colleague, challenge.id)
    assert first.id == again.id == colleague.id
    other = svc.start_bid(carelink.bidder, challenge.id)
    assert other.id != first.id
    assert bid_count() == 2
    assert [e.object_id for e in events("bid.started")] == [str(first.id), str(other.id)]
    [started] = events("bid.started", first.id)
    assert started.after == {"challenge_id": challenge.id, "supplier_id": roadsense.org.id}
    assert started.actor_id == roadsense.bidder.id


def test_the_database_keeps_one_bid_per_supplier_per_challenge(challenge: Challenge,
                                                               roadsense: Supplier) -> None:
    db.session.add(Bid(challenge_id=challenge.id, supplier_id=roadsense.org.id,
                       answers={}, requirements={}))
    db.session.commit()
    db.session.add(Bid(challenge_id=challenge.id, supplier_id=roadsense.org.id,
                       answers={}, requirements={}))
    with pytest.raises(IntegrityError) as info:
        db.session.flush()
    db.session.rollback()
    assert "challenge_id" in str(info.value)
    assert bid_count() == 1


def test_the_database_keeps_version_numbers_and_receipts_unique(
        roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    bid, _ = roadsense_bid
    [v1] = versions_of(bid.id)
    for number, receipt in ((1, "R-another-receipt"), (2, v1.receipt)):
        db.session.add(BidVersion(bid_id=bid.id, number=number, received_at=utcnow(),
                                  content={}, receipt=receipt))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
    assert [v.number for v in versions_of(bid.id)] == [1]


@needs_postgres
def test_two_colleagues_starting_the_bid_at_once_make_one(app: Flask, challenge: Challenge,
                                                          roadsense: Supplier) -> None:
    challenge_id = challenge.id  # plain values only: the threads share no ORM objects
    for _ in range(3):
        results = run_together(app, [
            (user.id, lambda actor: svc.start_bid(actor, challenge_id).id)
            for user in (roadsense.bidder, roadsense.admin, roadsense.colleague)])
        assert all(kind == "ok" for kind, _ in results), results
        assert len({value for _, value in results}) == 1
        assert bid_count() == 1
    assert len(events("bid.started")) == 1


# ========================================================================== drafts


def criteria_of(challenge: Challenge) -> dict[str, Any]:
    """The challenge's criteria by name, and its requirements."""
    challenge = fresh(Challenge, challenge.id)
    return {
        "problem": challenge.criteria[0], "approach": challenge.criteria[1],
        "value": challenge.criteria[2], "essential": challenge.essential_requirements[0],
        "nice": challenge.nice_to_haves[0],
    }


def test_answers_are_saved_per_criterion(challenge: Challenge, roadsense: Supplier) -> None:
    c = criteria_of(challenge)
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    svc.save_bid(roadsense.bidder, bid.id,
                 BidChanges(answers={c["problem"].id: "  Potholes form after freeze-thaw.  "}))
    svc.save_bid(roadsense.admin, bid.id, BidChanges(answers={c["approach"].id: "Dashcams."}))
    saved = fresh(Bid, bid.id)
    assert saved.answers == {str(c["problem"].id): "Potholes form after freeze-thaw.",
                             str(c["approach"].id): "Dashcams."}
    # Saving one part leaves the others alone.
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="Sam"))
    assert fresh(Bid, bid.id).answers == saved.answers
    [first, *_] = events("bid.saved", bid.id)
    assert first.after == {"sections": ["answers"]}


def test_an_answer_may_reach_the_word_limit_but_not_pass_it(challenge: Challenge,
                                                            roadsense: Supplier) -> None:
    value = criteria_of(challenge)["value"]
    assert value.word_limit == 300
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    at_limit = " ".join(["word"] * 300)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(answers={value.id: at_limit}))
    before = stored(bid.id)
    with pytest.raises(ValidationFailed) as info:
        svc.save_bid(roadsense.bidder, bid.id,
                     BidChanges(answers={value.id: at_limit + "\n one-more"}, team="Changed"))
    assert info.value.field == f"answer_{value.id}"
    assert "301 words" in info.value.message and "300" in info.value.message
    assert stored(bid.id) == before  # nothing of the refused save was kept, team included


@pytest.mark.parametrize("key", [999_999, "999999", "abc", "", None])
def test_only_published_criteria_are_answered(key: Any, challenge: Challenge,
                                              roadsense: Supplier) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    before = stored(bid.id)
    with pytest.raises(ValidationFailed) as info:
        svc.save_bid(roadsense.bidder, bid.id, BidChanges(answers={key: "An answer"}))
    assert info.value.field == "answers"
    with pytest.raises(ValidationFailed) as info:
        svc.save_bid(roadsense.bidder, bid.id,
                     BidChanges(requirements={key: RequirementAnswer(True, "x")}))
    assert info.value.field == "requirements"
    assert stored(bid.id) == before


def test_another_challenges_criterion_is_not_answered(challenge: Challenge, kent: Council,
                                                      roadsense: Supplier) -> None:
    other = challenge_svc.publish(kent.officer, publishable(kent.officer).id)
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    with pytest.raises(ValidationFailed):
        svc.save_bid(roadsense.bidder, bid.id,
                     BidChanges(answers={other.criteria[0].id: "Wrong challenge"}))
    with pytest.raises(ValidationFailed):
        svc.save_bid(roadsense.bidder, bid.id, BidChanges(
            requirements={other.requirements[0].id: RequirementAnswer(True, "Wrong")}))


def test_requirement_responses(challenge: Challenge, roadsense: Supplier) -> None:
    c = criteria_of(challenge)
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(requirements={
        c["essential"].id: RequirementAnswer(True, "  We integrate with Confirm.  "),
        str(c["nice"].id): RequirementAnswer(False)}))
    assert fresh(Bid, bid.id).requirements == {
        str(c["essential"].id): {"met": True, "evidence": "We integrate with Confirm."},
        str(c["nice"].id): {"met": False, "evidence": ""}}
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(requirements={
        c["nice"].id: RequirementAnswer(True, "x" * 5000)}))
    assert fresh(Bid, bid.id).requirements[str(c["essential"].id)]["met"] is True
    before = stored(bid.id)
    with pytest.raises(ValidationFailed) as info:
        svc.save_bid(roadsense.bidder, bid.id, BidChanges(requirements={
            c["nice"].id: RequirementAnswer(True, "x" * 5001)}))
    assert info.value.field == f"requirement_{c['nice'].id}"
    assert stored(bid.id) == before


@pytest.mark.parametrize(("text", "expected"), [
    ("£12,500.50", Decimal("12500.50")),
    ("12500", Decimal("12500.00")),
    ("  £ 48,500  ", Decimal("48500.00")),
    ("0", Decimal("0.00")),
    ("1.5", Decimal("1.50")),
    ("1.230", Decimal("1.23")),
    (".75", Decimal("0.75")),
    ("9999999999.99", Decimal("9999999999.99")),
    (Decimal("10.25"), Decimal("10.25")),
    ("", None),
    ("   ", None),
])
def test_prices_are_read_in_pounds_and_pence(text: Any, expected: Decimal | None,
                                             challenge: Challenge,
                                             roadsense: Supplier) -> None:
    assert svc.parse_price(text) == expected
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(price="1", set_price=True))
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(price=text, set_price=True))
    assert fresh(Bid, bid.id).price == expected


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "Enter the price in pounds"),
    ("-1", "cannot be negative"),
    ("£-5", "cannot be negative"),
    ("-0", "cannot be negative"),
    ("-£5", "Enter the price in pounds"),
    ("1.234", "at most 2 decimal places"),
    ("0.001", "at most 2 decimal places"),
    # Decimal() alone would read these as numbers; a price field does not.
    ("1e3", "Enter the price in pounds"),
    ("1E3", "Enter the price in pounds"),
    ("NaN", "Enter the price in pounds"),
    ("Infinity", "Enter the price in pounds"),
    ("1_000", "Enter the price in pounds"),
    ("\u0661\u0662\u0663", "Enter the price in pounds"),  # Arabic-Indic digits
    ("0x10", "Enter the price in pounds"),
    ("12 500", "Enter the price in pounds"),
    ("£", "Enter the price in pounds"),
    ("10000000000", "less than £10,000,000,000"),
])
def test_prices_that_are_refused(text: str, message: str, challenge: Challenge,
                                 roadsense: Supplier) -> None:
    with pytest.raises(ValidationFailed) as info:
        svc.parse_price(text)
    assert message in info.value.message
    assert info.value.field == "price"
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(price="£40,000", set_price=True))
    with pytest.raises(ValidationFailed):
        svc.save_bid(roadsense.bidder, bid.id, BidChanges(price=text, set_price=True))
    assert fresh(Bid, bid.id).price == Decimal("40000.00")


def test_price_is_left_alone_unless_set(challenge: Challenge, roadsense: Supplier) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(price="£40,000", set_price=True))
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(price="abc", team="Sam"))
    assert fresh(Bid, bid.id).price == Decimal("40000.00")


def test_team_availability_and_declarations(challenge: Challenge, roadsense: Supplier) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(
        team="  Sam (lead) and Nadia  ", availability="  From May  ",
        has_conflict=True, conflict_details="  We maintain the council's CCTV.  ",
        set_conflict=True, terms_accepted=True))
    saved = fresh(Bid, bid.id)
    assert (saved.team, saved.availability) == ("Sam (lead) and Nadia", "From May")
    assert saved.has_conflict is True
    assert saved.conflict_details == "We maintain the council's CCTV."
    assert saved.terms_accepted is True
    # Declarations are only replaced when asked.
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(has_conflict=False, team="Sam"))
    assert fresh(Bid, bid.id).has_conflict is True
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(has_conflict=False, set_conflict=True,
                                                      terms_accepted=False))
    saved = fresh(Bid, bid.id)
    assert (saved.has_conflict, saved.conflict_details, saved.terms_accepted) == (False, "",
                                                                                 False)
    assert [e.after["sections"] for e in events("bid.saved", bid.id)] == [
        ["team", "declarations"], ["team"], ["declarations"]]


def test_nothing_is_saved_after_the_deadline(challenge: Challenge,
                                             roadsense_bid: tuple[Bid, BidAttachment],
                                             roadsense: Supplier) -> None:
    bid, _ = roadsense_bid
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="Edited, not resubmitted"))
    close(challenge.id)
    before = stored(bid.id)
    saves_before = len(events("bid.saved"))
    with pytest.raises(Conflict) as info:
        svc.save_bid(roadsense.bidder, bid.id, full_changes(challenge, "late"))
    assert "deadline" in info.value.message
    assert stored(bid.id) == before
    assert len(events("bid.saved")) == saves_before


def test_no_bid_is_started_before_publication_or_after_the_end(leeds: Council,
                                                               roadsense: Supplier) -> None:
    draft = publishable(leeds.officer)
    with pytest.raises(NotFound):  # an unpublished challenge does not exist for suppliers
        svc.start_bid(roadsense.bidder, draft.id)
    awaiting = challenge_svc.submit_for_approval(leeds.owner, publishable(leeds.owner).id)
    approved = challenge_svc.approve(leeds.officer, awaiting.id)
    with pytest.raises(NotFound):
        svc.start_bid(roadsense.bidder, approved.id)
    ended = challenge_svc.publish(leeds.officer, publishable(leeds.officer).id)
    challenge_svc.withdraw(leeds.officer, ended.id, "No longer needed")
    with pytest.raises(Conflict):
        svc.start_bid(roadsense.bidder, ended.id)
    closed = challenge_svc.publish(leeds.officer, publishable(leeds.officer).id)
    close(closed.id)
    with pytest.raises(Conflict):
        svc.start_bid(roadsense.bidder, closed.id)
    assert bid_count() == 0


def test_a_bid_on_an_unpublished_challenge_cannot_be_saved(leeds: Council,
                                                           roadsense: Supplier) -> None:
    """However it came to exist, a bid on a challenge that is not open cannot change."""
    draft = publishable(leeds.officer)
    bid = Bid(challenge_id=draft.id, supplier_id=roadsense.org.id, answers={},
              requirements={})
    db.session.add(bid)
    db.session.commit()
    before = stored(bid.id)
    with pytest.raises(Conflict) as info:
        svc.save_bid(roadsense.bidder, bid.id, full_changes(draft))
    assert "not open" in info.value.message
    with pytest.raises(Conflict):
        svc.submit_bid(roadsense.bidder, bid.id)
    with pytest.raises(Conflict):
        attach(roadsense.bidder, bid.id)
    assert stored(bid.id) == before


def test_a_withdrawn_challenges_bids_cannot_change(challenge: Challenge, leeds: Council,
                                                  roadsense: Supplier,
                                                  roadsense_bid: tuple[Bid, BidAttachment]
                                                  ) -> None:
    bid, _ = roadsense_bid
    challenge_svc.withdraw(leeds.officer, challenge.id, "Budget withdrawn")
    before = stored(bid.id)
    for call in (lambda: svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="x")),
                 lambda: svc.submit_bid(roadsense.bidder, bid.id),
                 lambda: svc.withdraw_bid(roadsense.bidder, bid.id)):
        with pytest.raises(Conflict):
            call()
    assert stored(bid.id) == before


# ========================================================================== completeness


def test_a_new_bid_lists_every_missing_part(challenge: Challenge, roadsense: Supplier) -> None:
    c = criteria_of(challenge)
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    found = svc.problems(fresh(Bid, bid.id))
    assert [f for f, _ in found] == [
        f"answer_{c['problem'].id}", f"answer_{c['approach'].id}", f"answer_{c['value'].id}",
        f"requirement_{c['essential'].id}", f"requirement_{c['nice'].id}",
        "price", "team", "availability", "has_conflict", "terms_accepted"]
    assert all(message for _, message in found)
    assert svc.problems(ready_bid(roadsense, challenge)) == []


def test_each_part_is_checked(challenge: Challenge, roadsense: Supplier) -> None:
    c = criteria_of(challenge)
    essential, nice = c["essential"].id, c["nice"].id
    bid = ready_bid(roadsense, challenge)

    def only(changes: BidChanges) -> list[str]:
        """The problems left after saving ``changes``."""
        svc.save_bid(roadsense.bidder, bid.id, changes)
        return [f for f, _ in svc.problems(fresh(Bid, bid.id))]

    assert only(BidChanges(answers={c["value"].id: "   "})) == [f"answer_{c['value'].id}"]
    assert only(BidChanges(answers={c["value"].id: "Good value"})) == []
    assert only(BidChanges(requirements={essential: RequirementAnswer(False, "We do not")})) \
        == [f"requirement_{essential}"]
    assert only(BidChanges(requirements={essential: RequirementAnswer(None, "")})) \
        == [f"requirement_{essential}"]
    assert only(BidChanges(requirements={essential: RequirementAnswer(True, " ")})) \
        == [f"requirement_{essential}"]
    assert "Give evidence" in svc.problems(fresh(Bid, bid.id))[0][1]
    assert only(BidChanges(requirements={essential: RequirementAnswer(True, "We do")})) == []
    # A nice-to-have needs an answer either way, and evidence only when offered.
    assert only(BidChanges(requirements={nice: RequirementAnswer(None)})) \
        == [f"requirement_{nice}"]
    assert only(BidChanges(requirements={nice: RequirementAnswer(False)})) == []
    assert only(BidChanges(requirements={nice: RequirementAnswer(True, "")})) \
        == [f"requirement_{nice}"]
    assert only(BidChanges(requirements={nice: RequirementAnswer(True, "Lorry cameras")})) \
        == []
    assert only(BidChanges(price="", set_price=True)) == ["price"]
    assert only(BidChanges(price="0", set_price=True)) == []  # a free offer is a price
    assert only(BidChanges(team=" ", availability=" ")) == ["team", "availability"]
    assert only(BidChanges(team="Sam", availability="May")) == []
    assert only(BidChanges(has_conflict=None, set_conflict=True)) == ["has_conflict"]
    assert only(BidChanges(has_conflict=True, set_conflict=True)) == ["conflict_details"]
    assert only(BidChanges(has_conflict=True, conflict_details="CCTV contract",
                           set_conflict=True)) == []
    assert only(BidChanges(terms_accepted=False)) == ["terms_accepted"]


def test_an_incomplete_bid_is_not_submitted(challenge: Challenge, roadsense: Supplier) -> None:
    c = criteria_of(challenge)
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    clear_outbox()
    with pytest.raises(ValidationFailed) as info:
        svc.submit_bid(roadsense.bidder, bid.id)
    assert info.value.field == f"answer_{c['problem'].id}"
    assert info.value.message.endswith("(and 9 more)")
    svc.save_bid(roadsense.bidder, bid.id, full_changes(challenge))
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(terms_accepted=False))
    with pytest.raises(ValidationFailed) as info:
        svc.submit_bid(roadsense.bidder, bid.id)
    assert info.value.field == "terms_accepted"
    assert "more" not in info.value.message
    assert versions_of(bid.id) == []
    assert fresh(Bid, bid.id).submitted_at is None
    assert outbox() == [] and events("bid.submitted") == []


def test_a_price_above_the_budget_is_a_warning_not_an_error(challenge: Challenge,
                                                            roadsense: Supplier) -> None:
    bid = ready_bid(roadsense, challenge)
    assert svc.price_warning(bid) is None
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(price="80000", set_price=True))
    assert svc.price_warning(fresh(Bid, bid.id)) is None  # the maximum itself is fine
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(price="80000.01", set_price=True))
    warning = svc.price_warning(fresh(Bid, bid.id))
    assert warning is not None
    assert "£80,000.01" in warning and "£80,000" in warning
    assert svc.problems(fresh(Bid, bid.id)) == []
    version = svc.submit_bid(roadsense.bidder, bid.id)
    assert fresh(BidVersion, version.id).content["price"] == "80000.01"


# ========================================================================== submission


def test_submitting_freezes_version_one_with_an_exact_receipt(challenge: Challenge,
                                                              roadsense: Supplier) -> None:
    bid = ready_bid(roadsense, challenge)
    attachment = attach(roadsense.bidder, bid.id, "Method statement.pdf")
    clear_outbox()
    before = utcnow()
    returned = svc.submit_bid(roadsense.bidder, bid.id)
    after = utcnow()
    version = fresh(BidVersion, returned.id)
    bid = fresh(Bid, bid.id)
    assert version.number == 1 and version.bid_id == bid.id
    assert version.submitted_by_id == roadsense.bidder.id
    received = version.received_at
    assert received.tzinfo is not None and received.utcoffset() == timedelta(0)
    assert before <= received <= after
    assert bid.submitted_at == received
    assert bid.submitted_version == 1 and bid.withdrawn_at is None
    assert bid.status == "submitted"
    assert re.fullmatch(rf"R{challenge.id}-{bid.id}-1-[0-9A-F]{{8}}", version.receipt)
    # The content is the working copy as it was, attachments by id and checksum.
    assert version.content == svc.snapshot(bid)
    assert version.content["answers"] == bid.answers
    assert version.content["price"] == "48500.00"
    assert version.content["attachments"] == [{
        "id": attachment.id, "name": "Method statement.pdf", "sha256": attachment.sha256,
        "size": attachment.size_bytes}]
    # The audit trail has the exact time of receipt, to the microsecond.
    [event] = events("bid.submitted", bid.id)
    assert datetime.fromisoformat(event.after["received_at"]) == received
    assert event.after["receipt"] == version.receipt and event.after["version"] == 1
    assert event.after["resubmitted_after_withdrawal"] is False
    # The receipt is emailed to whoever submitted.
    [message] = outbox()
    assert message.to_address == roadsense.bidder.email
    assert version.receipt in message.subject + message.body_text


def test_receipts_are_unique(challenge: Challenge, roadsense: Supplier,
                             carelink: Supplier) -> None:
    receipts = []
    for supplier in (roadsense, carelink):
        bid = ready_bid(supplier, challenge)
        for _ in range(3):
            receipts.append(svc.submit_bid(supplier.bidder, bid.id).receipt)
    assert len(set(receipts)) == 6
    stored_receipts = db.session.scalars(select(BidVersion.receipt)).all()
    assert sorted(stored_receipts) == sorted(receipts)


def test_editing_after_submission_and_resubmitting(challenge: Challenge,
                                                  roadsense: Supplier) -> None:
    bid, v1 = submitted_bid(roadsense, challenge)
    svc.save_bid(roadsense.admin, bid.id, BidChanges(team="A bigger team"))
    changed = fresh(Bid, bid.id)
    assert changed.status == "changed"
    assert changed.submitted_version == 1  # the submitted version still stands
    assert svc.submitted_count(challenge) == 1
    v2 = fresh(BidVersion, svc.submit_bid(roadsense.admin, bid.id).id)
    bid = fresh(Bid, bid.id)
    assert v2.number == 2 and bid.submitted_version == 2
    assert bid.status == "submitted"
    assert bid.submitted_at == v2.received_at > v1.received_at
    assert v2.content["team"] == "A bigger team" and v2.content == svc.snapshot(bid)
    assert fresh(BidVersion, v1.id).content == v1.content  # version 1 stays as received
    assert v1.content["team"] != "A bigger team"
    assert v2.receipt != v1.receipt
    assert [e.after["version"] for e in events("bid.submitted", bid.id)] == [1, 2]
    # Adding or removing an attachment is a change too.
    attachment = attach(roadsense.bidder, bid.id)
    assert fresh(Bid, bid.id).status == "changed"
    svc.submit_bid(roadsense.bidder, bid.id)
    svc.remove_attachment(roadsense.bidder, attachment.id)
    assert fresh(Bid, bid.id).status == "changed"


def test_the_last_submitted_version_counts(challenge: Challenge, leeds: Council,
                                          roadsense: Supplier) -> None:
    bid, _ = submitted_bid(roadsense, challenge)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="Version two team"))
    v2 = fresh(BidVersion, svc.submit_bid(roadsense.bidder, bid.id).id)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="Never submitted"))
    close_and_open(challenge.id, leeds.officer)
    assert fresh(Bid, bid.id).status == "submitted"  # unsent changes no longer matter
    opened, version = svc.open_bid_for_council(leeds.officer, bid.id)
    assert opened.id == bid.id
    assert version.number == 2 and version.id == v2.id
    assert version.content == v2.content
    assert version.content["team"] == "Version two team"


def test_a_receipt_is_found_by_bid_and_number(roadsense_bid: tuple[Bid, BidAttachment],
                                              roadsense: Supplier) -> None:
    bid, _ = roadsense_bid
    [v1] = versions_of(bid.id)
    assert svc.receipt(roadsense.colleague, bid.id, 1).id == v1.id
    for number in (0, 2):
        with pytest.raises(NotFound):
            svc.receipt(roadsense.bidder, bid.id, number)


def test_only_a_submitted_bid_is_withdrawn(challenge: Challenge, roadsense: Supplier) -> None:
    bid = ready_bid(roadsense, challenge)
    with pytest.raises(Conflict):
        svc.withdraw_bid(roadsense.bidder, bid.id)
    assert fresh(Bid, bid.id).withdrawn_at is None


def test_withdrawing_and_submitting_again(challenge: Challenge, roadsense: Supplier) -> None:
    bid, _ = submitted_bid(roadsense, challenge)
    clear_outbox()
    svc.withdraw_bid(roadsense.admin, bid.id)
    withdrawn = fresh(Bid, bid.id)
    assert withdrawn.withdrawn_at is not None and withdrawn.status == "withdrawn"
    assert svc.submitted_count(challenge) == 0
    [message] = outbox()
    assert message.to_address == roadsense.admin.email
    [event] = events("bid.withdrawn", bid.id)
    assert (event.before, event.after) == ({"status": "submitted"}, {"status": "withdrawn"})
    with pytest.raises(Conflict):
        svc.withdraw_bid(roadsense.bidder, bid.id)
    # Edits keep it withdrawn...
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="Rethought"))
    assert fresh(Bid, bid.id).status == "withdrawn"
    # ...until it is submitted again.
    version = svc.submit_bid(roadsense.bidder, bid.id)
    again = fresh(Bid, bid.id)
    assert version.number == 2 and again.submitted_version == 2
    assert again.withdrawn_at is None and again.status == "submitted"
    assert svc.submitted_count(challenge) == 1
    assert events("bid.submitted", bid.id)[-1].after["resubmitted_after_withdrawal"] is True


AFTER_DEADLINE_CALLS: dict[str, Callable[[User, int, int], object]] = {
    "save_bid": OWN_BID_CALLS["save_bid"],
    "submit_bid": OWN_BID_CALLS["submit_bid"],
    "withdraw_bid": OWN_BID_CALLS["withdraw_bid"],
    "add_attachment": OWN_BID_CALLS["add_attachment"],
    "remove_attachment": OWN_BID_CALLS["remove_attachment"],
}


@pytest.mark.parametrize("call", sorted(AFTER_DEADLINE_CALLS))
def test_nothing_changes_after_the_deadline(call: str, challenge: Challenge,
                                           roadsense: Supplier, uploads: Path,
                                           roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    bid, attachment = roadsense_bid
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="Edited, not resubmitted"))
    close(challenge.id)
    before, files = stored(bid.id), sorted(uploads.iterdir())
    with pytest.raises(Conflict):
        AFTER_DEADLINE_CALLS[call](roadsense.bidder, bid.id, attachment.id)
    assert stored(bid.id) == before
    assert sorted(uploads.iterdir()) == files


def test_at_the_exact_deadline_the_bid_is_closed(challenge: Challenge,
                                                 roadsense: Supplier) -> None:
    bid = ready_bid(roadsense, challenge)
    deadline = fresh(Challenge, challenge.id).submission_deadline
    assert deadline is not None
    assert bid.status_at(deadline - timedelta(microseconds=1)) == "draft"
    assert bid.status_at(deadline) == "not_submitted"
    set_columns(Challenge, challenge.id, submission_deadline=utcnow() - timedelta(
        microseconds=1), clarification_deadline=days(-1))
    with pytest.raises(Conflict):
        svc.submit_bid(roadsense.bidder, bid.id)


# ========================================================================== races


def run_together(app: Flask, jobs: list[tuple[int, Callable[[User], Any]]],
                 starts: list[datetime] | None = None) -> list[tuple[str, Any]]:
    """Run each job in its own thread, app context and session, all released at once by a
    barrier (or, with ``starts``, each at its own moment). Returns ("ok", value) or
    ("error", exception) per job, in order; with ``starts``, also the call's start and end.

    Jobs must close over plain values (ids), never the test's ORM objects: touching an expired
    object would load it through the test's session from several threads at once."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def work(index: int, user_id: int, job: Callable[[User], Any]) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                assert actor is not None
                _ = actor.organisation, actor.roles  # loaded before the race, not in it
                barrier.wait(timeout=30)
                if starts is not None:
                    time.sleep(max(0.0, (starts[index] - utcnow()).total_seconds()))
                began = utcnow()
                try:
                    outcome: tuple[str, Any] = ("ok", job(actor))
                except Exception as exc:  # noqa: BLE001 - the outcome is what is tested
                    outcome = ("error", exc)
                results[index] = (*outcome, began, utcnow()) if starts is not None else outcome
            finally:
                db.session.remove()

    db.session.commit()  # the test's own session holds no transaction during the race
    threads = [threading.Thread(target=work, args=(i, user_id, job))
               for i, (user_id, job) in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert all(result is not None for result in results), results
    return results


@needs_postgres
def test_two_submissions_at_the_same_moment(app: Flask, challenge: Challenge,
                                            roadsense: Supplier) -> None:
    bid_id = ready_bid(roadsense, challenge).id
    clear_outbox()
    for round_ in range(1, 4):
        results = run_together(app, [
            (user.id, lambda actor: svc.submit_bid(actor, bid_id).receipt)
            for user in (roadsense.bidder, roadsense.admin)])
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        versions = versions_of(bid_id)
        assert [v.number for v in versions] == list(range(1, 2 * round_ + 1))
        assert {v.receipt for v in versions[-2:]} == {value for _, value in results}
        assert versions[-1].received_at > versions[-2].received_at
        assert fresh(Bid, bid_id).submitted_version == 2 * round_
    final = fresh(Bid, bid_id)
    assert final.submitted_at == versions[-1].received_at
    assert len({v.receipt for v in versions}) == 6
    assert len(outbox()) == 6  # one receipt email per submission
    assert [e.after["version"] for e in events("bid.submitted", bid_id)] == list(range(1, 7))


@needs_postgres
def test_submissions_racing_the_deadline(app: Flask, challenge: Challenge, leeds: Council,
                                         kent: Council, roadsense: Supplier,
                                         carelink: Supplier) -> None:
    third = make_supplier("Flowward Ltd", "flowward")
    suppliers = (roadsense, carelink, third)
    bids = {s.org.id: ready_bid(s, challenge).id for s in suppliers}
    clear_outbox()
    deadline = utcnow() + timedelta(seconds=1.5)
    set_columns(Challenge, challenge.id, clarification_deadline=days(-1),
                submission_deadline=deadline)
    offsets = [-0.6, -0.3, -0.1, -0.03, -0.01, 0.0, 0.01, 0.03, 0.1, 0.3]
    jobs, starts = [], []
    for n, offset in enumerate(offsets):
        supplier = suppliers[n % len(suppliers)]
        user = (supplier.bidder, supplier.admin, supplier.colleague)[n % 3]
        bid_id = bids[supplier.org.id]
        jobs.append((user.id, lambda actor, b=bid_id: svc.submit_bid(actor, b).receipt))
        starts.append(deadline + timedelta(seconds=offset))
    results = run_together(app, jobs, starts=starts)

    receipts = set()
    for kind, value, began, ended in results:
        if kind == "ok":
            receipts.add(value)
            assert began < deadline, "a submission that began after the deadline got in"
        else:
            assert isinstance(value, Conflict), value
            assert ended >= deadline, "a submission finished before the deadline was refused"
    stored_versions = db.session.scalars(select(BidVersion)).all()
    assert {v.receipt for v in stored_versions} == receipts
    assert all(v.received_at < deadline for v in stored_versions)
    for bid_id in bids.values():
        numbers = [v.number for v in versions_of(bid_id)]
        assert numbers == list(range(1, len(numbers) + 1))
        bid = fresh(Bid, bid_id)
        assert bid.submitted_version == len(numbers)
        if numbers:
            assert bid.submitted_at == versions_of(bid_id)[-1].received_at < deadline
    assert len(outbox()) == len(receipts)
    # The calls that clearly missed the deadline were refused.
    assert results[-1][0] == "error"
    # Once opened after the deadline, the council sees exactly what was received in time.
    evaluation.open_bids(kent.officer, challenge.id)
    listed = svc.bids_for_council(kent.officer, challenge.id)
    assert {b.id for b in listed} == {v.bid_id for v in stored_versions}


@needs_postgres
def test_withdrawal_racing_a_submission(app: Flask, challenge: Challenge,
                                        roadsense: Supplier) -> None:
    bid_id = submitted_bid(roadsense, challenge)[0].id
    for _ in range(5):
        if fresh(Bid, bid_id).withdrawn_at is not None:
            svc.submit_bid(roadsense.bidder, bid_id)
        results = run_together(app, [
            (roadsense.bidder.id, lambda actor: svc.withdraw_bid(actor, bid_id).id),
            (roadsense.admin.id, lambda actor: svc.submit_bid(actor, bid_id).number)])
        for kind, value in results:
            assert kind == "ok" or isinstance(value, Conflict), value
        last = [e for e in audit_events() if e.object_type == "bid"
                and e.action in {"bid.submitted", "bid.withdrawn"}][-1]
        final = fresh(Bid, bid_id)
        assert (final.withdrawn_at is None) == (last.action == "bid.submitted")
        numbers = [v.number for v in versions_of(bid_id)]
        assert numbers == list(range(1, len(numbers) + 1))
        assert final.submitted_version == numbers[-1]
        assert final.status == ("submitted" if last.action == "bid.submitted" else "withdrawn")
        assert svc.submitted_count(challenge) == (1 if final.withdrawn_at is None else 0)


# ========================================================================== attachments


def big(size: int) -> bytes:
    return b"%PDF-1.4\n" + b"0" * (size - 9)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (big(svc.MAX_ATTACHMENT_BYTES + 1), "smaller than 10MB"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "must be a PDF"),
    (b"<html><body>Not a PDF</body></html>", "must be a PDF"),
    (b"PK\x03\x04 a zip called proposal.pdf", "must be a PDF"),
    (b"%PDF-1.7\n" + bytes(range(256)) * 20, "not a valid PDF"),
    (b"%PDF-", "not a valid PDF"),
    (b"%PDF-1.4\n%%EOF\n", "not a valid PDF"),
], ids=["empty", "over-10MB", "png", "html", "zip", "garbage-after-header", "header-only",
        "no-pages"])
def test_check_pdf_refuses(data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        svc.check_pdf(data)
    assert message in info.value.message
    assert info.value.field == "attachment"


@pytest.mark.parametrize("damage", ["truncated", "broken-xref", "no-root"])
def test_check_pdf_refuses_damaged_pdfs(damage: str) -> None:
    good = pdf_bytes()
    data = {"truncated": good[: len(good) // 2],
            # Makes pypdf raise LimitReachedError, which is not a PdfReadError.
            "broken-xref": re.sub(rb"xref\n0 \d+\n", b"xref\n0 0\n", good),
            "no-root": good.replace(b"/Root", b"/Rooo").replace(b"/Catalog", b"/Catalox")}[damage]
    assert data != good
    with pytest.raises(ValidationFailed) as info:
        svc.check_pdf(data)
    assert info.value.message == "The selected file is not a valid PDF"


def test_check_pdf_accepts_real_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    svc.check_pdf(pdf_bytes())
    svc.check_pdf(pdf_bytes(pages=3))
    svc.check_pdf(b"\r\n" + pdf_bytes())  # leading blank lines are tolerated
    data = pdf_bytes()
    monkeypatch.setattr(svc, "MAX_ATTACHMENT_BYTES", len(data))
    svc.check_pdf(data)  # exactly the limit
    monkeypatch.setattr(svc, "MAX_ATTACHMENT_BYTES", len(data) - 1)
    with pytest.raises(ValidationFailed):
        svc.check_pdf(data)


@pytest.mark.parametrize(("name", "expected"), [
    ("Method statement (v2).pdf", "Method statement (v2).pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("/etc/shadow", "shadow.pdf"),
    ("..\\..\\Windows\\system.ini", "system.ini.pdf"),
    ("report<script>.PDF", "report_script_.PDF"),
    ("..", "attachment.pdf"),
    ("", "attachment.pdf"),
    (None, "attachment.pdf"),
    ("évaluation.pdf", "évaluation.pdf"),
])
def test_attachments_are_stored_under_a_generated_name(name: str | None, expected: str,
                                                       challenge: Challenge,
                                                       roadsense: Supplier, uploads: Path,
                                                       tmp_path: Path) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    data = pdf_bytes()
    returned = svc.add_attachment(roadsense.bidder, bid.id, name, io.BytesIO(data))
    attachment = fresh(BidAttachment, returned.id)
    assert attachment.original_name == expected
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", attachment.stored_name)
    path = uploads / attachment.stored_name
    assert sorted(uploads.iterdir()) == [path]
    assert path.read_bytes() == data
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.size_bytes == len(data)
    assert attachment.uploaded_by_id == roadsense.bidder.id
    assert attachment.removed_at is None
    assert not (tmp_path / "etc").exists() and not (uploads.parent.parent / "etc").exists()
    [event] = events("bid.attachment_added", bid.id)
    assert event.after == {"attachment_id": attachment.id, "sha256": attachment.sha256,
                           "size": len(data)}


def test_long_names_are_shortened_keeping_the_extension(challenge: Challenge,
                                                        roadsense: Supplier) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    attachment = attach(roadsense.bidder, bid.id, "a" * 400 + ".pdf")
    assert len(attachment.original_name) == 200
    assert attachment.original_name.endswith("a.pdf")


def test_the_same_file_twice_is_stored_twice(challenge: Challenge, roadsense: Supplier,
                                             uploads: Path) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    data = pdf_bytes()
    first = attach(roadsense.bidder, bid.id, "same.pdf", data)
    second = attach(roadsense.admin, bid.id, "same.pdf", data)
    assert first.stored_name != second.stored_name
    assert first.sha256 == second.sha256
    assert len(list(uploads.iterdir())) == 2
    assert [a.id for a in fresh(Bid, bid.id).current_attachments] == [first.id, second.id]


@pytest.mark.parametrize("data", [b"", b"not a pdf", big(svc.MAX_ATTACHMENT_BYTES + 1)],
                         ids=["empty", "not-pdf", "too-big"])
def test_a_refused_file_leaves_nothing_behind(data: bytes, challenge: Challenge,
                                              roadsense: Supplier, uploads: Path) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    before = stored(bid.id)
    with pytest.raises(ValidationFailed):
        svc.add_attachment(roadsense.bidder, bid.id, "proposal.pdf", io.BytesIO(data))
    assert stored(bid.id) == before
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_a_bid_has_at_most_ten_attachments(challenge: Challenge, roadsense: Supplier) -> None:
    bid = svc.start_bid(roadsense.bidder, challenge.id)
    data = pdf_bytes()
    added = [attach(roadsense.bidder, bid.id, f"part {n}.pdf", data) for n in range(10)]
    with pytest.raises(ValidationFailed) as info:
        attach(roadsense.bidder, bid.id, "eleven.pdf", data)
    assert info.value.field == "attachment" and "10" in info.value.message
    svc.remove_attachment(roadsense.bidder, added[0].id)
    attach(roadsense.bidder, bid.id, "eleven.pdf", data)
    assert len(fresh(Bid, bid.id).current_attachments) == 10
    assert len(fresh(Bid, bid.id).attachments) == 11


def test_removing_keeps_the_file_for_the_submitted_version(challenge: Challenge,
                                                          leeds: Council,
                                                          roadsense: Supplier,
                                                          uploads: Path) -> None:
    bid = ready_bid(roadsense, challenge)
    kept = attach(roadsense.bidder, bid.id, "kept.pdf")
    removed = attach(roadsense.bidder, bid.id, "removed.pdf", pdf_bytes(pages=2))
    v1 = fresh(BidVersion, svc.submit_bid(roadsense.bidder, bid.id).id)
    assert [a["id"] for a in v1.content["attachments"]] == [kept.id, removed.id]
    svc.remove_attachment(roadsense.bidder, removed.id)
    row = fresh(BidAttachment, removed.id)
    assert row.removed_at is not None
    assert (uploads / row.stored_name).exists()
    working = fresh(Bid, bid.id)
    assert [a.id for a in working.current_attachments] == [kept.id]
    assert [a["id"] for a in svc.snapshot(working)["attachments"]] == [kept.id]
    assert working.status == "changed"
    with pytest.raises(NotFound):  # it is gone from the working copy
        svc.remove_attachment(roadsense.bidder, removed.id)
    [event] = events("bid.attachment_removed", bid.id)
    assert event.before == {"attachment_id": removed.id, "sha256": removed.sha256}
    # The supplier can still fetch its own file.
    assert svc.attachment_for_download(roadsense.bidder, removed.id)[1] == \
        uploads / row.stored_name
    # Version 1 is what counts: once the bids are opened the council can download both files.
    close_and_open(challenge.id, leeds.officer)
    for attachment in (kept, removed):
        found, path = svc.attachment_for_download(leeds.officer, attachment.id)
        assert found.id == attachment.id
        assert path == uploads / attachment.stored_name and path.exists()
    downloads = events("bid.attachment_downloaded", bid.id)
    assert [e.after["attachment_id"] for e in downloads] == [kept.id, removed.id]
    assert all(e.actor_id == leeds.officer.id for e in downloads)


def test_a_file_removed_before_resubmission_is_not_the_councils(challenge: Challenge,
                                                               leeds: Council,
                                                               roadsense: Supplier) -> None:
    bid = ready_bid(roadsense, challenge)
    kept = attach(roadsense.bidder, bid.id, "kept.pdf")
    removed = attach(roadsense.bidder, bid.id, "removed.pdf")
    svc.submit_bid(roadsense.bidder, bid.id)
    svc.remove_attachment(roadsense.bidder, removed.id)
    v2 = svc.submit_bid(roadsense.bidder, bid.id)
    assert [a["id"] for a in fresh(BidVersion, v2.id).content["attachments"]] == [kept.id]
    never_submitted = attach(roadsense.bidder, bid.id, "late.pdf")
    close_and_open(challenge.id, leeds.officer)
    assert svc.attachment_for_download(leeds.officer, kept.id)[0].id == kept.id
    for attachment in (removed, never_submitted):
        with pytest.raises(NotFound):
            svc.attachment_for_download(leeds.officer, attachment.id)


# ========================================================================== sealed bids


def refused_count() -> int:
    return len(events("bid.access_refused"))


COUNCIL_CALLS: dict[str, Callable[[User, Challenge, Bid, BidAttachment], object]] = {
    "bids_for_council": lambda u, c, b, a: svc.bids_for_council(u, c.id),
    "open_bid_for_council": lambda u, c, b, a: svc.open_bid_for_council(u, b.id),
    "attachment_for_download": lambda u, c, b, a: svc.attachment_for_download(u, a.id),
}


@pytest.mark.parametrize("call", sorted(COUNCIL_CALLS))
@pytest.mark.parametrize("council", ["leeds", "kent"])
def test_bids_are_sealed_until_the_deadline(call: str, council: str, request: Any,
                                            challenge: Challenge,
                                            roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    officer = request.getfixturevalue(council).officer
    bid, attachment = roadsense_bid
    with pytest.raises(PermissionDenied):
        COUNCIL_CALLS[call](officer, challenge, bid, attachment)
    db.session.rollback()  # the refusal is on record even though the call failed
    [event] = events("bid.access_refused")
    assert event.actor_id == officer.id
    assert event.organisation_id == officer.organisation_id
    assert (event.object_type, event.object_id) == ("challenge", str(challenge.id))
    assert event.after["attempted"]
    assert events("bid.opened") == [] and events("bid.attachment_downloaded") == []


@pytest.mark.parametrize("closed", [False, True], ids=["before", "after"])
def test_other_councils_and_suppliers_find_no_bids(closed: bool, challenge: Challenge,
                                                   leeds: Council, york: Council,
                                                   carelink: Supplier,
                                                   roadsense_bid: tuple[Bid, BidAttachment]
                                                   ) -> None:
    bid, attachment = roadsense_bid
    if closed:
        close_and_open(challenge.id, leeds.officer)
    for person in (york.officer, york.owner, carelink.bidder):
        for name, call in COUNCIL_CALLS.items():
            expect(NotFound, f"{name} by {person.email}", call, person, challenge, bid,
                   attachment)
    # The attempts are on record too.
    assert refused_count() == 9
    assert events("bid.opened") == [] and events("bid.attachment_downloaded") == []


@pytest.mark.parametrize("who", ["leeds.owner", "leeds.evaluator", "leeds.admin",
                                 "kent.owner", "kent.evaluator"])
def test_only_procurement_officers_open_bids_even_after_the_deadline(
        who: str, request: Any, challenge: Challenge,
        roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    council, role = who.split(".")
    person = getattr(request.getfixturevalue(council), role)
    bid, attachment = roadsense_bid
    close_and_open(challenge.id, request.getfixturevalue("leeds").officer)
    for name, call in COUNCIL_CALLS.items():
        expect(PermissionDenied, name, call, person, challenge, bid, attachment)
    db.session.rollback()
    assert [e.actor_id for e in events("bid.access_refused")] == [person.id] * 3
    assert events("bid.opened") == [] and events("bid.attachment_downloaded") == []


def test_a_suspended_officer_opens_nothing(challenge: Challenge, leeds: Council,
                                           roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    close_and_open(challenge.id, leeds.officer)
    set_columns(User, leeds.officer.id, suspended_at=utcnow())
    with pytest.raises(NotFound):
        svc.bids_for_council(fresh(User, leeds.officer.id), challenge.id)


def test_after_the_deadline_officers_open_the_submitted_bids(challenge: Challenge,
                                                            leeds: Council, kent: Council,
                                                            roadsense: Supplier,
                                                            carelink: Supplier) -> None:
    third = make_supplier("Flowward Ltd", "flowward")
    fourth = make_supplier("Clean Streets Co-op", "cleanstreets")
    first, _ = submitted_bid(roadsense, challenge)
    withdrawn, _ = submitted_bid(carelink, challenge)
    svc.withdraw_bid(carelink.bidder, withdrawn.id)
    draft = ready_bid(third, challenge)  # never submitted
    last, _ = submitted_bid(fourth, challenge)
    svc.save_bid(fourth.bidder, last.id, BidChanges(team="Resubmitted team"))
    svc.submit_bid(fourth.bidder, last.id)
    assert svc.submitted_count(challenge) == 2
    close(challenge.id)
    assert svc.submitted_count(challenge) == 2
    assert fresh(Bid, draft.id).status == "not_submitted"
    # The deadline alone opens nothing: a procurement officer opens the bids first.
    assert not svc.may_open_bids(leeds.officer, fresh(Challenge, challenge.id))
    with pytest.raises(PermissionDenied):
        svc.bids_for_council(leeds.officer, challenge.id)
    evaluation.open_bids(kent.officer, challenge.id)
    for officer in (leeds.officer, kent.officer):
        assert [b.id for b in svc.bids_for_council(officer, challenge.id)] == [first.id,
                                                                               last.id]
    bid, version = svc.open_bid_for_council(kent.officer, last.id)
    assert (bid.id, version.number) == (last.id, 2)
    assert version.content["team"] == "Resubmitted team"
    [opened] = events("bid.opened", last.id)
    assert opened.actor_id == kent.officer.id
    assert opened.organisation_id == kent.org.id
    assert opened.after == {"version": 2}
    svc.open_bid_for_council(leeds.officer, first.id)
    svc.open_bid_for_council(leeds.officer, first.id)
    assert len(events("bid.opened", first.id)) == 2  # every opening is recorded
    for hidden in (withdrawn, draft):
        with pytest.raises(NotFound):
            svc.open_bid_for_council(leeds.officer, hidden.id)
    with pytest.raises(NotFound):
        svc.open_bid_for_council(leeds.officer, 999_999)
    assert svc.may_open_bids(leeds.officer, fresh(Challenge, challenge.id))
    assert not svc.may_open_bids(leeds.evaluator, fresh(Challenge, challenge.id))
    assert not svc.may_open_bids(None, fresh(Challenge, challenge.id))


def test_bids_open_at_the_exact_deadline(challenge: Challenge, leeds: Council) -> None:
    loaded = close_and_open(challenge.id, leeds.officer)
    deadline = loaded.submission_deadline
    assert deadline is not None
    assert not svc.may_open_bids(leeds.officer, loaded, deadline - timedelta(microseconds=1))
    assert svc.may_open_bids(leeds.officer, loaded, deadline)
    assert not svc.may_open_bids(leeds.owner, loaded, deadline)


def test_evaluators_download_the_files_of_bids_they_evaluate(
        challenge: Challenge, leeds: Council, kent: Council,
        roadsense_bid: tuple[Bid, BidAttachment]) -> None:
    bid, attachment = roadsense_bid
    close_and_open(challenge.id, leeds.officer)
    for person in (leeds.evaluator, kent.evaluator, leeds.owner):
        evaluation.assign_evaluator(leeds.officer, challenge.id, person.id)
    # Assigned, but no declaration yet: the bid stays out of reach.
    with pytest.raises(PermissionDenied):
        svc.attachment_for_download(leeds.evaluator, attachment.id)
    evaluation.declare_conflict(leeds.evaluator, bid.id, False, "")
    evaluation.declare_conflict(kent.evaluator, bid.id, True, "I used to work there")
    evaluation.declare_conflict(leeds.owner, bid.id, False, "")
    evaluation.remove_evaluator(leeds.officer, challenge.id, leeds.owner.id)
    found, path = svc.attachment_for_download(leeds.evaluator, attachment.id)
    assert found.id == attachment.id and path.name == attachment.stored_name
    [download] = events("bid.attachment_downloaded", bid.id)
    assert download.actor_id == leeds.evaluator.id
    assert download.after == {"attachment_id": attachment.id}
    # A conflicted or removed evaluator gets nothing, and the attempt is on record.
    refused_before = refused_count()
    for person in (kent.evaluator, leeds.owner):
        with pytest.raises(PermissionDenied):
            svc.attachment_for_download(person, attachment.id)
    assert refused_count() == refused_before + 2
    # Evaluators see bids one at a time through the evaluation, not the officers' list.
    for name in ("bids_for_council", "open_bid_for_council"):
        expect(PermissionDenied, name, COUNCIL_CALLS[name], leeds.evaluator, challenge, bid,
               attachment)
    assert not svc.may_open_bids(leeds.evaluator, fresh(Challenge, challenge.id))


def test_submitted_count_at_any_time(challenge: Challenge, roadsense: Supplier,
                                     carelink: Supplier) -> None:
    assert svc.submitted_count(challenge) == 0
    first = ready_bid(roadsense, challenge)
    second = ready_bid(carelink, challenge)
    assert svc.submitted_count(challenge) == 0  # drafts do not count
    svc.submit_bid(roadsense.bidder, first.id)
    svc.submit_bid(carelink.bidder, second.id)
    svc.submit_bid(carelink.bidder, second.id)  # a resubmission is still one bid
    assert svc.submitted_count(challenge) == 2
    svc.save_bid(carelink.bidder, second.id, BidChanges(team="Changed"))
    assert svc.submitted_count(challenge) == 2  # its submitted version still stands
    svc.withdraw_bid(roadsense.bidder, first.id)
    assert svc.submitted_count(challenge) == 1
    close(challenge.id)
    assert svc.submitted_count(fresh(Challenge, challenge.id)) == 1


def test_the_audit_trail_never_holds_what_a_bid_says(challenge: Challenge, leeds: Council,
                                                    roadsense: Supplier) -> None:
    marker = "SEALED-7731"
    bid = ready_bid(roadsense, challenge, marker)
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(
        has_conflict=True, conflict_details=f"Conflict {marker}", set_conflict=True,
        price="£77,310", set_price=True))
    attachment = attach(roadsense.bidder, bid.id, f"{marker}.pdf")
    svc.submit_bid(roadsense.bidder, bid.id)
    with pytest.raises(PermissionDenied):
        svc.open_bid_for_council(leeds.officer, bid.id)
    svc.withdraw_bid(roadsense.bidder, bid.id)
    svc.save_bid(roadsense.bidder, bid.id, full_changes(challenge, marker + " again"))
    svc.submit_bid(roadsense.bidder, bid.id)
    close_and_open(challenge.id, leeds.officer)
    svc.bids_for_council(leeds.officer, challenge.id)
    svc.open_bid_for_council(leeds.officer, bid.id)
    svc.attachment_for_download(leeds.officer, attachment.id)
    trail = audit_events()
    actions = {e.action for e in trail}
    assert {"bid.started", "bid.saved", "bid.attachment_added", "bid.submitted",
            "bid.access_refused", "bid.withdrawn", "bid.opened",
            "bid.attachment_downloaded"} <= actions
    for event in trail:
        recorded = json.dumps([event.before, event.after], ensure_ascii=False)
        assert marker not in recorded, event.action
        assert "77310" not in recorded and "77,310" not in recorded, event.action
    # The content itself is stored where it belongs.
    assert marker in json.dumps(versions_of(bid.id)[-1].content)


# ========================================================================== followers


def test_bidders_hear_about_amendments_unless_they_withdrew(challenge: Challenge,
                                                            leeds: Council,
                                                            roadsense: Supplier,
                                                            carelink: Supplier) -> None:
    def amend(title: str) -> set[str]:
        clear_outbox()
        challenge_svc.amend(leeds.owner, challenge.id, ChallengeChanges(title=title),
                            f"Retitled: {title}")
        return recipients()

    assert amend("Potholes one") == set()
    bid = svc.start_bid(roadsense.bidder, challenge.id)  # a draft is enough
    everyone = {roadsense.bidder.email, roadsense.admin.email, roadsense.colleague.email}
    assert amend("Potholes two") == everyone  # bidders and org admins, not the member
    assert all(m.subject and "Potholes two" in m.subject + m.body_text for m in outbox())
    ready_bid(carelink, challenge)
    svc.save_bid(roadsense.bidder, bid.id, full_changes(challenge))
    svc.submit_bid(roadsense.bidder, bid.id)
    svc.withdraw_bid(roadsense.bidder, bid.id)
    carelink_people = {carelink.bidder.email, carelink.admin.email, carelink.colleague.email}
    # A supplier that withdrew its bid is no longer told (followers() skips withdrawn bids)...
    assert amend("Potholes three") == carelink_people
    # ...unless somebody there follows the challenge themselves.
    challenge_svc.follow(roadsense.member, challenge.id)
    assert amend("Potholes four") == carelink_people | {roadsense.member.email}
    # Submitting again makes them bidders again.
    svc.submit_bid(roadsense.bidder, bid.id)
    assert amend("Potholes five") == carelink_people | everyone | {roadsense.member.email}
    # Suspended people hear nothing.
    set_columns(User, roadsense.colleague.id, suspended_at=utcnow())
    assert roadsense.colleague.email not in amend("Potholes six")


def test_followers_of_a_challenge_without_bids(challenge: Challenge, roadsense: Supplier
                                               ) -> None:
    assert challenge_svc.followers(challenge) == []
    svc.start_bid(roadsense.admin, challenge.id)
    assert {u.id for u in challenge_svc.followers(fresh(Challenge, challenge.id))} == {
        roadsense.bidder.id, roadsense.admin.id, roadsense.colleague.id}



def test_amending_criteria_keeps_the_ids_bid_answers_refer_to(challenge: Challenge,
                                                               leeds: Council,
                                                               roadsense: Supplier) -> None:
    from marketplace.services import challenges as challenge_service
    from marketplace.services.challenges import ChallengeChanges, CriterionInput

    bid, _version = submitted_bid(roadsense, challenge)
    before = [(c.id, c.name) for c in fresh(Challenge, challenge.id).criteria]
    requirement_ids = [r.id for r in fresh(Challenge, challenge.id).requirements]
    reworded = [CriterionInput(name + " (clarified)", weight=c.weight, word_limit=c.word_limit)
                for (_cid, name), c in zip(before, fresh(Challenge, challenge.id).criteria,
                                           strict=True)]
    challenge_service.amend(leeds.owner, challenge.id,
                            ChallengeChanges(criteria=reworded,
                                             nice_to_haves=["Works offline"]),
                            "Criteria reworded; a nice-to-have added")
    after = fresh(Challenge, challenge.id)
    assert [c.id for c in after.criteria] == [cid for cid, _ in before]
    assert {r.id for r in after.essential_requirements} <= set(requirement_ids)
    answers = fresh(Bid, bid.id).answers
    assert set(answers) == {str(c.id) for c in after.criteria}


def test_saving_unchanged_content_keeps_a_submitted_bid_submitted(challenge: Challenge,
                                                                  roadsense: Supplier) -> None:
    bid, _version = submitted_bid(roadsense, challenge)
    svc.save_bid(roadsense.bidder, bid.id, full_changes(challenge))
    assert fresh(Bid, bid.id).status == "submitted"
    svc.save_bid(roadsense.bidder, bid.id, BidChanges(team="A different team"))
    assert fresh(Bid, bid.id).status == "changed"
