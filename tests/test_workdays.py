"""Working days follow China's official calendar, including 调休 weekends."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dashboard.domain.deadlines import time_status
from dashboard.domain.periods import this_month, today
from dashboard.domain.workdays import add_working_days, is_workday

SH = ZoneInfo("Asia/Shanghai")


def test_national_day_and_adjusted_weekend_2025():
    assert not is_workday(date(2025, 10, 1))     # 国庆
    assert is_workday(date(2025, 9, 28))         # Sunday made a working day (调休)
    assert not is_workday(date(2025, 10, 4))     # Saturday inside the holiday


def test_add_working_days_skips_the_holiday():
    # Reported Tuesday 30 Sep 2025 10:00; 1 working day later skips 1–8 Oct.
    start = datetime(2025, 9, 30, 10, 0, tzinfo=SH)
    assert add_working_days(start, 1) == datetime(2025, 10, 9, 10, 0, tzinfo=SH)


def test_start_on_rest_day_counts_from_next_opening():
    start = datetime(2026, 11, 21, 15, 0, tzinfo=SH)  # Saturday
    assert add_working_days(start, 1) == datetime(2026, 11, 24, 9, 0, tzinfo=SH)


def test_year_beyond_the_official_schedule_falls_back_to_weekdays():
    assert is_workday(date(2030, 6, 3))           # a Monday
    assert not is_workday(date(2030, 6, 1))       # a Saturday


def test_today_is_the_regions_day_not_the_servers():
    # 17:00 UTC on 23 Nov is already 24 Nov in Shanghai.
    w = today(datetime(2026, 11, 23, 17, 0, tzinfo=ZoneInfo("UTC")), "Asia/Shanghai")
    assert w.start == datetime(2026, 11, 24, 0, 0, tzinfo=SH)
    m = this_month(datetime(2026, 11, 30, 17, 0, tzinfo=ZoneInfo("UTC")), "Asia/Shanghai")
    assert m.start == datetime(2026, 12, 1, tzinfo=SH)


def test_time_status():
    start = datetime(2026, 11, 23, 8, 0, tzinfo=SH)
    deadline = datetime(2026, 11, 23, 18, 0, tzinfo=SH)
    assert time_status(datetime(2026, 11, 23, 9, 0, tzinfo=SH), start, deadline) == "正常"
    assert time_status(datetime(2026, 11, 23, 16, 30, tzinfo=SH), start, deadline) == "将到期"
    assert time_status(datetime(2026, 11, 23, 18, 1, tzinfo=SH), start, deadline) == "已超期"
