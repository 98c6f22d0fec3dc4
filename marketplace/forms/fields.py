"""Field helpers shared by forms."""

from __future__ import annotations

import re
from typing import ClassVar

from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput
from wtforms import Field, SelectMultipleField, StringField, ValidationError

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


class NumberedRows:
    """A form of numbered rows of fields (``row(n)`` for n from 1 to ``rows``); blank rows are
    ignored, and rows beyond ``open_rows`` that are unused sit behind "Add more"."""

    rows: ClassVar[int] = 1
    open_rows: ClassVar[int] = 1

    def row(self, n: int) -> tuple[Field, ...]:
        raise NotImplementedError

    def shown_rows(self) -> int:
        """How many rows to show open: every row in use, one more, and at least a few."""
        last = 0
        for n in range(1, self.rows + 1):
            if any(f.errors or f.data not in (None, "") for f in self.row(n)):
                last = n
        return min(self.rows, max(self.open_rows, last + 1))
