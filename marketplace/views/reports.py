"""Council records: evaluation exports, the per-challenge audit trail and insights.

The services decide who may see what (the challenge's lead for exports and the trail, any
council member for their own council's insights); these views turn the answers into
downloads and pages. Charts are inline SVG drawn on the server, with the same numbers in a
table beside each one: no JavaScript, and nothing the content security policy forbids.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request, send_file
from flask_login import current_user

from marketplace import access
from marketplace.errors import problem, wants_json
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Bid,
    Challenge,
    ChallengeInvitation,
    EvaluatorAssignment,
    ScoreSheet,
    User,
)
from marketplace.services import challenges as challenge_service
from marketplace.services import exports, insights, trail
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.templating import uk_datetime

bp = Blueprint("reports", __name__, url_prefix="/council")

officer_page = access.roles(challenge_service.OFFICER, kind="council")


def _actor() -> User:
    return current_user._get_current_object()


def _refusal(status: int, title: str, detail: str) -> Any:
    """A problem+json answer for machine clients, else an error page."""
    if wants_json():
        return problem(status, detail, title)
    return render_template("errors/generic.html", status=status, title=title,
                           detail=detail), status


# Exports ---------------------------------------------------------------------------------

def _export(challenge_id: int, fmt: str) -> Any:
    table = request.args.get("table", "matrix")
    try:
        download = exports.export(_actor(), challenge_id, table, fmt)
    except ValidationFailed as err:
        return _refusal(400, "There was a problem with your request", err.message)
    except Conflict as err:
        return _refusal(409, "There is nothing to export yet", err.message)
    response = send_file(io.BytesIO(download.data), mimetype=download.mimetype,
                         as_attachment=True, download_name=download.filename)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/challenges/<int:challenge_id>/evaluation/export.csv")
@officer_page
def export_csv(challenge_id: int) -> Any:
    return _export(challenge_id, "csv")


@bp.get("/challenges/<int:challenge_id>/evaluation/export.xlsx")
@officer_page
def export_xlsx(challenge_id: int) -> Any:
    return _export(challenge_id, "xlsx")


# The audit trail ---------------------------------------------------------------------------

ACTION_LABELS: dict[str, str] = {
    "challenge.created": "Challenge created",
    "challenge.edited": "Challenge edited",
    "challenge.submitted_for_approval": "Sent for approval",
    "challenge.approved": "Challenge approved",
    "challenge.returned_to_draft": "Returned to draft",
    "challenge.published": "Challenge published",
    "challenge.amended": "Published challenge amended",
    "challenge.withdrawn": "Challenge withdrawn",
    "challenge.cancelled": "Challenge cancelled",
    "challenge.supplier_invited": "Supplier invited to bid",
    "challenge.award_decided": "Award decided",
    "challenge.no_suitable_supplier": "No suitable supplier declared",
    "question.asked": "Clarification question asked",
    "question.answered": "Clarification question answered",
    "question.rejected": "Clarification question rejected",
    "bid.started": "Bid started",
    "bid.saved": "Bid draft saved",
    "bid.submitted": "Bid submitted",
    "bid.withdrawn": "Bid withdrawn",
    "bid.opened": "Bid opened and read",
    "bid.attachment_added": "Bid attachment added",
    "bid.attachment_removed": "Bid attachment removed",
    "bid.attachment_downloaded": "Bid attachment downloaded",
    "bid.access_refused": "Access to sealed bids refused",
    "evaluation.bids_opened": "Bids opened for evaluation",
    "evaluation.evaluator_assigned": "Evaluator assigned",
    "evaluation.evaluator_removed": "Evaluator removed",
    "evaluation.score_descriptions_changed": "Score descriptions changed",
    "evaluation.conflict_declared": "Conflict of interest declaration",
    "evaluation.scores_saved": "Draft scores saved",
    "evaluation.sheet_submitted": "Scores submitted",
    "evaluation.scores_revised": "Submitted scores changed",
    "evaluation.moderated": "Scores moderated",
    "evaluation.bid_excluded": "Bid excluded",
    "evaluation.bid_reinstated": "Bid reinstated",
    "evaluation.shortlisted": "Shortlist confirmed",
    "evaluation.interview_set": "Interview arranged",
    "reports.exported": "Evaluation records exported",
}


def action_label(action: str) -> str:
    """An action in words: "evaluation.scores_revised" -> "Submitted scores changed"."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    area, _, verb = action.partition(".")
    return f"{area.replace('_', ' ').capitalize()}: {verb.replace('_', ' ')}".rstrip(": ")


@dataclass
class Names:
    """What the objects and ids under a challenge are called, for the trail."""

    criteria: dict[str, str] = field(default_factory=dict)
    requirements: dict[str, str] = field(default_factory=dict)
    objects: dict[tuple[str, str], str] = field(default_factory=dict)


def _names(challenge: Challenge, events: list[AuditEvent]) -> Names:
    names = Names(criteria={str(c.id): c.name for c in challenge.criteria},
                  requirements={str(r.id): r.text for r in challenge.requirements})
    ids: dict[str, set[int]] = {}
    for event in events:
        if event.object_id and event.object_id.isdigit():
            ids.setdefault(event.object_type, set()).add(int(event.object_id))
    bid_ids = ids.get("bid", set()) | ids.get("bid_assessment", set())
    suppliers = {b.id: b.supplier.name for b in db.session.query(Bid).filter(
        Bid.id.in_(bid_ids))} if bid_ids else {}
    for bid_id, supplier in suppliers.items():
        names.objects["bid", str(bid_id)] = f"Bid from {supplier}"
        names.objects["bid_assessment", str(bid_id)] = f"Assessment of the bid from {supplier}"
    for sheet in db.session.query(ScoreSheet).filter(
            ScoreSheet.id.in_(ids.get("score_sheet", set()))):
        names.objects["score_sheet", str(sheet.id)] = (
            f"Score sheet of {sheet.assignment.user.full_name} for the bid from "
            f"{sheet.bid.supplier.name}")
    for assignment in db.session.query(EvaluatorAssignment).filter(
            EvaluatorAssignment.id.in_(ids.get("evaluator_assignment", set()))):
        names.objects["evaluator_assignment", str(assignment.id)] = (
            f"Evaluator {assignment.user.full_name}")
    for invitation in db.session.query(ChallengeInvitation).filter(
            ChallengeInvitation.id.in_(ids.get("challenge_invitation", set()))):
        names.objects["challenge_invitation", str(invitation.id)] = (
            f"Invitation to {invitation.supplier.name}")
    names.objects["challenge", str(challenge.id)] = "This challenge"
    return names


def object_label(event: AuditEvent, names: Names) -> str:
    known = names.objects.get((event.object_type, event.object_id or ""))
    if known:
        return known
    kind = event.object_type.replace("_", " ").capitalize()
    return f"{kind} {event.object_id}" if event.object_id else kind


def _key(key: str, parent: str, names: Names) -> str:
    if key.isdigit():
        table = names.requirements if parent == "requirements" else names.criteria
        if key in table:
            return table[key]
    return key.replace("_", " ").capitalize()


ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def _value(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        if ISO_MOMENT.fullmatch(value):
            return uk_datetime(datetime.fromisoformat(value))
        return value or "(blank)"
    if isinstance(value, dict):
        return ", ".join(f"{_key(str(k), '', Names())}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_value(v) for v in value) or "None"
    return str(value)


def changes(data: dict[str, Any] | None, names: Names, parent: str = ""
            ) -> list[tuple[str, str]]:
    """A before/after dict as (key, value) pairs in words; nested dicts become "a: b" keys,
    criterion and requirement ids become their names. Plain text: the page escapes it."""
    pairs: list[tuple[str, str]] = []
    for key, value in (data or {}).items():
        label = _key(str(key), parent, names)
        if isinstance(value, dict):
            for inner, text in changes(value, names, str(key)):
                pairs.append((f"{label}: {inner}", text))
        else:
            pairs.append((label, _value(value)))
    return pairs


def differences(before: list[tuple[str, str]], after: list[tuple[str, str]]
                ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Only the pairs that differ between before and after (all of them when one side is
    empty or nothing differs)."""
    if not before or not after:
        return before, after
    old, new = dict(before), dict(after)
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    if not changed:
        return before, after
    return ([p for p in before if p[0] in changed], [p for p in after if p[0] in changed])


@dataclass(frozen=True)
class TrailRow:
    event: AuditEvent
    who: str
    organisation: str
    action: str
    object: str
    before: list[tuple[str, str]]
    after: list[tuple[str, str]]


@bp.get("/challenges/<int:challenge_id>/audit")
@officer_page
def audit_trail(challenge_id: int) -> Any:
    events = trail.challenge_audit_trail(_actor(), challenge_id)
    challenge = db.session.get(Challenge, challenge_id)
    assert challenge is not None
    names = _names(challenge, events)
    actions = sorted({e.action for e in events}, key=action_label)
    chosen = request.args.get("action", "")
    shown = [e for e in events if e.action == chosen] if chosen else events
    rows = []
    for e in shown:
        before, after = differences(changes(e.before, names), changes(e.after, names))
        rows.append(TrailRow(event=e, who=e.actor.full_name if e.actor else e.actor_label,
                             organisation=e.organisation.name if e.organisation else "",
                             action=action_label(e.action), object=object_label(e, names),
                             before=before, after=after))
    return render_template("reports/audit_trail.html", challenge=challenge, rows=rows,
                           actions=[(a, action_label(a)) for a in actions], chosen=chosen,
                           total=len(events))


# Insights ----------------------------------------------------------------------------------

CHART_WIDTH = 640
LABEL_WIDTH = 230
VALUE_SPACE = 70
BAR_HEIGHT = 24
BAR_GAP = 12
LABEL_CHARS = 30


@dataclass(frozen=True)
class ChartBar:
    label: str
    short_label: str
    value: float
    text: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: geometry worked out here, drawn by reports/_chart.html."""

    id: str
    title: str
    description: str
    bars: list[ChartBar]
    width: int
    height: int
    label_width: int


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1].rstrip() + "…"


def bar_chart(chart_id: str, title: str, items: list[tuple[str, float, str]]) -> BarChart:
    """Bars for (label, value, value as text); lengths are scaled to the largest value."""
    largest = max((value for _, value, _ in items), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_SPACE
    bars = [ChartBar(label=label, short_label=_short(label), value=value, text=text,
                     y=BAR_GAP + i * (BAR_HEIGHT + BAR_GAP),
                     width=round(room * value / largest, 1))
            for i, (label, value, text) in enumerate(items)]
    description = "; ".join(f"{label}: {text}" for label, _, text in items)
    return BarChart(id=chart_id, title=title, description=description or "No data",
                    bars=bars, width=CHART_WIDTH, label_width=LABEL_WIDTH,
                    height=BAR_GAP + len(items) * (BAR_HEIGHT + BAR_GAP))


def _days(n: float) -> str:
    """"1 day", "12 days", "12.5 days" (a median may fall between two whole days)."""
    return "1 day" if n == 1 else f"{n:g} days"


# Endpoint "reports.insights" (the function's own name would shadow the service module).
@bp.get("/insights", endpoint="insights")
@access.roles(kind="council")
def insights_page() -> Any:
    data = insights.council_insights(_actor())
    winners = [("SMEs (micro, small or medium)", data.winners_in("sme")),
               ("Large companies", data.winners_in("large")),
               ("Size not stated", data.winners_in("unknown"))]
    charts = {
        "states": bar_chart("chart-states", "Challenges by state",
                            [(s.label, s.count, str(s.count)) for s in data.states]),
        "bids": bar_chart("chart-bids", "Bids received per closed challenge",
                          [(b.challenge.title, b.bids, str(b.bids)) for b in data.bids]),
        "winners": bar_chart("chart-winners", "Winning bids by supplier size",
                             [(label, n, str(n)) for label, n in winners if n]),
        "days": bar_chart("chart-days", "Days from publication to award decision",
                          [(a.challenge.title, a.days, _days(a.days))
                           for a in data.award_times]),
    }
    return render_template("reports/insights.html", data=data, charts=charts,
                           median=_days(data.median_days or 0))
