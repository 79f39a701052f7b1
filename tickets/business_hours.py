"""Business-hours arithmetic: add business time to an instant and count business time between two.

A schedule's intervals are local wall-clock times in the calendar's time zone, so on a
daylight-saving day 09:00-17:00 still means local 09:00-17:00. Business time is the set of
real instants whose local wall-clock time falls in an interval on a day that is not a
holiday: a wall-clock hour that a spring-forward skips is never counted, and one that a
fall-back repeats counts twice. The core functions do no database access; only
``schedule_from_calendar`` reads a calendar (from its prefetched relations).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from tickets.models import BusinessCalendar

# An interval ending at 00:00 runs to the end of its day (the database never stores one: 24:00 is not a time).
END_OF_DAY = time(0)
_CHUNK = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)

Interval = tuple[time, time]


def _since_midnight(moment: time, *, is_end: bool = False) -> timedelta:
    if is_end and moment == END_OF_DAY:
        return timedelta(days=1)
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second, microseconds=moment.microsecond)


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, with overlapping or touching intervals merged, so no instant is counted twice."""
    merged: list[Interval] = []
    for start, end in sorted(intervals, key=lambda interval: _since_midnight(interval[0])):
        if _since_midnight(end, is_end=True) <= _since_midnight(start):
            raise ValueError(f"A business-hours interval must end after it starts: {start}-{end}")
        if merged and _since_midnight(start) <= _since_midnight(merged[-1][1], is_end=True):
            if _since_midnight(end, is_end=True) > _since_midnight(merged[-1][1], is_end=True):
                merged[-1] = (merged[-1][0], end)
            continue
        merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class Schedule:
    """Opening hours: intervals per weekday (0 = Monday) in ``timezone``; holidays are closed all day."""

    timezone: ZoneInfo
    intervals_by_weekday: Mapping[int, Sequence[Interval]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if any(weekday not in range(7) for weekday in self.intervals_by_weekday):
            raise ValueError("Weekdays run from 0 (Monday) to 6 (Sunday).")
        normalised = {weekday: _normalise(self.intervals_by_weekday.get(weekday, ())) for weekday in range(7)}
        object.__setattr__(self, "intervals_by_weekday", normalised)
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @property
    def is_ever_open(self) -> bool:
        return any(self.intervals_by_weekday.values())


ALWAYS_OPEN = Schedule(
    timezone=ZoneInfo("UTC"), intervals_by_weekday={weekday: [(time(0), END_OF_DAY)] for weekday in range(7)}
)


def schedule_from_calendar(calendar: BusinessCalendar) -> Schedule:
    """The schedule of a calendar fetched with ``prefetch_related("intervals", "holidays")``."""
    intervals: dict[int, list[Interval]] = {}
    for interval in calendar.intervals.all():
        intervals.setdefault(interval.weekday, []).append((interval.starts_at, interval.ends_at))
    return Schedule(
        timezone=ZoneInfo(calendar.timezone),
        intervals_by_weekday=intervals,
        holidays=frozenset(holiday.date for holiday in calendar.holidays.all()),
    )


def _check_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime.")


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # noqa: S101 - a ZoneInfo always has an offset
    return offset


def _next_offset_change(start: datetime, end: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after ``start`` (and at most ``end``) where the UTC offset differs from start's.

    Transitions fall on whole seconds, so a search over whole seconds finds them exactly.
    """
    before = _offset(start, zone)
    if _offset(end, zone) == before:
        return end
    low, high = math.floor(start.timestamp()), math.ceil(end.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(datetime.fromtimestamp(middle, UTC), zone) == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _open_windows(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open [from, to) windows in UTC, in order, from ``start`` on; endless for a schedule that opens."""
    zone = schedule.timezone
    cursor = start.astimezone(UTC)
    while True:
        # A stretch with one UTC offset maps linearly onto the wall clock; intersect it with each day's hours.
        stretch_end = _next_offset_change(cursor, cursor + _CHUNK, zone)
        offset = _offset(cursor, zone)
        wall_from = (cursor + offset).replace(tzinfo=None)
        wall_to = (stretch_end + offset).replace(tzinfo=None)
        day = wall_from.date()
        while datetime.combine(day, time(0)) < wall_to:
            if day not in schedule.holidays:
                for opens, closes in schedule.intervals_by_weekday[day.weekday()]:
                    window_from = max(datetime.combine(day, opens), wall_from)
                    closing = datetime.combine(day + timedelta(days=1) if closes == END_OF_DAY else day, closes)
                    window_to = min(closing, wall_to)
                    if window_from < window_to:
                        yield (window_from - offset).replace(tzinfo=UTC), (window_to - offset).replace(tzinfo=UTC)
            day += timedelta(days=1)
        cursor = stretch_end


def add_business_time(schedule: Schedule, start: datetime, seconds: int) -> datetime:
    """The earliest instant by which ``seconds`` of business time have passed since ``start``.

    Zero seconds return ``start`` itself, even outside business hours. The result is in UTC: an aware
    datetime in a repeated (fall-back) hour never compares equal to one in another zone (PEP 495).
    """
    _check_aware(start, "start")
    if seconds < 0:
        raise ValueError("Business time cannot be negative.")
    if seconds == 0:
        return start
    if not schedule.is_ever_open:
        raise ValueError("This schedule is never open, so no business time ever passes.")
    remaining = timedelta(seconds=seconds)
    for window_from, window_to in _open_windows(schedule, start):
        available = window_to - window_from
        if remaining <= available:
            return window_from + remaining
        remaining -= available
    raise AssertionError("unreachable: the open windows never end")  # pragma: no cover


def business_seconds_between(schedule: Schedule, start: datetime, end: datetime) -> int:
    """Whole seconds of business time in [start, end); 0 when end is not after start."""
    _check_aware(start, "start")
    _check_aware(end, "end")
    if end <= start or not schedule.is_ever_open:
        return 0
    total = timedelta()
    for window_from, window_to in _open_windows(schedule, start):
        if window_from >= end:
            break
        total += min(window_to, end) - window_from
    return total // _ONE_SECOND
