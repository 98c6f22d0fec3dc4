"""WTForms forms rendered with the GOV.UK Design System widgets."""

from __future__ import annotations

from flask_wtf import FlaskForm

from marketplace.services.errors import NotFound, PermissionDenied, ServiceError


class BaseForm(FlaskForm):
    """A form that can show a service-layer error against the field it concerns."""

    def apply_error(self, error: ServiceError) -> None:
        """Show the error against its field (or the whole form). Not-found and forbidden are
        not form errors: they propagate to the 404 and 403 pages."""
        if isinstance(error, NotFound | PermissionDenied):
            raise error
        field = getattr(self, error.field, None) if error.field else None
        if field is not None and hasattr(field, "errors"):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.append(error.message)
        else:
            self.form_errors.append(error.message)

    def error_list(self) -> list[dict[str, str]]:
        """Entries for the GOV.UK error summary, in field order."""
        items: list[dict[str, str]] = []
        first_id = None
        for field in self:
            if field.type in {"CSRFTokenField", "HiddenField", "SubmitField"}:
                continue
            first_id = first_id or field.id
            # GOV.UK radios and checkboxes give their first input the field's id.
            for message in field.errors:
                items.append({"text": message, "href": f"#{field.id}"})
        for message in self.form_errors:
            items.insert(0, {"text": message, "href": f"#{first_id or 'main-content'}"})
        csrf = getattr(self, "csrf_token", None)
        if csrf is not None and csrf.errors:
            items.insert(0, {"text": "Your form expired or was sent from another page. "
                             "Try again", "href": "#main-content"})
        return items
