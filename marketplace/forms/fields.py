"""Field helpers shared by forms."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput
from wtforms import SelectMultipleField


class MultiCheckboxField(SelectMultipleField):
    """A list of GOV.UK checkboxes."""

    widget = GovCheckboxesInput()
