"""Working days in England and Wales, for the standstill period after an award decision.

A working day is a weekday that is not a bank holiday in England and Wales (the ``holidays``
package's GB subdivision "ENG", which includes substitute days when Christmas, Boxing Day or
New Year's Day fall at a weekend). Days are counted in UK time (Europe/London), whatever the
clocks are doing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

UK = ZoneInfo("Europe/London")


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_bank_holiday(day: date) -> bool:
    """True for a bank holiday in England and Wales (substitute days included)."""
    return day in _bank_holidays(day.year)


def is_working_day(day: date) -> bool:
    """A weekday that is not a bank holiday in England and Wales."""
    return day.weekday() < 5 and not is_bank_holiday(day)


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day of a period beginning with ``start`` (``start`` itself
    counts when it is a working day), as in the Procurement Act 2023's "period of eight
    working days beginning with the day" the notice is published."""
    if days < 1:
        raise ValueError("a period has at least one working day")
    day = start
    counted = 1 if is_working_day(day) else 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def uk_midnight_after(day: date) -> datetime:
    """The aware UTC moment the UK day after ``day`` begins (00:00 Europe/London)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UK).astimezone(UTC)


def standstill_end(decided_at: datetime, days: int) -> datetime:
    """When a standstill of ``days`` working days beginning with the UK day of
    ``decided_at`` ends: midnight (UK time) after its last day, as an aware UTC datetime."""
    if decided_at.tzinfo is None:
        raise ValueError("decided_at must be an aware datetime")
    first = decided_at.astimezone(UK).date()
    return uk_midnight_after(add_working_days(first, days))
