"""Council pages: the challenge dashboard, drafting in steps, approval, publication,
amendment, withdrawal, cancellation, reuse and clarification questions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import defer, lazyload, selectinload

from marketplace import access, reference
from marketplace.extensions import db
from marketplace.forms.accounts import ConfirmForm
from marketplace.forms.challenges import (
    SECTIONS,
    SECTIONS_BY_SLUG,
    AnswerForm,
    CapabilitiesForm,
    NewChallengeForm,
    ReasonForm,
    RejectQuestionForm,
    Section,
    SectionForm,
    SponsorsForm,
    amend_form,
    next_section,
    section_for_field,
)
from marketplace.forms.matching import COMPONENT_LABELS, COMPONENTS, InviteForm, SuggestionForm
from marketplace.models import (
    CERTIFICATION_LABELS,
    SIZE_LABELS,
    Challenge,
    ChallengeSponsor,
    ChallengeStatus,
    ClarificationQuestion,
    Organisation,
    OrgKind,
    OrgStatus,
    QuestionStatus,
    User,
    utcnow,
)
from marketplace.services import challenges as service
from marketplace.services import suggestions
from marketplace.services.errors import ServiceError
from marketplace.views import flash_error

bp = Blueprint("council", __name__, url_prefix="/council")

EDITORS = service.EDITORS
OFFICER = service.OFFICER
UNPUBLISHED = {ChallengeStatus.DRAFT, ChallengeStatus.AWAITING_APPROVAL,
               ChallengeStatus.APPROVED}
CPV_RESULTS = 30
# The states each ending applies to (the service has the final word).
ENDABLE = {
    "withdraw": {ChallengeStatus.OPEN},
    "cancel": UNPUBLISHED | {ChallengeStatus.OPEN, ChallengeStatus.CLOSED,
                             ChallengeStatus.EVALUATION},
}

# Dashboard groups, in order: (key, heading, states).
GROUPS: tuple[tuple[str, str, tuple[ChallengeStatus, ...]], ...] = (
    ("preparing", "In preparation", (ChallengeStatus.DRAFT, ChallengeStatus.AWAITING_APPROVAL,
                                     ChallengeStatus.APPROVED)),
    ("open", "Open", (ChallengeStatus.OPEN,)),
    ("closed", "Closed and in evaluation", (ChallengeStatus.CLOSED,
                                            ChallengeStatus.EVALUATION,
                                            ChallengeStatus.STANDSTILL)),
    ("finished", "Finished", (ChallengeStatus.AWARDED, ChallengeStatus.NO_SUITABLE_SUPPLIER,
                              ChallengeStatus.WITHDRAWN, ChallengeStatus.CANCELLED)),
)


def _actor() -> User:
    return current_user._get_current_object()


def _challenge_or_404(challenge_id: int) -> Challenge:
    """A challenge of the actor's council (lead or co-sponsor); anything else is not found,
    published or not: these are the council's own pages."""
    challenge = service.get_challenge(challenge_id, _actor())
    if not service.is_sponsor_member(_actor(), challenge):
        abort(404)
    return challenge


def _to_task_list(challenge_id: int):  # type: ignore[no-untyped-def]
    return redirect(url_for("council.challenge", challenge_id=challenge_id))


def _run(action: Callable[[], Any], challenge_id: int, done: str) -> Any:
    """Run a button's use case: 404/403 for what the actor may not see or do, a flashed
    error for anything else, then back to the task list."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action()
    except ServiceError as err:
        flash_error(err)
    else:
        flash(done, "success")
    return _to_task_list(challenge_id)


# Dashboard -----------------------------------------------------------------------------------

def _council_challenges(org_id: int) -> list[Challenge]:
    sponsored = select(ChallengeSponsor.challenge_id).where(
        ChallengeSponsor.organisation_id == org_id)
    # The dashboard shows titles, states, dates and the lead council: not the long texts
    # or the child rows (criteria, stages...) a challenge otherwise loads with it.
    return list(db.session.scalars(
        select(Challenge).where(or_(Challenge.lead_council_id == org_id,
                                    Challenge.id.in_(sponsored)))
        .order_by(Challenge.updated_at.desc(), Challenge.id.desc())
        .options(lazyload("*"), selectinload(Challenge.lead_council),
                 *(defer(column) for column in (
                     Challenge.summary, Challenge.problem, Challenge.background,
                     Challenge.affected, Challenge.success, Challenge.search_text)))))


def next_deadline(challenge: Challenge, now: datetime) -> tuple[str, Any] | None:
    """What comes next for a challenge, as (label, datetime or date)."""
    status = challenge.status_at(now)
    if status == ChallengeStatus.OPEN:
        if challenge.clarification_deadline and challenge.clarification_deadline > now:
            return "Questions close", challenge.clarification_deadline
        return "Closes", challenge.submission_deadline
    if status in UNPUBLISHED and challenge.submission_deadline:
        return "Planned deadline", challenge.submission_deadline
    if status in {ChallengeStatus.CLOSED, ChallengeStatus.EVALUATION} \
            and challenge.expected_award_date:
        return "Expected award", challenge.expected_award_date
    return None


@bp.get("/challenges")
@access.roles(kind="council")
def dashboard():
    actor = _actor()
    now = utcnow()
    found = _council_challenges(actor.organisation_id)
    groups = []
    for key, heading, states in GROUPS:
        items = [c for c in found if c.status_at(now) in states]
        groups.append({"key": key, "heading": heading, "items": items})
    return render_template(
        "council/dashboard.html", groups=groups, total=len(found), now=now,
        next_deadline=next_deadline, can_create=actor.has_role(*EDITORS),
        organisation=actor.organisation)


@bp.route("/challenges/new", methods=["GET", "POST"])
@access.roles(*EDITORS, kind="council")
def new():
    form = NewChallengeForm()
    if form.validate_on_submit():
        try:
            challenge = service.create_draft(_actor(), form.title.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            flash("Draft created. Work through each section; your answers are saved as you "
                  "go", "success")
            return _to_task_list(challenge.id)
    return render_template("council/new.html", form=form)


@bp.post("/challenges/<int:challenge_id>/copy")
@access.roles(*EDITORS, kind="council")
def copy(challenge_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    challenge = service.copy_challenge(_actor(), challenge_id)
    flash(f"This is your council’s copy of “{challenge.title}”. Check every section, "
          "especially the dates, before you send it for approval", "success")
    return _to_task_list(challenge.id)


# The task list -------------------------------------------------------------------------------

def _section_statuses(challenge: Challenge, found: list[tuple[str, str]]
                      ) -> list[dict[str, Any]]:
    fields = {name for name, _message in found}
    filled = {"stages": bool(challenge.stages), "sponsors": bool(challenge.sponsors)}
    rows = []
    for section in SECTIONS:
        if section.optional:
            status = "Completed" if filled.get(section.slug) else "Optional"
        else:
            status = "Incomplete" if fields.intersection(section.fields) else "Completed"
        rows.append({"section": section, "status": status})
    return rows


def _problem_links(challenge: Challenge, found: list[tuple[str, str]]) -> list[dict[str, str]]:
    items = []
    for field_name, message in found:
        section = section_for_field(field_name)
        href = (url_for("council.edit_section", challenge_id=challenge.id,
                        section=section.slug) if section else "#")
        items.append({"text": message, "href": href})
    return items


def _user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def _render_task_list(challenge: Challenge, return_form: ReasonForm | None = None,
                      status_code: int = 200):  # type: ignore[no-untyped-def]
    actor = _actor()
    status = challenge.status
    found = service.problems(challenge) if status in UNPUBLISHED else []
    editor = service.can_edit(actor, challenge)
    officer = service.is_officer_for(actor, challenge)
    lead_officer = officer and actor.organisation_id == challenge.lead_council_id
    submitted_by = _user(challenge.submitted_by_id)
    own_submission = submitted_by is not None and submitted_by.id == actor.id
    questions_pending = 0
    if challenge.is_published:
        questions_pending = sum(1 for q in service.questions_for_council(actor, challenge)
                                if q.status == QuestionStatus.PENDING)
    actions = {
        "edit": editor and (status in UNPUBLISHED or status == ChallengeStatus.OPEN),
        "submit": editor and status == ChallengeStatus.DRAFT,
        "approve": lead_officer and status == ChallengeStatus.AWAITING_APPROVAL
        and not own_submission,
        "return": lead_officer and status in {ChallengeStatus.AWAITING_APPROVAL,
                                              ChallengeStatus.APPROVED},
        "publish": lead_officer and (status in {ChallengeStatus.DRAFT, ChallengeStatus.APPROVED}
                                     or (status == ChallengeStatus.AWAITING_APPROVAL
                                         and not own_submission)),
        "withdraw": lead_officer and status in ENDABLE["withdraw"],
        "cancel": lead_officer and status in ENDABLE["cancel"],
        "copy": editor,
    }
    return render_template(
        "council/challenge.html",
        challenge=challenge, status=status, problems=found,
        problem_links=_problem_links(challenge, found),
        sections=_section_statuses(challenge, found),
        actions=actions, editor=editor, officer=officer, lead_officer=lead_officer,
        own_submission=own_submission, submitted_by=submitted_by,
        approved_by=_user(challenge.approved_by_id),
        lead_verified=challenge.lead_council.status == OrgStatus.VERIFIED,
        questions_pending=questions_pending, min_days=service.min_tender_days(),
        return_form=return_form or ReasonForm(),
        form=return_form if return_form is not None and return_form.errors else None,
        confirm=ConfirmForm(), reuse_count=service.reuse_count(challenge),
        suggest=suggestions.may_see_suggestions(actor, challenge)
        and suggestions.shows_suggestions(challenge),
    ), status_code


@bp.get("/challenges/<int:challenge_id>")
@access.roles(kind="council")
def challenge(challenge_id: int):
    return _render_task_list(_challenge_or_404(challenge_id))


@bp.get("/challenges/<int:challenge_id>/preview")
@access.roles(kind="council")
def preview(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    return render_template("council/preview.html", challenge=challenge,
                           status=challenge.status)


# Sections ------------------------------------------------------------------------------------

def _section_or_404(slug: str) -> Section:
    section = SECTIONS_BY_SLUG.get(slug)
    if section is None:
        abort(404)
    return section


def _other_councils(challenge: Challenge) -> list[Organisation]:
    current = [s.organisation_id for s in challenge.sponsors]
    return list(db.session.scalars(
        select(Organisation).where(
            Organisation.kind == OrgKind.COUNCIL.value,
            Organisation.id != challenge.lead_council_id,
            or_(Organisation.status == OrgStatus.VERIFIED.value, Organisation.id.in_(current)))
        .order_by(Organisation.name)))


def _build_form(section: Section, challenge: Challenge, *, amending: bool) -> SectionForm:
    form_class = amend_form(section.form) if amending else section.form
    form = form_class() if request.method == "POST" else form_class(
        data=section.form.initial(challenge))
    if isinstance(form, SponsorsForm):
        form.co_sponsor_ids.choices = [(o.id, o.name) for o in _other_councils(challenge)]
    if isinstance(form, CapabilitiesForm):
        if request.method == "GET":
            form.q.data = (request.args.get("q") or "").strip()[:100]
        query = (form.q.data or "").strip()
        results = reference.search_cpv(query, CPV_RESULTS) if query else []
        form.set_choices(challenge.cpv_codes, results)
        form.cpv_results = results  # type: ignore[attr-defined]
    return form


def _render_section(challenge: Challenge, section: Section, form: SectionForm, *,
                    amending: bool, status_code: int = 200):  # type: ignore[no-untyped-def]
    following = next_section(section.slug)
    return render_template(
        "council/section.html", challenge=challenge, section=section, form=form,
        amending=amending, next_section=following, sections=SECTIONS,
        position=[s.slug for s in SECTIONS].index(section.slug) + 1,
        min_days=service.min_tender_days(),
    ), status_code


def _section_page(challenge_id: int, slug: str, *, amending: bool):  # type: ignore[no-untyped-def]
    section = _section_or_404(slug)
    challenge = _challenge_or_404(challenge_id)
    if not service.can_edit(_actor(), challenge):
        abort(403)
    status = challenge.status
    if amending and status != ChallengeStatus.OPEN:
        if status in UNPUBLISHED:
            return redirect(url_for("council.edit_section", challenge_id=challenge_id,
                                    section=slug))
        flash("Only an open challenge can be amended", "error")
        return _to_task_list(challenge_id)
    if not amending and status not in UNPUBLISHED:
        if status == ChallengeStatus.OPEN:
            return redirect(url_for("council.amend", challenge_id=challenge_id, section=slug))
        flash(f"This challenge is {status.value.replace('_', ' ')} and can no longer be "
              "changed", "error")
        return _to_task_list(challenge_id)

    form = _build_form(section, challenge, amending=amending)
    if request.method == "POST" and isinstance(form, CapabilitiesForm) and form.search.data:
        # The CPV search button: show the results, keeping what was typed, without saving.
        return _render_section(challenge, section, form, amending=amending)
    if not form.validate_on_submit():
        code = 400 if request.method == "POST" else 200
        return _render_section(challenge, section, form, amending=amending, status_code=code)
    try:
        if amending:
            service.amend(_actor(), challenge_id, form.to_changes(),
                          form.summary_of_change.data)  # type: ignore[attr-defined]
        else:
            service.update_draft(_actor(), challenge_id, form.to_changes())
    except ServiceError as err:
        form.apply_error(err)
        db.session.refresh(challenge)
        return _render_section(challenge, section, form, amending=amending, status_code=400)
    if amending:
        flash("Amendment published. Suppliers following the challenge have been told",
              "success")
        return _to_task_list(challenge_id)
    if status != ChallengeStatus.DRAFT and challenge.status == ChallengeStatus.DRAFT:
        flash("Saved. Because you changed it, the challenge is back in draft and must be "
              "approved again", "success")
    following = next_section(slug)
    if form.save_continue.data and following is not None:
        return redirect(url_for("council.edit_section", challenge_id=challenge_id,
                                section=following.slug))
    return _to_task_list(challenge_id)


@bp.route("/challenges/<int:challenge_id>/edit/<section>", methods=["GET", "POST"])
@access.roles(*EDITORS, kind="council")
def edit_section(challenge_id: int, section: str):
    return _section_page(challenge_id, section, amending=False)


@bp.route("/challenges/<int:challenge_id>/amend/<section>", methods=["GET", "POST"])
@access.roles(*EDITORS, kind="council")
def amend(challenge_id: int, section: str):
    return _section_page(challenge_id, section, amending=True)


# Approval and publication --------------------------------------------------------------------

@bp.post("/challenges/<int:challenge_id>/submit")
@access.roles(*EDITORS, kind="council")
def submit(challenge_id: int):
    return _run(lambda: service.submit_for_approval(_actor(), challenge_id), challenge_id,
                "Sent for approval. The procurement officers of your council have been told")


@bp.post("/challenges/<int:challenge_id>/approve")
@access.roles(OFFICER, kind="council")
def approve(challenge_id: int):
    return _run(lambda: service.approve(_actor(), challenge_id), challenge_id,
                "Challenge approved. It can now be published")


@bp.post("/challenges/<int:challenge_id>/return")
@access.roles(OFFICER, kind="council")
def return_to_draft(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            service.return_to_draft(_actor(), challenge_id, form.reason.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            flash("Returned to draft. Whoever sent it for approval has been told what to "
                  "change", "success")
            return _to_task_list(challenge_id)
    db.session.refresh(challenge)
    return _render_task_list(challenge, form, 400)


@bp.post("/challenges/<int:challenge_id>/publish")
@access.roles(OFFICER, kind="council")
def publish(challenge_id: int):
    return _run(lambda: service.publish(_actor(), challenge_id), challenge_id,
                "Challenge published. Suppliers can now see it and ask questions")


def _ending(challenge_id: int, *, action: str):  # type: ignore[no-untyped-def]
    challenge = _challenge_or_404(challenge_id)
    if not service.is_officer_for(_actor(), challenge):
        abort(403)
    allowed = ENDABLE[action]
    if request.method == "GET" and challenge.status not in allowed:
        flash(f"A challenge that is {challenge.status.value.replace('_', ' ')} cannot be "
              f"{'withdrawn' if action == 'withdraw' else 'cancelled'}", "error")
        return _to_task_list(challenge_id)
    form = ReasonForm()
    if form.validate_on_submit():
        use_case = service.withdraw if action == "withdraw" else service.cancel
        try:
            use_case(_actor(), challenge_id, form.reason.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            flash("Challenge withdrawn" if action == "withdraw" else "Challenge cancelled",
                  "success")
            return _to_task_list(challenge_id)
    code = 400 if request.method == "POST" else 200
    return render_template(f"council/{action}.html", challenge=challenge, form=form,
                           status=challenge.status), code


@bp.route("/challenges/<int:challenge_id>/withdraw", methods=["GET", "POST"])
@access.roles(OFFICER, kind="council")
def withdraw(challenge_id: int):
    return _ending(challenge_id, action="withdraw")


@bp.route("/challenges/<int:challenge_id>/cancel", methods=["GET", "POST"])
@access.roles(OFFICER, kind="council")
def cancel(challenge_id: int):
    return _ending(challenge_id, action="cancel")


# Clarification questions ---------------------------------------------------------------------

def _render_questions(challenge: Challenge, failed: tuple[int, Any] | None = None,
                      status_code: int = 200):  # type: ignore[no-untyped-def]
    """The questions page; ``failed`` is (question id, form) of a form sent with errors."""
    actor = _actor()
    questions = service.questions_for_council(actor, challenge)
    editor = service.can_edit(actor, challenge)
    answer_forms: dict[int, AnswerForm] = {}
    reject_forms: dict[int, RejectQuestionForm] = {}
    for question in questions:
        if question.status != QuestionStatus.PENDING or not editor:
            continue
        answer_forms[question.id] = AnswerForm(
            formdata=None, prefix=f"answer-{question.id}",
            data={"published_question": question.question})
        reject_forms[question.id] = RejectQuestionForm(formdata=None,
                                                       prefix=f"reject-{question.id}")
    form = None
    if failed is not None:
        question_id, form = failed
        target = answer_forms if isinstance(form, AnswerForm) else reject_forms
        if question_id in target:
            target[question_id] = form
    return render_template(
        "council/questions.html", challenge=challenge, questions=questions, editor=editor,
        pending=[q for q in questions if q.status == QuestionStatus.PENDING],
        answered=[q for q in questions if q.status == QuestionStatus.PUBLISHED],
        rejected=[q for q in questions if q.status == QuestionStatus.REJECTED],
        answer_forms=answer_forms, reject_forms=reject_forms, form=form,
        status=challenge.status,
    ), status_code


@bp.get("/challenges/<int:challenge_id>/questions")
@access.roles(kind="council")
def questions(challenge_id: int):
    return _render_questions(_challenge_or_404(challenge_id))


def _question_or_404(question_id: int) -> ClarificationQuestion:
    question = db.session.get(ClarificationQuestion, question_id)
    if question is None or not service.is_sponsor_member(_actor(), question.challenge):
        abort(404)
    return question


def _decide_question(question_id: int, form: AnswerForm | RejectQuestionForm,
                     use_case: Callable[[], Any], done: str):  # type: ignore[no-untyped-def]
    question = _question_or_404(question_id)
    challenge_id = question.challenge_id
    if form.validate_on_submit():
        try:
            use_case()
        except ServiceError as err:
            if err.field is None or getattr(form, err.field, None) is None:
                flash(err.message, "error")
                return redirect(url_for("council.questions", challenge_id=challenge_id))
            form.apply_error(err)
        else:
            flash(done, "success")
            return redirect(url_for("council.questions", challenge_id=challenge_id))
    db.session.expire_all()
    return _render_questions(_challenge_or_404(challenge_id), (question_id, form), 400)


@bp.post("/questions/<int:question_id>/answer")
@access.roles(*EDITORS, kind="council")
def answer(question_id: int):
    form = AnswerForm(prefix=f"answer-{question_id}")
    return _decide_question(
        question_id, form,
        lambda: service.answer_question(_actor(), question_id, form.answer.data,
                                        form.published_question.data),
        "Answer published. Every supplier can now see the question and answer")


@bp.post("/questions/<int:question_id>/reject")
@access.roles(*EDITORS, kind="council")
def reject_question(question_id: int):
    form = RejectQuestionForm(prefix=f"reject-{question_id}")
    return _decide_question(
        question_id, form,
        lambda: service.reject_question(_actor(), question_id, form.reason.data),
        "Question rejected. The supplier who asked has been told why")


# Suggested suppliers and invitations to bid ----------------------------------------------------

def _suggestion_form() -> tuple[SuggestionForm, bool]:
    """The filters and weights from the query string (the defaults when nothing was sent),
    and whether anything was sent."""
    args = request.args
    sent = any(name in args for name in SuggestionForm()._fields)
    return SuggestionForm(formdata=args if sent else None), sent


def _kept_args(args: Any) -> dict[str, str]:
    """The filters and weights of the query string, to keep in links and redirects."""
    fields = SuggestionForm()._fields
    return {k: v for k, v in args.items() if k in fields}


@bp.get("/challenges/<int:challenge_id>/suggested-suppliers")
@access.roles(*EDITORS, kind="council")
def suggested_suppliers(challenge_id: int):
    actor = _actor()
    challenge = _challenge_or_404(challenge_id)
    if not suggestions.may_see_suggestions(actor, challenge):
        abort(403)
    if not suggestions.shows_suggestions(challenge):
        flash(f"This challenge was {challenge.status.value}, so no suppliers are suggested",
              "error")
        return _to_task_list(challenge_id)
    form, sent = _suggestion_form()
    valid = form.validate() if sent else True
    page = suggestions.suggest_suppliers(
        actor, challenge_id, form.filters(), form.weights() if sent and valid else None)
    return render_template(
        "council/suggested_suppliers.html", challenge=challenge, status=challenge.status,
        page=page, form=form, invite_form=InviteForm(formdata=None),
        components=COMPONENTS, component_labels=COMPONENT_LABELS,
        kept=_kept_args(request.args), sizes=SIZE_LABELS,
        certifications=CERTIFICATION_LABELS), 200 if valid else 400


@bp.post("/challenges/<int:challenge_id>/suggested-suppliers/<int:supplier_id>/invite")
@access.roles(*EDITORS, kind="council")
def invite_supplier(challenge_id: int, supplier_id: int):
    challenge = _challenge_or_404(challenge_id)
    if not suggestions.may_see_suggestions(_actor(), challenge):
        abort(403)
    back = url_for("council.suggested_suppliers", challenge_id=challenge_id,
                   **_kept_args(request.args)) + f"#supplier-{supplier_id}"
    form = InviteForm()
    if not form.validate_on_submit():
        for item in form.error_list():
            flash(item["text"], "error")
        return redirect(back)
    try:
        invitation, emailed = suggestions.invite_supplier(
            _actor(), challenge_id, supplier_id, form.message.data or "")
    except ServiceError as err:
        flash_error(err)
    else:
        name = invitation.supplier.name
        flash(f"{name} has been invited to bid. We have emailed them a link to the challenge"
              if emailed else f"{name} has been invited to bid, but there is nobody at {name} "
              "we can email yet", "success")
    return redirect(back)
