"""An organisation's team: members, roles, invitations and join requests."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from marketplace import access
from marketplace.extensions import db
from marketplace.forms.accounts import ConfirmForm
from marketplace.forms.team import InviteForm, JoinDecisionForm, RolesForm
from marketplace.models import Role, User
from marketplace.services import organisations
from marketplace.services.errors import ServiceError
from marketplace.views import flash_error

bp = Blueprint("organisation", __name__, url_prefix="/organisation")

ORG_ADMIN = Role.ORG_ADMIN.value


def _actor() -> User:
    return current_user._get_current_object()


@bp.get("")
@access.member
def team():
    data = organisations.team_overview(_actor())
    return render_template("organisation/team.html", confirm=ConfirmForm(), **data)


@bp.route("/invite", methods=["GET", "POST"])
@access.roles(ORG_ADMIN)
def invite():
    org = _actor().organisation
    form = InviteForm()
    form.roles.choices = organisations.role_choices(org)
    if form.validate_on_submit():
        try:
            invitation = organisations.invite(_actor(), form.email.data, form.roles.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            flash(f"Invitation sent to {invitation.email}", "success")
            return redirect(url_for("organisation.team"))
    return render_template("organisation/invite.html", form=form)


@bp.post("/invitations/<int:invitation_id>/revoke")
@access.roles(ORG_ADMIN)
def revoke_invitation(invitation_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        organisations.revoke_invitation(_actor(), invitation_id)
    except ServiceError as err:
        flash_error(err)
    else:
        flash("Invitation withdrawn", "success")
    return redirect(url_for("organisation.team"))


def _member_or_404(member_id: int) -> User:
    member = db.session.get(User, member_id)
    if member is None or member.organisation_id != _actor().organisation_id:
        abort(404)
    return member


@bp.route("/members/<int:member_id>/roles", methods=["GET", "POST"])
@access.roles(ORG_ADMIN)
def member_roles(member_id: int):
    member = _member_or_404(member_id)
    form = RolesForm(data={"roles": sorted(member.roles)})
    form.roles.choices = organisations.role_choices(member.organisation)
    if form.validate_on_submit():
        try:
            organisations.set_member_roles(_actor(), member_id, form.roles.data)
        except ServiceError as err:
            form.apply_error(err)
        else:
            flash(f"Roles updated for {member.full_name}", "success")
            return redirect(url_for("organisation.team"))
    return render_template("organisation/member_roles.html", form=form, member=member,
                           confirm=ConfirmForm())


@bp.post("/members/<int:member_id>/remove")
@access.roles(ORG_ADMIN)
def remove_member(member_id: int):
    member = _member_or_404(member_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        organisations.remove_member(_actor(), member_id)
    except ServiceError as err:
        flash_error(err)
        return redirect(url_for("organisation.member_roles", member_id=member_id))
    flash(f"{member.full_name} has been removed from the organisation", "success")
    return redirect(url_for("organisation.team"))


@bp.route("/join-requests/<int:request_id>", methods=["GET", "POST"])
@access.roles(ORG_ADMIN)
def join_request(request_id: int):
    data = organisations.team_overview(_actor())
    request_row = next((r for r in data["join_requests"] if r.id == request_id), None)
    if request_row is None:
        abort(404)
    org = _actor().organisation
    form = JoinDecisionForm()
    form.roles.choices = organisations.role_choices(org)
    if form.validate_on_submit():
        approve = bool(form.approve.data)
        try:
            organisations.decide_join_request(_actor(), request_id, approve=approve,
                                              roles=form.roles.data or None)
        except ServiceError as err:
            form.apply_error(err)
        else:
            name = request_row.user.full_name
            flash(f"{name} {'has joined' if approve else 'was not added to'} {org.name}",
                  "success")
            return redirect(url_for("organisation.team"))
    return render_template("organisation/join_request.html", form=form, join=request_row)
