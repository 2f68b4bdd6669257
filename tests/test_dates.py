"""Imprecise dates are stored with their precision and rendered without inventing a day."""

import datetime as dt

import pytest
from django.utils import translation

from cases import services
from cases.models import DatePrecision, format_fuzzy_date
from tests import factories


@pytest.mark.parametrize(
    ("value", "precision", "by", "expected"),
    [
        (dt.date(2026, 1, 5), "day", False, "Jan. 5, 2026"),
        (dt.date(2025, 3, 1), "month", False, "March 2025"),
        (dt.date(2025, 1, 1), "year", False, "2025"),
        (dt.date(2026, 4, 30), "month", True, "by end of April 2026"),
        (None, "day", False, ""),
    ],
)
def test_format(value, precision, by, expected):
    with translation.override("en"):
        assert format_fuzzy_date(value, precision, by=by) == expected


def test_format_is_localized():
    with translation.override("uk"):
        text = format_fuzzy_date(dt.date(2026, 4, 30), "month", by=True)
    assert "2026" in text
    assert "April" not in text


@pytest.mark.django_db
def test_by_april_is_stored_as_end_of_april_and_shown_as_such(case, editor):
    deadline = factories.make_deadline(
        case=case,
        by=editor,
        kind="exchange_window",
        title="Exchange window",
        due_on=dt.date(2026, 4, 9),  # any day in April
        due_precision=DatePrecision.MONTH,
    )
    deadline.refresh_from_db()
    assert deadline.due_on == dt.date(2026, 4, 30)
    assert deadline.due_precision == "month"
    with translation.override("en"):
        assert deadline.due_display == "by end of April 2026"
        assert "30" not in deadline.due_display
    assert deadline.reminder_days == [30, 14, 7, 1]


@pytest.mark.django_db
def test_month_event_keeps_its_precision(case, editor):
    event = services.event_log(
        case=case,
        by=editor,
        kind="visit",
        title="Lawmaker's visit",
        occurred_on=dt.date(2025, 3, 17),
        occurred_on_precision=DatePrecision.MONTH,
    )
    event.refresh_from_db()
    assert event.occurred_on == dt.date(2025, 3, 1)
    with translation.override("en"):
        assert event.occurred_on_display == "March 2025"


@pytest.mark.django_db
def test_time_of_day_needs_an_exact_day(case, editor):
    from django.core.exceptions import ValidationError

    deadline = factories.make_deadline(
        case=case,
        by=editor,
        due_on=dt.date(2026, 4, 1),
        due_precision="month",
        due_time=dt.time(10, 0),
    )
    assert deadline.due_time is None  # dropped: a month has no time of day
    with pytest.raises(ValidationError):
        factories.make_deadline(
            case=case, by=editor, due_on=dt.date(2026, 1, 8), due_timezone="Mars/Base"
        )


@pytest.mark.parametrize(
    ("language", "month", "year"),
    [
        ("en", "by end of April 2026", "by end of 2026"),
        # Ukrainian puts the month in the genitive after "до кінця" (by end of).
        ("uk", "до кінця квітня 2026", "до кінця 2026 року"),
        ("ko", "2026년 4월 말까지", "2026년 말까지"),
    ],
)
def test_by_end_of_reads_right_in_each_language(language, month, year):
    from django.utils import translation

    with translation.override(language):
        assert format_fuzzy_date(dt.date(2026, 4, 30), "month", by=True) == month
        assert format_fuzzy_date(dt.date(2026, 12, 31), "year", by=True) == year
