"""Public challenge pages: search and filters, the challenge page with its Q&A and
amendments, the Atom feeds of new challenges and of awards, the CSV download of the list, and
supplier actions (questions, following)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from marketplace import access, reference
from marketplace.forms.accounts import ConfirmForm
from marketplace.forms.questions import QUESTION_MAX, QuestionForm
from marketplace.models import STATUS_LABELS, Challenge, ChallengeStatus, User, utcnow
from marketplace.services import award as award_service
from marketplace.services import challenges as service
from marketplace.services import search
from marketplace.services.email import absolute_url
from marketplace.services.errors import Conflict, ServiceError
from marketplace.services.exports import safe_text
from marketplace.templating import UK, pagination_params, uk_date
from marketplace.views import flash_error
from marketplace.views.bids import pounds

bp = Blueprint("challenges", __name__, url_prefix="/challenges")
FEED_SIZE = 50
DOWNLOAD_LIMIT = 10_000
ATOM_MIMETYPE = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 cannot hold (lxml refuses them, which would break the whole feed).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_QUERY = 200
MAX_PAGE = 100_000
TRUE_VALUES = {"1", "true", "on", "yes", "y"}

# GOV.UK Frontend 6 tag colours for each state.


def _actor() -> User | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


# Search parameters ------------------------------------------------------------------------

def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return default


def parse_params(args: MultiDict[str, str], council_ids: set[int]) -> search.SearchParams:
    """Search parameters from the query string; anything unknown or malformed is ignored."""
    q = " ".join((args.get("q") or "").split())[:MAX_QUERY]
    status = args.get("status") if args.get("status") in search.STATUS_FILTERS else None
    region = reference.normalise_region(args.get("region") or "")
    division = (args.get("division") or "").strip()
    if division not in {d.division for d in reference.cpv_divisions()}:
        division = ""
    budget = args.get("budget")
    if budget not in {band.key for band in reference.BUDGET_BANDS}:
        budget = None
    council_id = _int(args.get("council"))
    if council_id not in council_ids:
        council_id = None
    sort = args.get("sort") if args.get("sort") in search.SORTS else "closing"
    page = _int(args.get("page"), 1) or 1
    page = min(max(page, 1), MAX_PAGE)
    return search.SearchParams(
        q=q, status=status, region=region, division=division or None, budget=budget,
        council_id=council_id, sme=(args.get("sme") or "").lower() in TRUE_VALUES,
        sort=sort, page=page)


def query_args(params: search.SearchParams, **changes: Any) -> dict[str, Any]:
    """The query string for these parameters, leaving out defaults."""
    values: dict[str, Any] = {
        "q": params.q, "status": params.status, "region": params.region,
        "division": params.division, "budget": params.budget, "council": params.council_id,
        "sme": "1" if params.sme else None,
        "sort": params.sort if params.sort != "closing" else None,
        "page": params.page,
    }
    values.update(changes)
    if values["page"] == 1:
        values["page"] = None
    return {k: v for k, v in values.items() if v not in (None, "")}


def pagination(result: search.SearchPage) -> dict[str, Any] | None:
    """Parameters for the GOV.UK pagination component, keeping the filters in each link."""
    return pagination_params(
        result.page, result.pages,
        lambda page: url_for("challenges.index", **query_args(result.params, page=page)))


def active_filters(params: search.SearchParams, councils: dict[int, str]) -> list[str]:
    found = []
    if params.status:
        found.append(search.STATUS_FILTERS[params.status])
    if params.region:
        found.append(params.region)
    if params.division:
        found.append(reference.division_label(params.division))
    if params.budget:
        found.append(next(b.label for b in reference.BUDGET_BANDS if b.key == params.budget))
    if params.council_id:
        found.append(councils[params.council_id])
    if params.sme:
        found.append("Suitable for SMEs")
    return found


# Views ----------------------------------------------------------------------------------

@bp.get("")
@access.public
def index():
    councils = search.council_choices()
    council_names = {c.id: c.name for c in councils}
    params = parse_params(request.args, set(council_names))
    result = search.search(params)
    return render_template(
        "challenges/index.html",
        result=result,
        params=params,
        councils=councils,
        regions=reference.REGIONS,
        divisions=reference.cpv_divisions(),
        budget_bands=reference.BUDGET_BANDS,
        sorts=search.SORTS,
        statuses=search.STATUS_FILTERS,
        pagination=pagination(result),
        filters_used=active_filters(params, council_names),
        download_url=url_for("challenges.download", **query_args(params, page=None)),
        download_limit=DOWNLOAD_LIMIT,
        now=utcnow(),
    )


def _challenge_or_404(challenge_id: int) -> Challenge:
    return service.get_challenge(challenge_id, _actor())


def _render_detail(challenge: Challenge, form: QuestionForm | None = None, status: int = 200):
    actor = _actor()
    supplier = bool(actor and actor.is_supplier_user)
    can_ask = bool(supplier and actor.has_role(*service.SUPPLIER_ROLES))  # type: ignore[union-attr]
    council_editor = bool(actor and actor.is_council_user and actor.has_role(*service.EDITORS))
    original = challenge.copied_from
    if original is not None and not service.visible_to(actor, original):
        original = None
    questions_open = service.questions_open(challenge)
    if form is None and can_ask and questions_open:
        form = QuestionForm()
    return render_template(
        "challenges/detail.html",
        challenge=challenge,
        status_value=challenge.status.value,
        amendments=sorted(challenge.amendments, key=lambda a: a.created_at, reverse=True),
        published_questions=service.published_questions(challenge),
        own_questions=service.questions_for_supplier(actor, challenge) if supplier else [],
        questions_open=questions_open,
        can_ask=can_ask,
        form=form if can_ask and questions_open else None,
        question_max=QUESTION_MAX,
        supplier=supplier,
        following=service.is_following(actor, challenge),
        # Any council's editors may reuse what they can see (the council pages make the copy).
        reuse_url=url_for("council.copy", challenge_id=challenge.id) if council_editor else None,
        reused=service.reuse_count(challenge),
        original=original,
        award_notice=award_service.award_notice(challenge),
        # Only signed-in people get buttons: making the form would give an anonymous
        # visitor a session cookie (its CSRF token) for nothing.
        confirm=ConfirmForm() if actor is not None else None,
    ), status


@bp.get("/<int:challenge_id>")
@access.public
def detail(challenge_id: int):
    return _render_detail(_challenge_or_404(challenge_id))


@bp.post("/<int:challenge_id>/questions")
@access.roles("bidder", "org_admin", kind="supplier")
def ask(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    form = QuestionForm()
    status = 400
    if form.validate_on_submit():
        try:
            service.ask_question(_actor(), challenge_id, form.question.data)
        except ServiceError as err:
            form.apply_error(err)
            status = 409 if isinstance(err, Conflict) else 400
        else:
            flash("Your question has been sent to the council. You will get an email when it "
                  "is answered", "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge_id,
                                    _anchor="your-questions"))
    if not service.questions_open(challenge):
        # The form is no longer on the page, so its errors go in the page's error summary.
        for item in form.error_list():
            flash(item["text"], "error")
    return _render_detail(challenge, form, status)


def _follow_action(challenge_id: int, follow: bool):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        if follow:
            service.follow(_actor(), challenge_id)
        else:
            service.unfollow(_actor(), challenge_id)
    except ServiceError as err:
        flash_error(err)
    else:
        flash("You are following this challenge. We will email you about amendments, answers "
              "to questions and if it is withdrawn" if follow
              else "You are no longer following this challenge", "success")
    return redirect(url_for("challenges.detail", challenge_id=challenge_id))


@bp.post("/<int:challenge_id>/follow")
@access.signed_in
def follow(challenge_id: int):
    return _follow_action(challenge_id, True)


@bp.post("/<int:challenge_id>/unfollow")
@access.signed_in
def unfollow(challenge_id: int):
    return _follow_action(challenge_id, False)


def _xml(text: str | None) -> str:
    """Text a feed can hold: without the control characters XML does not allow."""
    return NOT_XML.sub("", text or "")


@bp.get("/feed.atom")
@access.public
def feed():
    from feedgen.feed import FeedGenerator

    # Entry ids and links come from BASE_URL, never the request's Host, so they are stable.
    service_name = current_app.config["SERVICE_NAME"]
    index_url = absolute_url("challenges.index")
    items = search.newest(FEED_SIZE)
    fg = FeedGenerator()
    fg.id(index_url)
    fg.title(f"New challenges – {service_name}")
    fg.subtitle("Challenges published by councils on the marketplace, newest first")
    fg.link(href=index_url, rel="alternate", type="text/html")
    fg.link(href=absolute_url("challenges.feed"), rel="self",
            type="application/atom+xml")
    fg.language("en-GB")
    fg.author({"name": service_name})
    fg.updated(max((c.updated_at for c in items), default=utcnow()))
    # feedgen writes entries in reverse order of adding them; add oldest first.
    for challenge in reversed(items):
        link = absolute_url("challenges.detail", challenge_id=challenge.id)
        entry = fg.add_entry()
        entry.id(link)
        entry.title(_xml(challenge.title))
        entry.link(href=link, rel="alternate", type="text/html")
        entry.summary(_xml(challenge.summary or challenge.title))
        entry.published(challenge.published_at)
        entry.updated(max(challenge.updated_at, challenge.published_at))  # type: ignore[type-var]
        entry.author({"name": _xml(challenge.lead_council.name)})
    body = fg.atom_str(pretty=False)
    return Response(body, content_type=ATOM_MIMETYPE)


def _award_entry(challenge: Challenge, now: datetime) -> tuple[str, str, datetime] | None:
    """The title, summary and date of a feed entry for a challenge's public outcome: what
    its page's award notice shows (winners, SME or not, contract values, the decision's
    summary), never scores, comments or the other bidders. None if it is not public."""
    council = challenge.lead_council.name
    status = challenge.status_at(now)
    if status == ChallengeStatus.NO_SUITABLE_SUPPLIER and challenge.no_suitable_supplier_at:
        decided = challenge.no_suitable_supplier_at
        lines = [f"{council} evaluated the bids and decided on {uk_date(decided)} not to "
                 "award a contract to any supplier."]
        if challenge.end_reason:
            lines.append(challenge.end_reason)
        return f"No suitable supplier: {challenge.title}", "\n".join(lines), decided
    notice = award_service.award_notice(challenge, now)
    if notice is None:
        return None
    lines = [f"{council} decided the award on {uk_date(notice.decided_at)}. The award is "
             "final."]
    if notice.winners:
        lines.append("Suppliers awarded a contract:")
        for w in notice.winners:
            if w.sme:
                sme = f"SME: yes ({w.size_label})"
            elif w.size_label:
                sme = f"SME: no ({w.size_label})"
            else:
                sme = "SME: not known"
            lines.append(f"- {w.supplier_name}, {sme}, contract value {pounds(w.value)}")
        if len(notice.winners) > 1:
            lines.append(f"Total contract value: {pounds(notice.total_value)}")
    if notice.summary:
        lines.append(f"Summary of the decision: {notice.summary}")
    return f"Awarded: {challenge.title}", "\n".join(lines), notice.final_at


@bp.get("/awards.atom")
@access.public
def awards_feed():
    from feedgen.feed import FeedGenerator

    service_name = current_app.config["SERVICE_NAME"]
    index_url = absolute_url("challenges.index", status="awarded")
    now = utcnow()
    entries = [(challenge, found) for challenge in search.recent_decisions(FEED_SIZE, now)
               if (found := _award_entry(challenge, now)) is not None]
    fg = FeedGenerator()
    fg.id(absolute_url("challenges.awards_feed"))
    fg.title(f"Awards – {service_name}")
    fg.subtitle("Contracts awarded (once the standstill period is over) and challenges that "
                "ended with no suitable supplier, newest first")
    fg.link(href=index_url, rel="alternate", type="text/html")
    fg.link(href=absolute_url("challenges.awards_feed"), rel="self",
            type="application/atom+xml")
    fg.language("en-GB")
    fg.author({"name": service_name})
    fg.updated(max((when for _c, (_t, _s, when) in entries), default=now))
    # feedgen writes entries in reverse order of adding them; add oldest first.
    for challenge, (title, summary, when) in reversed(entries):
        link = absolute_url("challenges.detail", challenge_id=challenge.id)
        entry = fg.add_entry()
        entry.id(link + "#award")
        entry.title(_xml(title))
        entry.link(href=link + "#award-notice", rel="alternate", type="text/html")
        entry.summary(_xml(summary))
        entry.published(when)
        entry.updated(when)
        entry.author({"name": _xml(challenge.lead_council.name)})
    return Response(fg.atom_str(pretty=False), content_type=ATOM_MIMETYPE)


# CSV download of the list ----------------------------------------------------------------

DOWNLOAD_COLUMNS = [
    "ID", "Title", "Councils", "Status", "Place of delivery", "Budget minimum (£)",
    "Budget maximum (£)", "Suitable for SMEs", "CPV codes", "Published (UK time)",
    "Questions close (UK time)", "Submission deadline (UK time)", "URL",
]


def _uk_iso(value: datetime | None) -> str:
    """A moment in UK time as ISO 8601 with its offset: 2026-04-15T17:00:00+01:00."""
    return value.astimezone(UK).isoformat(timespec="seconds") if value else ""


def _download_row(challenge: Challenge, now: datetime) -> list[str]:
    councils = [challenge.lead_council.name, *sorted(
        s.organisation.name for s in challenge.sponsors)]
    return [
        str(challenge.id),
        challenge.title,
        "; ".join(councils),
        STATUS_LABELS[challenge.status_at(now).value],
        challenge.region or "",
        "" if challenge.budget_min is None else str(challenge.budget_min),
        "" if challenge.budget_max is None else str(challenge.budget_max),
        "Yes" if challenge.sme_suitable else "No",
        "; ".join(challenge.cpv_codes),
        _uk_iso(challenge.published_at),
        _uk_iso(challenge.clarification_deadline),
        _uk_iso(challenge.submission_deadline),
        absolute_url("challenges.detail", challenge_id=challenge.id),
    ]


@bp.get("/download.csv")
@access.public
def download():
    """The list page's results as CSV: the same query string, every page (up to
    ``DOWNLOAD_LIMIT`` rows) in the page's order."""
    councils = search.council_choices()
    params = parse_params(request.args, {c.id for c in councils})
    now = utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DOWNLOAD_COLUMNS)
    for challenge in search.search_all(params, DOWNLOAD_LIMIT, now):
        writer.writerow([safe_text(cell) for cell in _download_row(challenge, now)])
    filename = f"challenges-{now.astimezone(UK):%Y-%m-%d}.csv"
    return Response(
        buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
