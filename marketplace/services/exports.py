"""Evaluation records as spreadsheets: the scoring matrix and the award decision, as rows,
then as CSV or XLSX for the challenge's lead.

An export takes bid data out of the service, so each one is audited. Text that people typed
(supplier names, comments, rationales, titles) is escaped against spreadsheet formula
injection: a cell starting with = + - @, a tab or a carriage return gets a leading apostrophe,
so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    EvaluatorAssignment,
    ScoreSheet,
    SupplierProfile,
    User,
)
from marketplace.services import audit, evaluation, trail
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.services.uow import transactional

UK = ZoneInfo("Europe/London")
TABLES: dict[str, str] = {"matrix": "Evaluation matrix", "award": "Award decision"}
FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SME_SIZES = frozenset({"micro", "small", "medium"})
CSV_DATETIME = "%Y-%m-%d %H:%M"
XLSX_FORMATS = {"datetime": "d mmmm yyyy hh:mm", "money": "£#,##0.00", "decimal": "0.00"}
MIN_WIDTH, MAX_WIDTH = 8, 60


@dataclass(frozen=True)
class Column:
    """A column: its header and the kind of value it holds (text, int, decimal, money,
    datetime), which decides how a spreadsheet formats it."""

    header: str
    kind: str = "text"


@dataclass
class Table:
    """A table of rows, ready to be written as CSV or XLSX."""

    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Download:
    filename: str
    mimetype: str
    data: bytes


# Cells ---------------------------------------------------------------------------------------

def safe_text(value: str) -> str:
    """Text a spreadsheet will not read as a formula (leading apostrophe when needed)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _uk(value: datetime | None) -> datetime | None:
    """A moment as UK wall-clock time without a zone (spreadsheets have no time zones)."""
    return value.astimezone(UK).replace(tzinfo=None) if value else None


def _sme(size: str | None) -> str:
    if size is None:
        return "Not stated"
    return _yes_no(size in SME_SIZES)


# Rows ----------------------------------------------------------------------------------------

MATRIX_COLUMNS = [
    Column("Rank", "int"), Column("Supplier"), Column("Bid reference", "int"),
    Column("Criterion"), Column("Weight (%)", "int"), Column("Evaluator"),
    Column("Evaluator sheet"), Column("Evaluator score (0-4)", "int"),
    Column("Evaluator comment"), Column("Mean of evaluator scores", "decimal"),
    Column("Moderated score (0-4)", "int"), Column("Moderation rationale"),
    Column("Weighted total", "decimal"), Column("Excluded"), Column("Exclusion reason"),
    Column("Shortlisted"), Column("Awarded"),
]
AWARD_COLUMNS = [
    Column("Challenge"), Column("Award decided", "datetime"),
    Column("Standstill ends", "datetime"), Column("Supplier"), Column("SME"),
    Column("Weighted total", "decimal"), Column("Rank", "int"), Column("Shortlisted"),
    Column("Awarded"), Column("Award value (£)", "money"),
]


def _sheet_state(sheet: ScoreSheet | None) -> str:
    if sheet is None:
        return "Not started"
    if sheet.has_conflict:
        return "Conflict of interest declared"
    return "Submitted" if sheet.submitted_at else "Not submitted"


def _evaluators(challenge: Challenge) -> list[EvaluatorAssignment]:
    return list(db.session.scalars(
        select(EvaluatorAssignment).join(User, User.id == EvaluatorAssignment.user_id)
        .where(EvaluatorAssignment.challenge_id == challenge.id,
               EvaluatorAssignment.removed_at.is_(None))
        .order_by(User.full_name, EvaluatorAssignment.id)))


def matrix_table(actor: User, challenge: Challenge) -> Table:
    """One row per bid, criterion and evaluator: the evaluator's score and comment (only from
    submitted sheets: drafts are not scores yet), the moderated score and rationale, the
    weighted total and the exclusion, shortlist and award decisions."""
    ranked = evaluation.ranking(actor, challenge.id)
    assignments = _evaluators(challenge)
    sheets = {(s.assignment_id, s.bid_id): s for a in assignments for s in a.sheets}
    table = Table("matrix", TABLES["matrix"], MATRIX_COLUMNS)
    for item in ranked:
        bid, assessment = item.bid, item.assessment
        decisions = [
            item.total, _yes_no(assessment.excluded), assessment.exclusion_reason or "",
            _yes_no(assessment.shortlisted), _yes_no(assessment.awarded),
        ]
        for criterion in challenge.criteria:
            moderated = item.moderated.get(criterion.id)
            head = [item.rank, bid.supplier.name, bid.id, criterion.name, criterion.weight]
            tail = [item.means.get(criterion.id),
                    moderated.score if moderated else None,
                    moderated.rationale if moderated else "", *decisions]
            if not assignments:
                table.rows.append([*head, "", "", None, "", *tail])
            for assignment in assignments:
                sheet = sheets.get((assignment.id, bid.id))
                mark = sheet.score_for(criterion.id) if sheet and sheet.submitted_at else None
                table.rows.append([
                    *head, assignment.user.full_name, _sheet_state(sheet),
                    mark.score if mark else None, mark.comment if mark else "", *tail])
    return table


def award_table(actor: User, challenge: Challenge) -> Table:
    """The award decision: when it was made, when standstill ends, and every evaluated bid
    with its supplier, SME status, total, rank, shortlist and award."""
    ranked = evaluation.ranking(actor, challenge.id)
    sizes = dict(db.session.execute(
        select(SupplierProfile.organisation_id, SupplierProfile.size).where(
            SupplierProfile.organisation_id.in_([r.bid.supplier_id for r in ranked]))).all())
    table = Table("award", TABLES["award"], AWARD_COLUMNS)
    for item in ranked:
        assessment = item.assessment
        table.rows.append([
            challenge.title, challenge.award_decided_at, challenge.awarded_at,
            item.bid.supplier.name, _sme(sizes.get(item.bid.supplier_id)), item.total,
            item.rank, _yes_no(assessment.shortlisted), _yes_no(assessment.awarded),
            assessment.award_value if assessment.awarded else None,
        ])
    return table


# Formats -------------------------------------------------------------------------------------

def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UK).strftime(CSV_DATETIME)
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, str):
        return safe_text(value)
    return str(value)


def to_csv(table: Table) -> bytes:
    """UTF-8 CSV with a byte order mark (so spreadsheet programs read the encoding)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_text(c.header) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _uk(value)
    if isinstance(value, str):
        return safe_text(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _width(value: Any, kind: str) -> int:
    if value is None:
        return 0
    if kind == "datetime":
        return 22
    if kind in {"money", "decimal"}:
        return len(f"{value:,.2f}") + 2
    return max((len(line) for line in str(value).splitlines()), default=0)


def to_xlsx(table: Table) -> bytes:
    """A workbook with one sheet: bold, frozen header row, filters, sized columns, numbers
    and dates stored as numbers and dates."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = table.title[:31]
    bold = Font(bold=True)
    for col, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=1, column=col, value=safe_text(column.header))
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(c.header) for c in table.columns]
    for row_number, row in enumerate(table.rows, start=2):
        for col, (column, value) in enumerate(zip(table.columns, row, strict=True), start=1):
            cell = sheet.cell(row=row_number, column=col, value=_xlsx_value(value))
            if column.kind in XLSX_FORMATS:
                cell.number_format = XLSX_FORMATS[column.kind]
            widths[col - 1] = max(widths[col - 1], _width(value, column.kind))
    for col, width in enumerate(widths, start=1):
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
        if width > MAX_WIDTH:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# The use case --------------------------------------------------------------------------------

def filename(challenge: Challenge, table: str, fmt: str) -> str:
    """A safe download name: ASCII letters, digits and hyphens only."""
    slug = re.sub(r"[^a-z0-9]+", "-", challenge.title.lower()).strip("-")[:40].strip("-")
    parts = [f"challenge-{challenge.id}", slug, TABLES[table].lower().replace(" ", "-")]
    return "-".join(p for p in parts if p) + f".{fmt}"


@transactional
def export(actor: User, challenge_id: int, table: str, fmt: str) -> Download:
    """The evaluation matrix or the award decision as CSV or XLSX, for the challenge's lead
    once the bids are opened. Audited as ``reports.exported``."""
    challenge = trail.lead_challenge(actor, challenge_id, "export evaluation records")
    if table not in TABLES:
        raise ValidationFailed("Choose the evaluation matrix (table=matrix) or the award "
                               "decision (table=award)", field="table")
    if fmt not in FORMATS:
        raise ValidationFailed("Choose CSV or XLSX", field="format")
    if challenge.evaluation_started_at is None:
        raise Conflict("The bids have not been opened yet, so there is nothing to export")
    rows = matrix_table(actor, challenge) if table == "matrix" else award_table(actor, challenge)
    data = to_csv(rows) if fmt == "csv" else to_xlsx(rows)
    audit.record("reports.exported", challenge, actor=actor,
                 organisation=challenge.lead_council_id,
                 after={"table": table, "format": fmt, "rows": len(rows.rows)})
    return Download(filename(challenge, table, fmt), FORMATS[fmt], data)
