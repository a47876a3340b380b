"""Dates in the programme's time zone: the day of an activity, cap periods, lot expiry."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from services.accrual.rules.model import ExpiryPolicy, Period


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar day of `moment` where the programme runs (a late event keeps its day)."""
    return moment.astimezone(zone(timezone)).date()


def period_start(day: date, period: Period) -> date:
    if period == "day":
        return day
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def period_end(start: date, period: Period) -> date:
    """The first day after the period that begins on `start`."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def period_bounds(day: date, period: Period, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of the period holding `day`, as aware instants."""
    start = period_start(day, period)
    end = period_end(start, period)
    tz = zone(timezone)
    return datetime.combine(start, time(), tz), datetime.combine(end, time(), tz)


def end_of_month_after(day: date, months: int) -> date:
    """The last day of the month `months` after the month of `day`."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def expiry_date(policy: ExpiryPolicy, earned_at: datetime, timezone: str) -> date | None:
    if policy.months is None:
        return None
    return end_of_month_after(local_date(earned_at, timezone), policy.months)
