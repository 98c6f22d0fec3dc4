"""Council records: evaluation exports (CSV and XLSX), a challenge's audit trail and the
council's insights page.

The database-level guarantee that audit events can never be changed or deleted (UPDATE and
DELETE on audit_event fail) is tested in tests/test_audit.py
(test_raw_sql_cannot_change_or_delete_audit_events and friends); here we check that the trail
page offers nothing that writes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeSponsor,
    EvaluatorAssignment,
    EvaluatorScore,
    ModeratedScore,
    Organisation,
    SupplierProfile,
    User,
    utcnow,
)
from marketplace.services import award as award_service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation, exports, insights, trail
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.evaluation import ScoreInput
from tests.bid_support import close, open_challenge, submitted_bid
from tests.evaluation_support import (
    EvalSetup,
    evaluation_setup,
    moderated,
    opened,
    score_bid,
    scored,
    scores_for,
)
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user
from tests.team_admin_support import audit_events, browser, text_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _url(kind: str, challenge_id: int, table: str | None = None) -> str:
    query = f"?table={table}" if table else ""
    return f"/council/challenges/{challenge_id}/evaluation/export.{kind}{query}"


def _csv_rows(response: Any) -> list[list[str]]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _workbook_rows(response: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return sheet, list(sheet.iter_rows(values_only=True))


def _set_size(org_id: int, size: str | None) -> None:
    profile = db.session.get(SupplierProfile, org_id)
    if profile is None:
        profile = SupplierProfile(organisation_id=org_id)
        db.session.add(profile)
    profile.size = size
    db.session.commit()


def _award_first(setup: EvalSetup, value: str = "5000") -> None:
    """Shortlist the two best bids and award the best one."""
    ids = [b.id for b in setup.bids[:2]]
    award_service.shortlist(setup.lead, setup.challenge.id, ids)
    award_service.award(setup.lead, setup.challenge.id,
                        [award_service.WinnerInput(ids[0], Decimal(value))],
                        "Best value for money.")
    setup.refresh()


# --------------------------------------------------------------------------- CSV and XLSX


def test_matrix_csv_has_a_row_per_bid_criterion_and_evaluator(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=3, evaluators=2))
    response = browser(app, setup.lead).get(_url("csv", setup.challenge.id, "matrix"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert re.search(r'filename=challenge-\d+-predicting-potholes-before-they-form-'
                     r'evaluation-matrix\.csv', disposition), disposition
    assert response.headers["Cache-Control"] == "no-store"

    rows = _csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Rank", "Supplier", "Bid reference", "Criterion"]
    assert len(body) == 3 * 3 * 2  # bids x criteria x evaluators
    col = {name: i for i, name in enumerate(header)}
    best = [r for r in body if r[col["Supplier"]] == setup.bids[0].supplier.name]
    assert len(best) == 6
    assert {r[col["Rank"]] for r in best} == {"1"}
    assert {r[col["Weighted total"]] for r in best} == {"90.00"}
    first = best[0]
    criterion = setup.challenge.criteria[0]
    assert first[col["Criterion"]] == criterion.name
    assert first[col["Weight (%)"]] == "40"
    assert first[col["Evaluator"]] == "Evan Evaluator 1"
    assert first[col["Evaluator sheet"]] == "Submitted"
    assert first[col["Evaluator score (0-4)"]] == "4"
    assert first[col["Evaluator comment"]] == f"Comment on {criterion.name.lower()}: scored 4."
    assert first[col["Mean of evaluator scores"]] == "4.00"
    assert first[col["Moderated score (0-4)"]] == "4"
    assert first[col["Moderation rationale"]] == f"Agreed score for {criterion.name.lower()}."
    assert (first[col["Excluded"]], first[col["Shortlisted"]], first[col["Awarded"]]) == (
        "No", "No", "No")
    # Ranked best first.
    assert [r[col["Rank"]] for r in body[::6]] == ["1", "2", "3"]

    event = audit_events("reports.exported")[-1]
    assert event.object_type == "challenge" and event.object_id == str(setup.challenge.id)
    assert event.actor_id == setup.lead.id
    assert event.after == {"table": "matrix", "format": "csv", "rows": 18}


def test_matrix_shows_exclusions_conflicts_and_unsubmitted_sheets(app: Flask) -> None:
    setup = opened(evaluation_setup(bidders=2, evaluators=2))
    first, second = setup.evaluators
    bid = setup.bids[0]
    score_bid(first, bid, scores_for(0))
    score_bid(second, bid, [1, 1, 1], submit=False)  # a draft is not a score yet
    evaluation.declare_conflict(second, setup.bids[1].id, True, "My brother works there")
    evaluation.exclude_bid(setup.lead, setup.bids[1].id, "No insurance")
    table = exports.matrix_table(setup.lead, setup.challenge)
    col = {c.header: i for i, c in enumerate(table.columns)}
    by_sheet = {(r[col["Bid reference"]], r[col["Evaluator"]]): r for r in table.rows}
    draft = by_sheet[bid.id, "Evan Evaluator 2"]
    assert draft[col["Evaluator sheet"]] == "Not submitted"
    assert draft[col["Evaluator score (0-4)"]] is None
    assert draft[col["Evaluator comment"]] == ""
    conflicted = by_sheet[setup.bids[1].id, "Evan Evaluator 2"]
    assert conflicted[col["Evaluator sheet"]] == "Conflict of interest declared"
    excluded = by_sheet[setup.bids[1].id, "Evan Evaluator 1"]
    assert excluded[col["Evaluator sheet"]] == "Not started"
    assert excluded[col["Excluded"]] == "Yes"
    assert excluded[col["Exclusion reason"]] == "No insurance"
    assert excluded[col["Rank"]] is None and excluded[col["Weighted total"]] is None


def test_award_xlsx_is_a_formatted_workbook_with_numbers_and_dates(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=3, evaluators=1))
    _set_size(setup.bids[0].supplier_id, "small")
    _set_size(setup.bids[1].supplier_id, "large")
    _award_first(setup, "12500.50")
    response = browser(app, setup.lead).get(_url("xlsx", setup.challenge.id, "award"))
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert re.search(r'attachment; filename=challenge-\d+-[a-z0-9-]+-award-decision\.xlsx',
                     response.headers["Content-Disposition"])

    sheet, rows = _workbook_rows(response)
    assert sheet.title == "Award decision"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert all(sheet.column_dimensions[c].width >= 8 for c in "ABCDEFGHIJ")
    header = list(rows[0])
    assert header == ["Challenge", "Award decided", "Standstill ends", "Supplier", "SME",
                      "Weighted total", "Rank", "Shortlisted", "Awarded", "Award value (£)"]
    body = {row[3]: row for row in rows[1:]}
    assert len(body) == 3
    winner = body[setup.bids[0].supplier.name]
    assert winner[0] == setup.challenge.title
    assert isinstance(winner[1], datetime) and isinstance(winner[2], datetime)
    assert winner[2] > winner[1]
    assert winner[4] == "Yes"
    assert winner[5] == 90
    assert winner[6] == 1
    assert winner[7:9] == ("Yes", "Yes")
    assert winner[9] == Decimal("12500.50") or winner[9] == 12500.5
    row_number = [r[3] for r in rows].index(winner[3]) + 1
    value_cell = sheet.cell(row=row_number, column=10)
    assert value_cell.data_type == "n" and "£" in value_cell.number_format
    assert sheet.cell(row=row_number, column=6).data_type == "n"
    assert sheet.cell(row=row_number, column=2).is_date
    runner_up = body[setup.bids[1].supplier.name]
    assert runner_up[4] == "No" and runner_up[7:10] == ("Yes", "No", None)
    assert body[setup.bids[2].supplier.name][4] == "Not stated"
    assert audit_events("reports.exported")[-1].after == {
        "table": "award", "format": "xlsx", "rows": 3}


def test_award_csv_before_a_decision_leaves_the_decision_blank(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=2, evaluators=1))
    response = browser(app, setup.lead).get(_url("csv", setup.challenge.id, "award"))
    rows = _csv_rows(response)
    assert len(rows) == 3
    assert rows[1][1:3] == ["", ""] and rows[1][8:10] == ["No", ""]


def test_the_matrix_is_the_default_and_an_unknown_table_is_a_bad_request(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=1, evaluators=1))
    client = browser(app, setup.lead)
    assert _csv_rows(client.get(_url("csv", setup.challenge.id)))[0][0] == "Rank"
    before = len(audit_events("reports.exported"))
    response = client.get(_url("xlsx", setup.challenge.id, "bids"))
    assert response.status_code == 400
    assert "table=matrix" in text_of(response)
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    response = client.get(_url("csv", setup.challenge.id, "everything"),
                          headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400
    assert len(audit_events("reports.exported")) == before


# --------------------------------------------------------------------------- formula injection


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    assert exports.safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme Ltd", "", "1=1", " =1", "'quoted"])
def test_other_text_is_left_alone(text: str) -> None:
    assert exports.safe_text(text) == text


def test_exports_escape_formulas_in_user_text(app: Flask) -> None:
    setup = opened(evaluation_setup(bidders=1, evaluators=1))
    bid = setup.bids[0]
    supplier = db.session.get(Organisation, bid.supplier_id)
    assert supplier is not None
    supplier.name = '=HYPERLINK("http://evil.example","Click")'
    db.session.commit()
    evaluator = setup.evaluators[0]
    evaluation.declare_conflict(evaluator, bid.id, False, "")
    criteria = setup.challenge.criteria
    evaluation.save_scores(evaluator, bid.id, {
        criteria[0].id: ScoreInput(3, "+cmd|' /C calc'!A0"),
        criteria[1].id: ScoreInput(2, "@SUM(1+1)"),
        criteria[2].id: ScoreInput(1, "-2+3"),
    }, {r.id: True for r in setup.challenge.essential_requirements}, "")
    evaluation.submit_sheet(evaluator, bid.id)
    evaluation.moderate(setup.lead, bid.id, {
        c.id: evaluation.ModeratedInput(2, "=1+2") for c in criteria})
    client = browser(app, setup.lead)

    rows = _csv_rows(client.get(_url("csv", setup.challenge.id, "matrix")))
    body = rows[1:]
    assert {r[1] for r in body} == {"'" + supplier.name}
    assert [r[8] for r in body] == ["'+cmd|' /C calc'!A0", "'@SUM(1+1)", "'-2+3"]
    assert {r[11] for r in body} == {"'=1+2"}
    assert {r[7] for r in body} == {"3", "2", "1"}  # numbers stay numbers

    sheet, values = _workbook_rows(client.get(_url("xlsx", setup.challenge.id, "matrix")))
    for row in sheet.iter_rows(min_row=2):
        assert row[1].value == "'" + supplier.name and row[1].data_type == "s"
        assert row[8].value.startswith("'") and row[8].data_type == "s"
        assert row[11].value == "'=1+2"
        assert row[7].data_type == "n"
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)

    award = _csv_rows(client.get(_url("csv", setup.challenge.id, "award")))
    assert award[1][3] == "'" + supplier.name


def test_xlsx_drops_control_characters_a_workbook_cannot_hold(app: Flask) -> None:
    table = exports.Table("t", "Test", [exports.Column("Text"), exports.Column("N", "int")],
                          [["bell\x07 and\x0b tab", -3]])
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(table))).active
    assert sheet["A2"].value == "bell and tab"
    assert sheet["B2"].value == -3


# --------------------------------------------------------------------------- refusals


def test_exports_refuse_suppliers_evaluators_and_other_councils(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=2, evaluators=1))
    cid = setup.challenge.id
    before = len(audit_events("reports.exported"))
    owner = council_user("challenge_owner", organisation=setup.council)
    stranger = council_user("procurement_officer")
    for person, status in ((setup.bidders[0], 403), (setup.evaluators[0], 403), (owner, 403),
                           (stranger, 404)):
        client = browser(app, person)
        for kind in ("csv", "xlsx"):
            for table in ("matrix", "award"):
                response = client.get(_url(kind, cid, table))
                assert response.status_code == status, (person.email, kind, table)
                assert "attachment" not in response.headers.get("Content-Disposition", "")
    # The service refuses too, whatever the page's rule.
    with pytest.raises(PermissionDenied):
        exports.export(setup.evaluators[0], cid, "matrix", "csv")
    with pytest.raises(NotFound):
        exports.export(stranger, cid, "matrix", "csv")
    with pytest.raises(NotFound):
        exports.export(setup.lead, 987654, "matrix", "csv")
    assert len(audit_events("reports.exported")) == before


def test_nothing_to_export_before_the_bids_are_opened(app: Flask) -> None:
    setup = evaluation_setup(bidders=1, evaluators=1)
    response = browser(app, setup.lead).get(_url("csv", setup.challenge.id, "matrix"))
    assert response.status_code == 409
    assert "have not been opened" in text_of(response)
    with pytest.raises(Conflict):
        exports.export(setup.lead, setup.challenge.id, "award", "xlsx")
    assert audit_events("reports.exported") == []


def test_a_lead_who_is_still_scoring_sees_no_exports_or_trail(app: Flask) -> None:
    setup = opened(evaluation_setup(bidders=2, evaluators=1))
    evaluation.assign_evaluator(setup.lead, setup.challenge.id, setup.lead.id)
    score_bid(setup.evaluators[0], setup.bids[0], scores_for(0))
    client = browser(app, setup.lead)
    cid = setup.challenge.id
    for url in (_url("csv", cid, "matrix"), _url("xlsx", cid, "award"),
                f"/council/challenges/{cid}/audit"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Submit your own scores first" in text_of(response)
    with pytest.raises(PermissionDenied, match="Submit your own scores first"):
        trail.challenge_audit_trail(setup.lead, cid)
    # A conflict declared counts as done; so does a submitted sheet.
    score_bid(setup.lead, setup.bids[0], scores_for(1))
    evaluation.declare_conflict(setup.lead, setup.bids[1].id, True, "I used to work there")
    assert client.get(_url("csv", cid, "matrix")).status_code == 200
    assert client.get(f"/council/challenges/{cid}/audit").status_code == 200


# --------------------------------------------------------------------------- audit trail


def test_trail_lists_the_challenges_events_oldest_first_with_a_score_change(app: Flask
                                                                            ) -> None:
    setup = scored(evaluation_setup(bidders=2, evaluators=1))
    other = scored(evaluation_setup(bidders=1, evaluators=1))
    evaluator, bid = setup.evaluators[0], setup.bids[0]
    criterion = setup.challenge.criteria[0]
    evaluation.save_scores(
        evaluator, bid.id,
        {c.id: ScoreInput(1 if c.id == criterion.id else s, "Revised <b>comment</b>")
         for c, s in zip(setup.challenge.criteria, scores_for(0), strict=True)},
        {r.id: True for r in setup.challenge.essential_requirements}, "",
        reason="Misread the <i>case study</i>")

    events = trail.challenge_audit_trail(setup.lead, setup.challenge.id)
    assert [e.id for e in events] == sorted(e.id for e in events)
    actions = [e.action for e in events]
    for expected in ("challenge.created", "challenge.published", "bid.submitted",
                     "evaluation.bids_opened", "evaluation.evaluator_assigned",
                     "evaluation.conflict_declared", "evaluation.sheet_submitted",
                     "evaluation.scores_revised"):
        assert expected in actions, expected
    assert actions.index("challenge.created") < actions.index("evaluation.bids_opened") \
        < actions.index("evaluation.scores_revised")
    objects = {(e.object_type, e.object_id) for e in events}
    assert ("bid", str(bid.id)) in objects
    assert not any(e.object_id == str(other.challenge.id) and e.object_type == "challenge"
                   for e in events)
    assert not {("bid", str(b.id)) for b in other.bids} & objects

    response = browser(app, setup.lead).get(f"/council/challenges/{setup.challenge.id}/audit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "Submitted scores changed" in text
    assert "Bids opened for evaluation" in text
    assert f"Score sheet of Evan Evaluator 1 for the bid from {bid.supplier.name}" in text
    # Before and after as key/value lists, criterion ids in words, user text escaped.
    assert f"Scores: {criterion.name}" in text
    assert "Misread the <i>case study</i>" in text
    assert "&lt;i&gt;case study&lt;/i&gt;" in page and "<i>case study</i>" not in page
    assert "Revised &lt;b&gt;comment&lt;/b&gt;" in page
    revised = next(e for e in events if e.action == "evaluation.scores_revised")
    assert revised.before["scores"][str(criterion.id)] == 4
    assert revised.after["scores"][str(criterion.id)] == 1
    # UK time.
    assert "Lena Lead" in text


def test_trail_filters_by_action_with_a_plain_get_form(app: Flask) -> None:
    setup = scored(evaluation_setup(bidders=2, evaluators=1))
    client = browser(app, setup.lead)
    url = f"/council/challenges/{setup.challenge.id}/audit"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<form method="get" action="[^"]*/audit"', page)
    assert '<option value="evaluation.sheet_submitted"' in page
    response = client.get(url + "?action=evaluation.sheet_submitted")
    assert "2 events of" in text_of(response)
    table = response.get_data(as_text=True).split("<tbody", 1)[1]
    assert "Scores submitted" in table and "Bids opened for evaluation" not in table
    assert '<option value="evaluation.sheet_submitted" selected' in response.get_data(
        as_text=True)
    assert "No events of this kind" in text_of(client.get(url + "?action=nothing.here"))


def test_the_trail_page_changes_nothing(app: Flask) -> None:
    """Only GET forms (plus the site's sign-out button): no way to edit or delete events."""
    setup = scored(evaluation_setup(bidders=1, evaluators=1))
    url = f"/council/challenges/{setup.challenge.id}/audit"
    client = browser(app, setup.lead)
    count = db.session.query(AuditEvent).count()
    page = client.get(url).get_data(as_text=True)
    posts = re.findall(r'<form[^>]*method="post"[^>]*>', page)
    assert all("sign-out" in form for form in posts), posts
    assert client.post(url, data={}).status_code == 405
    # Looking at the trail is not itself an event.
    assert db.session.query(AuditEvent).count() == count


def test_sealed_bids_stay_out_of_the_trail_until_the_deadline(app: Flask) -> None:
    lead = council_user("procurement_officer", full_name="Lena Lead")
    challenge = open_challenge(lead)
    bidder = supplier_user("bidder")
    bid = submitted_bid(bidder, challenge.id)
    challenge_service.follow(bidder, challenge.id)
    events = trail.challenge_audit_trail(lead, challenge.id)
    assert not [e for e in events if e.object_type == "bid"]
    assert "challenge.followed" not in {e.action for e in events}
    assert bidder.email not in text_of(
        browser(app, lead).get(f"/council/challenges/{challenge.id}/audit"))
    close(challenge.id)
    events = trail.challenge_audit_trail(lead, challenge.id)
    assert {"bid.started", "bid.submitted"} <= {
        e.action for e in events if e.object_type == "bid" and e.object_id == str(bid.id)}
    assert "challenge.followed" not in {e.action for e in events}


def test_trail_refusals(app: Flask) -> None:
    setup = scored(evaluation_setup(bidders=1, evaluators=1))
    url = f"/council/challenges/{setup.challenge.id}/audit"
    stranger = council_user("procurement_officer")
    assert browser(app, setup.bidders[0]).get(url).status_code == 403
    assert browser(app, setup.evaluators[0]).get(url).status_code == 403
    assert browser(app, stranger).get(url).status_code == 404
    with pytest.raises(PermissionDenied):
        trail.challenge_audit_trail(setup.evaluators[0], setup.challenge.id)
    with pytest.raises(NotFound):
        trail.challenge_audit_trail(stranger, setup.challenge.id)


def test_a_co_sponsors_officer_is_a_lead_too(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=1, evaluators=1))
    partner = CouncilFactory(name="Partner Borough")
    db.session.add(ChallengeSponsor(challenge_id=setup.challenge.id,
                                    organisation_id=partner.id))
    db.session.commit()
    officer = council_user("procurement_officer", organisation=partner)
    client = browser(app, officer)
    assert client.get(f"/council/challenges/{setup.challenge.id}/audit").status_code == 200
    assert client.get(_url("csv", setup.challenge.id, "award")).status_code == 200


def test_unknown_table_is_checked_after_permission(app: Flask) -> None:
    setup = moderated(evaluation_setup(bidders=1, evaluators=1))
    with pytest.raises(ValidationFailed):
        exports.export(setup.lead, setup.challenge.id, "bids", "csv")
    with pytest.raises(NotFound):
        exports.export(council_user("procurement_officer"), setup.challenge.id, "bids", "csv")


# --------------------------------------------------------------------------- insights


def _noon(days_ago: int) -> datetime:
    """Midday UTC ``days_ago`` days ago: the same calendar day in UK time, summer or winter
    (so day counts do not depend on the time the tests run)."""
    return (utcnow() - timedelta(days=days_ago)).replace(hour=12, minute=0, second=0,
                                                         microsecond=0)


def _awarded(lead: User, evaluator: User, title: str, suppliers: list[tuple[str, str | None]],
             published_days_before: int, decided_days_ago: int = 1) -> EvalSetup:
    """A challenge of the lead's council, bid for by ``suppliers`` (name, size band),
    evaluated, shortlisted and awarded to the first; the decision dated midday
    ``decided_days_ago`` days ago, publication ``published_days_before`` days before it."""
    challenge = open_challenge(lead, title)
    bids, bidders = [], []
    for name, size in suppliers:
        org = SupplierFactory(name=name)
        if size:
            _set_size(org.id, size)
        bidder = supplier_user("bidder", organisation=org)
        bids.append(submitted_bid(bidder, challenge.id))
        bidders.append(bidder)
    close(challenge.id)
    setup = EvalSetup(council=lead.organisation, lead=lead, evaluators=[evaluator],
                      challenge=challenge, bids=bids, bidders=bidders)
    moderated(setup.refresh())
    _award_first(setup)
    row = db.session.get(Challenge, challenge.id)
    assert row is not None and row.award_decided_at is not None
    row.award_decided_at = _noon(decided_days_ago)
    row.published_at = _noon(decided_days_ago + published_days_before)
    db.session.commit()
    return setup


def _known_dataset() -> dict[str, Any]:
    """One open challenge (one bid so far), one awarded to an SME out of 2 bids (final: the
    standstill is over), one awarded to a large company out of 3 (in standstill); and another
    council's challenge that must not count."""
    lead = council_user("procurement_officer", full_name="Lena Lead")
    council = lead.organisation
    evaluator = council_user("evaluator", organisation=council, full_name="Evan Evaluator")
    open_one = open_challenge(lead, "Open: gritting routes")
    submitted_bid(supplier_user("bidder"), open_one.id)
    sme = _awarded(lead, evaluator, 'Potholes <script>alert("x")</script> & more',
                   [("Tiny Roads Ltd", "small"), ("Big Roads plc", "large")], 30,
                   decided_days_ago=41)
    # Its standstill is over: the award is final.
    row = db.session.get(Challenge, sme.challenge.id)
    assert row is not None
    row.awarded_at = utcnow() - timedelta(days=1)
    db.session.commit()
    large = _awarded(lead, evaluator, "Street lighting",
                     [("Huge Lights plc", "large"), ("Small Lights Ltd", "micro"),
                      ("Unknown Lights", None)], 45)
    open_challenge(council_user("procurement_officer"), "Another council's challenge")
    return {"lead": lead, "council": council, "sme": sme, "large": large, "open": open_one}


def test_insights_numbers_from_a_known_dataset(app: Flask) -> None:
    data = _known_dataset()
    found = insights.council_insights(data["lead"])
    assert [(s.status, s.count) for s in found.states] == [
        ("open", 1), ("standstill", 1), ("awarded", 1)]
    assert found.total == 3
    assert {b.challenge.id: b.bids for b in found.bids} == {
        data["sme"].challenge.id: 2, data["large"].challenge.id: 3}
    assert [(w.supplier_name, w.size_group) for w in found.winners] == [
        ("Tiny Roads Ltd", "sme"), ("Huge Lights plc", "large")]
    assert found.sme_share == 50.0
    assert sorted(a.days for a in found.award_times) == [30, 45]
    assert found.median_days == 37.5
    # Any member of the council sees the same figures; another council sees only its own.
    evaluator = council_user("evaluator", organisation=data["council"])
    assert insights.council_insights(evaluator).total == 3
    assert insights.council_insights(council_user("evaluator")).total == 0
    with pytest.raises(PermissionDenied):
        insights.council_insights(supplier_user("bidder"))


def test_insights_count_co_sponsored_challenges(app: Flask) -> None:
    member = council_user("evaluator")
    challenge = open_challenge(council_user("procurement_officer"), "Shared bins")
    db.session.add(ChallengeSponsor(challenge_id=challenge.id,
                                    organisation_id=member.organisation_id))
    db.session.commit()
    found = insights.council_insights(member)
    assert [(s.status, s.count) for s in found.states] == [("open", 1)]
    assert found.bids == [] and found.winners == [] and found.sme_share is None
    assert found.median_days is None


def _chart(page: str, chart_id: str) -> str:
    match = re.search(rf'<svg[^>]*aria-labelledby="{chart_id}-title {chart_id}-desc".*?</svg>',
                      page, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def _table(page: str, chart_id: str) -> list[tuple[str, str]]:
    match = re.search(rf'<table[^>]*id="{chart_id}-table".*?</table>', page, re.S)
    assert match, f"no table for {chart_id}"
    table = match.group(0)
    assert "<caption" in table and 'scope="col"' in table
    return re.findall(r'<th scope="row" class="govuk-table__header">(.*?)</th>\s*'
                      r'<td class="govuk-table__cell govuk-table__cell--numeric">(.*?)</td>',
                      table, re.S)


def test_insights_page_draws_accessible_charts_with_tables_of_the_same_numbers(
        app: Flask) -> None:
    data = _known_dataset()
    response = browser(app, data["lead"]).get("/council/insights")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "<script>alert" not in page
    assert "Potholes &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in page
    assert ' style="' not in page.split("<main", 1)[1]

    assert _table(page, "chart-states") == [
        ("Open", "1"), ("Award decided: standstill", "1"), ("Awarded", "1")]
    bids = dict(_table(page, "chart-bids"))
    assert bids == {"Street lighting": "3",
                    "Potholes &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more": "2"}
    assert _table(page, "chart-winners") == [
        ("SMEs (micro, small or medium)", "1"), ("Large companies", "1")]
    assert sorted(_table(page, "chart-days"), key=lambda r: r[1]) == [
        ("Potholes &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more", "30 days"),
        ("Street lighting", "45 days")]
    assert "50% of winning bids went to SMEs: 1 of 2" in text
    assert "Median: 37.5 days over 2 award decisions" in text

    for chart_id, rows in (("chart-states", 3), ("chart-bids", 2), ("chart-winners", 2),
                           ("chart-days", 2)):
        svg = _chart(page, chart_id)
        assert 'role="img"' in svg
        assert re.search(rf'<title id="{chart_id}-title">[^<]+</title>', svg)
        assert f'<desc id="{chart_id}-desc">' in svg
        assert len(re.findall(r"<rect ", svg)) == rows
        values = [v for _, v in _table(page, chart_id)]
        bar_texts = re.findall(r'font-weight="bold" fill="#0b0c0c">([^<]*)</text>', svg)
        assert bar_texts == values
    assert "<script" not in _chart(page, "chart-bids")
    assert "&lt;script&gt;" in _chart(page, "chart-bids")


def test_insights_for_a_new_council_and_refusals(app: Flask) -> None:
    member = council_user("evaluator")
    response = browser(app, member).get("/council/insights")
    assert response.status_code == 200
    text = text_of(response)
    assert "Your council has no challenges yet." in text
    assert "<svg" not in response.get_data(as_text=True)
    assert browser(app, supplier_user("bidder")).get("/council/insights").status_code == 403
    anonymous = browser(app).get("/council/insights")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]


def test_the_council_dashboard_links_to_insights(app: Flask) -> None:
    member = council_user("evaluator")
    page = browser(app, member).get("/council/challenges").get_data(as_text=True)
    assert 'href="/council/insights"' in page


def test_moderated_scores_and_sheets_are_attached_to_the_challenge_trail(app: Flask) -> None:
    """Events recorded against rows under the challenge (score sheets, assignments,
    moderated scores...) are found by their ids."""
    setup = moderated(evaluation_setup(bidders=1, evaluators=1))
    sheet_ids = {str(s.id) for a in db.session.scalars(
        select(EvaluatorAssignment)) for s in a.sheets}
    moderated_ids = {str(m.id) for m in db.session.scalars(select(ModeratedScore))}
    assert sheet_ids and moderated_ids
    assert db.session.scalars(select(EvaluatorScore)).first() is not None
    events = trail.challenge_audit_trail(setup.lead, setup.challenge.id)
    assert {e.object_id for e in events if e.object_type == "score_sheet"} == sheet_ids
    assert any(e.object_type == "evaluator_assignment" for e in events)
