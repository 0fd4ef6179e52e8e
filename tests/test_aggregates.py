"""The daily aggregates give the very figures of the case table (data_sources/aggregates.py):
random regions × windows × clock times, on SQLite and PostgreSQL, over a seeded history
that has every workflow turn the simulator plays (延期, 重办, 挂起, 不予受理, returns,
cards, late signs) and days crossed at every hour."""
from __future__ import annotations

import dataclasses
import random
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dashboard.domain import periods
from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import KpiCounts, without_open
from dashboard.domain.periods import Window, day_window, local_today
from dashboard.domain.scope import RegionScope
from dashboard.views import url_state
from data_sources import aggregates, case_list, case_queries
from data_sources.aggregate_summary import StoredDays
from data_sources.database import make_engine
from data_sources.regions import RegionTree
from data_sources.schema import (
    agg_day,
    agg_due,
    agg_hour,
    agg_hour_county,
    agg_mix,
    agg_mix_city,
    case,
)
from tests.conftest import module_database
from tests.live import seeded_deployment

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
DAYS = 30


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)])
def seeded(request, tmp_path_factory):
    """A month of history at a small scale, its aggregates built up to two days ago."""
    def build(url):
        dep = seeded_deployment(tmp_path_factory, url, DAYS, 0.004)
        eng = make_engine(url)
        now = datetime.now(timezone.utc)
        today = local_today(now, TZ)
        # Stored from day 10 of the history: windows reaching further back count raw.
        first, horizon = today - timedelta(days=DAYS - 10), today - timedelta(days=2)
        aggregates.rebuild(eng, TZ, first, horizon)
        # And the hours a follower keeps now: today's and the last days' (over the last
        # stored days too, and the two days after them).
        hours, year_ago = aggregates.hours_wanted(now, TZ), aggregates.year_ago_hours(now, TZ)
        aggregates.rebuild_hours(eng, *hours)
        aggregates.rebuild_hours(eng, *year_ago)
        return (eng, RegionTree.load(eng, "320000"),
                StoredDays(first, horizon, hours=hours, year_ago=year_ago), now, dep)

    with module_database(request, tmp_path_factory) as url:
        built = build(url)
        yield built
        built[0].dispose()


def regions(tree, r: random.Random) -> list[str]:
    """The province, two cities, two counties, a township (counted directly)."""
    cities = [x.code for x in tree.children("320000")]
    picked = ["320000", *r.sample(cities, 2)]
    counties = [x.code for code in picked[1:] for x in tree.children(code)]
    picked += r.sample(counties, 2)
    picked.append(tree.children(picked[-1])[0].code)
    return picked


def random_window(r: random.Random, now: datetime) -> tuple[Window, datetime]:
    """Day-aligned or not, ending before, at or after the clock, which itself is anywhere
    in the last month (a previous period's same elapsed part ends at a minute)."""
    today = local_today(now, TZ)
    start_day = today - timedelta(days=r.randint(0, DAYS + 2))
    start = day_window(start_day, TZ).start
    if r.random() < 0.3:
        start += timedelta(minutes=r.randint(0, 24 * 60 - 1), seconds=r.randint(0, 59))
    length = timedelta(days=r.randint(0, 20), minutes=r.choice([0, r.randint(1, 1439)]),
                       seconds=r.choice([0, r.randint(0, 59)]))
    end = max(start + length, start + timedelta(minutes=1))
    clock = min(now, start + timedelta(days=r.uniform(0, 25)))
    if r.random() < 0.3:
        clock = now
    return Window(start, end), clock


def assert_equal(got: dict, want: dict, context) -> None:
    assert got.keys() == want.keys(), context
    for key in want:
        g, w = dataclasses.asdict(got[key]), dataclasses.asdict(want[key])
        assert g.pop("close_hours_sum") == pytest.approx(w.pop("close_hours_sum"), rel=1e-9,
                                                         abs=1e-6), (context, key)
        assert g == w, (context, key)


def test_every_figure_equals_the_case_tables(seeded):
    eng, tree, stored, now, dep = seeded
    r = random.Random(20261202)
    checked = 0
    for _ in range(40):
        window, clock = random_window(r, now)
        for code in regions(tree, r):
            scope = RegionScope(code, Level(tree.get(code).level))
            for by_child in (False, True):
                want = case_queries.kpi_counts_by(eng, scope, window, clock, by_child=by_child)
                got = aggregates.kpi_counts_by(eng, scope, window, clock, TZ, stored,
                                               by_child=by_child)
                assert_equal(got, want, (code, window, clock, by_child))
                checked += 1
    assert checked == 40 * 6 * 2
    # The check had something to compare: stored days were used and held cases.
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(agg_day.c.intake))).scalar() > 1000
        assert conn.execute(sa.select(sa.func.count()).select_from(agg_due)).scalar() > 0


def test_a_settled_period_is_the_same_without_its_open_cases(seeded):
    """/kpi's 上期 and 去年同期 (settled=True): every figure as the full count's, the
    open-now ones 0, on both paths, and the open side not read (the statement that
    counts the cards open now; a running window's due cases, split in two statements,
    stay one for a settled one)."""
    eng, tree, stored, now, dep = seeded
    r = random.Random(7)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_):
        statements.append(statement)
    sa.event.listen(eng, "before_cursor_execute", count)
    try:
        opened = 0
        for _ in range(10):
            window, clock = random_window(r, now)
            for code in regions(tree, r):
                scope = RegionScope(code, Level(tree.get(code).level))
                for counts in (case_queries.kpi_counts_by, lambda *a, **k: aggregates.kpi_counts_by(
                        *a[:4], TZ, stored, **k)):
                    statements.clear()
                    full = counts(eng, scope, window, clock, by_child=True)
                    opened, asked = opened + sum(k.open for k in full.values()), len(statements)
                    statements.clear()
                    got = counts(eng, scope, window, clock, by_child=True, settled=True)
                    assert len(statements) < asked, code
                    assert not any("supervision_level" in s for s in statements), code
                    # A child with nothing but open cases has no row without them: its
                    # counts are all 0, as the pages read a missing child.
                    keys = got.keys() | full.keys()
                    assert_equal({k: got.get(k, KpiCounts()) for k in keys},
                                 {k: without_open(full.get(k, KpiCounts())) for k in keys},
                                 (code, window, clock))
        assert opened > 0   # there were open figures to leave out
    finally:
        sa.event.remove(eng, "before_cursor_execute", count)


def test_a_window_ending_inside_an_hour_counts_the_rest_of_that_hour(seeded):
    """The previous period's same elapsed part ends at a minute: cases closed late in the
    rest of that hour are due in it and stored in the hour's bucket."""
    eng, tree, stored, now, dep = seeded
    horizon = stored[1]
    scope = RegionScope("320000", Level.PROVINCE)
    with eng.connect() as conn:
        # A late closure on a stored deadline day, and a window ending in its hour.
        row = conn.execute(sa.select(agg_due.c.closed_hour, agg_due.c.deadline_day)
                           .where(agg_due.c.closed_hour != aggregates.OPEN,
                                  agg_due.c.deadline_day < horizon.isoformat())
                           .order_by(agg_due.c.closed_hour)).first()
    assert row is not None
    hour = datetime.strptime(row.closed_hour, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
    first_day = datetime.fromisoformat(row.deadline_day).date()
    for minute in (0, 1, 30, 59):
        window = Window(day_window(first_day, TZ).start, hour + timedelta(minutes=minute))
        want = case_queries.kpi_counts_by(eng, scope, window, now)
        got = aggregates.kpi_counts_by(eng, scope, window, now, TZ, stored)
        assert_equal(got, want, minute)


def test_the_stored_hours_give_the_case_tables_figures(seeded):
    """Today up to now and the recent days' parts (上期 of today: yesterday up to the same
    minute) read their whole hours from agg_hour: every figure, the hourly trend and the
    daily one equal the case table's, for windows ending at any minute of those days."""
    eng, tree, stored, now, dep = seeded
    first, horizon = stored.hours
    with eng.connect() as conn:
        for t in (agg_hour, agg_hour_county):
            assert conn.execute(sa.select(sa.func.sum(t.c.intake))).scalar() > 100
            assert conn.execute(sa.select(sa.func.sum(t.c.closed))).scalar() > 100
            # Nothing before the kept hours (the history may start after their first).
            assert conn.execute(sa.select(sa.func.min(t.c.hour))).scalar() >= \
                aggregates.hour_key(first)
    r = random.Random(12)
    today = local_today(now, TZ)
    used = 0
    kept = aggregates.HOURS_KEPT_DAYS
    # Today, the last days, a week back (上期 of this week) and the first kept days (上期
    # of this month), and the day before them (counted from the case table).
    backs = sorted({0, 1, 2, 7, kept - 1, kept, kept + 1})
    for back in backs:
        day = today - timedelta(days=back)
        end = min(now, day_window(day, TZ).end) - timedelta(minutes=r.randint(0, 600),
                                                            seconds=r.randint(0, 59))
        start = day_window(day, TZ).start
        if r.random() < 0.3:
            start += timedelta(minutes=r.randint(0, 120))
        window = Window(start, max(end, start + timedelta(minutes=1)))
        clock = window.end if back else now
        used += aggregates._hour_split(window.start, window.end,
                                       (stored.hours,))[0] is not None
        for code in regions(tree, r):
            scope = RegionScope(code, Level(tree.get(code).level))
            for by_child in (False, True):
                for settled in (False, True):
                    assert_equal(aggregates.kpi_counts_by(eng, scope, window, clock, TZ, stored,
                                                          by_child=by_child, settled=settled),
                                 case_queries.kpi_counts_by(eng, scope, window, clock,
                                                            by_child=by_child, settled=settled),
                                 (code, window, by_child, settled))
            day_long = day_window(day, TZ)
            for column in ("reported_at", "closed_at"):
                assert aggregates.hourly(eng, scope, day_long, column, stored) == \
                    case_queries.hourly(eng, scope, day_long, column), (code, day, column)
                week = Window(day_window(day - timedelta(days=3), TZ).start, window.end)
                assert aggregates.daily(eng, scope, week, TZ, column, stored) == \
                    counted_per_day(eng, scope, week, TZ, column), (code, day, column)
    # The hours were read, not only counted: on every kept day but today, whose window
    # holds no whole hour in the early morning.
    assert used >= len(backs) - 2


def test_last_years_same_part_of_today_reads_the_hours_a_year_back(seeded):
    """去年同期 of a running period ends a year ago at this minute: its part of that day
    comes from the hours kept a year back (aggregates.year_ago_hours), not from the case
    table, and the recent windows still from the recent hours. (The seeded month has no
    cases a year back: the figures are checked against the case table's all the same.)"""
    eng, tree, stored, now, dep = seeded
    ranges = aggregates._hour_ranges(stored)
    assert ranges == (stored.hours, stored.year_ago)
    today = day_window(local_today(now, TZ), TZ).start
    for window in (Window(today, now), periods.this_month(now, TZ),
                   Window(today - timedelta(days=1), now - timedelta(days=1))):
        last_year = url_state.last_year_window(window, now)
        ago, _ = aggregates._hour_split(last_year.start, last_year.end, ranges)
        recent, _ = aggregates._hour_split(window.start, window.end, ranges)
        if last_year.end - day_window(last_year.end.astimezone(ZONE).date(), TZ).start \
                >= timedelta(hours=2):
            assert ago is not None and stored.year_ago[0] <= ago[0] < ago[1] <= \
                stored.year_ago[1], (window, last_year)
        assert recent is None or stored.hours[0] <= recent[0] < recent[1] <= stored.hours[1]
        for code in ("320000", tree.children("320000")[0].code):
            scope = RegionScope(code, Level(tree.get(code).level))
            assert_equal(aggregates.kpi_counts_by(eng, scope, last_year, last_year.end, TZ,
                                                  stored, by_child=True, settled=True),
                         case_queries.kpi_counts_by(eng, scope, last_year, last_year.end,
                                                    by_child=True, settled=True),
                         (code, last_year))


def test_rebuilding_a_day_twice_changes_nothing(seeded):
    eng, tree, stored, now, dep = seeded
    horizon = stored[1]
    day = horizon - timedelta(days=3)

    def rows():
        with eng.connect() as conn:
            return (sorted(map(tuple, conn.execute(sa.select(agg_day).where(
                        agg_day.c.day == day.isoformat())))),
                    sorted(map(tuple, conn.execute(sa.select(agg_due).where(
                        agg_due.c.deadline_day == day.isoformat())))))
    before = rows()
    assert before[0]
    aggregates.rebuild(eng, TZ, day, day + timedelta(days=1))
    assert rows() == before


def test_the_rebuild_command_stores_every_finished_day_and_says_so(seeded):
    """`gridwatch aggregates rebuild` (last: it widens the stored days to all of them)."""
    eng, tree, stored, now, dep = seeded
    started = datetime.now(timezone.utc)
    out = dep.cli("aggregates", "rebuild")
    if eng.dialect.name == "postgresql":
        # The planner's statistics of what the rebuild wrote are fresh (aggregates.analyze).
        # The command's server process reports them as it ends, which may come a moment
        # after the command has returned.
        deadline = time.monotonic() + 10
        while True:
            with eng.connect() as conn:
                analyzed = dict(conn.execute(sa.text(
                    "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname IN "
                    "('agg_day', 'agg_day_county', 'agg_mix', 'agg_due', 'agg_hour', "
                    "'agg_hour_county')")).all())
            fresh = len(analyzed) == 6 and all(at and at >= started for at in analyzed.values())
            if fresh or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert fresh, analyzed
    first_case = aggregates.first_case_day(eng, TZ)
    today = local_today(datetime.now(timezone.utc), TZ)
    assert aggregates.stored_range(eng, TZ) == (first_case, today)
    assert f"stored days: {first_case} to {today - timedelta(days=1)}" in out
    assert aggregates.stored_range(eng, "Europe/Berlin") is None   # other days: not these
    scope = RegionScope("320000", Level.PROVINCE)
    window = Window(day_window(first_case, TZ).start, day_window(today, TZ).start)
    assert_equal(aggregates.kpi_counts_by(eng, scope, window, now, TZ, (first_case, today),
                                          by_child=True),
                 case_queries.kpi_counts_by(eng, scope, window, now, by_child=True), "all")
    with pytest.raises(RuntimeError, match="after today"):
        dep.cli("aggregates", "rebuild", "--since",
                       (today + timedelta(days=2)).isoformat())


def test_counts_per_day_equal_the_case_tables(seeded):
    """The trend's intake and closures per local day: stored days and counted days agree,
    and agree with the hours of the day summed."""
    eng, tree, stored, now, dep = seeded
    r = random.Random(11)
    for _ in range(12):
        window, _clock = random_window(r, now)
        window = Window(day_window(window.start.astimezone(ZONE).date(), TZ).start, window.end)
        code = r.choice(regions(tree, r))
        scope = RegionScope(code, Level(tree.get(code).level))
        for column in ("reported_at", "closed_at"):
            got = aggregates.daily(eng, scope, window, TZ, column, stored)
            assert got == aggregates.daily(eng, scope, window, TZ, column, None)
            hours = case_queries.hourly(eng, scope, window, column)
            whole = len(hours) // 24
            assert got[:whole] == [sum(hours[d * 24:(d + 1) * 24]) for d in range(whole)]
            assert got == counted_per_day(eng, scope, window, TZ, column)
            # Days counted before and after the stored ones: two runs of counted days.
            fewer = (stored[0] + timedelta(days=5), stored[1] - timedelta(days=5))
            assert aggregates.daily(eng, scope, window, TZ, column, fewer) == got
    # Another zone's days (nothing stored for it: every day counted from the case table).
    scope = RegionScope("320000", Level.PROVINCE)
    window = Window(day_window(local_today(now, TZ) - timedelta(days=20), "Europe/Berlin").start,
                    now)
    for column in ("reported_at", "closed_at"):
        got = aggregates.daily(eng, scope, window, "Europe/Berlin", column, None)
        assert got == counted_per_day(eng, scope, window, "Europe/Berlin", column)
        assert sum(got) > 0


def counted_per_day(eng, scope: RegionScope, window: Window, tz: str, column: str) -> list[int]:
    """The definition: each local day of the window counted on its own."""
    out = []
    with eng.connect() as conn:
        for day in aggregates.local_days(window, tz):
            dw = day_window(day, tz)
            lo, hi = max(dw.start, window.start), min(dw.end, window.end)
            out.append(conn.execute(sa.select(sa.func.count()).where(
                case_queries.scoped(scope), case.c[column] >= lo, case.c[column] < hi)
            ).scalar())
    return out


def assert_mix_rolled_up(engine) -> None:
    """agg_mix_city (the province's breakdowns) holds agg_mix's rows summed per city."""
    group = [agg_mix.c.day, agg_mix.c.city_code, agg_mix.c.dimension, agg_mix.c.value,
             agg_mix.c.province_code]
    with engine.connect() as conn:
        want = sorted(map(tuple, conn.execute(
            sa.select(*group, sa.func.sum(agg_mix.c.cases)).group_by(*group))))
        got = sorted(map(tuple, conn.execute(sa.select(
            *[agg_mix_city.c[col.name] for col in group], agg_mix_city.c.cases))))
    assert want and got == want


def test_breakdowns_equal_the_case_tables(seeded):
    """/region's intake by category, source and settling level; the wall's closures by
    settling level."""
    eng, tree, stored, now, dep = seeded
    r = random.Random(5)
    dims = aggregates.MIX_DIMENSIONS
    for _ in range(15):
        window, _clock = random_window(r, now)
        for code in regions(tree, r)[:5]:
            scope = RegionScope(code, Level(tree.get(code).level))
            assert aggregates.breakdowns(eng, scope, window, dims, TZ, stored) == \
                case_list.breakdowns(eng, scope, window, dims), (code, window)
            assert aggregates.closed_by_level(eng, scope, window, TZ, stored) == \
                case_queries.closed_breakdown(eng, scope, window, "resolution_level"), code
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(agg_mix)).scalar() > 100
    assert_mix_rolled_up(eng)


def test_a_redispatch_the_follower_has_not_seen_keeps_the_sign_rate_whole(seeded):
    """A case reported on a stored day is dispatched again upstream, and the aggregates
    follower has not recomputed that day yet (it lags under load). "Still waiting to be
    signed" is read now, as waiting_not_late is: the figures stay equal to the case
    table's, and 及时签收率 never exceeds 100% (it raised "numerator exceeds denominator"
    in bench.province_scale)."""
    from dashboard.domain.kpis import compute_kpis
    from data_sources.schema import case

    eng, tree, stored, now, _dep = seeded
    first, horizon = stored
    lo, hi = day_window(first, TZ).start, day_window(horizon, TZ).start
    with eng.begin() as conn:
        row = conn.execute(
            sa.select(case.c.id, case.c.state, case.c.sign_deadline, case.c.county_code)
            .where(case.c.reported_at >= lo, case.c.reported_at < hi,
                   case.c.state.in_(["ACCEPTED", "IN_PROGRESS", "HANDLED"]))
            .order_by(case.c.id).limit(1)).first()
    assert row is not None
    try:
        with eng.begin() as conn:   # what the upstream system writes; no follower runs
            conn.execute(sa.update(case).where(case.c.id == row.id).values(
                state="DISPATCHED", sign_deadline=now + timedelta(hours=2)))
        window = Window(lo, hi)
        for code in ("320000", row.county_code):
            scope = RegionScope(code, Level(tree.get(code).level))
            want = case_queries.kpi_counts_by(eng, scope, window, now)
            got = aggregates.kpi_counts_by(eng, scope, window, now, TZ, stored)
            assert_equal(got, want, code)
            sign = compute_kpis(got[None]).timely_sign   # raised before
            assert sign.numerator <= sign.denominator
    finally:
        with eng.begin() as conn:
            conn.execute(sa.update(case).where(case.c.id == row.id).values(
                state=row.state, sign_deadline=row.sign_deadline))


def test_a_running_windows_due_cases_read_as_open_plus_closed_since(seeded):
    """due_unclosed_side for a running window (open now + closed since its end) gives the
    one statement's figures, by township, over every deadline of the history and ends
    from 20 days back to now: the open cases of (nearly) every open state are in it."""
    eng, tree, stored, now, dep = seeded
    with eng.connect() as conn:
        states = set(conn.execute(sa.select(case.c.state).distinct().where(
            case.c.state.in_(case_queries.OPEN_STATES_SQL))).scalars())
        # All but the states that last minutes: REGISTERED always, and ACCEPTED at night
        # (the seed runs at the real clock; at 23:20 Asia/Shanghai no case was in it).
        assert len(states) >= 4, states
        start = now - timedelta(days=DAYS + 5)
        for days_back in (0, 1, 7, 20):
            open_at = now - timedelta(days=days_back)
            group = [case.c.township_code]
            one = sorted(case_queries.due_unclosed_side(conn, sa.true(), group, start,
                                                        open_at, open_at))
            split = sorted(case_queries.due_unclosed_side(conn, sa.true(), group, start,
                                                          open_at, open_at, running=True))
            merged: dict = {}
            for township, n in split:
                merged[township] = merged.get(township, 0) + n
            assert sorted(merged.items()) == [tuple(r) for r in one] and one, days_back
