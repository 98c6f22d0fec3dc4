"""Evaluation forms: evaluators, the score scale, conflict declarations, scores, moderation,
exclusion, the shortlist, interviews and the award.

Forms that depend on the challenge (a score and a comment for each criterion, a value for each
shortlisted bid) are built for it. The rules are the service's: these forms only turn what
was sent into its inputs, and show its errors against the field they name (the service names
fields like ``score-12``; here they are ``score_12``).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    Field,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from marketplace.forms import BaseForm
from marketplace.forms.challenges import (
    GroupErrors,
    TimeField,
    UKDateField,
    uk_parts,
    uk_to_utc,
)
from marketplace.forms.fields import MultiCheckboxField
from marketplace.models import MAX_SCORE, Bid, Challenge, EvaluationCriterion, User
from marketplace.services.errors import ServiceError

SCORES = range(MAX_SCORE + 1)
COMMENT_MAX = 5000
REASON_MAX = 2000
YES_NO = [("yes", "Yes"), ("no", "No")]
MET = [("met", "Met"), ("not_met", "Not met")]
MONEY_RE = re.compile(r"\d+(\.\d{1,2})?", re.ASCII)


def _reason(label: str, hint: str = "", *, required: str | None = None) -> TextAreaField:
    validators: list[Any] = [Length(max=REASON_MAX,
                                    message=f"{label} must be {REASON_MAX:,} characters or "
                                            "fewer")]
    if required:
        validators.insert(0, InputRequired(message=required))
    return TextAreaField(label, widget=GovTextArea(), description=hint or None,
                         validators=validators)


class EvaluationForm(BaseForm):
    """A form whose service errors name fields with hyphens (``comment-3``)."""

    def apply_error(self, error: ServiceError) -> None:
        if error.field and "-" in error.field:
            error = type(error)(error.message, field=error.field.replace("-", "_"))
        super().apply_error(error)


# Evaluators and the scale -------------------------------------------------------------------

class AssignEvaluatorForm(EvaluationForm):
    user_id = SelectField(
        "Person", widget=GovSelect(), choices=[], validate_choice=False,
        description="Members of the sponsoring councils with the evaluator, challenge owner "
                    "or procurement officer role",
        validators=[InputRequired(message="Select the person to add as an evaluator")],
    )
    submit = SubmitField("Add evaluator", widget=GovSubmitInput())

    def set_people(self, people: list[User]) -> None:
        self.user_id.choices = [("", "Select a person")] + [
            (str(p.id), f"{p.full_name} ({p.organisation.name})" if p.organisation
             else p.full_name) for p in people]

    def chosen_id(self) -> int | None:
        value = (self.user_id.data or "").strip()
        return int(value) if value.isdigit() else None


class ScaleForm(EvaluationForm):
    """What each score from 0 to 4 means for this challenge."""

    descriptions = GroupErrors(id="description_0")
    submit = SubmitField("Save the scale", widget=GovSubmitInput())

    @classmethod
    def initial(cls, descriptions: list[str]) -> dict[str, Any]:
        return {f"description_{n}": text for n, text in enumerate(descriptions)}

    def fields(self) -> list[Field]:
        return [self[f"description_{n}"] for n in SCORES]

    def values(self) -> list[str]:
        return [(f.data or "").strip() for f in self.fields()]


for _n in SCORES:
    setattr(ScaleForm, f"description_{_n}", StringField(
        f"Score {_n}", widget=GovTextInput(),
        validators=[InputRequired(message=f"Describe what a score of {_n} means"),
                    Length(max=200, message=f"The description of score {_n} must be 200 "
                                            "characters or fewer")]))


# Conflict of interest -----------------------------------------------------------------------

class ConflictForm(EvaluationForm):
    has_conflict = RadioField(
        "Do you have a conflict of interest with this supplier?", widget=GovRadioInput(),
        choices=YES_NO,
        description="For example, you work or have worked for them, you own shares in them, "
                    "or someone close to you works there",
        validators=[InputRequired(message="Select yes if you have a conflict of interest "
                                          "with this supplier")],
    )
    details = _reason("If yes, describe the conflict",
                      "The procurement officers leading the evaluation will see this. You "
                      "will not be able to see or score this bid")
    submit = SubmitField("Confirm declaration", widget=GovSubmitInput())

    def conflicted(self) -> bool:
        return self.has_conflict.data == "yes"


# Scoring ------------------------------------------------------------------------------------

class ScoringForm(EvaluationForm):
    """A score and comment for each criterion, and each essential requirement met or not."""

    criteria: ClassVar[list[EvaluationCriterion]] = []
    requirement_ids: ClassVar[list[int]] = []
    note = _reason("Notes on the requirements (optional)",
                   "Anything the lead should know about how the bid meets the requirements")
    reason = _reason("Reason for changing your scores",
                     "Your scores are submitted. The change and your reason are recorded")
    save = SubmitField("Save as draft", widget=GovSubmitInput())
    save_submit = SubmitField("Save and submit scores", widget=GovSubmitInput())

    @classmethod
    def initial(cls, sheet: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"note": getattr(sheet, "requirements_note", "") or ""}
        for criterion in cls.criteria:
            score = sheet.score_for(criterion.id) if sheet is not None else None
            data[f"score_{criterion.id}"] = str(score.score) if score else None
            data[f"comment_{criterion.id}"] = score.comment if score else ""
        requirements = (sheet.requirements if sheet is not None else None) or {}
        for rid in cls.requirement_ids:
            met = requirements.get(str(rid))
            data[f"requirement_{rid}"] = {True: "met", False: "not_met"}.get(met)
        return data

    def score_field(self, criterion: EvaluationCriterion) -> Field:
        return self[f"score_{criterion.id}"]

    def comment_field(self, criterion: EvaluationCriterion) -> Field:
        return self[f"comment_{criterion.id}"]

    def scores(self) -> dict[int, tuple[int | None, str]]:
        """{criterion id: (score or None, comment)}."""
        found = {}
        for criterion in self.criteria:
            raw = self.score_field(criterion).data
            score = int(raw) if raw not in (None, "") and str(raw).isdigit() else None
            found[criterion.id] = (score, (self.comment_field(criterion).data or "").strip())
        return found

    def requirements(self) -> dict[int, bool | None]:
        return {rid: {"met": True, "not_met": False}.get(self[f"requirement_{rid}"].data or "")
                for rid in self.requirement_ids}


def scoring_form(challenge: Challenge, descriptions: list[str]) -> type[ScoringForm]:
    """The scoring form of a challenge: its criteria with the challenge's score scale."""
    choices = [(str(n), f"{n}: {descriptions[n]}") for n in SCORES]
    fields: dict[str, Any] = {
        "criteria": list(challenge.criteria),
        "requirement_ids": [r.id for r in challenge.essential_requirements],
    }
    for criterion in challenge.criteria:
        fields[f"score_{criterion.id}"] = RadioField(
            f"Score for {criterion.name}", widget=GovRadioInput(), choices=choices,
            validators=[Optional()])
        fields[f"comment_{criterion.id}"] = TextAreaField(
            f"Comment on {criterion.name}", widget=GovTextArea(),
            description="Why you gave this score. The lead uses it in moderation",
            validators=[Length(max=COMMENT_MAX, message=f"Comments must be {COMMENT_MAX:,} "
                                                        "characters or fewer")])
    for requirement in challenge.essential_requirements:
        fields[f"requirement_{requirement.id}"] = RadioField(
            requirement.text, widget=GovRadioInput(), choices=MET, validators=[Optional()])
    return type("ChallengeScoringForm", (ScoringForm,), fields)


# Moderation ---------------------------------------------------------------------------------

class ModerationForm(EvaluationForm):
    """The agreed score and rationale for each criterion (the rationale is the feedback the
    supplier gets)."""

    criteria: ClassVar[list[EvaluationCriterion]] = []
    reason = _reason("Reason for changing moderated scores",
                     "The shortlist is confirmed. The change and your reason are recorded")
    submit = SubmitField("Save moderated scores", widget=GovSubmitInput())

    @classmethod
    def initial(cls, moderated: dict[int, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for criterion in cls.criteria:
            row = moderated.get(criterion.id)
            data[f"score_{criterion.id}"] = str(row.score) if row else None
            data[f"rationale_{criterion.id}"] = row.rationale if row else ""
        return data

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for criterion in self.criteria:
            score = self[f"score_{criterion.id}"]
            rationale = self[f"rationale_{criterion.id}"]
            if (rationale.data or "").strip() and not score.data and not score.errors:
                score.errors = [*score.errors, f"Choose the moderated score for "
                                               f"{criterion.name}, or clear its rationale"]
                ok = False
        return ok

    def scores(self) -> dict[int, tuple[int, str]]:
        """{criterion id: (score, rationale)} for the criteria given a score."""
        found = {}
        for criterion in self.criteria:
            raw = self[f"score_{criterion.id}"].data
            if raw not in (None, "") and str(raw).isdigit():
                found[criterion.id] = (int(raw),
                                       (self[f"rationale_{criterion.id}"].data or "").strip())
        return found


def moderation_form(challenge: Challenge, descriptions: list[str]) -> type[ModerationForm]:
    choices = [(str(n), f"{n}: {descriptions[n]}") for n in SCORES]
    fields: dict[str, Any] = {"criteria": list(challenge.criteria)}
    for criterion in challenge.criteria:
        fields[f"score_{criterion.id}"] = RadioField(
            f"Moderated score for {criterion.name}", widget=GovRadioInput(), choices=choices,
            validators=[Optional()])
        fields[f"rationale_{criterion.id}"] = TextAreaField(
            f"Rationale for {criterion.name}", widget=GovTextArea(),
            description="The supplier will see this as feedback",
            validators=[Length(max=COMMENT_MAX, message=f"Rationales must be "
                                                        f"{COMMENT_MAX:,} characters or fewer")])
    return type("ChallengeModerationForm", (ModerationForm,), fields)


# Decisions ----------------------------------------------------------------------------------

class DecisionReasonForm(EvaluationForm):
    """A recorded reason: for excluding or reinstating a bid."""

    reason = _reason("Reason", required="Enter the reason")
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class ShortlistForm(EvaluationForm):
    bids = MultiCheckboxField("Bids to shortlist", choices=[], coerce=int,
                              validate_choice=False)
    reason = _reason("Reason for changing the shortlist",
                     "Needed once the shortlist is confirmed. It is recorded")
    submit = SubmitField("Confirm shortlist", widget=GovSubmitInput())

    def set_bids(self, bids: list[Bid]) -> None:
        self.bids.choices = [(b.id, b.supplier.name) for b in bids]


class InterviewForm(EvaluationForm):
    interview_date = UKDateField("Interview date (optional)", subject="The interview date",
                                 description="For example, 27 3 2027. Leave it blank if there "
                                             "is no interview")
    interview_time = TimeField("Interview time", subject="the interview time",
                               description="UK time, for example 10am or 14:30")
    notes = _reason("Notes (optional)", "For the evaluation team. The supplier does not see "
                                        "them")
    submit = SubmitField("Save interview", widget=GovSubmitInput())

    @classmethod
    def initial(cls, when: datetime | None, notes: str) -> dict[str, Any]:
        day, at = uk_parts(when)
        return {"interview_date": day, "interview_time": at, "notes": notes}

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if (self.interview_date.data and self.interview_time.time is None
                and not self.interview_time.errors):
            self.interview_time.errors = [*self.interview_time.errors,
                                          "Enter the time of the interview"]
            ok = False
        return ok

    def when(self) -> datetime | None:
        return uk_to_utc(self.interview_date.data, self.interview_time.time)

    def apply_error(self, error: ServiceError) -> None:
        if error.field == "when":  # the moment as a whole: shown against its date
            error = type(error)(error.message, field="interview_date")
        super().apply_error(error)

    def error_list(self) -> list[dict[str, str]]:
        items = super().error_list()
        for item in items:
            if item["href"] == "#interview_date":
                item["href"] += "-day"
        return items


class MoneyField(StringField):
    """An amount in pounds and pence ("£48,500", "48500.50"); blank is None."""

    widget = GovTextInput()

    def __init__(self, label: str = "", validators: Any = None, *, subject: str = "",
                 **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "spellcheck": "false"})
        super().__init__(label, validators, **kwargs)
        self.subject = subject or label
        self.amount: Decimal | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        text = re.sub(r"[\s,]", "", self.data or "").removeprefix("£")
        self.amount = None
        if not text:
            return
        if not MONEY_RE.fullmatch(text):
            raise ValueError(f"Enter {self.subject} in pounds, like £25,000 or £25,000.50")
        self.amount = Decimal(text)


class AwardForm(EvaluationForm):
    """The winning bids (from the shortlist), the contract value of each, and the published
    summary of the decision."""

    bid_ids: ClassVar[list[int]] = []
    bids = MultiCheckboxField("Bids to award", choices=[], coerce=int, validate_choice=False)
    summary = _reason("Summary of the decision",
                      "Published on the challenge page once the standstill period ends, and "
                      "sent to every bidder", required="Enter a summary of the decision")
    submit = SubmitField("Award the contract", widget=GovSubmitInput())

    def set_bids(self, bids: list[Bid]) -> None:
        self.bids.choices = [(b.id, b.supplier.name) for b in bids]

    def value_field(self, bid_id: int) -> MoneyField:
        return self[f"value_{bid_id}"]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for bid_id in self.bids.data or []:
            if bid_id not in self.bid_ids:
                continue  # not a bid of this challenge: the service says so
            field = self.value_field(bid_id)
            if field.amount is None and not field.errors:
                field.errors = [*field.errors, f"Enter {field.subject}"]
                ok = False
        return ok

    def winners(self) -> list[tuple[int, Decimal]]:
        chosen = []
        for bid_id in self.bids.data or []:
            amount = self.value_field(bid_id).amount if bid_id in self.bid_ids else None
            chosen.append((bid_id, amount if amount is not None else Decimal(0)))
        return chosen


def award_form(bids: list[Bid]) -> type[AwardForm]:
    """The award form of a challenge: a value for each of its evaluation bids (only the
    shortlisted ones are offered; the service refuses any other)."""
    fields: dict[str, Any] = {"bid_ids": [b.id for b in bids]}
    for bid in bids:
        fields[f"value_{bid.id}"] = MoneyField(
            "Contract value", subject=f"the contract value for {bid.supplier.name}",
            description="In pounds, excluding VAT")
    return type("ChallengeAwardForm", (AwardForm,), fields)


class NoSuitableSupplierForm(EvaluationForm):
    reason = _reason("Why is no bid suitable?",
                     "Published on the challenge page and sent to every bidder",
                     required="Enter the reason no bid is suitable")
    submit = SubmitField("Confirm no suitable supplier", widget=GovSubmitInput())
