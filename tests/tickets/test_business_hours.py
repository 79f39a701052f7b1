"""Business-hours arithmetic: pure functions, no database."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.business_hours import (
    ALWAYS_OPEN,
    END_OF_DAY,
    Schedule,
    add_business_time,
    business_seconds_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = 3600
WEEKDAYS = range(5)


def nine_to_five(zone=BERLIN, *, days=WEEKDAYS, holidays=()):
    return Schedule(
        timezone=zone, intervals_by_weekday={day: [(time(9), time(17))] for day in days}, holidays=frozenset(holidays)
    )


def around_the_clock(zone):
    return Schedule(timezone=zone, intervals_by_weekday={day: [(time(0), END_OF_DAY)] for day in range(7)})


# --- Adding business time ---------------------------------------------------------------------------


def test_friday_afternoon_plus_two_hours_lands_on_monday_morning():
    friday = datetime(2025, 1, 10, 16, 0, tzinfo=BERLIN)

    assert add_business_time(nine_to_five(), friday, 2 * HOUR) == datetime(2025, 1, 13, 10, 0, tzinfo=BERLIN)


def test_time_within_one_day_stays_on_that_day():
    monday = datetime(2025, 1, 13, 10, 0, tzinfo=BERLIN)

    assert add_business_time(nine_to_five(), monday, 3 * HOUR + 15 * 60) == datetime(2025, 1, 13, 13, 15, tzinfo=BERLIN)


def test_time_that_ends_exactly_at_closing_is_due_at_closing_not_at_the_next_opening():
    friday = datetime(2025, 1, 10, 15, 0, tzinfo=BERLIN)

    assert add_business_time(nine_to_five(), friday, 2 * HOUR) == datetime(2025, 1, 10, 17, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2025, 1, 11, 12, 0, tzinfo=BERLIN), datetime(2025, 1, 13, 10, 0, tzinfo=BERLIN)),  # Saturday
        (datetime(2025, 1, 13, 7, 0, tzinfo=BERLIN), datetime(2025, 1, 13, 10, 0, tzinfo=BERLIN)),  # before opening
        (datetime(2025, 1, 14, 20, 0, tzinfo=BERLIN), datetime(2025, 1, 15, 10, 0, tzinfo=BERLIN)),  # after closing
        (datetime(2025, 1, 13, 17, 0, tzinfo=BERLIN), datetime(2025, 1, 14, 10, 0, tzinfo=BERLIN)),  # at closing
    ],
)
def test_a_start_outside_business_hours_counts_from_the_next_opening(start, expected):
    assert add_business_time(nine_to_five(), start, HOUR) == expected


def test_zero_seconds_is_the_start_itself_even_outside_hours():
    saturday = datetime(2025, 1, 11, 12, 0, tzinfo=BERLIN)

    assert add_business_time(nine_to_five(), saturday, 0) == saturday
    assert business_seconds_between(nine_to_five(), saturday, saturday) == 0


def test_a_holiday_is_closed_all_day():
    friday = datetime(2025, 4, 17, 16, 0, tzinfo=BERLIN)  # Good Friday and Easter Monday closed
    schedule = nine_to_five(holidays=[date(2025, 4, 18), date(2025, 4, 21)])

    assert add_business_time(schedule, friday, 2 * HOUR) == datetime(2025, 4, 22, 10, 0, tzinfo=BERLIN)
    assert business_seconds_between(schedule, friday, datetime(2025, 4, 23, 0, 0, tzinfo=BERLIN)) == 9 * HOUR


def test_a_split_day_skips_the_lunch_break():
    schedule = Schedule(
        timezone=BERLIN, intervals_by_weekday={day: [(time(13), time(17)), (time(9), time(12))] for day in WEEKDAYS}
    )
    monday = datetime(2025, 1, 13, 11, 0, tzinfo=BERLIN)

    assert add_business_time(schedule, monday, 2 * HOUR) == datetime(2025, 1, 13, 14, 0, tzinfo=BERLIN)
    assert add_business_time(schedule, monday, HOUR) == datetime(2025, 1, 13, 12, 0, tzinfo=BERLIN)
    assert business_seconds_between(schedule, monday, datetime(2025, 1, 13, 13, 30, tzinfo=BERLIN)) == 90 * 60
    assert business_seconds_between(schedule, monday, datetime(2025, 1, 14, 9, 0, tzinfo=BERLIN)) == 5 * HOUR


def test_overlapping_intervals_count_once():
    schedule = Schedule(timezone=BERLIN, intervals_by_weekday={0: [(time(9), time(12)), (time(11), time(13))]})
    monday = datetime(2025, 1, 13, 0, 0, tzinfo=BERLIN)

    assert business_seconds_between(schedule, monday, monday + timedelta(days=1)) == 4 * HOUR


def test_a_calendar_in_tokyo_with_the_start_given_in_utc():
    schedule = Schedule(timezone=TOKYO, intervals_by_weekday={day: [(time(9), time(18))] for day in WEEKDAYS})
    friday_5pm_in_tokyo = datetime(2025, 1, 10, 8, 0, tzinfo=UTC)

    due = add_business_time(schedule, friday_5pm_in_tokyo, 2 * HOUR)

    assert due == datetime(2025, 1, 13, 10, 0, tzinfo=TOKYO)
    assert due == datetime(2025, 1, 13, 1, 0, tzinfo=UTC)
    assert due.tzinfo is UTC
    assert business_seconds_between(schedule, friday_5pm_in_tokyo, due) == 2 * HOUR


def test_the_default_around_the_clock_schedule_counts_real_time():
    start = datetime(2025, 3, 29, 12, 0, tzinfo=BERLIN)  # the night before spring forward

    assert add_business_time(ALWAYS_OPEN, start, 26 * HOUR) == datetime(2025, 3, 30, 15, 0, tzinfo=BERLIN)
    assert business_seconds_between(ALWAYS_OPEN, start, datetime(2025, 4, 1, 12, 0, tzinfo=BERLIN)) == 71 * HOUR


# --- Daylight saving ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (BERLIN, date(2025, 3, 30), 23),  # spring forward at 02:00
        (BERLIN, date(2025, 10, 26), 25),  # fall back at 03:00
        (NEW_YORK, date(2025, 3, 9), 23),
        (NEW_YORK, date(2025, 11, 2), 25),
        (BERLIN, date(2025, 6, 1), 24),
    ],
)
def test_a_day_open_around_the_clock_is_as_long_as_the_local_day(zone, day, hours):
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)

    assert business_seconds_between(around_the_clock(zone), start, end) == hours * HOUR


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (BERLIN, date(2025, 3, 30)),
        (BERLIN, date(2025, 10, 26)),
        (NEW_YORK, date(2025, 3, 9)),
        (NEW_YORK, date(2025, 11, 2)),
    ],
)
def test_nine_to_five_on_a_daylight_saving_day_is_still_eight_local_hours(zone, day):
    schedule = nine_to_five(zone, days=range(7))
    start = datetime.combine(day, time(0), tzinfo=zone)

    assert business_seconds_between(schedule, start, start + timedelta(days=1)) == 8 * HOUR
    assert add_business_time(schedule, start, HOUR) == datetime.combine(day, time(10), tzinfo=zone)
    assert add_business_time(schedule, start, 8 * HOUR) == datetime.combine(day, time(17), tzinfo=zone)


def test_the_hour_spring_forward_skips_is_not_business_time_in_berlin():
    night_shift = Schedule(timezone=BERLIN, intervals_by_weekday={6: [(time(1), time(4))]})
    sunday = datetime(2025, 3, 30, 0, 0, tzinfo=BERLIN)

    assert business_seconds_between(night_shift, sunday, sunday + timedelta(days=1)) == 2 * HOUR
    # 01:00 CET + 1h is 03:00 CEST: 02:00-03:00 does not exist that night.
    assert add_business_time(night_shift, sunday, HOUR + 30 * 60) == datetime(2025, 3, 30, 3, 30, tzinfo=BERLIN)


def test_the_hour_fall_back_repeats_counts_twice_in_berlin():
    night_shift = Schedule(timezone=BERLIN, intervals_by_weekday={6: [(time(1), time(4))]})
    sunday = datetime(2025, 10, 26, 0, 0, tzinfo=BERLIN)

    assert business_seconds_between(night_shift, sunday, sunday + timedelta(days=1)) == 4 * HOUR
    due = add_business_time(night_shift, sunday, 2 * HOUR + 30 * 60)
    assert due == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # 02:30 the second time, in winter time
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2025, 10, 26, 2, 30)


def test_new_york_spring_forward_and_fall_back_around_the_clock():
    schedule = around_the_clock(NEW_YORK)

    spring = add_business_time(schedule, datetime(2025, 3, 8, 23, 0, tzinfo=NEW_YORK), 3 * HOUR)
    fall = add_business_time(schedule, datetime(2025, 11, 2, 0, 30, tzinfo=NEW_YORK), 2 * HOUR)

    assert spring == datetime(2025, 3, 9, 3, 0, tzinfo=NEW_YORK)  # 23:00 EST + 3h = 03:00 EDT
    assert fall == datetime(2025, 11, 2, 6, 30, tzinfo=UTC)  # 00:30 EDT + 2h = the second 01:30 (EST)


@pytest.mark.parametrize(
    ("zone", "friday", "monday_utc"),
    [
        (BERLIN, date(2025, 3, 28), datetime(2025, 3, 31, 8, 0, tzinfo=UTC)),  # Monday 10:00 CEST
        (BERLIN, date(2025, 10, 24), datetime(2025, 10, 27, 9, 0, tzinfo=UTC)),  # Monday 10:00 CET
        (NEW_YORK, date(2025, 3, 7), datetime(2025, 3, 10, 14, 0, tzinfo=UTC)),  # Monday 10:00 EDT
        (NEW_YORK, date(2025, 10, 31), datetime(2025, 11, 3, 15, 0, tzinfo=UTC)),  # Monday 10:00 EST
    ],
)
def test_a_weekend_with_a_clock_change_still_lands_on_monday_ten_local_time(zone, friday, monday_utc):
    start = datetime.combine(friday, time(16), tzinfo=zone)

    due = add_business_time(nine_to_five(zone), start, 2 * HOUR)

    assert due == monday_utc
    assert due.astimezone(zone).time() == time(10)
    assert business_seconds_between(nine_to_five(zone), start, due) == 2 * HOUR


# --- Counting business time ---------------------------------------------------------------------------


def test_counting_business_time_over_a_week():
    monday = datetime(2025, 1, 13, 0, 0, tzinfo=BERLIN)

    assert business_seconds_between(nine_to_five(), monday, monday + timedelta(days=7)) == 40 * HOUR
    assert business_seconds_between(nine_to_five(), monday + timedelta(days=7), monday) == 0


def test_naive_datetimes_negative_time_and_a_schedule_that_never_opens_are_refused():
    closed = Schedule(timezone=BERLIN, intervals_by_weekday={})

    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(nine_to_five(), datetime(2025, 1, 13, 9, 0), HOUR)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(nine_to_five(), datetime(2025, 1, 13, 9, 0, tzinfo=BERLIN), -1)
    with pytest.raises(ValueError, match="never open"):
        add_business_time(closed, datetime(2025, 1, 13, 9, 0, tzinfo=BERLIN), HOUR)
    with pytest.raises(ValueError, match="end after it starts"):
        Schedule(timezone=BERLIN, intervals_by_weekday={0: [(time(17), time(9))]})


# --- Properties over many random schedules ------------------------------------------------------------

ZONES = [
    BERLIN,
    NEW_YORK,
    TOKYO,
    ZoneInfo("Australia/Lord_Howe"),  # a half-hour daylight-saving shift
    ZoneInfo("America/Sao_Paulo"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("UTC"),
]
# Days around 2025's clock changes in those zones, so many cases cross one.
CLOCK_CHANGE_DAYS = [date(2025, 3, 9), date(2025, 3, 30), date(2025, 4, 6), date(2025, 10, 5), date(2025, 10, 26)]
CLOCK_CHANGE_DAYS += [date(2025, 11, 2)]


def _random_schedule(rng: random.Random, zone: ZoneInfo, near: date) -> Schedule:
    intervals = {}
    for weekday in range(7):
        cuts = sorted(rng.sample(range(0, 24 * 60 + 1, 30), rng.choice([0, 2, 2, 4, 6])))
        intervals[weekday] = [
            (time(start // 60, start % 60), END_OF_DAY if end == 24 * 60 else time(end // 60, end % 60))
            for start, end in zip(cuts[::2], cuts[1::2], strict=True)
        ]
    if not any(intervals.values()):
        intervals[rng.randrange(7)] = [(time(9), time(17))]
    holidays = {near + timedelta(days=rng.randint(-3, 5)) for _ in range(rng.randint(0, 2))}
    return Schedule(timezone=zone, intervals_by_weekday=intervals, holidays=frozenset(holidays))


def _random_start(rng: random.Random, zone: ZoneInfo, near: date) -> datetime:
    local_midnight = datetime.combine(near - timedelta(days=2), time(0), tzinfo=zone)
    return (local_midnight + timedelta(minutes=rng.randrange(4 * 24 * 60))).astimezone(UTC)


def _is_open(schedule: Schedule, instant: datetime) -> bool:
    local = instant.astimezone(schedule.timezone)
    if local.date() in schedule.holidays:
        return False
    wall = local.time()
    return any(
        start <= wall and (end == END_OF_DAY or wall < end)
        for start, end in schedule.intervals_by_weekday[local.weekday()]
    )


def test_counting_matches_a_minute_by_minute_count_of_open_instants():
    rng = random.Random(20250330)
    for _case in range(80):
        zone, near = rng.choice(ZONES), rng.choice(CLOCK_CHANGE_DAYS)
        schedule = _random_schedule(rng, zone, near)
        start = _random_start(rng, zone, near)
        minutes = rng.randrange(3 * 24 * 60)

        expected = 60 * sum(_is_open(schedule, start + timedelta(minutes=m)) for m in range(minutes))

        assert business_seconds_between(schedule, start, start + timedelta(minutes=minutes)) == expected, (
            zone,
            start,
            minutes,
            schedule,
        )


def test_adding_then_counting_gives_back_the_same_seconds():
    rng = random.Random(7)
    for _case in range(400):
        zone, near = rng.choice(ZONES), rng.choice(CLOCK_CHANGE_DAYS)
        schedule = _random_schedule(rng, zone, near)
        start = _random_start(rng, zone, near) + timedelta(seconds=rng.randrange(60))
        seconds = rng.choice([0, 1, 59, rng.randrange(1, 4 * HOUR), rng.randrange(1, 10 * 24 * HOUR)])

        due = add_business_time(schedule, start, seconds)

        assert due >= start
        assert business_seconds_between(schedule, start, due) == seconds, (zone, start, seconds, schedule)
        if seconds:
            # The earliest such instant: one second less is one business second short.
            assert business_seconds_between(schedule, start, due - timedelta(seconds=1)) == seconds - 1


def test_counting_then_adding_never_passes_the_end():
    rng = random.Random(11)
    for _case in range(400):
        zone, near = rng.choice(ZONES), rng.choice(CLOCK_CHANGE_DAYS)
        schedule = _random_schedule(rng, zone, near)
        start = _random_start(rng, zone, near)
        end = start + timedelta(seconds=rng.randrange(6 * 24 * HOUR))

        seconds = business_seconds_between(schedule, start, end)

        assert add_business_time(schedule, start, seconds) <= end
        assert business_seconds_between(schedule, start, add_business_time(schedule, start, seconds)) == seconds
