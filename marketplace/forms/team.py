"""Organisation admin forms."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField
from wtforms.validators import InputRequired

from marketplace.forms import BaseForm
from marketplace.forms.accounts import email_field
from marketplace.forms.fields import MultiCheckboxField


class InviteForm(BaseForm):
    email = email_field("Colleague’s email address")
    roles = MultiCheckboxField(
        "Roles", choices=[], validators=[InputRequired(message="Select at least one role")]
    )
    submit = SubmitField("Send invitation", widget=GovSubmitInput())


class RolesForm(BaseForm):
    roles = MultiCheckboxField(
        "Roles", choices=[], validators=[InputRequired(message="Select at least one role")]
    )
    submit = SubmitField("Save roles", widget=GovSubmitInput())


class JoinDecisionForm(BaseForm):
    roles = MultiCheckboxField("Roles to give", choices=[])
    approve = SubmitField("Approve", widget=GovSubmitInput())
    reject = SubmitField("Reject", widget=GovSubmitInput())
