"""Registration, email verification, sign-in and out, password reset, invitations."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from marketplace import access
from marketplace.extensions import client_ip, db, limiter
from marketplace.forms.accounts import (
    AcceptInvitationForm,
    ConfirmForm,
    EmailOnlyForm,
    KindForm,
    NewPasswordForm,
    RegisterForm,
    SignInForm,
)
from marketplace.models import Organisation, OrgKind, OrgStatus
from marketplace.security import safe_next
from marketplace.services import accounts, organisations
from marketplace.services.errors import ServiceError

bp = Blueprint("auth", __name__)


def start_session(user, raw_token: str) -> None:  # type: ignore[no-untyped-def]
    """Replace the whole cookie session (new CSRF secret too) and sign the user in."""
    session.clear()
    session["sid"] = raw_token
    session.permanent = True
    login_user(user)


def _account_key() -> str:
    return "account:" + accounts.normalise_email(request.form.get("email", ""))[:254]


def _ip_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_IP"]


def _account_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"]


def _sensitive_limit() -> str:
    return current_app.config["SENSITIVE_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
@access.public
def register():
    form = KindForm()
    if form.validate_on_submit():
        return redirect(url_for("auth.register_details", kind=form.kind.data))
    return render_template("auth/register_kind.html", form=form)


@bp.route("/register/<any(supplier, council):kind>", methods=["GET", "POST"])
@access.public
@limiter.limit(_sensitive_limit, methods=["POST"])
def register_details(kind: str):
    org_kind = OrgKind(kind)
    form = RegisterForm()
    form.organisation.choices = [(0, "Choose an organisation")] + [
        (o.id, o.name)
        for o in db.session.scalars(
            select(Organisation)
            .where(Organisation.kind == kind, Organisation.status != OrgStatus.REJECTED.value)
            .order_by(Organisation.name_key)
        )
    ]
    if form.validate_on_submit():
        reg = accounts.Registration(
            kind=org_kind,
            full_name=form.full_name.data,
            email=form.email.data,
            password=form.password.data,
            new_organisation_name=form.organisation_name.data
            if form.organisation_choice.data == "new" else None,
            join_organisation_id=form.organisation.data
            if form.organisation_choice.data == "join" else None,
        )
        try:
            accounts.register(reg)
        except ServiceError as err:
            form.apply_error(err)
        else:
            session["registered_email"] = accounts.normalise_email(form.email.data)
            return redirect(url_for("auth.check_email"))
    return render_template("auth/register_details.html", form=form, kind=org_kind,
                           council_domains=accounts.allowed_council_domains())


@bp.get("/register/check-email")
@access.public
def check_email():
    return render_template("auth/check_email.html", email=session.get("registered_email"))


@bp.get("/verify-email/<token>")
@access.public
def verify_email(token: str):
    try:
        user = accounts.verify_email(token)
    except ServiceError as err:
        return render_template("auth/link_problem.html", message=err.message,
                               resend=True), 400
    return render_template("auth/email_verified.html", user=user)


@bp.route("/verify-email/resend", methods=["GET", "POST"])
@access.public
@limiter.limit(_sensitive_limit, methods=["POST"])
def resend_verification():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        accounts.resend_verification(form.email.data)
        session["registered_email"] = accounts.normalise_email(form.email.data)
        return redirect(url_for("auth.check_email"))
    return render_template("auth/resend_verification.html", form=form)


@bp.route("/sign-in", methods=["GET", "POST"])
@access.public
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 302)
def sign_in():
    next_url = safe_next(request.values.get("next"), url_for("main.dashboard"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = SignInForm()
    unverified = False
    if form.validate_on_submit():
        try:
            user, raw = accounts.sign_in(
                form.email.data, form.password.data, ip=client_ip(),
                user_agent=request.user_agent.string,
            )
        except accounts.SignInRefused as refused:
            form.form_errors.append(refused.message)
            unverified = refused.reason == "unverified"
        else:
            start_session(user, raw)
            return redirect(next_url)
    return render_template("auth/sign_in.html", form=form, next=next_url, unverified=unverified)


@bp.post("/sign-out")
@access.signed_in
def sign_out():
    accounts.sign_out(current_user._get_current_object(), session.get("sid"))
    logout_user()
    session.clear()
    flash("You have been signed out", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@access.public
@limiter.limit(_sensitive_limit, methods=["POST"])
def forgot_password():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@access.public
@limiter.limit(_sensitive_limit, methods=["POST"])
def reset_password(token: str):
    try:
        accounts.user_for_reset_token(token)
    except ServiceError as err:
        return render_template("auth/link_problem.html", message=err.message,
                               reset=True), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Your password has been changed. Sign in with your new password", "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@access.public
@limiter.limit(_sensitive_limit, methods=["POST"])
def accept_invitation(token: str):
    try:
        invitation = organisations.invitation_for_token(token)
    except ServiceError as err:
        return render_template("auth/link_problem.html", message=err.message), err.status_code
    existing = accounts.user_by_email(invitation.email)
    if existing is not None:
        form = ConfirmForm()
        signed_in_as_invitee = (
            current_user.is_authenticated and current_user.id == existing.id
        )
        if form.validate_on_submit():
            if not signed_in_as_invitee:
                abort(403)
            try:
                organisations.accept_invitation_as(current_user._get_current_object(), token)
            except ServiceError as err:
                form.apply_error(err)
            else:
                flash(f"You have joined {invitation.organisation.name}", "success")
                return redirect(url_for("organisation.team"))
        return render_template("auth/accept_invitation_existing.html", form=form,
                               invitation=invitation, signed_in_as_invitee=signed_in_as_invitee,
                               existing=existing)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = organisations.accept_invitation(
                token, full_name=form.full_name.data, password=form.password.data
            )
            user, raw = accounts.sign_in(user.email, form.password.data, ip=client_ip(),
                                         user_agent=request.user_agent.string)
        except ServiceError as err:
            form.apply_error(err)
        except accounts.SignInRefused as refused:
            form.form_errors.append(refused.message)
        else:
            start_session(user, raw)
            flash(f"Welcome to {invitation.organisation.name}", "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation)
