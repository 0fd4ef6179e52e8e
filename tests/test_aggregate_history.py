"""Aggregate-only history (simulator/summary_history.py, data_sources/aggregate_summary.py):
`gridwatch seed --summary-months 13` fills the months before the cases as daily aggregates
only; /kpi's 上期 and 去年同期 read them, the case list says that no cases are kept there,
and no rebuild or follower step wipes them. SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dashboard.app.settings import Settings
from dashboard.domain.hierarchy import Level
from dashboard.domain.periods import Window, local_today
from dashboard.domain.scope import RegionScope
from dashboard.views import kpi as kpi_view
from dashboard.views import region as region_view
from dashboard.views import url_state
from data_sources import aggregate_summary, aggregates
from data_sources.aggregates_follower import Follower
from data_sources.case_store import SqlCaseStore
from data_sources.database import CaseDatabase, make_engine
from data_sources.redis_stream import EventStream, StreamReader
from data_sources.regions import RegionTree
from data_sources.schema import case
from layouts import kpi as kpi_layout
from layouts import region as region_layout
from simulator import summary_history
from simulator.world import World
from tests.components import walk
from tests.conftest import module_database
from tests.live import Deployment, make_env

REGION = "320500"   # 苏州市: small enough to seed 13 months in a test
TZ = "Asia/Shanghai"
MONTHS, SCALE, SEED = 13, 0.01, 42


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)])
def seeded(request, tmp_path_factory):
    """Three days of cases and 13 months before them as aggregates only."""
    def build(url):
        data_dir = tmp_path_factory.mktemp("hist")
        dep = Deployment(env=make_env(data_dir, url, "redis://127.0.0.1:1/0",
                                      f"gwtest:{uuid.uuid4().hex[:8]}:",
                                      GRIDWATCH_REGION=REGION), data_dir=data_dir)
        dep.cli("db", "init")
        out = dep.cli("seed", "--days", "3", "--scale", str(SCALE), "--no-stream",
                      "--summary-months", str(MONTHS))
        assert "aggregates only" in out
        eng = make_engine(url)
        # The app's follower would keep this fresh; the reads use the stored days only
        # while it does.
        aggregates.record_info(eng, followed_at=datetime.now(timezone.utc).isoformat())
        return eng, RegionTree.load(eng, REGION), data_dir

    with module_database(request, tmp_path_factory) as url:
        built = build(url)
        yield built
        built[0].dispose()


def _settings(eng) -> Settings:
    return Settings(region=REGION, database_url=str(eng.url))


def _only_days(eng) -> tuple[date, date]:
    info = aggregate_summary.summary_info(eng)
    return date.fromisoformat(info["first"]), date.fromisoformat(info["until"])


def _snapshot(eng, before: date):
    """The stored rows of the days before `before` (hours' sums rounded: PostgreSQL may
    add floats in another order)."""
    out = []
    with eng.connect() as conn:
        for table, column in aggregate_summary.DAY_TABLES:
            rows = conn.execute(sa.select(table).where(table.c[column] < before.isoformat()))
            out.append(sorted(tuple(round(v, 6) if isinstance(v, float) else v
                                    for v in r) for r in rows))
    return out


def test_thirteen_months_are_stored_without_cases(seeded):
    eng, _tree, _ = seeded
    first, until = _only_days(eng)
    today = local_today(datetime.now(timezone.utc), TZ)
    assert first == summary_history.month_start(today, MONTHS)
    assert aggregates.first_case_day(eng, TZ) == until
    with eng.connect() as conn:
        days = conn.execute(sa.select(sa.func.count(sa.distinct(aggregates.agg_day.c.day)))
                            .where(aggregates.agg_day.c.day < until.isoformat())).scalar()
        early = conn.execute(sa.select(sa.func.count()).select_from(case)
                             .where(case.c.reported_at < datetime.combine(
                                 until, datetime.min.time(), ZoneInfo(TZ)))).scalar()
    assert days == (until - first).days and early == 0
    stored = aggregates.usable_range(eng, TZ, datetime.now(timezone.utc))
    assert stored is not None and stored[0] == first


def test_kpi_shows_the_previous_period_and_last_year(seeded):
    eng, tree, _ = seeded
    store = SqlCaseStore(eng, TZ)
    now = datetime.now(timezone.utc)
    for period in ("this_month", "last_month"):
        state = url_state.parse({"period": period, "region": REGION})
        model = kpi_view.build(store, tree, _settings(eng), state, now)
        rows = {r["key"]: r for r in model.kpis}
        for key in ("intake", "closure", "on_time", "satisfaction"):
            assert rows[key]["previous"] != "—", (period, key, rows[key])
            assert rows[key]["last_year"] != "—", (period, key, rows[key])
    # Last month a year ago, whole days: exactly what its stored days hold.
    state = url_state.parse({"period": "last_month", "region": REGION})
    ly = url_state.last_year_window(url_state.window(state, now, TZ), now)
    z = ZoneInfo(TZ)
    t = aggregates.agg_day_county
    with eng.connect() as conn:
        stored = conn.execute(sa.select(sa.func.sum(t.c.intake)).where(
            t.c.day >= ly.start.astimezone(z).date().isoformat(),
            t.c.day < ly.end.astimezone(z).date().isoformat())).scalar()
    shown = store.kpi_counts(RegionScope(REGION, Level.CITY), ly, ly.end).intake
    assert shown == stored > 0


def test_a_part_of_an_aggregate_only_day_is_its_share_of_the_day(seeded):
    """上期 of "this month so far" ends at the current minute a month ago: the last day's
    part is estimated from the stored day (there are no cases to count it from)."""
    eng, _tree, _ = seeded
    _, until = _only_days(eng)
    day = until - timedelta(days=10)
    start = datetime.combine(day, datetime.min.time(), ZoneInfo(TZ))
    t = aggregates.agg_day_county
    with eng.connect() as conn:
        stored = dict(conn.execute(sa.select(t.c.day, sa.func.sum(t.c.intake))
                                   .where(t.c.day.in_([day.isoformat(),
                                                       (day + timedelta(days=1)).isoformat()]))
                                   .group_by(t.c.day)).all())
    w = Window(start, start + timedelta(hours=36))
    shown = SqlCaseStore(eng, TZ).kpi_counts(RegionScope(REGION, Level.CITY), w, w.end).intake
    whole, half = stored[day.isoformat()], stored[(day + timedelta(days=1)).isoformat()]
    assert shown == whole + half // 2 and half > 0


def test_a_township_over_aggregate_only_days_shows_no_figures_rather_than_zeros(seeded):
    eng, tree, _ = seeded
    code = tree.children(tree.children(REGION)[0].code)[0].code
    assert tree.get(code).level == Level.TOWNSHIP
    state = url_state.parse({"period": "last_month", "region": code})
    model = kpi_view.build(SqlCaseStore(eng, TZ), tree, _settings(eng), state,
                           datetime.now(timezone.utc))
    assert {r["last_year"] for r in model.kpis} == {"—"}


def test_the_case_list_says_when_only_summaries_exist(seeded):
    eng, tree, _ = seeded
    _, until = _only_days(eng)
    store, now = SqlCaseStore(eng, TZ), datetime.now(timezone.utc)

    def notice(**query):
        state = url_state.parse({**query})
        return region_view.build(store, tree, _settings(eng), REGION, state, now).cases.notice

    shown = notice(period="last_month")
    assert "仅有汇总数据" in shown and until.isoformat() in shown
    assert "only daily summaries" in notice(period="last_month", lang="en")
    assert notice(period="today") == ""
    assert notice(period="last_month", basis="open") == ""   # open now: no window


def test_rebuilds_and_the_follower_never_wipe_aggregate_only_days(
        seeded, redis_client, key_prefix):
    eng, tree, _ = seeded
    first, until = _only_days(eng)
    before = _snapshot(eng, until)
    today = local_today(datetime.now(timezone.utc), TZ)
    township = tree.children(tree.children(REGION)[0].code)[0]
    aggregates.rebuild_all(eng, TZ, today, since=first)
    aggregates.rebuild(eng, TZ, first, today)
    aggregates.rebuild_townships(eng, TZ, [(first, township.code, township.parent)])
    # A follower that believes its days start a year back and that the day turned.
    info = aggregates.stored_info(eng)
    aggregates.record_info(eng, first=first.isoformat(),
                           horizon=(until - timedelta(days=1)).isoformat(), stream_pos=None)
    reader = StreamReader(EventStream(redis_client, key_prefix + "events"))
    now = datetime.now(timezone.utc)
    Follower(eng, reader, TZ).step(now)
    assert _snapshot(eng, until) == before
    assert aggregates.usable_range(eng, TZ, now)[0] == first
    aggregates.record_info(eng, **{k: info.get(k) for k in ("first", "horizon", "stream_pos")},
                           followed_at=datetime.now(timezone.utc).isoformat())


def test_a_month_rebuilt_from_the_same_seed_is_the_same(seeded):
    eng, tree, data_dir = seeded
    first, _ = _only_days(eng)
    today = local_today(datetime.now(timezone.utc), TZ)
    _, end = summary_history.plan_chunks(aggregates.first_case_day(eng, TZ), today, MONTHS)[-1]
    before = _snapshot(eng, end)
    db = CaseDatabase(str(eng.url.render_as_string(hide_password=False)))
    try:
        world = World.from_tree(tree, REGION, seed=SEED)
        summary_history._fill_chunk(db, world, first, end, scale=SCALE, seed=SEED, tz=TZ,
                                    scratch=data_dir / "again", on_day=lambda _d: None)
    finally:
        db.close()
    assert _snapshot(eng, end) == before


def test_months_are_planned_newest_first_back_to_the_month_asked():
    chunks = summary_history.plan_chunks(date(2026, 11, 13), date(2026, 12, 3), 13)
    assert chunks[0] == (date(2026, 10, 13), date(2026, 11, 13))
    assert chunks[-1][0] == date(2025, 11, 1)
    assert all(a[0] == b[1] for a, b in zip(chunks, chunks[1:]))
    assert all((e - s).days <= summary_history.CHUNK_DAYS for s, e in chunks)
    assert summary_history.plan_chunks(date(2026, 11, 1), date(2026, 12, 3), 1) == []


# -- filling last year first (issue 12, goal 5) ------------------------------------------
def test_this_months_last_year_is_filled_first_then_the_rest_newest_first():
    """A demo on 6 December with cases from 15 November: 去年同期 of 本月 (1–6 December
    2025) is in the first chunk filled, not the last; 上期 of 本月 (1–6 November) next,
    then what 上月's 去年同期 still lacks, then the rest newest first."""
    until, today = date(2026, 11, 15), date(2026, 12, 6)
    chunks = summary_history.plan_chunks(until, today, MONTHS)
    order = summary_history.fill_order(chunks, today)
    assert sorted(order) == sorted(chunks) and len(set(order)) == len(order)
    assert order[0][0] <= date(2025, 12, 1) and date(2025, 12, 7) <= order[0][1]
    assert order[1] == chunks[0]                       # 上期: 1–6 November
    first3 = aggregate_summary.merge_ranges(order[:3])
    assert any(s <= date(2025, 11, 1) and date(2025, 12, 1) <= e for s, e in first3)
    assert order[3:] == [ch for ch in chunks if ch not in order[:3]]
    # Late in the month the cases begin inside it: this month's own days come first.
    until, today = date(2026, 12, 8), date(2026, 12, 28)
    chunks = summary_history.plan_chunks(until, today, MONTHS)
    order = summary_history.fill_order(chunks, today)
    assert order[0] == chunks[0] and order[1][0] <= date(2025, 12, 1) < order[1][1]


def test_a_window_touching_a_day_not_filled_yet_has_no_stored_span():
    d = date
    info = {"tz": TZ, "until": "2026-11-15", "target": "2025-11-01",
            "filled": [["2025-11-08", "2025-12-09"], ["2026-10-15", "2026-11-15"]]}
    assert aggregate_summary.pending_ranges(info) == (
        (d(2025, 11, 1), d(2025, 11, 8)), (d(2025, 12, 9), d(2026, 10, 15)))
    # A record written before `filled`: [first, until), contiguous.
    assert aggregate_summary.filled_ranges({"until": "2026-11-15", "first": "2026-09-14"}) == (
        (d(2026, 9, 14), d(2026, 11, 15)),)
    stored = aggregate_summary.StoredDays(
        d(2026, 10, 15), d(2026, 12, 6), islands=((d(2025, 11, 8), d(2025, 12, 9)),),
        pending=aggregate_summary.pending_ranges(info))
    assert stored == (d(2026, 10, 15), d(2026, 12, 6))   # what readers have always read

    def window(a, b):
        return Window(datetime.combine(a, datetime.min.time(), ZoneInfo(TZ)),
                      datetime.combine(b, datetime.min.time(), ZoneInfo(TZ)))
    assert aggregates.span_for(window(d(2025, 12, 1), d(2025, 12, 6)), TZ, stored) == (
        d(2025, 11, 8), d(2025, 12, 9))                  # last year's: the island
    assert aggregates.span_for(window(d(2026, 11, 1), d(2026, 12, 1)), TZ, stored) == stored
    assert aggregates.span_for(window(d(2025, 12, 1), d(2026, 1, 1)), TZ, stored) is None
    assert aggregates.span_for(window(d(2025, 11, 1), d(2025, 12, 1)), TZ, stored) is None
    assert aggregates.span_for(window(d(2026, 10, 1), d(2026, 11, 1)), TZ, stored) is None


class _Stop(Exception):
    pass


def test_an_interrupted_fill_shows_this_months_last_year_and_resumes(tmp_path):
    """The first chunks filled give 本月 its 去年同期 (the value the whole fill gives); a
    window reaching days not filled yet shows "—", not the filled part; a second run
    fills the other chunks only, and the end is the whole range."""
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    dep = Deployment(env=make_env(tmp_path, url, "redis://127.0.0.1:1/0",
                                  f"gwtest:{uuid.uuid4().hex[:8]}:", GRIDWATCH_REGION=REGION),
                     data_dir=tmp_path)
    dep.cli("db", "init")
    dep.cli("seed", "--days", "3", "--scale", str(SCALE), "--no-stream")
    eng = make_engine(url)
    db = CaseDatabase(url)
    try:
        aggregates.record_info(eng, followed_at=datetime.now(timezone.utc).isoformat())
        tree = RegionTree.load(eng, REGION)
        now = datetime.now(timezone.utc)
        today = local_today(now, TZ)
        until = aggregates.first_case_day(eng, TZ)
        chunks = summary_history.plan_chunks(until, today, MONTHS)
        order = summary_history.fill_order(chunks, today)
        this_month, ly = summary_history.wanted_first(today)[:2]
        k = len({ch for ch in chunks for lo, hi in (this_month, ly)
                 if ch[0] < hi and lo < ch[1]})
        done = []

        def stop_after(n):
            def on_chunk(start, end):
                done.append((start, end))
                if len(done) >= n:
                    raise _Stop
            return on_chunk

        def fill(on_chunk):
            summary_history.fill(db, lambda: World.from_tree(tree, REGION, seed=SEED),
                                 months=MONTHS, scale=SCALE, seed=SEED, tz=TZ, now=now,
                                 scratch_dir=tmp_path, progress=False, on_chunk=on_chunk)

        with pytest.raises(_Stop):
            fill(stop_after(k))
        assert done == order[:k]
        info = aggregate_summary.summary_info(eng)
        assert aggregate_summary.filled_ranges(info) == aggregate_summary.merge_ranges(done)
        assert info["done_days"] == sum((e - s).days for s, e in done) < info["total_days"]

        def view(**query):
            state = url_state.parse({"region": REGION, **query})
            return state, kpi_view.build(SqlCaseStore(eng, TZ, stored_seconds=0), tree,
                                         _settings(eng), state, now)

        def kpis(**query):
            return {r["key"]: r for r in view(**query)[1].kpis}
        early = kpis(period="this_month")
        for key in ("intake", "closure", "on_time", "satisfaction"):
            assert early[key]["last_year"] != "—", (key, early[key])
            assert early[key]["display"] != "—", (key, early[key])
        # 上期 (last month) is not filled yet: "—", and the page says why (it said nothing).
        state, model = view(period="this_month")
        prev_w = url_state.previous_window(url_state.window(state, now, TZ), state, now, TZ)
        assert not SqlCaseStore(eng, TZ, stored_seconds=0).complete(prev_w)
        assert early["intake"]["previous"] == "—" and model.complete
        assert "上期或去年同期" in model.compare_filling and "已完成" in model.compare_filling
        assert "kpi-compare-filling" in str(kpi_layout.layout(model, state).to_plotly_json())
        # A window from the last year's chunk into the days after it, not filled yet:
        # its days before the gap are stored, but the window has no figures.
        island = next((s, e) for s, e in aggregate_summary.filled_ranges(info) if e < until)
        a, b = island[1] - timedelta(days=3), island[1] + timedelta(days=3)
        gap = kpis(period="custom", **{"from": a.isoformat(), "to": b.isoformat()})
        assert gap["intake"]["display"] == "—" and gap["intake"]["last_year"] == "—"
        # The page says why, and keeps its ranking panel (no rows yet).
        state, model = view(period="custom", **{"from": a.isoformat(), "to": b.isoformat()})
        assert not model.complete and model.ranking == []
        page = str(kpi_layout.layout(model, state).to_plotly_json())
        assert "回填" in page and "ranking-grid" in page
        # Its score chart says so too, instead of an empty axis from -1 to 6.
        score = kpi_layout.score_chart(model, state)
        assert score["data"] == [] and [a["text"] for a in score["layout"]["annotations"]] \
            == ["历史数据补齐中"]
        # A window none of whose days is filled yet: its trend says so too, not an empty
        # axis; one with some filled days draws them (the /region check below).
        state, model = view(period="custom", **{
            "from": island[1].isoformat(), "to": (island[1] + timedelta(days=3)).isoformat()})
        assert model.trend["intake"] and all(v is None for v in model.trend["intake"])
        [trend] = [c.figure for c in walk(kpi_layout.layout(model, state))
                   if getattr(c, "id", None) == "kpi-trend"]
        assert trend["data"] == [] and [a["text"] for a in trend["layout"]["annotations"]] \
            == ["历史数据补齐中"]
        progress = f"（已完成 {info['done_days']}/{info['total_days']} 天）"
        assert progress in model.filling
        # /region over the same window: "—" for the window's figures, not 0 (seen in the
        # demo: 受理量 0 with no word of the fill), the open-now counts as usual, no
        # breakdowns, and the page says why and how far the fill has got.
        region_state = url_state.parse({"period": "custom", "from": a.isoformat(),
                                        "to": b.isoformat()})
        store = SqlCaseStore(eng, TZ, stored_seconds=0)
        region = region_view.build(store, tree, _settings(eng), REGION, region_state, now)
        summary = {s["key"]: s["display"] for s in region.summary}
        assert not region.complete and progress in region.filling
        assert summary["intake"] == summary["closure"] == summary["on_time"] == "—"
        assert int(summary["open"].replace(",", "")) > 0
        assert region.children and all(
            r["intake"] is None and r["intake_text"] == "—" and r["open_text"] != "—"
            for r in region.children)
        assert all(b["counts"] == {} for b in region.breakdowns.values())
        # The trend has the filled days' counts and a gap (None), not 0, for the others.
        by_day = dict(zip(region.trend["x"], region.trend["intake"]))
        assert all((n is None) == (day >= island[1].isoformat()) for day, n in by_day.items())
        assert sum(n for n in by_day.values() if n is not None) > 0
        page = str(region_layout.layout(region, region_state).to_plotly_json())
        assert "region-filling" in page and progress in page and "历史数据补齐中" in page
        w = url_state.window(url_state.parse({"from": a.isoformat(), "to": b.isoformat()}),
                             now, TZ)
        assert not store.complete(w)
        assert store.kpi_counts(RegionScope(REGION, Level.CITY), w, w.end).intake == 0
        t = aggregates.agg_day_county
        with eng.connect() as conn:
            assert conn.execute(sa.select(sa.func.sum(t.c.intake)).where(
                t.c.day >= a.isoformat(), t.c.day < island[1].isoformat())).scalar() > 0

        # Resumed: only the chunks not filled, in their order; then the whole range.
        done.clear()
        fill(stop_after(len(chunks) + 1))
        assert done == order[k:]
        info = aggregate_summary.summary_info(eng)
        assert aggregate_summary.filled_ranges(info) == ((chunks[-1][0], until),)
        assert info["first"] == chunks[-1][0].isoformat()
        assert info["done_days"] == info["total_days"]
        assert aggregates.usable_range(eng, TZ, now) == (chunks[-1][0], today)
        late = kpis(period="this_month")
        assert view(period="this_month")[1].compare_filling == ""
        assert {k: r["last_year"] for k, r in late.items()} == \
            {k: r["last_year"] for k, r in early.items()}
        assert late["intake"]["previous"] != "—"
        assert kpis(period="custom", **{"from": a.isoformat(),
                                        "to": b.isoformat()})["intake"]["display"] != "—"
    finally:
        db.close()
        eng.dispose()

