"""Working days in England and Wales and the end of the standstill period, on real dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from marketplace.services.workdays import (
    UK,
    add_working_days,
    is_working_day,
    standstill_end,
)


def uk(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment given in UK time, as an aware UTC datetime (like every stored time)."""
    return datetime(year, month, day, hour, minute, tzinfo=UK).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 1, 9), True),     # a Friday
    (date(2026, 1, 10), False),   # Saturday
    (date(2026, 1, 11), False),   # Sunday
    (date(2026, 1, 1), False),    # New Year's Day
    (date(2026, 4, 3), False),    # Good Friday
    (date(2026, 4, 6), False),    # Easter Monday
    (date(2026, 5, 4), False),    # early May bank holiday
    (date(2026, 5, 25), False),   # spring bank holiday
    (date(2026, 8, 31), False),   # late summer bank holiday
    (date(2026, 12, 25), False),  # Christmas Day, a Friday
    (date(2026, 12, 28), False),  # Boxing Day (a Saturday) moved to Monday
    (date(2026, 12, 29), True),
    (date(2027, 12, 27), False),  # Christmas Day 2027 is a Saturday: Monday instead
    (date(2027, 12, 28), False),  # and Boxing Day, a Sunday: Tuesday instead
    (date(2027, 12, 29), True),
    (date(2026, 3, 17), True),    # St Patrick's Day: a holiday in Northern Ireland only
    (date(2026, 11, 30), True),   # St Andrew's Day: a holiday in Scotland only
    (date(2026, 8, 3), True),     # Scotland's summer bank holiday, not England's
])
def test_working_days_are_weekdays_that_are_not_english_bank_holidays(day: date,
                                                                       working: bool) -> None:
    assert is_working_day(day) is working


def test_the_first_day_counts_when_it_is_a_working_day() -> None:
    assert add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 9)
    assert add_working_days(date(2026, 1, 10), 1) == date(2026, 1, 12)  # Saturday: Monday
    assert add_working_days(date(2026, 1, 9), 2) == date(2026, 1, 12)


def test_a_period_has_at_least_one_day() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 9), 0)


def test_standstill_across_two_weekends() -> None:
    # Friday 9 January 2026 is day 1; day 8 is Tuesday 20 January (GMT, so UTC midnight).
    assert standstill_end(uk(2026, 1, 9), 8) == utc(2026, 1, 21)


def test_standstill_over_easter() -> None:
    # Thursday 2 April 2026 is day 1; Good Friday (3rd) and Easter Monday (6th) do not
    # count; day 8 is Wednesday 15 April. Midnight in BST is 11pm UTC the day before.
    assert standstill_end(uk(2026, 4, 2), 8) == utc(2026, 4, 15, 23)


def test_standstill_over_the_early_may_bank_holiday() -> None:
    # Thursday 30 April is day 1, Monday 4 May is a bank holiday, day 8 is Tuesday 12 May.
    assert standstill_end(uk(2026, 4, 30), 8) == utc(2026, 5, 12, 23)


def test_standstill_over_the_spring_bank_holiday() -> None:
    # Wednesday 20 May is day 1, Monday 25 May is a bank holiday, day 8 is Monday 1 June.
    assert standstill_end(uk(2026, 5, 20), 8) == utc(2026, 6, 1, 23)


def test_standstill_over_the_late_summer_bank_holiday() -> None:
    # Thursday 27 August is day 1, Monday 31 August is a bank holiday, day 8 is 8 September.
    assert standstill_end(uk(2026, 8, 27), 8) == utc(2026, 9, 8, 23)


def test_standstill_over_christmas_with_a_substitute_boxing_day_and_new_year() -> None:
    # Thursday 24 December 2026 is day 1. Christmas (Friday), Boxing Day (Saturday, so
    # Monday 28th instead) and New Year's Day (Friday) do not count: day 8 is Thursday
    # 7 January 2027.
    assert standstill_end(uk(2026, 12, 24), 8) == utc(2027, 1, 8)


def test_a_decision_on_a_bank_holiday_starts_counting_the_next_working_day() -> None:
    # Easter Monday 6 April 2026: day 1 is Tuesday 7th, day 8 Thursday 16 April.
    assert standstill_end(uk(2026, 4, 6, 11), 8) == utc(2026, 4, 16, 23)


def test_a_decision_on_a_saturday_starts_counting_on_monday() -> None:
    # Saturday 10 January 2026: day 1 is Monday 12th, day 8 Wednesday 21 January.
    assert standstill_end(uk(2026, 1, 10), 8) == utc(2026, 1, 22)


def test_a_late_evening_decision_in_gmt_ending_in_bst() -> None:
    # 11:30pm on Friday 27 March 2026 (GMT) counts Friday; the clocks go forward on the
    # 29th; with Easter, day 8 is Thursday 9 April and the end is midnight BST.
    assert standstill_end(uk(2026, 3, 27, 23, 30), 8) == utc(2026, 4, 9, 23)


def test_a_late_evening_decision_in_bst_ending_in_gmt() -> None:
    # 11:30pm BST on Friday 23 October 2026 is 10:30pm UTC: Friday is day 1; the clocks go
    # back on the 25th; day 8 is Tuesday 3 November and the end is midnight GMT.
    decided = uk(2026, 10, 23, 23, 30)
    assert decided == utc(2026, 10, 23, 22, 30)
    assert standstill_end(decided, 8) == utc(2026, 11, 4)


def test_the_uk_day_counts_not_the_utc_day() -> None:
    # 12:15am BST on Saturday 24 October is still Friday in UTC; but in the UK it is
    # Saturday, so counting starts on Monday 26th and day 8 is Wednesday 4 November.
    decided = uk(2026, 10, 24, 0, 15)
    assert decided.date() == date(2026, 10, 23)
    assert standstill_end(decided, 8) == utc(2026, 11, 5)


def test_a_longer_standstill() -> None:
    assert standstill_end(uk(2026, 1, 9), 10) == utc(2026, 1, 23)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        standstill_end(datetime(2026, 1, 9, 10), 8)  # noqa: DTZ001
