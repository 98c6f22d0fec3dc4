"""Platform administration pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from marketplace import access
from marketplace.extensions import db
from marketplace.forms.accounts import ConfirmForm
from marketplace.forms.admin import DomainForm, ReasonForm
from marketplace.forms.matching import VocabularyForm
from marketplace.models import AuditEvent, Organisation, OrgStatus, OutboxEmail, User
from marketplace.services import admin as admin_service
from marketplace.services import matching
from marketplace.services.audit import AuditFilter, audit_query
from marketplace.services.errors import ServiceError
from marketplace.views import flash_error

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


def _actor() -> User:
    return current_user._get_current_object()


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("")
@access.platform_admin
def index():
    pending = db.session.scalar(
        select(func.count(Organisation.id)).where(Organisation.status == OrgStatus.PENDING.value)
    )
    counts = {
        "pending": pending,
        "organisations": db.session.scalar(select(func.count(Organisation.id))),
        "users": db.session.scalar(select(func.count(User.id))),
        "queued_emails": db.session.scalar(
            select(func.count(OutboxEmail.id)).where(OutboxEmail.sent_at.is_(None))
        ),
    }
    return render_template("admin/index.html", counts=counts)


@bp.get("/organisations")
@access.platform_admin
def organisations():
    status = request.args.get("status") or None
    if status not in {None, *[s.value for s in OrgStatus]}:
        status = None
    orgs = admin_service.organisations(_actor(), status=status, q=request.args.get("q"))
    return render_template("admin/organisations.html", orgs=orgs, status=status,
                           q=request.args.get("q", ""))


@bp.route("/organisations/<int:org_id>", methods=["GET"])
@access.platform_admin
def organisation(org_id: int):
    org = db.session.get(Organisation, org_id) or abort(404)
    members = db.session.scalars(
        select(User).where(User.organisation_id == org.id).order_by(User.full_name)
    ).all()
    return render_template("admin/organisation.html", org=org, members=members,
                           confirm=ConfirmForm(), reject_form=ReasonForm())


@bp.post("/organisations/<int:org_id>/verify")
@access.platform_admin
def verify_organisation(org_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        org = admin_service.verify_organisation(_actor(), org_id)
    except ServiceError as err:
        flash_error(err)
    else:
        flash(f"{org.name} is verified", "success")
    return redirect(url_for("admin.organisation", org_id=org_id))


@bp.post("/organisations/<int:org_id>/reject")
@access.platform_admin
def reject_organisation(org_id: int):
    org = db.session.get(Organisation, org_id) or abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            admin_service.reject_organisation(_actor(), org_id, form.reason.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            flash(f"{org.name} was rejected", "success")
            return redirect(url_for("admin.organisation", org_id=org_id))
    members = db.session.scalars(select(User).where(User.organisation_id == org.id)).all()
    return render_template("admin/organisation.html", org=org, members=members,
                           confirm=ConfirmForm(), reject_form=form), 400


@bp.route("/domains", methods=["GET", "POST"])
@access.platform_admin
def domains():
    form = DomainForm()
    if form.validate_on_submit():
        try:
            row = admin_service.add_domain(_actor(), form.domain.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            flash(f"{row.domain} added", "success")
            return redirect(url_for("admin.domains"))
    from flask import current_app

    return render_template("admin/domains.html", form=form,
                           configured=current_app.config["COUNCIL_EMAIL_DOMAINS"],
                           added=admin_service.added_domains(), confirm=ConfirmForm())


@bp.post("/domains/<int:domain_id>/delete")
@access.platform_admin
def delete_domain(domain_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    admin_service.remove_domain(_actor(), domain_id)
    flash("Domain removed", "success")
    return redirect(url_for("admin.domains"))


@bp.get("/users")
@access.platform_admin
def users():
    q = request.args.get("q", "")
    return render_template("admin/users.html", users=admin_service.users(_actor(), q), q=q)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@access.platform_admin
def user(user_id: int):
    person = db.session.get(User, user_id) or abort(404)
    form = ReasonForm()
    status = 200
    if form.validate_on_submit():
        try:
            admin_service.suspend_user(_actor(), user_id, form.reason.data)
        except ServiceError as err:
            form.apply_error(err)
            status = 400
        else:
            flash(f"{person.email} is suspended", "success")
            return redirect(url_for("admin.user", user_id=user_id))
    elif request.method == "POST":
        status = 400
    return render_template("admin/user.html", person=person, form=form,
                           confirm=ConfirmForm()), status


@bp.post("/users/<int:user_id>/reinstate")
@access.platform_admin
def reinstate_user(user_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        person = admin_service.reinstate_user(_actor(), user_id)
    except ServiceError as err:
        flash_error(err)
    else:
        flash(f"{person.email} is reinstated", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.get("/audit")
@access.platform_admin
def audit():
    flt = AuditFilter(
        action=request.args.get("action") or None,
        actor=request.args.get("actor") or None,
        object_type=request.args.get("object_type") or None,
    )
    page = _page()
    stmt = audit_query(flt)
    events = db.session.scalars(stmt.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    has_next = len(events) > PAGE_SIZE
    object_types = db.session.scalars(
        select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
    ).all()
    return render_template("admin/audit.html", events=events[:PAGE_SIZE], page=page,
                           has_next=has_next, flt=flt, object_types=object_types)


@bp.get("/mailbox")
@access.platform_admin
def mailbox():
    page = _page()
    q = request.args.get("to", "").strip().lower()
    stmt = select(OutboxEmail).order_by(OutboxEmail.id.desc())
    if q:
        stmt = stmt.where(OutboxEmail.to_address.contains(q))
    messages = db.session.scalars(stmt.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/mailbox.html", messages=messages[:PAGE_SIZE], page=page,
                           has_next=len(messages) > PAGE_SIZE, to=q)


@bp.get("/mailbox/<int:message_id>")
@access.platform_admin
def mailbox_message(message_id: int):
    message = db.session.get(OutboxEmail, message_id) or abort(404)
    return render_template("admin/mailbox_message.html", message=message)


@bp.route("/matching-vocabulary", methods=["GET", "POST"])
@access.platform_admin
def matching_vocabulary():
    """The team's extra synonyms for supplier matching."""
    form = VocabularyForm()
    status = 200
    if request.method == "GET":
        form.vocabulary.data = matching.vocabulary_text()
    elif form.validate_on_submit():
        try:
            changed = matching.save_vocabulary(_actor(), form.vocabulary.data or "")
        except ServiceError as err:
            form.apply_error(err)
            status = 400
        else:
            flash("Vocabulary saved. Each server rebuilds its index with it, which takes "
                  "up to a few minutes with many suppliers" if changed
                  else "Nothing changed", "success")
            return redirect(url_for("admin.matching_vocabulary"))
    else:
        status = 400
    return render_template("admin/matching_vocabulary.html", form=form,
                           state=matching.read_state(), stats=matching.index_stats()), status


# Background jobs -------------------------------------------------------------------------------

@bp.get("/jobs")
@access.platform_admin
def jobs_page():
    """The job queue (RQ) or, without Redis, how jobs run; undeliverable emails either way."""
    from redis.exceptions import RedisError

    from marketplace import jobs

    report = None
    redis_error = None
    if jobs.redis_url(current_app):
        try:
            report = jobs.queue_report(current_app)
        except RedisError as exc:
            redis_error = str(exc)
    return render_template("admin/jobs.html", report=report, redis_error=redis_error,
                           redis=bool(jobs.redis_url(current_app)), schedule=jobs.SCHEDULE,
                           undeliverable=admin_service.undeliverable_emails(_actor(), PAGE_SIZE),
                           confirm=ConfirmForm())


@bp.post("/jobs/retry")
@access.platform_admin
def retry_job():
    """Put a failed job back on the queue (audited)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        name = admin_service.requeue_job(_actor(), request.form.get("job_id", ""))
    except ServiceError as err:
        flash(err.message, "error")
    else:
        flash(f"Job {name} queued again", "success")
    return redirect(url_for("admin.jobs_page"))


@bp.post("/jobs/emails/retry")
@access.platform_admin
def retry_email():
    """Give an undeliverable email a fresh set of delivery attempts (audited)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        message_id = int(request.form.get("message_id", ""))
    except ValueError:
        message_id = 0
    try:
        message = admin_service.retry_email(_actor(), message_id)
    except ServiceError as err:
        flash(err.message, "error")
    else:
        flash(f"Email to {message.to_address} queued for delivery again", "success")
    return redirect(url_for("admin.jobs_page"))
