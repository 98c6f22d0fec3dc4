"""Forms for supplier matching: the filters and weights of the suggested suppliers page (sent
by GET), the invitation to bid, and the team vocabulary."""

from __future__ import annotations

from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovSelect, GovTextArea
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace import reference
from marketplace.forms import BaseForm
from marketplace.forms.challenges import WholeNumberField
from marketplace.matching import Weights
from marketplace.models import CERTIFICATION_LABELS, SIZE_LABELS
from marketplace.services.matching import VOCABULARY_MAX
from marketplace.services.suggestions import MESSAGE_MAX, SuggestionFilters

COMPONENTS = ("capability", "outcome", "cpv", "region")
COMPONENT_LABELS = {
    "capability": "Capabilities",
    "outcome": "Outcomes",
    "cpv": "CPV codes",
    "region": "Region",
}
WEIGHT_HINTS = {
    "capability": "How closely their capabilities match the capabilities you are looking for",
    "outcome": "How closely the outcomes in their case studies match the outcomes you want",
    "cpv": "Whether they work in the same CPV categories as the challenge",
    "region": "Whether they work in the place of delivery",
}


def _percent(value: float) -> int:
    return round(value * 100)


DEFAULT_WEIGHTS = {name: _percent(getattr(Weights(), name)) for name in COMPONENTS}


def _weight(name: str) -> WholeNumberField:
    label = COMPONENT_LABELS[name]
    return WholeNumberField(
        f"{label} weight", subject=f"{label} weight", minimum=0, maximum=100,
        description=WEIGHT_HINTS[name] + f". From 0 to 100 (default {DEFAULT_WEIGHTS[name]})",
        validators=[InputRequired(message=f"Enter a weight for {label.lower()}, from 0 to "
                                          "100")],
        default=DEFAULT_WEIGHTS[name])


class SuggestionForm(BaseForm):
    """Filters and weights, sent with GET (bookmarkable, no CSRF token needed)."""

    class Meta:
        csrf = False

    region = SelectField(
        "Region served", widget=GovSelect(), validate_choice=False,
        choices=[("", "Anywhere")] + [(r, r) for r in reference.REGIONS],
        description="Suppliers who work UK-wide are included")
    size = SelectField(
        "Size", widget=GovSelect(), validate_choice=False,
        choices=[("", "Any size")] + [(k, label) for k, (label, _) in SIZE_LABELS.items()])
    certification = SelectField(
        "Certification", widget=GovSelect(), validate_choice=False,
        choices=[("", "Any or none")] + [(k, v) for k, v in CERTIFICATION_LABELS.items()
                                          if k != "other"],
        description="Only certifications that have not expired")
    weight_capability = _weight("capability")
    weight_outcome = _weight("outcome")
    weight_cpv = _weight("cpv")
    weight_region = _weight("region")

    def weight_fields(self) -> list[Any]:
        return [getattr(self, f"weight_{name}") for name in COMPONENTS]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and not any(field.data for field in self.weight_fields()):
            self.weight_capability.errors = [
                "At least one weight must be more than 0"]
            return False
        return ok

    def filters(self) -> SuggestionFilters:
        """The filters chosen; anything not on the lists is ignored."""
        region = self.region.data if self.region.data in reference.REGIONS else None
        size = self.size.data if self.size.data in SIZE_LABELS else None
        certification = self.certification.data
        if certification not in CERTIFICATION_LABELS or certification == "other":
            certification = None
        return SuggestionFilters(region=region, size=size, certification=certification)

    def weights(self) -> Weights:
        """The weights chosen (only call after a successful validation)."""
        return Weights(*(float(field.data) / 100 for field in self.weight_fields()))


class InviteForm(BaseForm):
    message = TextAreaField(
        "Message (optional)", widget=GovTextArea(),
        description="Why you think they could help. It goes in the email with a link to the "
                    "challenge",
        validators=[Length(max=MESSAGE_MAX,
                           message=f"Your message must be {MESSAGE_MAX:,} characters or "
                                   "fewer")])


class VocabularyForm(BaseForm):
    vocabulary = TextAreaField(
        "Extra synonyms", widget=GovCharacterCount(),
        description="One concept a line: an identifier, optional parent concepts in brackets, "
                    "a colon, then phrases that mean the same, separated by semicolons",
        validators=[Length(max=VOCABULARY_MAX,
                           message=f"The vocabulary must be {VOCABULARY_MAX:,} characters or "
                                   "fewer")])

