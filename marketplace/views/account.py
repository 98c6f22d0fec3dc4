"""A person's own account: details, sessions and password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace import access
from marketplace.extensions import client_ip, db
from marketplace.forms.accounts import ChangePasswordForm, ConfirmForm
from marketplace.models import UserSession
from marketplace.services import accounts
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
