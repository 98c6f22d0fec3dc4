"""Bid pages. Suppliers: their bids, a bid's task list and sections, submission with a
receipt, withdrawal and PDF attachments. Councils: the count of sealed bids, and after the
deadline the bids themselves for the challenge's procurement officers.

The service decides everything that matters (whose bid, the deadline, what councils may
see); these views turn forms into its use cases and its answers into pages.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace import access
from marketplace.extensions import db
from marketplace.forms.accounts import ConfirmForm
from marketplace.forms.bids import (
    SECTIONS,
    SECTIONS_BY_SLUG,
    TERMS,
    AttachmentsForm,
    BidSection,
    BidSectionForm,
    form_class,
    next_section,
    section_for_field,
)
from marketplace.models import (
    BID_STATUS_LABELS,
    Bid,
    BidAssessment,
    BidAttachment,
    Challenge,
    ChallengeStatus,
    User,
    utcnow,
)
from marketplace.services import award as award_service
from marketplace.services import bids as service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation as evaluation_service
from marketplace.services.errors import Conflict, ServiceError, ValidationFailed
from marketplace.templating import uk_datetime
from marketplace.views import flash_error

bp = Blueprint("bids", __name__)

BIDDERS = service.BIDDER_ROLES
OFFICER = challenge_service.OFFICER
supplier_page = access.roles(*BIDDERS, kind="supplier")
officer_page = access.roles(OFFICER, kind="council")

SECONDS = "%-d %B %Y at %-I:%M:%S%p"

# The supplier's dashboard groups, in order: (key, heading).
GROUPS = (
    ("draft", "Drafts"),
    ("changed", "Changes not submitted"),
    ("submitted", "Submitted"),
    ("withdrawn", "Withdrawn"),
    ("closed", "Closed"),
)
STATUS_COLOURS = {"draft": "grey", "changed": "yellow", "submitted": "green",
                  "withdrawn": "orange", "not_submitted": "red"}


def _actor() -> User:
    return current_user._get_current_object()


# Template helpers ------------------------------------------------------------------------

@bp.app_template_filter("uk_datetime_seconds")
def uk_datetime_seconds(value: Any) -> str:
    """The exact moment, to the second, in UK time: 3 March 2027 at 4:59:58pm."""
    return uk_datetime(value, SECONDS)


@bp.app_template_filter("bid_status_label")
def bid_status_label(status: str) -> str:
    return BID_STATUS_LABELS.get(status, status)


@bp.app_template_filter("bid_status_colour")
def bid_status_colour(status: str) -> str:
    return "govuk-tag--" + STATUS_COLOURS.get(status, "grey")


@bp.app_template_filter("file_size")
def file_size(size: int | None) -> str:
    size = size or 0
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))}KB"
    return f"{size / (1024 * 1024):.1f}MB"


@bp.app_template_filter("pounds")
def pounds(value: Any) -> str:
    """A price in pounds: £48,500 or £48,500.50."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    text = f"£{amount:,.2f}"
    return text.removesuffix(".00")


@bp.app_template_global("word_count")
def word_count(text: str | None) -> int:
    return service.word_count(text)


@bp.app_template_global()
def is_bidder() -> bool:
    """True for a signed-in bidder or organisation admin of a supplier."""
    return bool(current_user.is_authenticated and current_user.is_supplier_user
                and current_user.has_role(*BIDDERS))


@bp.app_template_global()
def own_bid_for(challenge: Challenge) -> Bid | None:
    """The signed-in bidder's organisation's bid for a challenge, if any."""
    return service.bid_for(_actor(), challenge.id) if is_bidder() else None


@bp.app_template_global()
def submitted_bid_count(challenge: Challenge) -> int:
    return service.submitted_count(challenge)


@bp.app_template_global()
def may_open_bids(challenge: Challenge) -> bool:
    """True when the signed-in person may open the challenge's bids (an officer, after the
    deadline)."""
    return current_user.is_authenticated and service.may_open_bids(_actor(), challenge)


# Supplier: the bids dashboard ------------------------------------------------------------

@bp.get("/supplier/bids")
@supplier_page
def dashboard():
    now = utcnow()
    bids = service.bids_for_supplier(_actor())
    # The outcomes of decided bids, read in one query (the labels look each one up).
    decided = [b.id for b in bids if b.challenge.award_decided_at is not None
               or b.challenge.no_suitable_supplier_at is not None]
    # Held until the page is rendered: the session keeps loaded rows only while something
    # refers to them, and the labels find them there by primary key.
    assessments = list(db.session.scalars(
        select(BidAssessment).where(BidAssessment.bid_id.in_(decided)))) if decided else []
    grouped: dict[str, list[Bid]] = {key: [] for key, _heading in GROUPS}
    for bid in bids:
        if bid.challenge.status_at(now) != ChallengeStatus.OPEN:
            grouped["closed"].append(bid)
        else:
            grouped.get(bid.status_at(now), grouped["draft"]).append(bid)
    groups = [{"key": key, "heading": heading, "items": grouped[key]}
              for key, heading in GROUPS]
    page = render_template("bids/dashboard.html", groups=groups, total=len(bids), now=now,
                           organisation=_actor().organisation)
    del assessments
    return page


@bp.post("/challenges/<int:challenge_id>/bid")
@supplier_page
def start(challenge_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        bid = service.start_bid(_actor(), challenge_id)
    except ServiceError as err:
        flash_error(err)
        return redirect(url_for("challenges.detail", challenge_id=challenge_id))
    return redirect(url_for("bids.edit", bid_id=bid.id))


# Supplier: the task list -----------------------------------------------------------------

def _section_rows(bid: Bid, found: list[tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for section in SECTIONS:
        if section.optional:
            count = len(bid.current_attachments)
            status = f"{count} file{'' if count == 1 else 's'}" if count else "Optional"
        elif any(section.owns(name) for name, _message in found):
            status = "Incomplete"
        else:
            status = "Completed"
        rows.append({"section": section, "status": status})
    return rows


def _problem_links(bid: Bid, found: list[tuple[str, str]]) -> list[dict[str, str]]:
    items = []
    for field_name, message in found:
        section = section_for_field(field_name)
        href = (url_for("bids.section", bid_id=bid.id, section=section.slug,
                        _anchor=field_name) if section else "#sections")
        items.append({"text": message, "href": href})
    return items


def _render_task_list(bid: Bid, *, submit_problems: list[tuple[str, str]] | None = None,
                      error: str | None = None, status_code: int = 200):  # type: ignore[no-untyped-def]
    now = utcnow()
    challenge = bid.challenge
    found = service.problems(bid)
    status = bid.status_at(now)
    return render_template(
        "bids/task_list.html", bid=bid, challenge=challenge, status=status,
        challenge_status=challenge.status_at(now), is_open=challenge.status_at(now)
        == ChallengeStatus.OPEN, sections=_section_rows(bid, found), problems=found,
        submit_errors=_problem_links(bid, submit_problems) if submit_problems else [],
        error=error, warning=service.price_warning(bid), versions=list(bid.versions),
        confirm=ConfirmForm(), now=now,
    ), status_code


@bp.get("/bids/<int:bid_id>")
@supplier_page
def edit(bid_id: int):
    return _render_task_list(service.get_own_bid(_actor(), bid_id))


@bp.post("/bids/<int:bid_id>/submit")
@supplier_page
def submit(bid_id: int):
    actor = _actor()
    service.get_own_bid(actor, bid_id)  # someone else's bid is not found, whatever was sent
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        version = service.submit_bid(actor, bid_id)
    except ValidationFailed:
        # Everything still missing, not just the first thing the service found.
        bid = service.get_own_bid(actor, bid_id)
        return _render_task_list(bid, submit_problems=service.problems(bid), status_code=400)
    except ServiceError as err:
        if not isinstance(err, Conflict):
            raise
        return _render_task_list(service.get_own_bid(actor, bid_id), error=err.message,
                                 status_code=409)
    return redirect(url_for("bids.receipt", bid_id=bid_id, number=version.number))


@bp.get("/bids/<int:bid_id>/receipts/<int:number>")
@supplier_page
def receipt(bid_id: int, number: int):
    version = service.receipt(_actor(), bid_id, number)
    bid = version.bid
    return render_template("bids/receipt.html", bid=bid, version=version,
                           challenge=bid.challenge, latest=bid.submitted_version == number
                           and bid.withdrawn_at is None)


@bp.route("/bids/<int:bid_id>/withdraw", methods=["GET", "POST"])
@supplier_page
def withdraw(bid_id: int):
    actor = _actor()
    bid = service.get_own_bid(actor, bid_id)
    form = ConfirmForm()
    status_code = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            service.withdraw_bid(actor, bid_id)
        except ServiceError as err:
            form.apply_error(err)
            status_code = 409
            bid = service.get_own_bid(actor, bid_id)
        else:
            flash("Bid withdrawn. The council will not see it unless you submit it again "
                  "before the deadline", "success")
            return redirect(url_for("bids.edit", bid_id=bid_id))
    now = utcnow()
    return render_template(
        "bids/withdraw.html", bid=bid, challenge=bid.challenge, form=form,
        can_withdraw=bid.challenge.status_at(now) == ChallengeStatus.OPEN
        and bid.status_at(now) in {"submitted", "changed"},
    ), status_code


# Supplier: sections ----------------------------------------------------------------------

def _render_section(bid: Bid, section: BidSection, form: BidSectionForm,
                    status_code: int = 200):  # type: ignore[no-untyped-def]
    now = utcnow()
    challenge = bid.challenge
    is_open = challenge.status_at(now) == ChallengeStatus.OPEN
    following = next_section(section.slug)
    # Once the bid can no longer change, show what counts: the last version submitted.
    version = None
    if not is_open and bid.submitted_version and bid.withdrawn_at is None:
        version = next((v for v in bid.versions if v.number == bid.submitted_version), None)
    return render_template(
        "bids/section.html", bid=bid, challenge=challenge, section=section, form=form,
        is_open=is_open, next_section=following, sections=SECTIONS,
        position=SECTIONS.index(section) + 1, version=version,
        content=version.content if version else service.snapshot(bid),
        warning=service.price_warning(bid), terms=TERMS, confirm=ConfirmForm(),
        attachments=bid.current_attachments,
    ), status_code


def _save(actor: User, bid_id: int, section: BidSection, form: BidSectionForm) -> str | None:
    """Save what the section's form sent; returns the name of an uploaded file, if any."""
    if isinstance(form, AttachmentsForm):
        upload = form.attachment.data
        if not upload:
            return None
        attachment = service.add_attachment(actor, bid_id, upload.filename, upload.stream)
        return attachment.original_name
    service.save_bid(actor, bid_id, form.to_changes())
    return None


@bp.route("/bids/<int:bid_id>/<section>", methods=["GET", "POST"])
@supplier_page
def section(bid_id: int, section: str):
    spec = SECTIONS_BY_SLUG.get(section)
    actor = _actor()
    bid = service.get_own_bid(actor, bid_id)
    if spec is None:
        abort(404)
    cls = form_class(spec, bid.challenge)
    form = cls() if request.method == "POST" else cls(data=cls.initial(bid))
    if request.method == "GET":
        return _render_section(bid, spec, form)
    if not form.validate_on_submit():
        if form.csrf_token.errors or bid.challenge.status == ChallengeStatus.OPEN:
            return _render_section(bid, spec, form, 400)
        # After the deadline nothing can be saved, whatever was sent: let the service say
        # so, rather than asking for corrections to a page that is now read-only.
        for field in form:
            field.errors = []
    try:
        uploaded = _save(actor, bid_id, spec, form)
    except ServiceError as err:
        form.apply_error(err)
        bid = service.get_own_bid(actor, bid_id)
        return _render_section(bid, spec, form, 409 if isinstance(err, Conflict) else 400)
    if uploaded:
        flash(f"{uploaded} uploaded", "success")
    if isinstance(form, AttachmentsForm) and form.upload.data:
        return redirect(url_for("bids.section", bid_id=bid_id, section=spec.slug))
    following = next_section(spec.slug)
    if following is None:
        return redirect(url_for("bids.edit", bid_id=bid_id))
    return redirect(url_for("bids.section", bid_id=bid_id, section=following.slug))


# Attachments -----------------------------------------------------------------------------

@bp.post("/bids/attachments/<int:attachment_id>/remove")
@supplier_page
def remove_attachment(attachment_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.remove_attachment(_actor(), attachment_id)
    except ServiceError as err:
        flash_error(err)  # someone else's attachment is a 404 here
    # Only the owner gets this far (or an error about the deadline): the row is theirs.
    attachment = db.session.get(BidAttachment, attachment_id)
    if attachment is None:
        abort(404)
    if attachment.removed_at is not None:
        flash(f"{attachment.original_name} removed", "success")
    return redirect(url_for("bids.section", bid_id=attachment.bid_id, section="attachments"))


@bp.get("/bids/attachments/<int:attachment_id>")
@access.signed_in
def download(attachment_id: int):
    """The supplier's own files; after the deadline, the challenge's procurement officers."""
    attachment, path = service.attachment_for_download(_actor(), attachment_id)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=attachment.original_name, max_age=0)


# Council: sealed bids ------------------------------------------------------------------

@bp.get("/council/challenges/<int:challenge_id>/bids")
@officer_page
def council_list(challenge_id: int):
    actor = _actor()
    challenge = challenge_service.get_challenge(challenge_id, actor)
    if not challenge_service.is_sponsor_member(actor, challenge):
        abort(404)
    if not service.may_open_bids(actor, challenge):
        # Sealed: the count is the only thing anyone may know before the deadline.
        return render_template("bids/council_sealed.html", challenge=challenge,
                               count=service.submitted_count(challenge))
    bids = service.bids_for_council(actor, challenge_id)
    # What counts is each bid's last submitted version, not its working copy.
    versions = service.submitted_versions(bids)
    rows = [(bid, versions[bid.id]) for bid in bids]
    return render_template("bids/council_list.html", challenge=challenge, rows=rows)


@bp.get("/council/bids/<int:bid_id>")
@officer_page
def council_bid(bid_id: int):
    bid, version = service.open_bid_for_council(_actor(), bid_id)
    return render_template("bids/council_bid.html", bid=bid, version=version,
                           challenge=bid.challenge, content=version.content)


# Supplier: the outcome -------------------------------------------------------------------

@bp.app_template_filter("standstill_last_day")
def standstill_last_day(value: Any) -> str:
    """The last day of a standstill ending at ``value``: "Wednesday 15 April 2026"."""
    return award_service.standstill_last_day(value) if value else ""


@bp.app_template_global()
def bid_outcome_label(bid: Bid) -> str | None:
    """The outcome of the signed-in bidder's own bid, once decided ("Not successful"...)."""
    if not is_bidder() or bid.supplier_id != current_user.organisation_id:
        return None
    return award_service.outcome_label(bid)


@bp.get("/bids/<int:bid_id>/outcome")
@supplier_page
def outcome(bid_id: int):
    """The award decision about the supplier's own bid: its scores, rationale and total."""
    actor = _actor()
    result = award_service.outcome_for_supplier(actor, bid_id)
    bid = result.bid if result else service.get_own_bid(actor, bid_id)
    challenge = bid.challenge
    return render_template("bids/outcome.html", bid=bid, challenge=challenge, outcome=result,
                           descriptions=evaluation_service.score_descriptions(challenge),
                           now=utcnow())
