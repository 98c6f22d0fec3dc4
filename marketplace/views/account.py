"""A person's own account: details, sessions, password and API tokens."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from marketplace import access
from marketplace.extensions import client_ip, db
from marketplace.forms.accounts import ApiTokenForm, ChangePasswordForm, ConfirmForm
from marketplace.models import ApiToken, UserSession, utcnow
from marketplace.services import accounts
from marketplace.services import tokens as token_service
from marketplace.services.errors import ServiceError
from marketplace.views.auth import start_session

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("")
@access.signed_in
def details():
    sessions = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == current_user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.created_at.desc())
        .limit(20)
    ).all()
    return render_template("account/details.html", sessions=sessions, csrf_form=ConfirmForm())


@bp.route("/password", methods=["GET", "POST"])
@access.signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            raw = accounts.change_password(
                user, form.current_password.data, form.new_password.data,
                ip=client_ip(), user_agent=request.user_agent.string,
            )
        except ServiceError as err:
            form.apply_error(err)
        else:
            start_session(user, raw)
            flash("Your password has been changed. You have been signed out everywhere else",
                  "success")
            return redirect(url_for("account.details"))
    return render_template("account/change_password.html", form=form)


@bp.post("/sessions/sign-out-others")
@access.signed_in
def sign_out_others():
    user = current_user._get_current_object()
    count = accounts.sign_out_other_sessions(user, session.get("sid"))
    flash(f"Signed out of {count} other session{'s' if count != 1 else ''}", "success")
    return redirect(url_for("account.details"))


# API tokens ------------------------------------------------------------------------------------

def token_status(token: ApiToken, now: datetime) -> tuple[str, str]:
    """The token's state and the colour of its tag."""
    if token.revoked_at is not None:
        return "Revoked", "govuk-tag--red"
    if token.expires_at <= now:
        return "Expired", "govuk-tag--grey"
    return "Active", "govuk-tag--green"


def _render_tokens(form: ApiTokenForm, status_code: int = 200):  # type: ignore[no-untyped-def]
    now = utcnow()
    listed = [(token, *token_status(token, now))
              for token in token_service.tokens_for(current_user._get_current_object())]
    return render_template("account/tokens.html", form=form, tokens=listed,
                           confirm=ConfirmForm(), scope_hints=form.scope_items()), status_code


@bp.route("/tokens", methods=["GET", "POST"])
@access.signed_in
def tokens():
    form = ApiTokenForm(max_days=token_service.max_days())
    if not form.validate_on_submit():
        return _render_tokens(form, 400 if request.method == "POST" else 200)
    try:
        made = token_service.create_token(current_user._get_current_object(), form.name.data,
                                          form.scope.data, form.days.data)
    except ServiceError as err:
        form.apply_error(err)
        return _render_tokens(form, 400)
    # The secret is shown once, in the answer to this POST (there is no page to redirect to
    # that could show it again), and must never be cached.
    base = current_app.config["BASE_URL"].rstrip("/")
    response = make_response(render_template(
        "account/token_created.html", token=made.token, secret=made.secret,
        example_url=f"{base}/api/v1/challenges"))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@access.signed_in
def revoke_token(token_id: int):
    # Not found (another person's token, or none) propagates to the 404 page.
    token = token_service.revoke_token(current_user._get_current_object(), token_id)
    flash(f"Token ‘{token.name}’ revoked. Anything using it can no longer call the API",
          "success")
    return redirect(url_for("account.tokens"))
