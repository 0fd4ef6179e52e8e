"""KPI formulas against published figures (DOMAIN.md §5) and their no-data edges."""
import pytest

from dashboard.domain.kpis import (
    KpiCounts,
    closure_rate,
    compute_kpis,
    on_time_rate,
    rate,
    satisfaction_rate,
)


def test_lianyungang_june_2019_closure_rate():
    # 连云港 June 2019: 25,783 closed of 29,186 due → 结案率 88.34%.
    assert closure_rate(25_783, 29_186).display() == "88.34%"


def test_lianyungang_june_2019_on_time_rate():
    # 24,165 closed on time of 29,186 due → 按时办结率 82.80%.
    assert on_time_rate(24_165, 29_186).display() == "82.80%"


def test_wuzhong_2018_closure_rate():
    # 吴中区 2018: 561,901 of 573,251 → 98.02%.
    r = closure_rate(561_901, 573_251)
    assert r.display() == "98.02%" and r.percent == pytest.approx(98.02006, abs=1e-5)


def test_satisfaction_counts_basic_satisfied():
    r = satisfaction_rate(90, 6, 100)
    assert r.percent == 96.0 and r.denominator == 100


@pytest.mark.parametrize("fn,args", [
    (closure_rate, (0, 0)), (on_time_rate, (0, 0)), (satisfaction_rate, (0, 0, 0))])
def test_empty_denominator_is_no_data_not_a_percentage(fn, args):
    r = fn(*args)
    assert r.value is None and r.percent is None and not r.has_data
    assert r.display() == "无数据"
    assert r.display("en") == "no data"


def test_no_cases_at_all_gives_no_data_everywhere():
    k = compute_kpis(KpiCounts())
    for name in ("closure", "on_time", "timely_sign", "satisfaction", "callback", "returns",
                 "rework", "reopen", "direct_resolution"):
        assert getattr(k, name).value is None, name
    assert k.mean_close_hours is None
    assert k.intake == 0


def test_nothing_rated_gives_no_satisfaction_but_closure_exists():
    k = compute_kpis(KpiCounts(intake=10, closed=8, due=10, closed_on_time=7))
    assert k.satisfaction.display() == "无数据"
    assert k.closure.display() == "80.00%"
    assert k.on_time.display() == "70.00%"


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError):
        rate(5, 3)
    with pytest.raises(ValueError):
        rate(-1, 3)


def test_counts_add_up():
    a = KpiCounts(intake=3, closed=2, close_hours_sum=1.5)
    b = KpiCounts(intake=4, closed=1, close_hours_sum=2.0)
    total = a + b
    assert (total.intake, total.closed, total.close_hours_sum) == (7, 3, 3.5)


def test_a_rate_is_rounded_once_from_its_ratio():
    # 73/74 = 98.6486...%: rounded to 98.65 first and then to one digit it showed 98.7%.
    r = rate(73, 74)
    assert r.percent == pytest.approx(7300 / 74)
    assert r.display() == "98.65%"
    assert f"{r.percent:.1f}%" == "98.6%"
