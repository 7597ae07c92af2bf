"""etl.clean.dates: date strings as news sources print them -> aware UTC datetimes.

The bulk of the cases live in tests/data/dates/*.tsv, one row per behaviour with a note.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jdatetime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import etl.clean.dates as dates
from etl.clean.dates import ParsedDate, is_future, parse_date, parse_date_info

DATA = Path(__file__).parent / "data" / "dates"
TEHRAN = ZoneInfo("Asia/Tehran")


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


CASES = _rows("cases.tsv")
INVALID = _rows("invalid.tsv")


def test_case_tables_are_big_enough() -> None:
    assert len(CASES) >= 40
    assert all(len(row) == 4 for row in CASES)
    assert all(len(row) == 2 for row in INVALID)


@pytest.mark.parametrize(("text", "expected", "time_known", "note"), CASES, ids=[r[3] for r in CASES])
def test_known_dates(text: str, expected: str, time_known: str, note: str) -> None:
    info = parse_date_info(text)
    assert info is not None, note
    assert info.at == datetime.fromisoformat(expected), note
    assert info.at.tzinfo is UTC
    assert info.time_known is (time_known == "true"), note
    assert parse_date(text) == info.at


@pytest.mark.parametrize(("text", "note"), INVALID, ids=[r[1] for r in INVALID])
def test_not_a_date(text: str, note: str) -> None:
    assert parse_date(text) is None, note
    assert parse_date_info(text) is None, note


@pytest.mark.parametrize("text", ["", "   ", "\n", "-", "|", "۰۰:۰۰"])
def test_empty_and_blank(text: str) -> None:
    assert parse_date(text) is None


def test_none_is_not_a_date() -> None:
    # Fetchers hand over RawItem.published, which may be None.
    assert parse_date(None) is None  # type: ignore[arg-type]


# --- calendar facts the table relies on ----------------------------------------------------


def test_jalali_anchors() -> None:
    assert parse_date("۱۴۰۴/۰۱/۰۱ ۱۲:۰۰") == datetime(2025, 3, 21, 8, 30, tzinfo=UTC)
    assert parse_date("۱ دی ۱۴۰۴ ساعت ۱۲:۰۰") == datetime(2025, 12, 22, 8, 30, tzinfo=UTC)


def test_leap_years() -> None:
    # 1403 is a Jalali leap year, 1404 is not: Esfand 30 exists only in the first.
    assert parse_date("۱۴۰۳/۱۲/۳۰") == datetime(2025, 3, 19, 20, 30, tzinfo=UTC)
    assert parse_date("۳۰ اسفند ۱۴۰۳") == parse_date("۱۴۰۳/۱۲/۳۰")
    assert parse_date("۱۴۰۴/۱۲/۳۰") is None
    assert parse_date("۱۴۰۴/۱۲/۲۹") == datetime(2026, 3, 19, 20, 30, tzinfo=UTC)
    # The day after Esfand 30, 1403 is Farvardin 1, 1404.
    assert parse_date("۱۴۰۴/۰۱/۰۱") - parse_date("۱۴۰۳/۱۲/۳۰") == timedelta(days=1)
    assert parse_date("2024-02-29") is not None
    assert parse_date("2025-02-29") is None


def test_summer_time_history() -> None:
    # The same wall-clock time is a different instant before and after Iran dropped
    # summer time (last used in 1401 / 2022).
    summer_1401 = parse_date("۱۴۰۱/۰۵/۰۱ ۱۲:۰۰")
    summer_1402 = parse_date("۱۴۰۲/۰۵/۰۱ ۱۲:۰۰")
    assert summer_1401 == datetime(2022, 7, 23, 7, 30, tzinfo=UTC)
    assert summer_1402 == datetime(2023, 7, 23, 8, 30, tzinfo=UTC)
    winter_1401 = parse_date("۱۴۰۱/۱۰/۰۱ ۱۲:۰۰")
    assert winter_1401 == datetime(2022, 12, 22, 8, 30, tzinfo=UTC)


# --- the DST edges: zoneinfo fold=0 --------------------------------------------------------


def test_spring_forward_gap_reads_the_time_with_the_offset_before_the_jump() -> None:
    # On 2 Farvardin 1401 (2022-03-22) Tehran's clocks went 00:00 -> 01:00, so 00:30
    # never happened. fold=0 reads it at +03:30, the same instant as 01:30 at +04:30.
    assert parse_date("۱۴۰۱/۰۱/۰۲ ۰۰:۳۰") == datetime(2022, 3, 21, 21, 0, tzinfo=UTC)
    assert parse_date("۱۴۰۱/۰۱/۰۲ ۰۰:۳۰") == parse_date("۱۴۰۱/۰۱/۰۲ ۰۱:۳۰")
    assert parse_date("2022-03-22 00:30:00") == datetime(2022, 3, 21, 21, 0, tzinfo=UTC)


def test_date_only_on_the_gap_day_is_the_first_instant_of_that_day() -> None:
    # Midnight itself was skipped; fold=0 lands on the transition instant.
    info = parse_date_info("۱۴۰۱/۰۱/۰۲")
    assert info == ParsedDate(at=datetime(2022, 3, 21, 20, 30, tzinfo=UTC), time_known=False)


def test_fall_back_overlap_picks_the_first_occurrence() -> None:
    # On 30 Shahrivar 1401 (2022-09-21) clocks went 24:00 -> 23:00, so 23:30 happened
    # twice: at 19:00 UTC (+04:30) and at 20:00 UTC (+03:30). fold=0 takes the first.
    assert parse_date("۱۴۰۱/۰۶/۳۰ ۲۳:۳۰") == datetime(2022, 9, 21, 19, 0, tzinfo=UTC)
    assert parse_date("2022-09-21 23:30:00") == datetime(2022, 9, 21, 19, 0, tzinfo=UTC)
    # Just before the overlap, the offset is unambiguous.
    assert parse_date("۱۴۰۱/۰۶/۳۰ ۲۲:۵۹") == datetime(2022, 9, 21, 18, 29, tzinfo=UTC)


def test_explicit_offset_is_never_reinterpreted() -> None:
    # A time printed with an offset needs no Tehran rules, even inside the gap.
    assert parse_date("2022-03-22T00:30:00+03:30") == datetime(2022, 3, 21, 21, 0, tzinfo=UTC)
    assert parse_date("2022-09-21T23:30:00+03:30") == datetime(2022, 9, 21, 20, 0, tzinfo=UTC)


# --- is_future -----------------------------------------------------------------------------

NOW = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "tolerance", "expected"),
    [
        (NOW - timedelta(days=1), timedelta(hours=1), False),
        (NOW, timedelta(hours=1), False),
        (NOW + timedelta(minutes=30), timedelta(hours=1), False),
        (NOW + timedelta(hours=1), timedelta(hours=1), False),
        (NOW + timedelta(hours=1, seconds=1), timedelta(hours=1), True),
        (NOW + timedelta(days=2), timedelta(hours=1), True),
        (NOW + timedelta(minutes=1), timedelta(0), True),
    ],
)
def test_is_future(at: datetime, tolerance: timedelta, expected: bool) -> None:
    assert is_future(at, NOW, tolerance) is expected


def test_is_future_default_tolerance_is_one_hour() -> None:
    assert not is_future(NOW + timedelta(minutes=59), NOW)
    assert is_future(NOW + timedelta(minutes=61), NOW)


def test_is_future_compares_instants_not_wall_clocks() -> None:
    # 15:00 in Tehran is 11:30 UTC: before NOW, although its wall clock reads later.
    tehran_afternoon = datetime(2026, 1, 8, 15, 0, tzinfo=TEHRAN)
    assert not is_future(tehran_afternoon, NOW, timedelta(0))
    assert is_future(parse_date("۱۴۰۴/۱۰/۱۹ ۰۹:۰۰"), NOW)


# --- the public surface --------------------------------------------------------------------


def test_public_names() -> None:
    assert set(dates.__all__) == {"ParsedDate", "TEHRAN", "is_future", "parse_date", "parse_date_info"}


def test_parsed_date_is_frozen() -> None:
    info = parse_date_info("2025-08-22")
    with pytest.raises(AttributeError):
        info.at = NOW  # type: ignore[misc]


# --- properties ----------------------------------------------------------------------------

DATEISH = st.text(
    alphabet="0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩ /-:.,|+TZtzدیمهرآذاسفندماهيكب.ظJanugMyGTUCESPDA",
    max_size=40,
)


@settings(max_examples=500)
@given(st.one_of(st.text(), DATEISH))
def test_never_raises_and_always_returns_utc(text: str) -> None:
    info = parse_date_info(text)
    if info is not None:
        assert info.at.tzinfo is UTC
        assert parse_date(text) == info.at
    else:
        assert parse_date(text) is None


@settings(max_examples=300)
@given(
    st.dates(min_value=date(2006, 1, 1), max_value=date(2035, 12, 31)),
    # fold=0: a wall-clock time printed without an offset in the hour repeated when summer time
    # ended (until 2022) is ambiguous, and the parser reads the first of the two (Hypothesis
    # also draws fold=1 times, whose expected instant is the second).
    st.times().map(lambda t: t.replace(second=0, microsecond=0, fold=0)),
)
def test_jalali_round_trip(day: date, clock: time) -> None:
    # Print a Tehran wall-clock time the way Persian sites do, and read it back.
    jalali = jdatetime.date.fromgregorian(date=day)
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    text = f"{jalali.year}/{jalali.month:02}/{jalali.day:02} - {clock:%H:%M}".translate(persian)
    expected = datetime.combine(day, clock, tzinfo=TEHRAN).astimezone(UTC)
    assert parse_date(text) == expected
