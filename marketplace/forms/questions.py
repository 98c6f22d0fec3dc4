"""Supplier forms on a public challenge page: a clarification question."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovSubmitInput
from wtforms import SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.forms import BaseForm

QUESTION_MAX = 2000


class QuestionForm(BaseForm):
    question = TextAreaField(
        "Your question",
        widget=GovCharacterCount(),
        description=(
            "The council publishes useful questions with their answers for every supplier to "
            "read. It does not say who asked. Do not include anything that identifies your "
            "organisation"
        ),
        validators=[
            InputRequired(message="Enter your question"),
            Length(max=QUESTION_MAX,
                   message=f"Question must be {QUESTION_MAX:,} characters or fewer"),
        ],
    )
    submit = SubmitField("Send question", widget=GovSubmitInput())
