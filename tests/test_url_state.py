"""The query string as page state: periods, custom ranges, filters, and the messages of
bad input in both languages."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from dashboard.views import url_state as us
from dashboard.views.url_state import BadInput

TZ = "Asia/Shanghai"
NOW = datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)  # 16:30 in Shanghai, a Friday


def local(w):
    z = ZoneInfo(TZ)
    return w.start.astimezone(z).replace(tzinfo=None), w.end.astimezone(z).replace(tzinfo=None)


def test_defaults_and_round_trip():
    s = us.parse({})
    assert (s.period, s.metric, s.basis, s.sort, s.page, s.lang) == (
        "this_month", "on_time", "reported", "-reported_at", 1, "zh")
    assert us.encode(s) == ""
    q = {"period": "custom", "from": "2026-11-01", "to": "2026-11-20", "metric": "satisfaction",
         "state": "IN_PROGRESS", "category": "城市管理", "sort": "deadline", "page": "3",
         "lang": "en", "basis": "overdue"}
    s = us.parse(q, ("on_time", "satisfaction"))
    assert s.start == date(2026, 11, 1) and s.end == date(2026, 11, 20)
    assert s.filters == {"state": "IN_PROGRESS", "category": "城市管理"}
    from callbacks.router import parse_query
    assert us.parse(parse_query(us.encode(s))) == s


def test_unknown_filter_values_fall_back_instead_of_failing():
    s = us.parse({"state": "NOPE", "sort": "x", "page": "-4", "metric": "bogus", "basis": "?"},
                 ("on_time",))
    assert s.filters == {} and s.sort == "-reported_at" and s.page == 1
    assert s.metric == "on_time" and s.basis == "reported"


@pytest.mark.parametrize("query, code, zh, en", [
    ({"from": "2026-13-01", "to": "2026-11-20"}, "bad-date", "日期格式不正确", "Malformed date"),
    ({"from": "2026-02-30", "to": "2026-03-02"}, "bad-date", "from=2026-02-30", "from=2026-02-30"),
    ({"from": "2026-11-20", "to": "2026-11-01"}, "range-reversed", "早于开始日期", "before the start"),
    ({"period": "custom", "from": "2026-11-01"}, "bad-range", "需要开始和结束日期", "needs both"),
    ({"period": "fortnight"}, "bad-period", "未知的统计周期", "Unknown period"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "range-too-long", "最长", "at most"),
])
def test_bad_input_says_what_is_wrong_in_both_languages(query, code, zh, en):
    with pytest.raises(BadInput) as err:
        us.parse(query)
    assert err.value.code == code
    assert zh in err.value.message("zh") and en in err.value.message("en")


def test_windows_previous_period_and_last_year():
    month = us.parse({})
    w = us.window(month, NOW, TZ)
    assert local(w) == (datetime(2026, 11, 1), datetime(2026, 12, 1))
    # This month so far (20 days) against the same 20 days of October (环比同期).
    prev = us.previous_window(w, month, NOW, TZ)
    assert local(prev) == (datetime(2026, 10, 1), datetime(2026, 10, 20, 16, 30))
    ly = us.last_year_window(w, NOW)
    assert local(ly) == (datetime(2025, 11, 1), datetime(2025, 11, 20, 16, 30))

    last = us.parse({"period": "last_month"})
    w = us.window(last, NOW, TZ)
    assert local(w) == (datetime(2026, 10, 1), datetime(2026, 11, 1))
    # October has 31 days, September 30: the previous period is all of September.
    assert local(us.previous_window(w, last, NOW, TZ)) == (datetime(2026, 9, 1), datetime(2026, 10, 1))

    week = us.parse({"period": "this_week"})
    w = us.window(week, NOW, TZ)
    assert local(w)[0] == datetime(2026, 11, 16)
    assert local(us.previous_window(w, week, NOW, TZ)) == (datetime(2026, 11, 9),
                                                           datetime(2026, 11, 13, 16, 30))

    custom = us.parse({"from": "2026-11-01", "to": "2026-11-10"})
    w = us.window(custom, NOW, TZ)
    assert local(w) == (datetime(2026, 11, 1), datetime(2026, 11, 11))
    assert local(us.previous_window(w, custom, NOW, TZ)) == (datetime(2026, 10, 22),
                                                             datetime(2026, 11, 1))
    assert us.label(custom, w, TZ, NOW) == "自定义（2026-11-01 ~ 2026-11-10）"


def test_a_running_period_is_labelled_up_to_now_not_to_its_end():
    """On 2 December, 本月 covers 12-01 to now: it must not read as the whole month."""
    now = datetime(2026, 12, 2, 6, 5, tzinfo=timezone.utc)        # 14:05 in Shanghai
    month = us.parse({"period": "this_month"})
    assert us.label(month, us.window(month, now, TZ), TZ, now) == \
        "本月（2026-12-01 ~ 2026-12-02 14:05）"
    today = us.parse({"period": "today", "lang": "en"})
    assert "2026-12-02 00:00 ~ 14:05" in us.label(today, us.window(today, now, TZ), TZ, now)
    last = us.parse({"period": "last_month"})                     # over: its whole span
    assert us.label(last, us.window(last, now, TZ), TZ, now) == "上月（2026-11-01 ~ 2026-11-30）"
    # The previous period's same elapsed part ends mid-day too, and says so.
    prev = us.previous_window(us.window(month, now, TZ), month, now, TZ)
    assert us.span(prev, TZ) == "2026-11-01 ~ 2026-11-02 14:05"


def test_last_year_of_29_february():
    leap = datetime(2028, 2, 29, 4, tzinfo=timezone.utc)
    w = us.window(us.parse({"period": "today"}), leap, TZ)
    ly = us.last_year_window(w, leap)
    assert ly.start.astimezone(ZoneInfo(TZ)).date() == date(2027, 2, 28)


def test_one_rule_for_the_language_everywhere():
    from dashboard.domain.language import language
    assert language("en") == "en" and language("zh", "en") == "zh"
    assert language(None) == "zh" and language("fr", "en") == "en" and language(["en"]) == "zh"
    assert us.parse({}, default_lang="en").lang == "en"
    assert us.parse({"lang": "zh"}, default_lang="en").lang == "zh"
