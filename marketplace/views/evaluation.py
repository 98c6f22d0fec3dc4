"""Council evaluation pages: opening bids, evaluators, conflict declarations, scoring,
moderation, comparison, shortlist and award.

The services decide who may do what (the lead is a procurement officer of a sponsoring
council, evaluators are the people the lead assigned) and when; these views turn forms into
their use cases and their answers into pages. Another council's challenge or bid is a 404,
whatever the route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace import access
from marketplace.extensions import db
from marketplace.forms.accounts import ConfirmForm
from marketplace.forms.evaluation import (
    AssignEvaluatorForm,
    ConflictForm,
    DecisionReasonForm,
    InterviewForm,
    NoSuitableSupplierForm,
    ScaleForm,
    ShortlistForm,
    award_form,
    moderation_form,
    scoring_form,
)
from marketplace.models import (
    Bid,
    BidAssessment,
    Challenge,
    ChallengeStatus,
    ScoreSheet,
    User,
    utcnow,
)
from marketplace.services import award as award_service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation as service
from marketplace.services.errors import Conflict, ServiceError, ValidationFailed
from marketplace.views import flash_error

bp = Blueprint("evaluation", __name__, url_prefix="/council")

OFFICER = challenge_service.OFFICER
lead_page = access.roles(OFFICER, kind="council")
evaluator_page = access.roles(*service.EVALUATOR_ROLES, kind="council")

STATE_LABELS = {"declare": "Declare conflicts first", "conflict": "Conflict declared",
                "scoring": "Scoring in progress", "submitted": "Scores submitted"}
STATE_COLOURS = {"declare": "blue", "conflict": "orange", "scoring": "yellow",
                 "submitted": "green"}
WIDE_SPREAD = 2


def _actor() -> User:
    return current_user._get_current_object()


# Template helpers --------------------------------------------------------------------------

@bp.app_template_global()
def evaluation_role(challenge: Challenge) -> str | None:
    """"lead" or "evaluator" when the signed-in person takes part in the challenge's
    evaluation (once its deadline has passed), else None."""
    if not current_user.is_authenticated or not challenge.is_published:
        return None
    deadline = challenge.submission_deadline
    if deadline is None or utcnow() < deadline:
        return None
    actor = _actor()
    if service.is_lead(actor, challenge):
        return "lead"
    if service.active_assignment(actor, challenge) is not None:
        return "evaluator"
    return None


@bp.app_template_global()
def bids_to_evaluate() -> list[tuple[Challenge, int]]:
    """The signed-in council member's evaluations: (challenge, sheets still to do)."""
    if not current_user.is_authenticated or not current_user.is_council_user:
        return []
    return service.my_evaluations(_actor())


@bp.app_template_filter("sheet_state_label")
def sheet_state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


@bp.app_template_filter("sheet_state_colour")
def sheet_state_colour(state: str) -> str:
    return "govuk-tag--" + STATE_COLOURS.get(state, "grey")


@bp.app_template_filter("score_total")
def score_total(value: float | None) -> str:
    """A weighted total out of 100: "72.5", "90" or "Not complete"."""
    if value is None:
        return "Not complete"
    return f"{value:.2f}".rstrip("0").rstrip(".")


# Loading -----------------------------------------------------------------------------------

def _challenge_or_404(challenge_id: int) -> Challenge:
    """A challenge of the actor's council (lead or co-sponsor); anything else is not found."""
    challenge = challenge_service.get_challenge(challenge_id, _actor())
    if not challenge_service.is_sponsor_member(_actor(), challenge):
        abort(404)
    return challenge


def _bid_or_404(bid_id: int) -> Bid:
    """A submitted bid on a challenge of the actor's council; anything else is not found."""
    bid = db.session.get(Bid, bid_id)
    if bid is None or not challenge_service.is_sponsor_member(_actor(), bid.challenge):
        abort(404)
    return bid


def _lead_bid_or_404(bid_id: int) -> tuple[Bid, BidAssessment | None]:
    """A bid and its assessment, for the challenge's lead only (others 403)."""
    bid = _bid_or_404(bid_id)
    if not service.is_lead(_actor(), bid.challenge):
        abort(403)
    return bid, db.session.get(BidAssessment, bid.id)


def _to_overview(challenge_id: int):  # type: ignore[no-untyped-def]
    return redirect(url_for("evaluation.overview", challenge_id=challenge_id))


def _confirm_or_400() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _attempt(form: Any, use_case: Callable[[], Any], back: str) -> tuple[bool, Any]:
    """Run a use case for a form: (True, result) when it worked; (False, a redirect to
    ``back`` with a flashed error) for a conflict; (False, None) when the error was put on
    the form. Not-found and forbidden become 404 and 403."""
    try:
        return True, use_case()
    except ValidationFailed as err:
        form.apply_error(err)
        return False, None
    except ServiceError as err:
        flash_error(err)
        return False, redirect(back)


def _post(form: Any, use_case: Callable[[], Any], back: str,
          done: Callable[[Any], Any]) -> Any | None:
    """Handle a form's POST: validate it, run the use case and return ``done(result)`` (the
    redirect after success). A conflict flashes and redirects to ``back``. None means: show
    the page again with the form's errors, with status 400."""
    if not form.validate_on_submit():
        return None
    ok, result = _attempt(form, use_case, back)
    return done(result) if ok else result


def _done(message: str, target: str) -> Any:
    """A success message, then the page to go to."""
    flash(message, "success")
    return redirect(target)


def _status() -> int:
    """The status of a form page shown to the person: 400 when it is shown again after a POST
    (it carries errors), else 200."""
    return 400 if request.method == "POST" else 200


def _decided(challenge: Challenge) -> bool:
    return bool(challenge.award_decided_at or challenge.no_suitable_supplier_at
                or challenge.withdrawn_at or challenge.cancelled_at)


# Overview and opening ------------------------------------------------------------------------

@bp.get("/challenges/<int:challenge_id>/evaluation")
@evaluator_page
def overview(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    view = service.overview(_actor(), challenge_id)
    status = challenge.status
    return render_template(
        "evaluation/overview.html", challenge=challenge, view=view, status=status,
        can_open=view.is_lead and status == ChallengeStatus.CLOSED,
        decided=_decided(challenge), confirm=ConfirmForm(),
        standstill_last_day=award_service.standstill_last_day)


@bp.post("/challenges/<int:challenge_id>/evaluation/open")
@lead_page
def open_bids(challenge_id: int):
    _challenge_or_404(challenge_id)
    _confirm_or_400()
    try:
        challenge = service.open_bids(_actor(), challenge_id)
    except ServiceError as err:
        flash_error(err)
    else:
        count = len(service.evaluation_bids(challenge))
        flash(f"Bids opened. {count} bid{'' if count == 1 else 's'} can now be evaluated",
              "success")
    return _to_overview(challenge_id)


# Evaluators and the score scale ------------------------------------------------------------

@bp.route("/challenges/<int:challenge_id>/evaluation/evaluators", methods=["GET", "POST"])
@lead_page
def evaluators(challenge_id: int):
    actor = _actor()
    challenge = _challenge_or_404(challenge_id)
    form = AssignEvaluatorForm()
    form.set_people(service.eligible_evaluators(actor, challenge_id))
    if request.method == "POST":
        back = url_for("evaluation.evaluators", challenge_id=challenge_id)
        response = _post(form, lambda: service.assign_evaluator(
            actor, challenge_id, form.chosen_id()), back, lambda result: _done(
            f"{result.user.full_name} is now an evaluator. We have emailed them", back))
        if response is not None:
            return response
    view = service.overview(actor, challenge_id)
    return render_template("evaluation/evaluators.html", challenge=challenge, view=view,
                           form=form, confirm=ConfirmForm(),
                           decided=_decided(challenge)), _status()


@bp.post("/challenges/<int:challenge_id>/evaluation/evaluators/<int:user_id>/remove")
@lead_page
def remove_evaluator(challenge_id: int, user_id: int):
    _challenge_or_404(challenge_id)
    _confirm_or_400()
    person = db.session.get(User, user_id)
    try:
        service.remove_evaluator(_actor(), challenge_id, user_id)
    except ServiceError as err:
        flash_error(err)
    else:
        flash(f"{person.full_name if person else 'The evaluator'} is no longer an evaluator",
              "success")
    return redirect(url_for("evaluation.evaluators", challenge_id=challenge_id))


@bp.route("/challenges/<int:challenge_id>/evaluation/scale", methods=["GET", "POST"])
@lead_page
def scale(challenge_id: int):
    actor = _actor()
    challenge = _challenge_or_404(challenge_id)
    view = service.overview(actor, challenge_id)
    locked = _decided(challenge) or any(p.submitted for p in view.evaluators)
    current = service.score_descriptions(challenge)
    form = ScaleForm() if request.method == "POST" else ScaleForm(
        data=ScaleForm.initial(current))
    if request.method == "POST":
        response = _post(form, lambda: service.set_score_descriptions(
            actor, challenge_id, form.values()),
            url_for("evaluation.scale", challenge_id=challenge_id), lambda _: _done(
            "Score scale saved", url_for("evaluation.overview", challenge_id=challenge_id)))
        if response is not None:
            return response
    return render_template("evaluation/scale.html", challenge=challenge, form=form,
                           locked=locked, descriptions=current), _status()


# Conflict of interest and scoring ------------------------------------------------------------

def _my_sheet(bid: Bid) -> service.SheetState:
    """The actor's sheet state for a bid they evaluate (403 for anyone else; the overview
    with a flashed error before the bids are opened)."""
    view = service.overview(_actor(), bid.challenge_id)
    if view.assignment is None:
        abort(403)
    found = next((s for s in view.my_sheets if s.bid.id == bid.id), None)
    if found is None:
        if bid.challenge.evaluation_started_at is None:
            raise Conflict("The bids have not been opened yet")
        abort(404)  # not a bid under evaluation (never submitted, or withdrawn)
    return found


@bp.route("/evaluation/bids/<int:bid_id>/conflict", methods=["GET", "POST"])
@evaluator_page
def declare(bid_id: int):
    actor = _actor()
    bid = _bid_or_404(bid_id)
    challenge = bid.challenge
    try:
        state = _my_sheet(bid)
    except Conflict as err:
        flash_error(err)
        return _to_overview(challenge.id)
    sheet = state.sheet
    if request.method == "POST":
        form = ConflictForm()
    else:
        form = ConflictForm(data={} if sheet is None else {
            "has_conflict": "yes" if sheet.has_conflict else "no",
            "details": sheet.conflict_details})
    def declared(result: ScoreSheet) -> Any:
        if result.has_conflict:
            return _done(f"Conflict of interest declared. You will not see or score the bid "
                         f"from {bid.supplier.name}. The lead can see your declaration",
                         url_for("evaluation.overview", challenge_id=challenge.id))
        return _done("Declaration saved: no conflict of interest. You can now read and score "
                     "the bid", url_for("evaluation.score", bid_id=bid_id))

    if request.method == "POST":
        response = _post(form, lambda: service.declare_conflict(
            actor, bid_id, form.conflicted(), form.details.data or ""),
            url_for("evaluation.declare", bid_id=bid_id), declared)
        if response is not None:
            return response
    return render_template(
        "evaluation/declare.html", challenge=challenge, bid=bid, state=state, form=form,
        can_change=state.state in ("declare", "scoring") and not _decided(challenge),
    ), _status()


def _render_score(view: service.ScoringView, form: Any, status_code: int = 200
                  ):  # type: ignore[no-untyped-def]
    challenge = view.challenge
    return render_template(
        "evaluation/score.html", challenge=challenge, bid=view.bid, view=view, form=form,
        sheet=view.sheet, submitted=view.sheet.submitted_at is not None,
        read_only=_decided(challenge), content=view.version.content,
    ), status_code


def _scoring_view(bid: Bid) -> service.ScoringView | None:
    """The bid and sheet to score, or None (with a flashed error) until a declaration."""
    try:
        return service.open_for_scoring(_actor(), bid.id)
    except Conflict as err:
        flash_error(err)
        return None


def _save_scores(form: Any, view: service.ScoringView) -> ScoreSheet:
    scores = {cid: service.ScoreInput(score, comment)
              for cid, (score, comment) in form.scores().items()}
    reason = form.reason.data if view.sheet.submitted_at is not None else None
    return service.save_scores(_actor(), view.bid.id, scores, form.requirements(),
                               form.note.data or "", reason)


def _to_declare_or_overview(bid: Bid):  # type: ignore[no-untyped-def]
    if bid.challenge.evaluation_started_at is None:
        return _to_overview(bid.challenge_id)
    return redirect(url_for("evaluation.declare", bid_id=bid.id))


@bp.route("/evaluation/bids/<int:bid_id>/score", methods=["GET", "POST"])
@evaluator_page
def score(bid_id: int):
    bid = _bid_or_404(bid_id)
    view = _scoring_view(bid)
    if view is None:
        return _to_declare_or_overview(bid)
    cls = scoring_form(view.challenge, view.descriptions)
    if request.method == "GET":
        return _render_score(view, cls(data=cls.initial(view.sheet)))
    form = cls()
    if not form.validate_on_submit():
        return _render_score(view, form, 400)
    back = url_for("evaluation.score", bid_id=bid_id)
    was_submitted = view.sheet.submitted_at is not None
    last_change = view.sheet.updated_at
    ok, result = _attempt(form, lambda: _save_scores(form, view), back)
    if ok:
        if not was_submitted:
            flash("Draft saved. Submit your scores when every criterion is scored", "success")
        elif result.updated_at != last_change:
            flash("Scores changed. Your reason has been recorded", "success")
        else:
            flash("You did not change anything", "success")
        return redirect(back)
    if result is not None:
        return result
    return _render_score(view, form, 400)


@bp.post("/evaluation/bids/<int:bid_id>/submit")
@evaluator_page
def submit(bid_id: int):
    """Submit a sheet. The scoring form's "Save and submit" button posts here: what it sent
    is saved first. A bare submission (only the CSRF token) submits what was saved."""
    actor = _actor()
    bid = _bid_or_404(bid_id)
    view = _scoring_view(bid)
    if view is None:
        return _to_declare_or_overview(bid)
    cls = scoring_form(view.challenge, view.descriptions)
    form = cls()
    if not form.validate_on_submit():
        return _render_score(view, form, 400)
    sent = any(name != "csrf_token" for name in request.form)
    if not sent:
        form = cls(formdata=None, data=cls.initial(view.sheet))

    def save_and_submit() -> ScoreSheet:
        if sent and view.sheet.submitted_at is None:
            _save_scores(form, view)
        return service.submit_sheet(actor, bid_id)

    ok, result = _attempt(form, save_and_submit, url_for("evaluation.score", bid_id=bid_id))
    if ok:
        flash(f"Scores submitted for the bid from {bid.supplier.name}", "success")
        return _to_overview(bid.challenge_id)
    if result is not None:
        return result
    return _render_score(view, form, 400)


# Moderation and exclusion --------------------------------------------------------------------

@bp.route("/evaluation/bids/<int:bid_id>/moderate", methods=["GET", "POST"])
@lead_page
def moderate(bid_id: int):
    actor = _actor()
    bid = _bid_or_404(bid_id)
    try:
        view = service.moderation(actor, bid_id)
    except Conflict as err:  # the bids have not been opened
        flash_error(err)
        return _to_overview(bid.challenge_id)
    descriptions = service.score_descriptions(view.challenge)
    cls = moderation_form(view.challenge, descriptions)
    moderated = {row.criterion.id: row.moderated for row in view.criteria if row.moderated}
    form = cls() if request.method == "POST" else cls(data=cls.initial(moderated))
    if request.method == "POST":
        back = url_for("evaluation.moderate", bid_id=bid_id)
        response = _post(form, lambda: service.moderate(
            actor, bid_id, {cid: service.ModeratedInput(score, rationale)
                            for cid, (score, rationale) in form.scores().items()},
            form.reason.data if view.needs_reason else None), back, lambda _: _done(
            f"Moderated scores saved for the bid from {bid.supplier.name}", back))
        if response is not None:
            return response
        view = service.moderation(actor, bid_id)
    return render_template(
        "evaluation/moderate.html", challenge=view.challenge, bid=bid, view=view, form=form,
        descriptions=descriptions, wide=WIDE_SPREAD, read_only=_decided(view.challenge),
    ), _status()


def _exclusion(bid_id: int, *, exclude: bool):  # type: ignore[no-untyped-def]
    actor = _actor()
    bid, assessment = _lead_bid_or_404(bid_id)
    challenge = bid.challenge
    form = DecisionReasonForm()
    if request.method == "POST":
        use_case = service.exclude_bid if exclude else service.reinstate_bid
        response = _post(
            form, lambda: use_case(actor, bid_id, form.reason.data),
            url_for("evaluation.exclude" if exclude else "evaluation.reinstate", bid_id=bid_id),
            lambda _: _done(f"The bid from {bid.supplier.name} is "
                            f"{'excluded from' if exclude else 'back in'} the ranking",
                            url_for("evaluation.overview", challenge_id=challenge.id)))
        if response is not None:
            return response
    applies = assessment is not None and (assessment.excluded != exclude) \
        and not _decided(challenge)
    return render_template(
        "evaluation/exclude.html", challenge=challenge, bid=bid, assessment=assessment,
        form=form, exclude=exclude, applies=applies,
    ), _status()


@bp.route("/evaluation/bids/<int:bid_id>/exclude", methods=["GET", "POST"])
@lead_page
def exclude(bid_id: int):
    return _exclusion(bid_id, exclude=True)


@bp.route("/evaluation/bids/<int:bid_id>/reinstate", methods=["GET", "POST"])
@lead_page
def reinstate(bid_id: int):
    return _exclusion(bid_id, exclude=False)


# Comparison, shortlist and interviews --------------------------------------------------------

@bp.get("/challenges/<int:challenge_id>/evaluation/comparison")
@lead_page
def comparison(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    rows = service.comparison(_actor(), challenge_id)
    return render_template("evaluation/comparison.html", challenge=challenge, rows=rows)


@bp.route("/challenges/<int:challenge_id>/evaluation/shortlist", methods=["GET", "POST"])
@lead_page
def shortlist(challenge_id: int):
    actor = _actor()
    challenge = _challenge_or_404(challenge_id)
    rows = service.ranking(actor, challenge_id)
    eligible = [r for r in rows if r.total is not None and not r.assessment.excluded]
    form = ShortlistForm() if request.method == "POST" else ShortlistForm(
        data={"bids": [r.bid.id for r in rows if r.assessment.shortlisted]})
    form.set_bids([r.bid for r in eligible])
    if request.method == "POST":
        back = url_for("evaluation.shortlist", challenge_id=challenge_id)
        response = _post(form, lambda: award_service.shortlist(
            actor, challenge_id, list(form.bids.data or []), form.reason.data), back,
            lambda _: _done("Shortlist confirmed. We have emailed the suppliers newly "
                            "shortlisted", back))
        if response is not None:
            return response
    return render_template(
        "evaluation/shortlist.html", challenge=challenge, rows=rows, eligible=eligible,
        blocked=[r for r in rows if r not in eligible], form=form, decided=_decided(challenge),
    ), _status()


@bp.route("/evaluation/bids/<int:bid_id>/interview", methods=["GET", "POST"])
@lead_page
def interview(bid_id: int):
    actor = _actor()
    bid, assessment = _lead_bid_or_404(bid_id)
    challenge = bid.challenge
    if request.method == "POST":
        form = InterviewForm()
    else:
        form = InterviewForm(data=InterviewForm.initial(
            assessment.interview_at if assessment else None,
            assessment.interview_notes if assessment else ""))
    if request.method == "POST":
        response = _post(form, lambda: award_service.set_interview(
            actor, bid_id, form.when(), form.notes.data or ""),
            url_for("evaluation.interview", bid_id=bid_id), lambda result: _done(
            f"Interview saved. We have emailed {bid.supplier.name}" if result.interview_at
            else "Interview details saved",
            url_for("evaluation.shortlist", challenge_id=challenge.id)))
        if response is not None:
            return response
    return render_template(
        "evaluation/interview.html", challenge=challenge, bid=bid, assessment=assessment,
        form=form, applies=assessment is not None and assessment.shortlisted
        and not _decided(challenge),
    ), _status()


# The decision --------------------------------------------------------------------------------

@bp.route("/challenges/<int:challenge_id>/evaluation/award", methods=["GET", "POST"])
@lead_page
def award(challenge_id: int):
    actor = _actor()
    challenge = _challenge_or_404(challenge_id)
    rows = service.ranking(actor, challenge_id)
    shortlisted = [r for r in rows if r.assessment.shortlisted]
    cls = award_form([r.bid for r in rows])
    form = cls()
    form.set_bids([r.bid for r in shortlisted])
    if request.method == "POST":
        back = url_for("evaluation.award", challenge_id=challenge_id)
        response = _post(form, lambda: award_service.award(
            actor, challenge_id, [award_service.WinnerInput(bid_id, value)
                                  for bid_id, value in form.winners()],
            form.summary.data or ""), back, lambda result: _done(
            "Award decided. Every bidder has been told. The standstill period ends after "
            f"{award_service.standstill_last_day(result.awarded_at)}; then the award is "
            "final and published", back))
        if response is not None:
            return response
    winners = [r for r in rows if r.assessment.awarded]
    return render_template(
        "evaluation/award.html", challenge=challenge, rows=rows, shortlisted=shortlisted,
        winners=winners, form=form, max_winners=award_service.max_winners(challenge),
        decided=_decided(challenge), status=challenge.status,
        standstill_days=award_service.standstill_days(),
        standstill_last_day=award_service.standstill_last_day,
    ), _status()


@bp.route("/challenges/<int:challenge_id>/evaluation/no-suitable-supplier",
          methods=["GET", "POST"])
@lead_page
def no_suitable_supplier(challenge_id: int):
    actor = _actor()
    challenge = _challenge_or_404(challenge_id)
    form = NoSuitableSupplierForm()
    if request.method == "POST":
        response = _post(form, lambda: award_service.declare_no_suitable_supplier(
            actor, challenge_id, form.reason.data),
            url_for("evaluation.no_suitable_supplier", challenge_id=challenge_id),
            lambda _: _done("Evaluation ended with no suitable supplier. Every bidder has "
                            "been told",
                            url_for("evaluation.overview", challenge_id=challenge_id)))
        if response is not None:
            return response
    return render_template(
        "evaluation/no_suitable_supplier.html", challenge=challenge, form=form,
        applies=challenge.evaluation_started_at is not None and not _decided(challenge),
    ), _status()
