"""Bid forms: one for each section of a supplier's bid.

Each section form loads its data from the bid's working copy (``initial``) and turns what was
sent into :class:`BidChanges` (``to_changes``). Forms for the answers and the requirements
are built for each challenge, with a field for each published criterion or requirement. The
rules (word limits, prices, PDFs, the deadline) are the service's; the forms only repeat the
word limit and the evidence length so that every problem is shown at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from marketplace.forms import BaseForm
from marketplace.models import Bid, Challenge, EvaluationCriterion
from marketplace.services.bids import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    BidChanges,
    RequirementAnswer,
    word_count,
)
from marketplace.services.errors import ServiceError, ValidationFailed

EVIDENCE_MAX = 5000
TEXT_MAX = 10_000
YES_NO = [("yes", "Yes"), ("no", "No")]


@dataclass(frozen=True)
class BidSection:
    """A step of the bid, and the fields of :func:`services.bids.problems` it owns."""

    slug: str
    title: str
    fields: tuple[str, ...]  # names, or prefixes ending in "_"
    optional: bool = False

    def owns(self, field_name: str) -> bool:
        return any(field_name == f or (f.endswith("_") and field_name.startswith(f))
                   for f in self.fields)


SECTIONS: tuple[BidSection, ...] = (
    BidSection("answers", "Your answers", ("answer_", "answers")),
    BidSection("requirements", "Requirements", ("requirement_", "requirements")),
    BidSection("price", "Price", ("price",)),
    BidSection("team", "Team and availability", ("team", "availability")),
    BidSection("declarations", "Declarations", ("has_conflict", "conflict_details",
                                                "terms_accepted")),
    BidSection("attachments", "Supporting documents", ("attachment",), optional=True),
)
SECTIONS_BY_SLUG = {s.slug: s for s in SECTIONS}


def section_for_field(field_name: str) -> BidSection | None:
    return next((s for s in SECTIONS if s.owns(field_name)), None)


def next_section(slug: str) -> BidSection | None:
    slugs = [s.slug for s in SECTIONS]
    position = slugs.index(slug) + 1
    return SECTIONS[position] if position < len(SECTIONS) else None


TERMS = (
    "Your bid is an offer to the council on the terms published with the challenge.",
    "Everything in your bid is true and complete as far as you know.",
    "You have not discussed your bid with other suppliers or tried to influence the council’s "
    "decision.",
    "The council may check what you say, and may exclude your bid if anything is untrue.",
)


# Section forms -------------------------------------------------------------------------------

class BidSectionForm(BaseForm):
    save_continue = SubmitField("Save and continue", widget=GovSubmitInput())

    @classmethod
    def initial(cls, bid: Bid) -> dict[str, Any]:
        raise NotImplementedError

    def to_changes(self) -> BidChanges:
        raise NotImplementedError


def _answer_field(criterion: EvaluationCriterion) -> TextAreaField:
    hint = f"Up to {criterion.word_limit:,} words."
    if criterion.description:
        hint = f"{criterion.description.rstrip('.')}. {hint}"
    return TextAreaField(f"{criterion.name} ({criterion.weight}%)", widget=GovCharacterCount(),
                         description=hint)


class AnswersForm(BidSectionForm):
    criteria: ClassVar[list[EvaluationCriterion]] = []

    @classmethod
    def initial(cls, bid: Bid) -> dict[str, Any]:
        answers = bid.answers or {}
        return {f"answer_{c.id}": answers.get(str(c.id), "") for c in cls.criteria}

    def field_for(self, criterion: EvaluationCriterion) -> Any:
        return self[f"answer_{criterion.id}"]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for criterion in self.criteria:
            field = self.field_for(criterion)
            words = word_count(field.data)
            if words > criterion.word_limit:
                field.errors = [*field.errors,
                                f"Your answer to ‘{criterion.name}’ has {words:,} words; the "
                                f"limit is {criterion.word_limit:,}"]
                ok = False
        return ok

    def to_changes(self) -> BidChanges:
        return BidChanges(answers={c.id: self.field_for(c).data or "" for c in self.criteria})


def answers_form(challenge: Challenge) -> type[AnswersForm]:
    """The answers form of a challenge: a text area for each published criterion."""
    fields: dict[str, Any] = {"criteria": list(challenge.criteria)}
    for criterion in challenge.criteria:
        fields[f"answer_{criterion.id}"] = _answer_field(criterion)
    return type("ChallengeAnswersForm", (AnswersForm,), fields)


class RequirementsForm(BidSectionForm):
    essential: ClassVar[list[Any]] = []
    nice: ClassVar[list[Any]] = []

    @classmethod
    def initial(cls, bid: Bid) -> dict[str, Any]:
        responses = bid.requirements or {}
        data: dict[str, Any] = {}
        for requirement in cls.essential + cls.nice:
            response = responses.get(str(requirement.id)) or {}
            met = response.get("met")
            if requirement in cls.essential:
                data[f"requirement_{requirement.id}"] = met is True
            else:
                data[f"requirement_{requirement.id}"] = {True: "yes", False: "no"}.get(met)
            data[f"evidence_{requirement.id}"] = response.get("evidence", "")
        return data

    def apply_error(self, error: ServiceError) -> None:
        # The service names the requirement for evidence that is too long: show it there.
        field = error.field or ""
        if field.startswith("requirement_") and error.message.startswith("Evidence"):
            error = ValidationFailed(error.message,
                                     field="evidence_" + field.removeprefix("requirement_"))
        super().apply_error(error)

    def to_changes(self) -> BidChanges:
        responses: dict[int, RequirementAnswer] = {}
        for requirement in self.essential:
            met = bool(self[f"requirement_{requirement.id}"].data)
            responses[requirement.id] = RequirementAnswer(
                met=True if met else None,
                evidence=self[f"evidence_{requirement.id}"].data or "")
        for requirement in self.nice:
            met = {"yes": True, "no": False}.get(self[f"requirement_{requirement.id}"].data or "")
            responses[requirement.id] = RequirementAnswer(
                met=met, evidence=self[f"evidence_{requirement.id}"].data or "")
        return BidChanges(requirements=responses)


def _evidence_field(hint: str) -> TextAreaField:
    return TextAreaField(
        "Evidence", widget=GovTextArea(), description=hint,
        validators=[Length(max=EVIDENCE_MAX,
                           message=f"Evidence must be {EVIDENCE_MAX:,} characters or fewer")])


def requirements_form(challenge: Challenge) -> type[RequirementsForm]:
    """The requirements form of a challenge: for each essential requirement a confirmation
    and evidence; for each nice-to-have, yes or no and evidence."""
    fields: dict[str, Any] = {"essential": list(challenge.essential_requirements),
                              "nice": list(challenge.nice_to_haves)}
    for requirement in challenge.essential_requirements:
        fields[f"requirement_{requirement.id}"] = BooleanField(
            "I confirm we meet this", widget=GovCheckboxInput())
        fields[f"evidence_{requirement.id}"] = _evidence_field(
            "How you meet it, with an example of where you have done it before")
    for requirement in challenge.nice_to_haves:
        fields[f"requirement_{requirement.id}"] = RadioField(
            "Do you offer this?", widget=GovRadioInput(), choices=YES_NO,
            validators=[Optional()])
        fields[f"evidence_{requirement.id}"] = _evidence_field("If you offer it, say how")
    return type("ChallengeRequirementsForm", (RequirementsForm,), fields)


class PriceForm(BidSectionForm):
    # Checked by the service, whose messages say what is wrong ("abc", negative, pence).
    price = StringField("Your price", widget=GovTextInput(),
                        render_kw={"inputmode": "decimal", "spellcheck": "false"})

    @classmethod
    def initial(cls, bid: Bid) -> dict[str, Any]:
        return {"price": "" if bid.price is None else f"{bid.price:,.2f}".removesuffix(".00")}

    def to_changes(self) -> BidChanges:
        return BidChanges(price=self.price.data or "", set_price=True)


def _long_text(label: str, hint: str, subject: str) -> TextAreaField:
    return TextAreaField(label, widget=GovTextArea(), description=hint, validators=[
        Length(max=TEXT_MAX, message=f"{subject} must be {TEXT_MAX:,} characters or fewer")])


class TeamForm(BidSectionForm):
    team = _long_text("Your team", "Who will do the work, their roles and relevant experience",
                      "The description of your team")
    availability = _long_text("When your team is available",
                              "When you could start, and how much time each person can give",
                              "Availability")

    @classmethod
    def initial(cls, bid: Bid) -> dict[str, Any]:
        return {"team": bid.team or "", "availability": bid.availability or ""}

    def to_changes(self) -> BidChanges:
        return BidChanges(team=self.team.data or "", availability=self.availability.data or "")


class DeclarationsForm(BidSectionForm):
    has_conflict = RadioField(
        "Do you have a conflict of interest?", widget=GovRadioInput(),
        choices=YES_NO, validators=[Optional()],
        description="For example, someone in your team works for the council, or is a close "
                    "relative or business partner of someone who does",
    )
    conflict_details = _long_text("If yes, describe the conflict of interest",
                                  "Who is involved, and how you will manage it",
                                  "The description of the conflict")
    terms_accepted = BooleanField("I accept the terms", widget=GovCheckboxInput())

    @classmethod
    def initial(cls, bid: Bid) -> dict[str, Any]:
        return {"has_conflict": {True: "yes", False: "no"}.get(bid.has_conflict),
                "conflict_details": bid.conflict_details or "",
                "terms_accepted": bool(bid.terms_accepted)}

    def to_changes(self) -> BidChanges:
        conflict = {"yes": True, "no": False}.get(self.has_conflict.data or "")
        return BidChanges(has_conflict=conflict, set_conflict=True,
                          conflict_details=(self.conflict_details.data or "") if conflict
                          else "",
                          terms_accepted=bool(self.terms_accepted.data))


class AttachmentsForm(BidSectionForm):
    attachment = FileField(
        "Upload a file", widget=GovFileInput(),
        description=f"PDF only, smaller than {MAX_ATTACHMENT_BYTES // (1024 * 1024)}MB. You "
                    f"can add up to {MAX_ATTACHMENTS} files",
    )
    upload = SubmitField("Upload file", widget=GovSubmitInput())

    @classmethod
    def initial(cls, bid: Bid) -> dict[str, Any]:
        return {}

    def validate_attachment(self, field: FileField) -> None:
        if self.upload.data and not field.data:
            raise ValidationError("Select a PDF file to upload")


def form_class(section: BidSection, challenge: Challenge) -> type[BidSectionForm]:
    if section.slug == "answers":
        return answers_form(challenge)
    if section.slug == "requirements":
        return requirements_form(challenge)
    return {"price": PriceForm, "team": TeamForm, "declarations": DeclarationsForm,
            "attachments": AttachmentsForm}[section.slug]
