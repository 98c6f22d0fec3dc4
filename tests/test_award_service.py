"""Shortlisting, interviews, the award decision and its standstill, 'no suitable supplier',
and what each bidder and the public learn: through the service layer, on a real database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask

from marketplace.config import ConfigError, load_config
from marketplace.extensions import db
from marketplace.models import BidAssessment, Challenge, ChallengeStatus, utcnow
from marketplace.services import award as svc
from marketplace.services import evaluation
from marketplace.services import suppliers as supplier_service
from marketplace.services.award import WinnerInput
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.evaluation import ModeratedInput
from marketplace.services.workdays import standstill_end
from tests.evaluation_support import EvalSetup, evaluation_setup, moderated, scored
from tests.factories import council_user, supplier_user
from tests.team_admin_support import audit_events, fresh, outbox

SCALE = ["Nothing offered", "Falls well short", "Falls short", "Meets the need",
         "Exceeds the need"]
WINNER_SECRET = "Only the winner may read this: outstanding pilot results."


def ready(bidders: int = 3) -> EvalSetup:
    """Every bid moderated, with a custom score scale and a rationale on the first (best)
    bid that no other bidder may ever see."""
    setup = evaluation_setup(bidders=bidders)
    evaluation.set_score_descriptions(setup.lead, setup.challenge.id, SCALE)
    moderated(setup)
    first = setup.challenge.criteria[0]
    evaluation.moderate(setup.lead, setup.bids[0].id, {first.id: ModeratedInput(4,
                                                                                WINNER_SECRET)})
    return setup.refresh()


def ids(setup: EvalSetup, *indexes: int) -> list[int]:
    return [setup.bids[i].id for i in indexes]


def shortlisted(setup: EvalSetup, *indexes: int) -> EvalSetup:
    svc.shortlist(setup.lead, setup.challenge.id, ids(setup, *indexes))
    return setup.refresh()


def awarded(setup: EvalSetup, value: str = "5000") -> EvalSetup:
    """Bids 0 and 1 shortlisted, bid 0 awarded."""
    shortlisted(setup, 0, 1)
    svc.award(setup.lead, setup.challenge.id, [WinnerInput(setup.bids[0].id, Decimal(value))],
              "Bidder 1 offered the strongest approach.")
    return setup.refresh()


def assessment(bid_id: int) -> BidAssessment:
    return fresh(BidAssessment, bid_id)


def time_passes(setup: EvalSetup) -> None:
    """Move the decision and the end of its standstill into the past."""
    challenge = fresh(Challenge, setup.challenge.id)
    challenge.award_decided_at = utcnow() - timedelta(days=20)
    challenge.awarded_at = utcnow() - timedelta(days=1)
    db.session.commit()
    setup.refresh()


# Settings ----------------------------------------------------------------------------------

def test_standstill_is_eight_working_days_unless_configured(app: Flask, app_factory) -> None:  # type: ignore[no-untyped-def]
    assert svc.standstill_days() == 8
    other = app_factory(STANDSTILL_WORKING_DAYS=10)
    with other.app_context():
        assert svc.standstill_days() == 10


@pytest.mark.parametrize("value", ["7", "0", "-8", "eight", "8.5"])
def test_a_standstill_shorter_than_the_law_allows_stops_startup(
        value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDSTILL_WORKING_DAYS", value)
    with pytest.raises(ConfigError, match="STANDSTILL_WORKING_DAYS"):
        load_config(tmp_path, {"ENV_NAME": "testing"})


def test_a_longer_standstill_can_be_configured(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDSTILL_WORKING_DAYS", " 12 ")
    assert load_config(tmp_path, {"ENV_NAME": "testing"})["STANDSTILL_WORKING_DAYS"] == 12
    monkeypatch.setenv("STANDSTILL_WORKING_DAYS", "")
    assert load_config(tmp_path, {"ENV_NAME": "testing"})["STANDSTILL_WORKING_DAYS"] == 8


def test_max_winners_is_the_first_stages_limit(app: Flask) -> None:
    setup = evaluation_setup(bidders=1)
    assert svc.max_winners(setup.challenge) == 3
    setup.challenge.stages[0].max_suppliers = None
    assert svc.max_winners(setup.challenge) is None
    setup.challenge.stages = []
    assert svc.max_winners(setup.challenge) is None
    db.session.rollback()


# Shortlist ---------------------------------------------------------------------------------

def test_shortlisting_confirms_bids_emails_their_bidders_and_is_audited(app: Flask) -> None:
    setup = ready()
    svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0, 1))
    challenge = fresh(Challenge, setup.challenge.id)
    assert challenge.shortlisted_at is not None
    assert assessment(setup.bids[0].id).shortlisted
    assert assessment(setup.bids[1].id).shortlisted
    assert not assessment(setup.bids[2].id).shortlisted
    for bidder in setup.bidders[:2]:
        mail = outbox(bidder.email)[-1]
        assert mail.subject == f"Shortlisted: {challenge.title}"
        bid_id = setup.bids[setup.bidders.index(bidder)].id
        assert f"http://marketplace.test/bids/{bid_id}\n" in mail.body_text
    assert not [m for m in outbox(setup.bidders[2].email) if "Shortlisted" in m.subject]
    [event] = audit_events("evaluation.shortlisted")
    assert event.before == {"bid_ids": []}
    assert event.after == {"bid_ids": sorted(ids(setup, 0, 1))}
    assert event.actor_id == setup.lead.id
    assert event.organisation_id == setup.council.id


def test_changing_a_confirmed_shortlist_needs_a_reason(app: Flask) -> None:
    setup = shortlisted(ready(), 0, 1)
    with pytest.raises(ValidationFailed) as err:
        svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0, 2))
    assert err.value.field == "reason"
    assert assessment(setup.bids[1].id).shortlisted  # nothing changed

    mails = len(outbox(setup.bidders[2].email))
    svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0, 2), "Bid 2 was rescored.")
    assert not assessment(setup.bids[1].id).shortlisted
    assert assessment(setup.bids[2].id).shortlisted
    assert len(outbox(setup.bidders[2].email)) == mails + 1
    last = audit_events("evaluation.shortlisted")[-1]
    assert last.before == {"bid_ids": sorted(ids(setup, 0, 1))}
    assert last.after == {"bid_ids": sorted(ids(setup, 0, 2)), "reason": "Bid 2 was rescored."}

    # Confirming the same shortlist again changes nothing and needs no reason.
    svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 2, 0))
    assert len(audit_events("evaluation.shortlisted")) == 2


def test_no_more_than_the_published_number_can_be_shortlisted(app: Flask) -> None:
    setup = ready(bidders=4)
    with pytest.raises(ValidationFailed, match="up to 3 suppliers") as err:
        svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0, 1, 2, 3))
    assert err.value.field == "bids"
    with pytest.raises(ValidationFailed, match="at least one") as err:
        svc.shortlist(setup.lead, setup.challenge.id, [])
    assert err.value.field == "bids"
    assert fresh(Challenge, setup.challenge.id).shortlisted_at is None
    assert audit_events("evaluation.shortlisted") == []


def test_only_fully_moderated_bids_of_the_challenge_that_are_not_excluded(app: Flask) -> None:
    setup = scored(evaluation_setup())
    with pytest.raises(ValidationFailed, match="Moderate every criterion"):
        svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0))

    setup = ready()
    evaluation.exclude_bid(setup.lead, setup.bids[2].id, "Essential requirement not met.")
    with pytest.raises(ValidationFailed, match="excluded") as err:
        svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0, 2))
    assert err.value.field == "bids"
    other = scored(evaluation_setup(bidders=1))
    with pytest.raises(ValidationFailed, match="submitted for this challenge"):
        svc.shortlist(setup.lead, setup.challenge.id, [setup.bids[0].id, other.bids[0].id])
    with pytest.raises(ValidationFailed, match="submitted for this challenge"):
        svc.shortlist(setup.lead, setup.challenge.id, ["not a number"])  # type: ignore[list-item]
    assert audit_events("evaluation.shortlisted") == []


def test_shortlisting_before_the_bids_are_opened_is_refused(app: Flask) -> None:
    setup = evaluation_setup()
    with pytest.raises(Conflict, match="Open the bids"):
        svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0))


def test_only_the_challenges_procurement_officers_shortlist(app: Flask) -> None:
    setup = ready()
    owner = council_user("challenge_owner", organisation=setup.council)
    for person in (setup.evaluators[0], owner):
        with pytest.raises(PermissionDenied):
            svc.shortlist(person, setup.challenge.id, ids(setup, 0))
    stranger = council_user("procurement_officer")
    with pytest.raises(NotFound):
        svc.shortlist(stranger, setup.challenge.id, ids(setup, 0))
    with pytest.raises(NotFound):
        svc.shortlist(setup.bidders[0], setup.challenge.id, ids(setup, 0))
    assert fresh(Challenge, setup.challenge.id).shortlisted_at is None


# Interviews --------------------------------------------------------------------------------

def test_arranging_an_interview_emails_the_bidder_in_uk_time(app: Flask) -> None:
    setup = shortlisted(ready(), 0, 1)
    bid = setup.bids[0]
    # 2pm UTC in June is 3pm in the UK.
    when = (utcnow() + timedelta(days=400)).replace(month=6, day=10, hour=14, minute=0,
                                                    second=0, microsecond=0)
    before = len(outbox(setup.bidders[0].email))
    svc.set_interview(setup.lead, bid.id, when, "Room 4, Town Hall. Bring <your> team.")
    row = assessment(bid.id)
    assert row.interview_at == when
    mail = outbox(setup.bidders[0].email)[-1]
    assert len(outbox(setup.bidders[0].email)) == before + 1
    assert mail.subject.startswith("Interview arranged")
    assert f"10 June {when.year} at 3:00pm (UK time)" in mail.body_text
    assert "Room 4, Town Hall. Bring <your> team." in mail.body_text
    [event] = audit_events("evaluation.interview_set")
    assert event.before == {"interview_at": None, "notes": ""}
    assert event.after["interview_at"] == when.isoformat()

    # New notes only: audited, no new email. A new time: emailed as rearranged.
    svc.set_interview(setup.lead, bid.id, when, "Room 5 instead.")
    assert len(outbox(setup.bidders[0].email)) == before + 1
    svc.set_interview(setup.lead, bid.id, when + timedelta(hours=1), "Room 5 instead.")
    assert outbox(setup.bidders[0].email)[-1].subject.startswith("Interview rearranged")
    assert len(audit_events("evaluation.interview_set")) == 3


def test_interviews_are_for_shortlisted_bids_in_the_future_before_the_decision(
        app: Flask) -> None:
    setup = shortlisted(ready(), 0, 1)
    later = utcnow() + timedelta(days=3)
    with pytest.raises(Conflict, match="shortlisted"):
        svc.set_interview(setup.lead, setup.bids[2].id, later, "")
    with pytest.raises(ValidationFailed, match="future") as err:
        svc.set_interview(setup.lead, setup.bids[0].id, utcnow() - timedelta(hours=1), "")
    assert err.value.field == "when"
    with pytest.raises(PermissionDenied):
        svc.set_interview(setup.evaluators[0], setup.bids[0].id, later, "")
    with pytest.raises(NotFound):
        svc.set_interview(council_user("procurement_officer"), setup.bids[0].id, later, "")
    with pytest.raises(NotFound):
        svc.set_interview(setup.lead, 987654, later, "")
    awarded(setup)
    with pytest.raises(Conflict, match="already been made"):
        svc.set_interview(setup.lead, setup.bids[0].id, later, "")
    assert audit_events("evaluation.interview_set") == []


# The award ---------------------------------------------------------------------------------

def test_the_award_starts_an_eight_working_day_standstill(app: Flask) -> None:
    setup = awarded(ready(), "12500.50")
    challenge = setup.challenge
    assert challenge.status == ChallengeStatus.STANDSTILL
    assert challenge.award_decided_by_id == setup.lead.id
    assert challenge.award_decided_at is not None
    assert challenge.awarded_at == standstill_end(challenge.award_decided_at, 8)
    assert challenge.end_reason == "Bidder 1 offered the strongest approach."
    winner = assessment(setup.bids[0].id)
    assert winner.awarded and winner.award_value == Decimal("12500.50")
    assert not assessment(setup.bids[1].id).awarded
    [event] = audit_events("challenge.award_decided")
    assert event.before == {"status": "evaluation"}
    assert event.after["status"] == "standstill"
    assert event.after["winners"] == [{"bid_id": setup.bids[0].id,
                                       "supplier_id": setup.bids[0].supplier_id,
                                       "value": "12500.50"}]
    assert event.after["standstill_ends"] == challenge.awarded_at.isoformat()
    assert event.organisation_id == setup.council.id

    # No public notice during the standstill; once it is over the award is final and public.
    assert svc.award_notice(challenge) is None
    time_passes(setup)
    assert setup.challenge.status == ChallengeStatus.AWARDED
    notice = svc.award_notice(setup.challenge)
    assert notice is not None
    assert [w.supplier_name for w in notice.winners] == [setup.bids[0].supplier.name]
    assert notice.total_value == Decimal("12500.50")


def test_a_configured_standstill_is_used(app_factory) -> None:  # type: ignore[no-untyped-def]
    with app_factory(STANDSTILL_WORKING_DAYS=15).app_context():
        setup = awarded(ready())
        assert setup.challenge.awarded_at == standstill_end(setup.challenge.award_decided_at, 15)
        assert audit_events("challenge.award_decided")[0].after["standstill_days"] == 15


def test_award_emails_give_each_bidder_only_their_own_scores(app: Flask) -> None:
    setup = ready()
    evaluation.exclude_bid(setup.lead, setup.bids[2].id, "No <b>insurance</b> certificate.")
    awarded(setup)
    challenge = setup.challenge
    winner_name = setup.bids[0].supplier.name
    end = svc.standstill_last_day(challenge.awarded_at)

    win = outbox(setup.bidders[0].email)[-1]
    assert win.subject == f"Your bid was successful: {challenge.title}"
    assert "Contract value: £5,000" in win.body_text
    assert WINNER_SECRET in win.body_text  # their own rationale
    assert f"ends at the end of {end} (UK time)" in win.body_text

    lose = outbox(setup.bidders[1].email)[-1]
    assert lose.subject == f"Your bid was not successful: {challenge.title}"
    body = lose.body_text
    # Bid 1 scored 3, 2, 3 (a total of 65): its own scores, with this challenge's wording.
    assert "Score: 3 out of 4 – Meets the need" in body
    assert "Score: 2 out of 4 – Falls short" in body
    assert "Rationale: Agreed score for understanding of the problem." in body
    assert "Your weighted total: 65 out of 100" in body
    assert f"Suppliers awarded: {winner_name}" in body
    assert f"ends at the end of {end} (UK time)" in body
    assert "Bidder 1 offered the strongest approach." in body
    # Never another bidder's scores, rationale or total.
    assert WINNER_SECRET not in body
    assert "90 out of 100" not in body and "Exceeds the need" not in body
    assert "35 out of 100" not in body

    excluded = outbox(setup.bidders[2].email)[-1]
    assert excluded.subject == f"Your bid was not successful: {challenge.title}"
    assert "Your bid was excluded from the evaluation" in excluded.body_text
    assert "No <b>insurance</b> certificate." in excluded.body_text  # plain text, as written
    assert "35 out of 100" in excluded.body_text
    assert WINNER_SECRET not in excluded.body_text and "65 out of 100" not in excluded.body_text
    assert "/outcome" in excluded.body_text


def test_every_bidder_and_org_admin_of_a_supplier_is_told(app: Flask) -> None:
    setup = ready()
    colleague = supplier_user("org_admin", organisation=setup.bidders[1].organisation)
    awarded(setup)
    assert outbox(colleague.email)[-1].subject.startswith("Your bid was not successful")


def test_award_refusals(app: Flask) -> None:
    setup = ready()
    lead, cid = setup.lead, setup.challenge.id
    first = setup.bids[0].id
    with pytest.raises(Conflict, match="Confirm the shortlist"):
        svc.award(lead, cid, [WinnerInput(first, Decimal(1))], "Summary")
    evaluation.exclude_bid(lead, setup.bids[2].id, "Not eligible.")
    shortlisted(setup, 0, 1)
    for winners, field, message in (
        ([], "bids", "at least one"),
        ([WinnerInput(setup.bids[2].id, Decimal(1))], "bids", "is not on the shortlist"),
        ([WinnerInput(987654, Decimal(1))], "bids", "submitted for this challenge"),
        ([WinnerInput(first, Decimal(1)), WinnerInput(first, Decimal(2))], "bids", "twice"),
        ([WinnerInput(first, Decimal(-1))], f"value-{first}", "negative"),
        ([WinnerInput(first, Decimal("1.005"))], f"value-{first}", "2 decimal places"),
        ([WinnerInput(first, "lots")], f"value-{first}", "in pounds"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValidationFailed, match=message) as err:
            svc.award(lead, cid, winners, "Summary")
        assert err.value.field == field
    with pytest.raises(ValidationFailed) as err:
        svc.award(lead, cid, [WinnerInput(first, Decimal(1))], "  ")
    assert err.value.field == "summary"
    with pytest.raises(PermissionDenied):
        svc.award(setup.evaluators[0], cid, [WinnerInput(first, Decimal(1))], "Summary")
    with pytest.raises(NotFound):
        svc.award(council_user("procurement_officer"), cid, [WinnerInput(first, Decimal(1))],
                  "Summary")
    challenge = fresh(Challenge, cid)
    assert challenge.award_decided_at is None and challenge.awarded_at is None
    assert audit_events("challenge.award_decided") == []


def test_an_unshortlisted_bid_cannot_be_awarded(app: Flask) -> None:
    setup = shortlisted(ready(), 0)
    with pytest.raises(ValidationFailed, match=f"{setup.bids[1].supplier.name} is not on the "
                                               "shortlist"):
        svc.award(setup.lead, setup.challenge.id, [WinnerInput(setup.bids[1].id, Decimal(1))],
                  "Summary")


def test_no_more_winners_than_the_first_stage_allows(app: Flask) -> None:
    setup = shortlisted(ready(), 0, 1)
    setup.challenge.stages[0].max_suppliers = 1
    db.session.commit()
    with pytest.raises(ValidationFailed, match="up to 1 supplier$") as err:
        svc.award(setup.lead, setup.challenge.id,
                  [WinnerInput(b, Decimal(1)) for b in ids(setup, 0, 1)], "Summary")
    assert err.value.field == "bids"
    svc.award(setup.lead, setup.challenge.id, [WinnerInput(setup.bids[0].id, Decimal(1))],
              "Summary")


def test_award_before_opening_and_award_twice_are_refused(app: Flask) -> None:
    setup = evaluation_setup()
    with pytest.raises(Conflict, match="Open the bids"):
        svc.award(setup.lead, setup.challenge.id, [WinnerInput(setup.bids[0].id, Decimal(1))],
                  "Summary")
    setup = awarded(ready())
    for attempt in (
        lambda: svc.award(setup.lead, setup.challenge.id,
                          [WinnerInput(setup.bids[1].id, Decimal(1))], "Again"),
        lambda: svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 1), "Changed mind"),
        lambda: svc.declare_no_suitable_supplier(setup.lead, setup.challenge.id, "None"),
    ):
        with pytest.raises(Conflict, match="already been made"):
            attempt()
    time_passes(setup)
    with pytest.raises(Conflict):
        svc.award(setup.lead, setup.challenge.id, [WinnerInput(setup.bids[1].id, Decimal(1))],
                  "Again")
    assert len(audit_events("challenge.award_decided")) == 1
    assert not assessment(setup.bids[1].id).awarded


# No suitable supplier ----------------------------------------------------------------------

def test_no_suitable_supplier_ends_the_evaluation_and_tells_every_bidder(app: Flask) -> None:
    setup = ready()
    with pytest.raises(ValidationFailed) as err:
        svc.declare_no_suitable_supplier(setup.lead, setup.challenge.id, " ")
    assert err.value.field == "reason"
    with pytest.raises(PermissionDenied):
        svc.declare_no_suitable_supplier(setup.evaluators[0], setup.challenge.id, "None")
    svc.declare_no_suitable_supplier(setup.lead, setup.challenge.id,
                                     "No bid met the essential requirement.")
    challenge = fresh(Challenge, setup.challenge.id)
    assert challenge.status == ChallengeStatus.NO_SUITABLE_SUPPLIER
    assert challenge.end_reason == "No bid met the essential requirement."
    [event] = audit_events("challenge.no_suitable_supplier")
    assert event.before == {"status": "evaluation"}
    assert event.after == {"status": "no_suitable_supplier",
                           "reason": "No bid met the essential requirement."}
    for i, bidder in enumerate(setup.bidders):
        mail = outbox(bidder.email)[-1]
        assert mail.subject == f"No contract awarded: {challenge.title}"
        assert "No bid met the essential requirement." in mail.body_text
        assert (WINNER_SECRET in mail.body_text) is (i == 0)
    assert "65 out of 100" in outbox(setup.bidders[1].email)[-1].body_text
    with pytest.raises(Conflict):
        svc.declare_no_suitable_supplier(setup.lead, setup.challenge.id, "Again")
    with pytest.raises(Conflict):
        svc.shortlist(setup.lead, setup.challenge.id, ids(setup, 0))


def test_no_suitable_supplier_needs_the_bids_opened(app: Flask) -> None:
    setup = evaluation_setup()
    with pytest.raises(Conflict, match="Open the bids"):
        svc.declare_no_suitable_supplier(setup.lead, setup.challenge.id, "None")


# What bidders and the public see -----------------------------------------------------------

def test_each_supplier_sees_the_outcome_of_its_own_bid(app: Flask) -> None:
    setup = ready()
    assert svc.outcome_for_supplier(setup.bidders[0], setup.bids[0].id) is None
    evaluation.exclude_bid(setup.lead, setup.bids[2].id, "Not eligible.")
    awarded(setup)
    winner_name = setup.bids[0].supplier.name

    won = svc.outcome_for_supplier(setup.bidders[0], setup.bids[0].id)
    assert won is not None and won.outcome == "awarded"
    assert won.award_value == Decimal("5000")
    assert won.feedback[0].rationale == WINNER_SECRET

    lost = svc.outcome_for_supplier(setup.bidders[1], setup.bids[1].id)
    assert lost is not None and lost.outcome == "unsuccessful"
    assert [f.score for f in lost.feedback] == [3, 2, 3]
    assert lost.total == 65
    assert lost.winners == [winner_name]
    assert lost.standstill_ends == setup.challenge.awarded_at
    assert lost.award_value is None and lost.exclusion_reason is None
    assert svc.outcome_label(setup.bids[1]) == "Not successful"

    out = svc.outcome_for_supplier(setup.bidders[2], setup.bids[2].id)
    assert out is not None and out.outcome == "excluded"
    assert out.exclusion_reason == "Not eligible."

    with pytest.raises(NotFound):
        svc.outcome_for_supplier(setup.bidders[1], setup.bids[0].id)
    with pytest.raises(PermissionDenied):
        svc.outcome_for_supplier(setup.lead, setup.bids[0].id)


def test_the_public_notice_names_winners_with_their_size_and_value(app: Flask) -> None:
    setup = shortlisted(ready(), 0, 1, 2)
    supplier_service.update_profile(setup.bidders[0], setup.bids[0].supplier_id,
                                    supplier_service.ProfileChanges(size="small"))
    supplier_service.update_profile(setup.bidders[1], setup.bids[1].supplier_id,
                                    supplier_service.ProfileChanges(size="large"))
    svc.award(setup.lead, setup.challenge.id,
              [WinnerInput(setup.bids[i].id, Decimal(v))
               for i, v in ((0, "5000"), (1, "4000.50"), (2, "0"))], "Three explorations.")
    setup.refresh()
    now = utcnow()
    assert svc.award_notice(setup.challenge, now) is None
    notice = svc.award_notice(setup.challenge, setup.challenge.awarded_at)
    assert notice is not None
    by_name = {w.supplier_name: w for w in notice.winners}
    first, second, third = (by_name[b.supplier.name] for b in setup.bids)
    assert (first.sme, first.size_label, first.value) == (True, "Small", Decimal("5000"))
    assert (second.sme, second.size_label) == (False, "Large")
    assert (third.sme, third.size_label, third.value) == (False, None, Decimal("0"))
    assert notice.total_value == Decimal("9000.50")
    assert notice.summary == "Three explorations."
    assert notice.decided_at == setup.challenge.award_decided_at
    assert notice.final_at == setup.challenge.awarded_at
