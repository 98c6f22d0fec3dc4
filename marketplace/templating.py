"""Template globals: navigation by role, dates in UK time, labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from marketplace import reference
from marketplace.models import (
    ROLE_HINTS,
    ROLE_LABELS,
    STATUS_LABELS,
    Challenge,
    ChallengeStatus,
    Role,
    utcnow,
)

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
    items: list[tuple[str, str]] = [("Challenges", url_for("challenges.index")),
                                    ("Suppliers", url_for("suppliers.index"))]
    if current_user.is_authenticated:
        items.append(("Dashboard", url_for("main.dashboard")))
        if current_user.is_council_user:
            items.append(("Your challenges", url_for("council.dashboard")))
        if current_user.is_supplier_user and current_user.has_role("bidder", "org_admin"):
            items.append(("Your profile", url_for("suppliers.profile")))
            items.append(("Your bids", url_for("bids.dashboard")))
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


STATUS_COLOURS = {
    "draft": "grey",
    "awaiting_approval": "yellow",
    "approved": "turquoise",
    "open": "green",
    "closed": "grey",
    "evaluation": "teal",
    "standstill": "light-blue",
    "awarded": "purple",
    "no_suitable_supplier": "grey",
    "withdrawn": "orange",
    "cancelled": "red",
}


def status_tag_colour(status: ChallengeStatus | str) -> str:
    return "govuk-tag--" + STATUS_COLOURS.get(str(status), "grey")


def status_label(status: ChallengeStatus | str) -> str:
    return STATUS_LABELS.get(str(status), str(status))


def _days_until(when: datetime, now: datetime) -> int:
    return (when.astimezone(UK).date() - now.astimezone(UK).date()).days


def time_left(when: datetime | date | None, now: datetime | None = None,
              verb: str = "closes") -> str:
    """"12 days left", "1 day left", "closes today" or "" when it has passed."""
    if when is None:
        return ""
    now = now or utcnow()
    if isinstance(when, datetime):
        if when <= now:
            return ""
        days = _days_until(when, now)
    else:
        days = (when - now.astimezone(UK).date()).days
        if days < 0:
            return ""
    if days <= 0:
        return f"{verb} today"
    return "1 day left" if days == 1 else f"{days} days left"


def money(amount: int | None) -> str:
    return "" if amount is None else f"£{amount:,}"


def budget_range(challenge: Challenge) -> str:
    low, high = challenge.budget_min, challenge.budget_max
    if low is not None and high is not None:
        return money(high) if low == high else f"{money(low)} to {money(high)}"
    if high is not None:
        return f"Up to {money(high)}"
    if low is not None:
        return f"From {money(low)}"
    return "Not stated"


def cpv_label(code: str) -> str:
    entry = reference.load_cpv().get(code)
    return entry.label if entry else ""


def truncate_words(text: str | None, length: int = 240) -> str:
    """Cut text at a word boundary before ``length`` characters, adding an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0].rstrip(",.;:–-")
    return cut + "…"


_BLANK_LINE = re.compile(r"\n\s*\n")


def paragraphs(text: str | None, classes: str = "govuk-body") -> Markup:
    """Escaped text as GOV.UK paragraphs: blank lines separate paragraphs, single line
    breaks are kept."""
    parts = [p.strip() for p in _BLANK_LINE.split((text or "").replace("\r\n", "\n"))]
    return Markup("\n").join(
        Markup('<p class="{}">{}</p>').format(classes, Markup("<br>\n").join(
            escape(line) for line in part.split("\n")))
        for part in parts if part)


def uk_date_only(value: date | None) -> str:
    """A calendar date (not a moment), GOV.UK style."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return uk_date(value)
    return f"{value.day} {value:%B %Y}"


def highlight(text: str | None, spans: Any = ()) -> Markup:
    """Text with the given stretches (objects with ``start`` and ``end``, indexes into the
    text) wrapped in ``<mark>``. Every piece of the text is escaped: it may be anyone's."""
    text = text or ""
    ranges: list[list[int]] = []
    for span in sorted(spans or (), key=lambda s: (s.start, s.end)):
        start, end = max(0, int(span.start)), min(len(text), int(span.end))
        if start >= end:
            continue
        if ranges and start <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], end)
        else:
            ranges.append([start, end])
    # Joins of escaped pieces (markupsafe's escape is C): Markup.format is several times
    # slower, and a suggestions page marks a few hundred phrases.
    parts: list[Markup] = []
    position = 0
    for start, end in ranges:
        parts += (escape(text[position:start]), _MARK, escape(text[start:end]), _END_MARK)
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


_MARK, _END_MARK = Markup("<mark>"), Markup("</mark>")


def pagination_params(page: int, pages: int, href: Callable[[int], str]
                      ) -> dict[str, Any] | None:
    """Parameters for the GOV.UK pagination component: first, last and the pages around the
    current one, with ellipses between; None when there is one page."""
    if pages <= 1:
        return None
    items: list[dict[str, Any]] = []
    previous = 0
    for number in sorted({1, pages, *range(page - 1, page + 2)}):
        if not 1 <= number <= pages:
            continue
        if previous and number > previous + 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
        previous = number
    params: dict[str, Any] = {"items": items, "landmarkLabel": "Search results pages"}
    if page > 1:
        params["previous"] = {"href": href(page - 1)}
    if page < pages:
        params["next"] = {"href": href(page + 1)}
    return params


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["uk_datetime"] = uk_datetime
    app.jinja_env.filters["uk_date"] = uk_date
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["ROLE_HINTS"] = ROLE_HINTS
    app.jinja_env.globals["role_hint_items"] = role_hint_items
    app.jinja_env.globals["link"] = link
    app.jinja_env.filters.update({
        "status_tag_colour": status_tag_colour, "status_label": status_label,
        "time_left": time_left, "money": money, "budget_range": budget_range,
        "cpv_label": cpv_label, "truncate_words": truncate_words, "paragraphs": paragraphs,
        "highlight": highlight,
    })
    app.jinja_env.globals["uk_date_only"] = uk_date_only

    @app.context_processor
    def _service() -> dict[str, object]:
        return {
            "service_name": app.config["SERVICE_NAME"],
            "service_phase": app.config["SERVICE_PHASE"],
            "feedback_email": app.config["FEEDBACK_EMAIL"],
        }
