"""Field helpers shared by forms."""

from __future__ import annotations

import re

from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput
from wtforms import SelectMultipleField, StringField, ValidationError

from marketplace import reference


class MultiCheckboxField(SelectMultipleField):
    """A list of GOV.UK checkboxes."""

    widget = GovCheckboxesInput()


class CpvPicker:
    """Methods for a form with ``cpv_codes`` (checkboxes of search results and chosen codes)
    and ``cpv_typed`` (codes typed in directly): the CPV picker works without JavaScript."""

    cpv_codes: MultiCheckboxField
    cpv_typed: StringField

    def typed_codes(self) -> list[str]:
        return [c for c in re.split(r"[,;\s]+", self.cpv_typed.data or "") if c]

    def validate_cpv_typed(self, field: StringField) -> None:
        for raw in self.typed_codes():
            try:
                reference.parse_cpv(raw)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    def chosen(self) -> list[str]:
        return list(dict.fromkeys([*(self.cpv_codes.data or []), *self.typed_codes()]))

    def set_choices(self, saved: list[str], results: list[reference.CpvCode]) -> None:
        """Checkboxes for the codes chosen (saved or just ticked) and the search results."""
        known = reference.load_cpv()
        codes = list(dict.fromkeys([*saved, *(self.cpv_codes.data or []),
                                    *(r.code for r in results)]))
        self.cpv_codes.choices = [
            (code, known[code].display if code in known else code) for code in codes]
