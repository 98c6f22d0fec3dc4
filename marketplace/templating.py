"""Template globals: navigation by role, dates in UK time, labels."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_login import current_user
from markupsafe import Markup

from marketplace.models import ROLE_HINTS, ROLE_LABELS, Role

UK = ZoneInfo("Europe/London")


def uk_datetime(value: datetime | None, fmt: str = "%-d %B %Y at %-I:%M%p") -> str:
    """A UTC datetime shown in UK time, GOV.UK style (e.g. 3 March 2027 at 5:00pm)."""
    if value is None:
        return ""
    local = value.astimezone(UK)
    return local.strftime(fmt).replace("AM", "am").replace("PM", "pm")


def uk_date(value: datetime | None) -> str:
    return uk_datetime(value, "%-d %B %Y")


def navigation() -> list[dict[str, object]]:
    """Header navigation items for the current person."""
    items: list[tuple[str, str]] = [("Challenges", url_for("challenges.index"))]
    if current_user.is_authenticated:
        items.append(("Dashboard", url_for("main.dashboard")))
        if current_user.is_council_user:
            items.append(("Your challenges", url_for("council.dashboard")))
        if current_user.organisation is not None:
            items.append(("Your organisation", url_for("organisation.team")))
        if current_user.is_platform_admin:
            items.append(("Admin", url_for("admin.index")))
        items.append(("Your account", url_for("account.details")))
    else:
        items.append(("Register", url_for("auth.register")))
        items.append(("Sign in", url_for("auth.sign_in")))
    path = request.path
    return [
        {"text": text, "href": href, "active": path == href or (
            href != "/" and path.startswith(href.rstrip("/") + "/"))}
        for text, href in items
    ]


def role_label(role: str) -> str:
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def link(href: str, text: str, hidden: str = "") -> Markup:
    """An escaped GOV.UK link, with optional visually hidden context for screen readers."""
    extra = ""
    if hidden:
        extra = Markup(' <span class="govuk-visually-hidden">{}</span>').format(hidden)
    return Markup('<a class="govuk-link" href="{}">{}{}</a>').format(href, text, extra)


def role_hint_items(field) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Per-choice hints for a roles checkbox field, merged by index into the GOV.UK items."""
    return [{"hint": {"text": ROLE_HINTS.get(value, "")}} for value, _label in field.choices]


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["uk_datetime"] = uk_datetime
    app.jinja_env.filters["uk_date"] = uk_date
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["ROLE_HINTS"] = ROLE_HINTS
    app.jinja_env.globals["role_hint_items"] = role_hint_items
    app.jinja_env.globals["link"] = link

    @app.context_processor
    def _service() -> dict[str, object]:
        return {
            "service_name": app.config["SERVICE_NAME"],
            "service_phase": app.config["SERVICE_PHASE"],
            "feedback_email": app.config["FEEDBACK_EMAIL"],
        }
