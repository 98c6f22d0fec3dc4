"""Registration, sign-in and password forms."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, ValidationError

from marketplace.forms import BaseForm

EMAIL_HINT = "We’ll send a link to confirm it is yours"


class EmailWidget(GovTextInput):
    input_type = "email"


def email_field(label: str = "Email address", description: str = "") -> EmailField:
    return EmailField(
        label,
        widget=EmailWidget(),
        description=description,
        validators=[
            InputRequired(message="Enter your email address"),
            Length(max=254, message="Email address must be 254 characters or fewer"),
            Email(message="Enter an email address in the correct format, like name@example.com",
                  check_deliverability=False),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


CHOOSING_HINT = "At least 10 characters. Three or more random words work well"


def new_password_field(label: str = "New password", description: str = CHOOSING_HINT,
                       required: str = "Enter a new password") -> PasswordField:
    return PasswordField(label, widget=GovPasswordInput(), description=description,
                         validators=[InputRequired(message=required)],
                         render_kw={"autocomplete": "new-password"})


def confirm_password_field(target: str, label: str = "Confirm new password",
                           required: str = "Confirm your new password") -> PasswordField:
    return PasswordField(label, widget=GovPasswordInput(),
                         validators=[InputRequired(message=required),
                                     EqualTo(target, message="Passwords must match")],
                         render_kw={"autocomplete": "new-password"})


class KindForm(BaseForm):
    kind = RadioField(
        "What kind of organisation do you work for?",
        widget=GovRadioInput(),
        choices=[
            ("supplier", "A supplier: a company that wants to solve council challenges"),
            ("council", "A council or other public-sector body that publishes challenges"),
        ],
        validators=[InputRequired(message="Select the kind of organisation you work for")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class RegisterForm(BaseForm):
    full_name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter your full name"),
                    Length(max=200, message="Full name must be 200 characters or fewer")],
        render_kw={"autocomplete": "name", "spellcheck": "false"},
    )
    email = email_field(description=EMAIL_HINT)
    password = new_password_field("Create a password", required="Enter a password")
    password_confirm = confirm_password_field("password", "Confirm password",
                                              "Confirm your password")
    organisation_choice = RadioField(
        "Your organisation",
        widget=GovRadioInput(),
        choices=[("new", "Register a new organisation"), ("join", "Join one already registered")],
        validators=[InputRequired(message="Select whether to register or join an organisation")],
    )
    organisation_name = StringField(
        "Organisation name",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=200, message="Name must be 200 characters or fewer")],
        render_kw={"autocomplete": "organization"},
    )
    organisation = SelectField(
        "Organisation to join", widget=GovSelect(), coerce=int, validate_choice=False,
        choices=[], validators=[Optional()],
    )
    submit = SubmitField("Create account", widget=GovSubmitInput())

    def validate_organisation_name(self, field: StringField) -> None:
        if self.organisation_choice.data == "new" and not (field.data or "").strip():
            raise ValidationError("Enter the name of your organisation")

    def validate_organisation(self, field: SelectField) -> None:
        if self.organisation_choice.data == "join" and not field.data:
            raise ValidationError("Select the organisation you want to join")


class SignInForm(BaseForm):
    email = email_field()
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password")],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class EmailOnlyForm(BaseForm):
    email = email_field()
    submit = SubmitField("Send link", widget=GovSubmitInput())


class NewPasswordForm(BaseForm):
    password = new_password_field()
    password_confirm = confirm_password_field("password")
    submit = SubmitField("Save password", widget=GovSubmitInput())


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your current password")],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = new_password_field(
        description="At least 10 characters. Changing it signs you out on every other device")
    new_password_confirm = confirm_password_field("new_password")
    submit = SubmitField("Change password", widget=GovSubmitInput())


class AcceptInvitationForm(BaseForm):
    full_name = RegisterForm.full_name
    password = RegisterForm.password
    password_confirm = RegisterForm.password_confirm
    submit = SubmitField("Create account and join", widget=GovSubmitInput())


class ConfirmForm(BaseForm):
    """A button-only form (CSRF protected) for POST actions."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())


# Expiry choices offered for a personal access token, in days (those above the configured
# maximum are left out).
TOKEN_DAYS = (7, 30, 90, 180, 365)
TOKEN_DEFAULT_DAYS = 90
TOKEN_SCOPE_HINTS = {
    "read": "Can look things up (GET requests) but cannot change anything",
    "write": "Can also create and change what your roles allow, like drafting challenges "
             "or bids",
}


def _whole_days(value: object) -> int | None:
    """The submitted expiry as a number of days (None when it is not a whole number)."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 6 else None


class ApiTokenForm(BaseForm):
    name = StringField(
        "Token name",
        widget=GovTextInput(),
        description="So you can tell your tokens apart, like ‘Nightly export’",
        validators=[InputRequired(message="Enter a name for the token"),
                    Length(max=100, message="Name must be 100 characters or fewer")],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    scope = RadioField(
        "What can the token do?",
        widget=GovRadioInput(),
        description="Give it no more access than your program needs",
        choices=[("read", "Read only"), ("write", "Read and write")],
        validate_choice=False,
        validators=[InputRequired(message="Select read only or read and write")],
    )
    days = SelectField(
        "Expires after", widget=GovSelect(), coerce=_whole_days, choices=[],
        validate_choice=False, default=TOKEN_DEFAULT_DAYS,
    )
    submit = SubmitField("Create token", widget=GovSubmitInput())

    def __init__(self, *args: object, max_days: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        offered = [d for d in TOKEN_DAYS if d <= max_days] or [max_days]
        self.days.choices = [(d, f"{d} days") for d in offered]
        self.offered_days = offered

    def validate_scope(self, field: RadioField) -> None:
        if field.data not in TOKEN_SCOPE_HINTS:
            raise ValidationError("Select read only or read and write")

    def validate_days(self, field: SelectField) -> None:
        if field.data not in self.offered_days:
            raise ValidationError("Select when the token expires")

    def scope_items(self) -> list[dict[str, object]]:
        """Per-choice hints for the scope radios, merged by index into the GOV.UK items."""
        return [{"hint": {"text": TOKEN_SCOPE_HINTS[value]}} for value, _ in self.scope.choices]
