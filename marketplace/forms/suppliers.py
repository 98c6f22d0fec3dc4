"""Supplier forms: each section of the profile, challenge alerts and the admin's CSV import.

Each profile section form knows how to load its data from a profile (``initial``) and how to
turn what was sent into :class:`ProfileChanges` (``to_changes``). The rules about the data
(Companies House number formats, unique names and numbers, known regions and CPV codes) are
the service's; the forms only check what the browser sent can be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flask_wtf.file import FileAllowed, FileField, FileSize
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import Field, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from marketplace import reference
from marketplace.forms import BaseForm
from marketplace.forms.accounts import EmailWidget
from marketplace.forms.challenges import UKDateField, WholeNumberField, lines
from marketplace.forms.fields import CpvPicker, MultiCheckboxField, NumberedRows
from marketplace.models import (
    CERTIFICATION_LABELS,
    SIZE_LABELS,
    Organisation,
    SupplierProfile,
)
from marketplace.services.suppliers import (
    ALERT_KEYWORDS_MAX,
    CASE_STUDY_ROWS,
    CERTIFICATION_ROWS,
    DESCRIPTION_MAX,
    CaseStudyInput,
    CertificationInput,
    ProfileChanges,
)

IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_TEXT_MAX = 400_000  # pasted text (the request's form fields are limited to 500 kB)


class ProfileSectionForm(BaseForm):
    """One section of the supplier profile, saved on its own."""

    save = SubmitField("Save and return to your profile", widget=GovSubmitInput())

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        raise NotImplementedError

    def to_changes(self) -> ProfileChanges:
        raise NotImplementedError


def size_hint_items() -> list[dict[str, Any]]:
    """The UK definition of each size band, as hints for the size radios."""
    return [{"hint": {"text": hint}} for _label, hint in SIZE_LABELS.values()]


class DetailsForm(ProfileSectionForm):
    name = StringField(
        "Company name", widget=GovTextInput(),
        description="The name suppliers and councils know you by. It must not be the name of "
                    "another supplier on the marketplace",
        validators=[InputRequired(message="Enter the name of your company"),
                    Length(max=200, message="Company name must be 200 characters or fewer")])
    companies_house_number = StringField(
        "Companies House number (optional)", widget=GovTextInput(),
        description="8 characters, like 01234567, or 2 letters and 6 numbers, like SC123456",
        validators=[Length(max=20, message="Enter a Companies House number in the correct "
                                           "format, like 01234567 or SC123456")],
        render_kw={"spellcheck": "false", "autocomplete": "off"})
    size = RadioField(
        "Size of your organisation (optional)", widget=GovRadioInput(),
        choices=[(value, label) for value, (label, _hint) in SIZE_LABELS.items()],
        validators=[Optional()],
        description="Councils use this to find small and medium-sized enterprises (SMEs)")
    website = StringField(
        "Website (optional)", widget=GovTextInput(), description="For example, "
        "https://www.example.com",
        validators=[Length(max=300, message="Website address must be 300 characters or "
                                            "fewer")],
        render_kw={"spellcheck": "false", "autocomplete": "url"})
    description = TextAreaField(
        "About your company (optional)", widget=GovCharacterCount(),
        description="What you do and who for. Councils see this in the supplier directory",
        validators=[Length(max=DESCRIPTION_MAX,
                           message="Description must be 5,000 characters or fewer")])

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        data: dict[str, Any] = {"name": org.name}
        if profile is not None:
            data.update(companies_house_number=profile.companies_house_number or "",
                        size=profile.size, website=profile.website or "",
                        description=profile.description or "")
        return data

    def to_changes(self) -> ProfileChanges:
        return ProfileChanges(name=self.name.data or "",
                              companies_house_number=self.companies_house_number.data or "",
                              size=self.size.data or "", website=self.website.data or "",
                              description=self.description.data or "")


class RegionsForm(ProfileSectionForm):
    regions = MultiCheckboxField(
        "Where do you work?", choices=[(r, r) for r in reference.REGIONS],
        description="Select all that apply. Choose UK-wide if you work anywhere in the UK")

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        return {"regions": list(profile.regions or []) if profile else []}

    def to_changes(self) -> ProfileChanges:
        return ProfileChanges(regions=list(self.regions.data or []))


class CapabilitiesForm(ProfileSectionForm):
    capabilities = TextAreaField(
        "Capability statements", widget=GovTextArea(),
        description="What you can do for a council, one a line. For example: We design and "
                    "build accessible online services")

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        return {"capabilities": "\n".join(profile.capabilities or []) if profile else ""}

    def to_changes(self) -> ProfileChanges:
        return ProfileChanges(capabilities=lines(self.capabilities.data))


class RowsForm(NumberedRows, ProfileSectionForm):
    """Numbered rows (case studies, certifications); blank rows are ignored."""

    rows: ClassVar[int] = 1
    open_rows: ClassVar[int] = 2


class CaseStudiesForm(RowsForm):
    rows: ClassVar[int] = CASE_STUDY_ROWS

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for n, study in enumerate((profile.case_studies if profile else [])[:cls.rows],
                                  start=1):
            data.update({f"case_study_{n}_title": study.title,
                         f"case_study_{n}_client": study.client or "",
                         f"case_study_{n}_outcome": study.outcome,
                         f"case_study_{n}_measure": study.measure or "",
                         f"case_study_{n}_year": study.year})
        return data

    def row(self, n: int) -> tuple[Field, ...]:
        return tuple(self[f"case_study_{n}_{name}"]
                     for name in ("title", "client", "outcome", "measure", "year"))

    def to_changes(self) -> ProfileChanges:
        studies = []
        for n in range(1, self.rows + 1):
            title, client, outcome, measure, year = self.row(n)
            studies.append(CaseStudyInput(
                title=title.data or "", client=client.data or None,
                outcome=outcome.data or "", measure=measure.data or None, year=year.data))
        return ProfileChanges(case_studies=studies)


for _n in range(1, CASE_STUDY_ROWS + 1):
    setattr(CaseStudiesForm, f"case_study_{_n}_title",
            StringField(f"Title of case study {_n}", widget=GovTextInput()))
    setattr(CaseStudiesForm, f"case_study_{_n}_client",
            StringField("Client (optional)", widget=GovTextInput(),
                        description="Who the work was for, like a council or a charity"))
    setattr(CaseStudiesForm, f"case_study_{_n}_outcome",
            TextAreaField("Outcome achieved", widget=GovTextArea(),
                          description="What changed because of your work"))
    setattr(CaseStudiesForm, f"case_study_{_n}_measure",
            StringField("How it was measured (optional)", widget=GovTextInput(),
                        description="For example: missed bin reports down 30% in 6 months"))
    setattr(CaseStudiesForm, f"case_study_{_n}_year",
            WholeNumberField("Year (optional)", subject=f"The year of case study {_n}",
                             minimum=1950, maximum=2100, description="For example, 2024"))


class CpvForm(CpvPicker, ProfileSectionForm):
    q = StringField("Search CPV codes", widget=GovTextInput(),
                    description="A word, like software, or the first digits of a code",
                    render_kw={"spellcheck": "false"})
    search = SubmitField("Search", widget=GovSubmitInput())
    cpv_codes = MultiCheckboxField("CPV codes", choices=[], validate_choice=False)
    cpv_typed = StringField(
        "Add CPV codes by number (optional)", widget=GovTextInput(),
        description="8 digits each, separated by commas, like 72000000, 79400000",
        render_kw={"spellcheck": "false"})

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        return {"cpv_codes": list(profile.cpv_codes or []) if profile else []}

    def to_changes(self) -> ProfileChanges:
        return ProfileChanges(cpv_codes=self.chosen())


CERTIFICATION_CHOICES = [("", "Choose a certification")] + list(CERTIFICATION_LABELS.items())


class CertificationsForm(RowsForm):
    rows: ClassVar[int] = CERTIFICATION_ROWS

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for n, cert in enumerate((profile.certifications if profile else [])[:cls.rows],
                                 start=1):
            data.update({f"certification_{n}_kind": cert.kind,
                         f"certification_{n}_name": cert.name or "",
                         f"certification_{n}_expires_on": cert.expires_on})
        return data

    def row(self, n: int) -> tuple[Field, ...]:
        return tuple(self[f"certification_{n}_{name}"] for name in ("kind", "name",
                                                                    "expires_on"))

    def to_changes(self) -> ProfileChanges:
        certifications = []
        for n in range(1, self.rows + 1):
            kind, name, expires_on = self.row(n)
            certifications.append(CertificationInput(kind=kind.data or "",
                                                     name=name.data or None,
                                                     expires_on=expires_on.data))
        return ProfileChanges(certifications=certifications)

    def error_list(self) -> list[dict[str, str]]:
        # A date input's first box is its day box.
        items = super().error_list()
        for item in items:
            if item["href"].endswith("_expires_on"):
                item["href"] += "-day"
        return items


for _n in range(1, CERTIFICATION_ROWS + 1):
    setattr(CertificationsForm, f"certification_{_n}_kind",
            SelectField(f"Certification {_n}", widget=GovSelect(),
                        choices=CERTIFICATION_CHOICES, validate_choice=False))
    setattr(CertificationsForm, f"certification_{_n}_name",
            StringField("Name, if you chose Other", widget=GovTextInput(),
                        description="For example, B Corp or ISO 14001"))
    setattr(CertificationsForm, f"certification_{_n}_expires_on",
            UKDateField("Expiry date", subject=f"The expiry date of certification {_n}",
                        description="For example, 31 3 2027"))


class ContactForm(ProfileSectionForm):
    contact_name = StringField(
        "Contact name (optional)", widget=GovTextInput(),
        description="Who councils should contact about work",
        validators=[Length(max=200, message="Contact name must be 200 characters or fewer")],
        render_kw={"autocomplete": "name"})
    contact_email = StringField(
        "Contact email address (optional)", widget=EmailWidget(),
        validators=[Length(max=254, message="Email address must be 254 characters or fewer")],
        render_kw={"autocomplete": "email", "spellcheck": "false"})
    contact_phone = StringField(
        "Contact telephone number (optional)", widget=GovTextInput(),
        description="For international numbers include the country code",
        validators=[Length(max=40, message="Telephone number must be 40 characters or "
                                           "fewer")],
        render_kw={"autocomplete": "tel", "type": "tel"})

    @classmethod
    def initial(cls, org: Organisation, profile: SupplierProfile | None) -> dict[str, Any]:
        if profile is None:
            return {}
        return {"contact_name": profile.contact_name or "",
                "contact_email": profile.contact_email or "",
                "contact_phone": profile.contact_phone or ""}

    def to_changes(self) -> ProfileChanges:
        return ProfileChanges(contact_name=self.contact_name.data or "",
                              contact_email=self.contact_email.data or "",
                              contact_phone=self.contact_phone.data or "")


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    form: type[ProfileSectionForm]


SECTIONS: tuple[Section, ...] = (
    Section("details", "Company details", DetailsForm),
    Section("regions", "Where you work", RegionsForm),
    Section("capabilities", "Capabilities", CapabilitiesForm),
    Section("case-studies", "Case studies", CaseStudiesForm),
    Section("cpv", "CPV codes", CpvForm),
    Section("certifications", "Certifications", CertificationsForm),
    Section("contact", "Contact details", ContactForm),
)
SECTIONS_BY_SLUG = {s.slug: s for s in SECTIONS}


# Alerts ------------------------------------------------------------------------------------

class AlertForm(BaseForm):
    keywords = StringField(
        "Keywords (optional)", widget=GovTextInput(),
        description="Every word must appear in the challenge, for example: waste collection",
        validators=[Length(max=ALERT_KEYWORDS_MAX,
                           message=f"Keywords must be {ALERT_KEYWORDS_MAX} characters or "
                                   "fewer")])
    regions = MultiCheckboxField(
        "Regions (optional)", choices=[(r, r) for r in reference.REGIONS],
        description="Challenges delivered UK-wide are always included. Select all that apply")
    divisions = MultiCheckboxField("Categories (optional)", choices=[],
                                   description="CPV divisions. Select all that apply")
    submit = SubmitField("Create alert", widget=GovSubmitInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.divisions.choices = [(d.division, d.label) for d in reference.cpv_divisions()]


# Import ------------------------------------------------------------------------------------

class ImportForm(BaseForm):
    csv_file = FileField(
        "Upload a CSV file", widget=GovFileInput(),
        description="Up to 1 MB, saved as CSV UTF-8",
        validators=[FileAllowed(["csv", "txt"], message="The file must be a CSV file"),
                    FileSize(IMPORT_MAX_BYTES, message="The file must be smaller than 1 MB")])
    csv_text = TextAreaField(
        "Or paste the CSV", widget=GovTextArea(),
        validators=[Length(max=IMPORT_TEXT_MAX,
                           message="Pasted CSV must be 400,000 characters or fewer. Upload "
                                   "a file instead")],
        render_kw={"spellcheck": "false"})
    check = SubmitField("Check only (dry run)", widget=GovSubmitInput())
    run = SubmitField("Import", widget=GovSubmitInput())

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        has_file = bool(self.csv_file.data)
        has_text = bool((self.csv_text.data or "").strip())
        if ok and has_file and has_text:
            self.csv_text.errors = [*self.csv_text.errors,
                                    "Upload a file or paste the CSV, not both"]
            ok = False
        elif ok and not has_file and not has_text:
            self.csv_file.errors = [*self.csv_file.errors,
                                    "Upload a CSV file or paste the CSV"]
            ok = False
        return ok

    def csv_content(self) -> str:
        """The CSV sent, as text (raises ValueError for a file that is not UTF-8)."""
        if self.csv_file.data:
            raw = self.csv_file.data.read(IMPORT_MAX_BYTES + 1)
            try:
                return raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValueError("The file must be saved as CSV UTF-8. In Excel, choose "
                                 "Save as, then CSV UTF-8") from None
        return self.csv_text.data or ""
