"""Platform admin forms."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.forms import BaseForm


class DomainForm(BaseForm):
    domain = StringField(
        "Email domain",
        widget=GovTextInput(),
        description="For example, examplecouncil.gov.uk. Subdomains are included",
        validators=[InputRequired(message="Enter a domain"),
                    Length(max=253, message="Domain must be 253 characters or fewer")],
    )
    submit = SubmitField("Add domain", widget=GovSubmitInput())


class ReasonForm(BaseForm):
    reason = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        validators=[InputRequired(message="Enter the reason"),
                    Length(max=1000, message="Reason must be 1000 characters or fewer")],
    )
    submit = SubmitField("Confirm", widget=GovSubmitInput())
