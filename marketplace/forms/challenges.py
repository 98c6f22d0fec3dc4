"""Challenge forms: the title, each drafting section (also used for amendments), the reasons
for returning, withdrawing and cancelling, and answers to clarification questions.

Each section form knows how to load its data from a challenge (``initial``) and how to turn
what was sent into :class:`ChallengeChanges` (``to_changes``). Rules that need the whole
challenge (weights totalling 100, budget ranges, dates in order) are the service's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovDateInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from markupsafe import Markup
from wtforms import DateField, Field, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from marketplace import reference
from marketplace.forms import BaseForm
from marketplace.forms.fields import CpvPicker, MultiCheckboxField, NumberedRows
from marketplace.models import Challenge
from marketplace.services.challenges import (
    ChallengeChanges,
    CriterionInput,
    OutcomeInput,
    StageInput,
)
from marketplace.services.errors import ServiceError

UK = ZoneInfo("Europe/London")
END_OF_DAY = time(23, 59)
OUTCOME_ROWS = 8
STAGE_ROWS = 5
CRITERION_ROWS = 8
DEFAULT_WORD_LIMIT = 500


# Fields --------------------------------------------------------------------------------------

class WholeNumberField(StringField):
    """A whole number typed as text, so the error can say what is wrong in plain words.

    ``money=True`` accepts pounds written as "£25,000", "25,000" or "25000" (and "25000.00").
    Blank is None.
    """

    widget = GovTextInput()

    def __init__(self, label: str = "", validators: Any = None, *, subject: str = "",
                 money: bool = False, minimum: int | None = 0, maximum: int | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "spellcheck": "false"})
        super().__init__(label, validators, **kwargs)
        self.subject = subject or label
        self.money = money
        self.minimum = minimum
        self.maximum = maximum

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0] if valuelist else ""
        text = re.sub(r"[\s,]", "", raw)
        if self.money:
            text = text.removeprefix("£")
            text = re.sub(r"\.0{1,2}$", "", text)
        if not text:
            self.data = None
            return
        if not text.isdigit():
            self.data = None
            if self.money:
                raise ValueError(f"{self.subject} must be an amount in whole pounds, "
                                 f"like £25,000")
            raise ValueError(f"{self.subject} must be a whole number, like 3")
        self.data = int(text)

    def pre_validate(self, form: Any) -> None:
        if self.data is None:
            return
        unit = "£" if self.money else ""
        if self.minimum is not None and self.data < self.minimum:
            raise ValidationError(f"{self.subject} must be {unit}{self.minimum:,} or more")
        if self.maximum is not None and self.data > self.maximum:
            raise ValidationError(f"{self.subject} must be {unit}{self.maximum:,} or less")

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:,}" if self.money else str(self.data)


class UKDateField(DateField):
    """A GOV.UK date input (day, month, year) with GOV.UK error messages. Blank is None."""

    widget = GovDateInput()

    def __init__(self, label: str = "", validators: Any = None, *, subject: str = "",
                 **kwargs: Any) -> None:
        super().__init__(label, validators, format="%d %m %Y", **kwargs)
        self.subject = subject or label

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if self.raw_data is not None and formdata is not None and len(self.raw_data) != 3:
            # The widget needs exactly day, month and year to show what was sent.
            self.raw_data = (list(self.raw_data) + ["", "", ""])[:3]

    def process_formdata(self, valuelist: list[str]) -> None:
        parts = [(v or "").strip() for v in (list(valuelist) + ["", "", ""])[:3]]
        self.data = None
        if not any(parts):
            return
        missing = [name for name, value in zip(("day", "month", "year"), parts, strict=True)
                   if not value]
        if missing:
            raise ValueError(f"{self.subject} must include a {' and '.join(missing)}")
        if not all(p.isdigit() for p in parts):
            raise ValueError(f"{self.subject} must be a real date, like 27 3 2027")
        if len(parts[2]) != 4:
            raise ValueError("Year must include 4 numbers")
        try:
            self.data = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            raise ValueError(f"{self.subject} must be a real date") from None


TIME_RE = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?")


def parse_time(text: str) -> time | None:
    """"5pm", "5:30pm", "17:00", "17.00", "midday", "noon" or "midnight" (the start of the
    day); None for blank. Raises ValueError otherwise."""
    value = text.strip().lower().replace(" ", "")
    if not value:
        return None
    if value in {"midday", "noon", "12noon"}:
        return time(12, 0)
    if value == "midnight":
        return time(0, 0)
    match = TIME_RE.fullmatch(value)
    if match is None:
        raise ValueError(value)
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if half is None and match[2] is None:
        raise ValueError(value)  # "5" could be 5am or 5pm
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(value)
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(value)
    return time(hour, minute)


class TimeField(StringField):
    """A time of day typed as text, in UK time."""

    widget = GovTextInput()

    def __init__(self, label: str = "", validators: Any = None, *, subject: str = "",
                 **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"spellcheck": "false"})
        super().__init__(label, validators, **kwargs)
        self.subject = subject or label
        self.time: time | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        try:
            self.time = parse_time(self.data or "")
        except ValueError:
            self.time = None
            raise ValueError(f"Enter {self.subject} in the correct format, like 5pm or "
                             f"17:00") from None


class GroupErrors(Field):
    """Where errors about a group of inputs go (weights not totalling 100, say). Renders
    nothing; its ``id`` is the first input of the group, so the error summary links there."""

    def widget(self, field: Field, **kwargs: Any) -> Markup:
        return Markup("")

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None


def uk_parts(value: datetime | None) -> tuple[date | None, str]:
    """A stored UTC datetime as a UK date and a time for the form ("" for end of day)."""
    if value is None:
        return None, ""
    local = value.astimezone(UK)
    if local.time().replace(second=0, microsecond=0) == END_OF_DAY:
        return local.date(), ""
    return local.date(), local.strftime("%H:%M")


def uk_to_utc(day: date | None, at: time | None) -> datetime | None:
    """A date and time in UK time as an aware UTC datetime (end of day when no time)."""
    if day is None:
        return None
    return datetime.combine(day, at or END_OF_DAY, tzinfo=UK).astimezone(UTC)


def lines(text: str | None) -> list[str]:
    """Non-blank lines, without list markers such as "-", "*" or "•"."""
    found = []
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        if line:
            found.append(line)
    return found


def tags(text: str | None) -> list[str]:
    """Tags separated by commas or new lines."""
    return [t.strip() for t in re.split(r"[,\n]", text or "") if t.strip()]


# Simple forms --------------------------------------------------------------------------------

TITLE_HINT = ("Start with “How might we…”, for example: How might we get more people to "
              "recycle food waste?")


def title_field() -> StringField:
    return StringField(
        "Challenge title", widget=GovTextInput(), description=TITLE_HINT,
        validators=[InputRequired(message="Enter a title"),
                    Length(max=200, message="Title must be 200 characters or fewer")],
        render_kw={"spellcheck": "true"},
    )


class NewChallengeForm(BaseForm):
    title = title_field()
    submit = SubmitField("Create draft", widget=GovSubmitInput())


class ReasonForm(BaseForm):
    """A published reason: for returning to draft, withdrawing or cancelling."""

    reason = TextAreaField("Reason", widget=GovTextArea(),
                           validators=[InputRequired(message="Enter the reason")])
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class AnswerForm(BaseForm):
    published_question = TextAreaField(
        "Question as published", widget=GovTextArea(),
        description="Edit it to remove anything that identifies the supplier. The supplier "
                    "is never named.",
        validators=[InputRequired(message="Enter the question as it will be published"),
                    Length(max=2000, message="Question must be 2,000 characters or fewer")],
    )
    answer = TextAreaField("Answer", widget=GovTextArea(),
                           description="Every supplier will see it",
                           validators=[InputRequired(message="Enter the answer")])
    submit = SubmitField("Publish answer", widget=GovSubmitInput())


class RejectQuestionForm(BaseForm):
    reason = TextAreaField(
        "Reason for not answering", widget=GovTextArea(),
        description="Only the supplier who asked will see it",
        validators=[InputRequired(message="Enter the reason for the supplier")],
    )
    submit = SubmitField("Reject question", widget=GovSubmitInput())


# Sections ------------------------------------------------------------------------------------

class SectionForm(BaseForm):
    """A step of the challenge: saved on its own, from draft until publication."""

    save_continue = SubmitField("Save and continue", widget=GovSubmitInput())
    save_return = SubmitField("Save and return to task list", widget=GovSubmitInput())

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        raise NotImplementedError

    def to_changes(self) -> ChallengeChanges:
        raise NotImplementedError


class AboutForm(SectionForm):
    title = title_field()
    summary = TextAreaField(
        "Summary", widget=GovCharacterCount(),
        description="One paragraph that tells a supplier what the challenge is about. It "
                    "appears in search results.",
        validators=[Length(max=1000, message="Summary must be 1,000 characters or fewer")],
    )

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        return {"title": challenge.title, "summary": challenge.summary}

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(title=self.title.data or "", summary=self.summary.data or "")


class ProblemForm(SectionForm):
    problem = TextAreaField("What is the problem?", widget=GovTextArea(),
                            description="Describe the problem, not a solution")
    background = TextAreaField("Background", widget=GovTextArea(),
                               description="What you have tried already, and what you know")
    affected = TextAreaField("Who is affected?", widget=GovTextArea(),
                             description="Residents, staff or services, and how many")
    success = TextAreaField("What does success look like?", widget=GovTextArea())

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        return {name: getattr(challenge, name) for name in
                ("problem", "background", "affected", "success")}

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(problem=self.problem.data or "",
                                background=self.background.data or "",
                                affected=self.affected.data or "",
                                success=self.success.data or "")


class RowsForm(NumberedRows, SectionForm):
    """A section of numbered rows (outcomes, stages, criteria); blank rows are ignored."""

    rows: ClassVar[int] = 1
    open_rows: ClassVar[int] = 1  # rows always shown; the rest are behind "Add more"


class OutcomesForm(RowsForm):
    rows: ClassVar[int] = OUTCOME_ROWS
    open_rows: ClassVar[int] = 3
    outcomes = GroupErrors(id="outcome_1_description")

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for n, outcome in enumerate(challenge.outcomes[:cls.rows], start=1):
            data[f"outcome_{n}_description"] = outcome.description
            data[f"outcome_{n}_measure"] = outcome.measure or ""
        return data

    def row(self, n: int) -> tuple[Field, Field]:
        return self[f"outcome_{n}_description"], self[f"outcome_{n}_measure"]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for n in range(1, self.rows + 1):
            description, measure = self.row(n)
            if (measure.data or "").strip() and not (description.data or "").strip():
                description.errors = [*description.errors,
                                      f"Describe outcome {n}, or clear its measure"]
                ok = False
        return ok

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(outcomes=[
            OutcomeInput(description=d.data.strip(), measure=(m.data or "").strip() or None)
            for d, m in (self.row(n) for n in range(1, self.rows + 1))
            if (d.data or "").strip()
        ])


for _n in range(1, OUTCOME_ROWS + 1):
    setattr(OutcomesForm, f"outcome_{_n}_description",
            TextAreaField(f"Outcome {_n}", widget=GovTextArea()))
    setattr(OutcomesForm, f"outcome_{_n}_measure",
            StringField(f"Measure or target for outcome {_n} (optional)",
                        widget=GovTextInput()))


class RequirementsForm(SectionForm):
    essential = TextAreaField(
        "Essential requirements", widget=GovTextArea(),
        description="One a line. A supplier must meet all of them, for example: Works on "
                    "mobile phones",
    )
    nice_to_have = TextAreaField("Nice-to-haves (optional)", widget=GovTextArea(),
                                 description="One a line")

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        return {"essential": "\n".join(r.text for r in challenge.essential_requirements),
                "nice_to_have": "\n".join(r.text for r in challenge.nice_to_haves)}

    def apply_error(self, error: ServiceError) -> None:
        if error.field == "requirements":  # "add at least one essential requirement"
            error = ServiceError(error.message, field="essential")
        super().apply_error(error)

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(essential_requirements=lines(self.essential.data),
                                nice_to_haves=lines(self.nice_to_have.data))


class CapabilitiesForm(CpvPicker, SectionForm):
    capabilities = TextAreaField(
        "Capabilities sought", widget=GovTextArea(),
        description="Separate them with commas or put one on each line, for example: data "
                    "analysis, user research, route planning",
    )
    q = StringField("Search CPV codes", widget=GovTextInput(),
                    description="A word, like waste, or the first digits of a code",
                    render_kw={"spellcheck": "false"})
    search = SubmitField("Search", widget=GovSubmitInput())
    cpv_codes = MultiCheckboxField("CPV codes", choices=[], validate_choice=False)
    cpv_typed = StringField(
        "Add CPV codes by number (optional)", widget=GovTextInput(),
        description="8 digits each, separated by commas, like 90511000, 72000000",
        render_kw={"spellcheck": "false"},
    )

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        return {"capabilities": "\n".join(challenge.capabilities or []),
                "cpv_codes": challenge.cpv_codes}

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(capabilities=tags(self.capabilities.data),
                                cpv_codes=self.chosen())


class PlaceAndBudgetForm(SectionForm):
    region = RadioField(
        "Where will the work be delivered?", widget=GovRadioInput(),
        choices=[(r, r) for r in reference.REGIONS], validators=[Optional()],
    )
    budget_min = WholeNumberField("Minimum budget (optional)", subject="The minimum budget",
                                  money=True, maximum=2_000_000_000,
                                  description="In whole pounds, like £25,000")
    budget_max = WholeNumberField("Maximum budget", subject="The maximum budget", money=True,
                                  maximum=2_000_000_000,
                                  description="In whole pounds, like £100,000")
    sme_suitable = RadioField(
        "Is it suitable for small and medium-sized businesses (SMEs)?",
        widget=GovRadioInput(), choices=[("yes", "Yes"), ("no", "No")], validators=[Optional()],
        description="Say no if only a large company could deliver it, for example because of "
                    "the insurance or turnover needed",
    )

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        return {"region": challenge.region, "budget_min": challenge.budget_min,
                "budget_max": challenge.budget_max,
                "sme_suitable": "no" if challenge.sme_suitable is False else "yes"}

    def to_changes(self) -> ChallengeChanges:
        sme = {"yes": True, "no": False}.get(self.sme_suitable.data or "")
        return ChallengeChanges(region=self.region.data or "", budget_min=self.budget_min.data,
                                budget_max=self.budget_max.data, set_budget=True,
                                sme_suitable=sme)


class StagesForm(RowsForm):
    rows: ClassVar[int] = STAGE_ROWS
    open_rows: ClassVar[int] = 2
    stages = GroupErrors(id="stage_1_name")

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for n, stage in enumerate(challenge.stages[:cls.rows], start=1):
            data.update({f"stage_{n}_name": stage.name,
                         f"stage_{n}_duration": stage.duration or "",
                         f"stage_{n}_funding": stage.funding_per_supplier,
                         f"stage_{n}_suppliers": stage.max_suppliers})
        return data

    def row(self, n: int) -> tuple[Field, Field, Field, Field]:
        return (self[f"stage_{n}_name"], self[f"stage_{n}_duration"],
                self[f"stage_{n}_funding"], self[f"stage_{n}_suppliers"])

    @staticmethod
    def _blank(fields: tuple[Field, ...]) -> bool:
        return all(not (f.raw_data and f.raw_data[0].strip()) and not f.errors for f in fields)

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for n in range(1, self.rows + 1):
            name, *rest = self.row(n)
            if not (name.data or "").strip() and not self._blank(tuple(rest)):
                name.errors = [*name.errors, f"Enter a name for stage {n}"]
                ok = False
        return ok

    def to_changes(self) -> ChallengeChanges:
        stages = []
        for n in range(1, self.rows + 1):
            name, duration, funding, suppliers = self.row(n)
            if (name.data or "").strip():
                stages.append(StageInput(name=name.data.strip(),
                                         duration=(duration.data or "").strip() or None,
                                         funding_per_supplier=funding.data,
                                         max_suppliers=suppliers.data))
        return ChallengeChanges(stages=stages)


for _n in range(1, STAGE_ROWS + 1):
    setattr(StagesForm, f"stage_{_n}_name",
            StringField(f"Name of stage {_n}", widget=GovTextInput(),
                        validators=[Length(max=100, message="Stage names must be 100 "
                                                            "characters or fewer")]))
    setattr(StagesForm, f"stage_{_n}_duration",
            StringField("Duration (optional)", widget=GovTextInput(),
                        description="For example, 6 weeks",
                        validators=[Length(max=100, message="Durations must be 100 "
                                                            "characters or fewer")]))
    setattr(StagesForm, f"stage_{_n}_funding",
            WholeNumberField("Funding for each supplier (optional)", money=True,
                             subject=f"Funding for stage {_n}", maximum=2_000_000_000,
                             description="In whole pounds"))
    setattr(StagesForm, f"stage_{_n}_suppliers",
            WholeNumberField("Most suppliers in this stage (optional)",
                             subject=f"The number of suppliers in stage {_n}", minimum=1,
                             maximum=1000))


class CriteriaForm(RowsForm):
    rows: ClassVar[int] = CRITERION_ROWS
    open_rows: ClassVar[int] = 3
    criteria = GroupErrors(id="criterion_1_name")

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for n, criterion in enumerate(challenge.criteria[:cls.rows], start=1):
            data.update({f"criterion_{n}_name": criterion.name,
                         f"criterion_{n}_description": criterion.description or "",
                         f"criterion_{n}_weight": criterion.weight,
                         f"criterion_{n}_words": criterion.word_limit})
        return data

    def row(self, n: int) -> tuple[Field, Field, Field, Field]:
        return (self[f"criterion_{n}_name"], self[f"criterion_{n}_description"],
                self[f"criterion_{n}_weight"], self[f"criterion_{n}_words"])

    def total_weight(self) -> int:
        """The total of the weights given, for the running total under the rows."""
        return sum(self.row(n)[2].data or 0 for n in range(1, self.rows + 1))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for n in range(1, self.rows + 1):
            name, description, weight, words = self.row(n)
            has_name = bool((name.data or "").strip())
            has_other = bool((description.data or "").strip()) or weight.data is not None
            if has_other and not has_name:
                name.errors = [*name.errors, f"Enter a name for criterion {n}"]
                ok = False
            elif has_name and weight.data is None and not weight.errors:
                weight.errors = [*weight.errors, f"Enter a weight for criterion {n}"]
                ok = False
        return ok

    def to_changes(self) -> ChallengeChanges:
        criteria = []
        for n in range(1, self.rows + 1):
            name, description, weight, words = self.row(n)
            if (name.data or "").strip():
                criteria.append(CriterionInput(
                    name=name.data.strip(), weight=weight.data or 0,
                    description=(description.data or "").strip() or None,
                    word_limit=words.data or DEFAULT_WORD_LIMIT))
        return ChallengeChanges(criteria=criteria)


for _n in range(1, CRITERION_ROWS + 1):
    setattr(CriteriaForm, f"criterion_{_n}_name",
            StringField(f"Name of criterion {_n}", widget=GovTextInput(),
                        validators=[Length(max=200, message="Criterion names must be 200 "
                                                            "characters or fewer")]))
    setattr(CriteriaForm, f"criterion_{_n}_description",
            TextAreaField("What you will look for (optional)", widget=GovTextArea()))
    setattr(CriteriaForm, f"criterion_{_n}_weight",
            WholeNumberField("Weight (%)", subject=f"The weight of criterion {_n}",
                             minimum=1, maximum=100))
    setattr(CriteriaForm, f"criterion_{_n}_words",
            WholeNumberField("Word limit", subject=f"The word limit of criterion {_n}",
                             minimum=50, maximum=5000,
                             description=f"{DEFAULT_WORD_LIMIT} if you leave it blank"))


class ShortlistForm(SectionForm):
    shortlist_size = WholeNumberField(
        "How many suppliers will you shortlist?", subject="The number of suppliers to "
        "shortlist", minimum=1, maximum=50,
        description="Shortlisted suppliers go on to the first stage of the contract",
    )

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        return {"shortlist_size": challenge.shortlist_size}

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(shortlist_size=self.shortlist_size.data)


TIME_HINT = "UK time, for example 5pm or 17:00. If you leave it blank, we will use 11:59pm"


class DatesForm(SectionForm):
    clarification_deadline = UKDateField(
        "Deadline for clarification questions", subject="The deadline for questions",
        description="Suppliers can ask questions until then. For example, 27 3 2027")
    clarification_deadline_time = TimeField(
        "Time questions close (optional)", subject="the time questions close",
        description=TIME_HINT)
    submission_deadline = UKDateField(
        "Submission deadline", subject="The submission deadline",
        description="For example, 10 4 2027")
    submission_deadline_time = TimeField(
        "Time of the submission deadline (optional)",
        subject="the time of the submission deadline", description=TIME_HINT)
    expected_award_date = UKDateField(
        "Expected award date", subject="The expected award date",
        description="When you expect to choose a supplier. For example, 1 6 2027")

    DATE_FIELDS: ClassVar[tuple[str, ...]] = (
        "clarification_deadline", "submission_deadline", "expected_award_date")

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        clarification, clarification_time = uk_parts(challenge.clarification_deadline)
        deadline, deadline_time = uk_parts(challenge.submission_deadline)
        return {"clarification_deadline": clarification,
                "clarification_deadline_time": clarification_time,
                "submission_deadline": deadline, "submission_deadline_time": deadline_time,
                "expected_award_date": challenge.expected_award_date}

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(
            clarification_deadline=uk_to_utc(self.clarification_deadline.data,
                                             self.clarification_deadline_time.time),
            submission_deadline=uk_to_utc(self.submission_deadline.data,
                                          self.submission_deadline_time.time),
            expected_award_date=self.expected_award_date.data, set_dates=True)

    def error_list(self) -> list[dict[str, str]]:
        # A date input's first box is its day box.
        items = super().error_list()
        for item in items:
            if item["href"].removeprefix("#") in self.DATE_FIELDS:
                item["href"] += "-day"
        return items


class SponsorsForm(SectionForm):
    co_sponsor_ids = MultiCheckboxField(
        "Co-sponsoring councils (optional)", choices=[], coerce=int,
        description="Their challenge owners and procurement officers can edit the challenge "
                    "and answer questions with you. Select all that apply",
    )

    @classmethod
    def initial(cls, challenge: Challenge) -> dict[str, Any]:
        return {"co_sponsor_ids": sorted(s.organisation_id for s in challenge.sponsors)}

    def to_changes(self) -> ChallengeChanges:
        return ChallengeChanges(co_sponsor_ids=list(self.co_sponsor_ids.data or []))


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    form: type[SectionForm]
    fields: tuple[str, ...] = ()  # the problems() fields this section answers
    optional: bool = False


SECTIONS: tuple[Section, ...] = (
    Section("about", "Title and summary", AboutForm, ("title", "summary")),
    Section("problem", "The problem", ProblemForm, ("problem",)),
    Section("outcomes", "Outcomes you want", OutcomesForm, ("outcomes",)),
    Section("requirements", "Requirements", RequirementsForm, ("requirements",)),
    Section("capabilities", "Capabilities and CPV codes", CapabilitiesForm,
            ("capabilities", "cpv_codes")),
    Section("place-and-budget", "Place and budget", PlaceAndBudgetForm,
            ("region", "budget_min", "budget_max", "sme_suitable")),
    Section("stages", "Contract stages", StagesForm, ("stages",), optional=True),
    Section("criteria", "Evaluation criteria", CriteriaForm, ("criteria",)),
    Section("shortlist", "Shortlist", ShortlistForm, ("shortlist_size",)),
    Section("dates", "Dates", DatesForm,
            ("clarification_deadline", "submission_deadline", "expected_award_date")),
    Section("sponsors", "Co-sponsoring councils", SponsorsForm, ("co_sponsor_ids",),
            optional=True),
)
SECTIONS_BY_SLUG = {s.slug: s for s in SECTIONS}


def section_for_field(field_name: str | None) -> Section | None:
    """The section where a problems() or service error field is put right."""
    return next((s for s in SECTIONS if field_name in s.fields), None)


def next_section(slug: str) -> Section | None:
    slugs = [s.slug for s in SECTIONS]
    index = slugs.index(slug)
    return SECTIONS[index + 1] if index + 1 < len(SECTIONS) else None


@cache
def amend_form(form: type[SectionForm]) -> type[SectionForm]:
    """The section form with the published summary of the change, for an open challenge."""
    return type(f"Amend{form.__name__}", (form,), {
        "summary_of_change": TextAreaField(
            "Summary of the change (published)", widget=GovTextArea(),
            description="Suppliers will see this on the challenge page and in an email if "
                        "they follow it, for example: The submission deadline is now 10 "
                        "April 2027",
            validators=[InputRequired(message="Describe the amendment for suppliers"),
                        Length(max=2000, message="Summary must be 2,000 characters or "
                                                 "fewer")]),
        "publish_amendment": SubmitField("Publish amendment", widget=GovSubmitInput()),
    })
