"""The case database on SQLite and PostgreSQL: schema, bulk writes, the dashboard queries.

The expected numbers are worked out by hand from a handful of cases whose every
timestamp is chosen, so a wrong SQL window or a time-zone slip shows as a wrong count.
"""
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import compute_kpis
from dashboard.domain.periods import Window, day_window
from dashboard.domain.projection import apply_event, new_case_row
from dashboard.domain.scope import RegionScope
from data_sources import case_queries as q
from data_sources.database import EVENT_COLUMNS, CaseDatabase, _iso, json_detail
from data_sources.schema import case, case_event

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 23, tzinfo=SH)
NOW = DAY + timedelta(hours=20)
PROVINCE = RegionScope("320000", Level.PROVINCE)


def codes(county: str, city: str) -> dict:
    return {"province_code": "320000", "city_code": city, "county_code": county,
            "township_code": county + "001", "community_code": county + "001001",
            "grid_code": county + "001001001"}


def make_case(case_id, county, city, reported_h, path, urgency="一般"):
    """path: list of (event, hours after midnight, fields)."""
    at = DAY + timedelta(hours=reported_h)
    row = new_case_row(case_id, f"N{case_id}", codes(county, city),
                       {"category": "城市管理", "subcategory": "占道经营", "source": "12345热线",
                        "urgency": urgency}, at)
    events = []
    for seq, (event, hours, fields) in enumerate([("REPORTED", reported_h, {})] + path, 1):
        when = DAY + timedelta(hours=hours)
        apply_event(row, event, when, fields)
        events.append({"case_id": case_id, "seq": seq, "event_type": event, "at": when,
                       "state": row["state"], "actor_level": None, "actor_org": None,
                       "detail": None})
    return row, events


def dl(hours):
    return {"deadline": DAY + timedelta(hours=hours), "sign_deadline": DAY + timedelta(hours=hours)}


CASES = [
    # 1: self-resolved the same morning (grid), rated 满意.
    (1, "320102", "320100", 8, [("SELF_RESOLVED", 8.5, {"resolution_level": "网格"}),
                                ("RATED", 9, {"rating": "满意"})]),
    # 2: full path, closed on time at community level, rated 基本满意.
    (2, "320102", "320100", 9, [("REGISTERED", 9.1, dl(15)),
                                ("DISPATCHED", 9.2, {"level": "村社", "org": "320102001001"}),
                                ("ACCEPTED", 9.5, {"late": False}), ("HANDLED", 12, {}),
                                ("CLOSED", 12.5, {"resolution_level": "村社"}),
                                ("RATED", 13, {"rating": "基本满意"})]),
    # 3: closed late (deadline 10:00, closed 14:00), rated 不满意; one return, one late sign.
    (3, "320211", "320200", 1, [("REGISTERED", 1.1, dl(10)),
                                ("DISPATCHED", 1.2, {"level": "镇街", "org": "320211001"}),
                                ("RETURNED", 2, {}),
                                ("DISPATCHED", 2.5, {"level": "镇街", "org": "320211001"}),
                                ("ACCEPTED", 11, {"late": True}), ("HANDLED", 13.5, {}),
                                ("CLOSED", 14, {"resolution_level": "镇街"}),
                                ("RATED", 15, {"rating": "不满意"})]),
    # 4: open and overdue (deadline 18:00, now 20:00), red card.
    (4, "320211", "320200", 10, [("REGISTERED", 10.1, dl(18)),
                                 ("DISPATCHED", 10.2, {"level": "网格", "org": "320211001001001"}),
                                 ("ACCEPTED", 10.5, {"late": False}),
                                 ("SUPERVISED", 19, {"supervision": "红牌"})]),
    # 5: open, deadline tomorrow: not due today.
    (5, "320102", "320100", 19, [("REGISTERED", 19.1, dl(40))]),
    # 6: rejected.
    (6, "320102", "320100", 7, [("REJECTED", 7.2, {})]),
    # 7: reported yesterday, closed today: closed today, not intake today.
    (7, "320102", "320100", -5, [("SELF_RESOLVED", 2, {"resolution_level": "网格"})]),
    # 8: closed yesterday, before its deadline today: settled early, not due today.
    (8, "320102", "320100", -20, [("REGISTERED", -19.9, dl(11)),
                                  ("DISPATCHED", -19.8, {"level": "网格", "org": "320102001001001"}),
                                  ("ACCEPTED", -19.5, {"late": False}), ("HANDLED", -12, {}),
                                  ("CLOSED", -11, {"resolution_level": "网格"})]),
]


def case_rows(specs=CASES) -> tuple[list[dict], list[dict]]:
    """The case rows and event rows of `specs` (make_case's arguments)."""
    rows, events = [], []
    for spec in specs:
        row, ev = make_case(*spec)
        rows.append(row)
        events.extend(ev)
    return rows, events


@pytest.fixture
def db(database_url):
    database = CaseDatabase(database_url)
    database.init_schema()
    database.init_schema()  # idempotent
    database.bulk_insert(*case_rows())
    yield database
    database.close()


def test_schema_has_the_contract_tables_and_indexes(db):
    inspector = sa.inspect(db.engine)
    assert {"region", "gw_case", "case_event"} <= set(inspector.get_table_names())
    names = {ix["name"] for ix in inspector.get_indexes("gw_case")}
    assert {"ix_case_city_reported", "ix_case_county_open", "ix_case_grid_reported"} <= names


def test_postgres_sessions_use_ssd_page_costs(db):
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL planner setting")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("show random_page_cost").scalar() == "1.1"


def test_the_live_path_reads_cases_while_the_main_pool_is_all_taken(db):
    """The ticker's case reads have connections of their own (CaseDatabase.live_engine):
    with every connection of the main pool held (the leaders' queries), a batch's cases
    are still read at once, where the main pool makes the reader wait its pool_timeout."""
    if db.dialect != "postgresql":
        assert db.live_engine is db.engine      # SQLite: one engine, nothing to share out
        return
    import time

    from data_sources.database import LIVE_POOL
    assert db.live_engine is not db.engine and db.live_engine.pool.size() == LIVE_POOL
    with db.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.select(case.c.id).order_by(case.c.id).limit(3))]
    held = [db.engine.connect() for _ in range(db.engine.pool.size() +
                                               db.engine.pool._max_overflow)]
    try:
        t0 = time.perf_counter()
        found = q.case_summaries(db.live_engine, RegionScope("320000", Level.PROVINCE), ids)
        assert time.perf_counter() - t0 < 2.0 and sorted(found) == ids
        with pytest.raises(sa.exc.TimeoutError):
            db.engine.connect()                 # the main pool: nothing left
    finally:
        for conn in held:
            conn.close()


def test_timestamps_round_trip_as_aware_utc(db):
    with db.engine.connect() as conn:
        reported = conn.execute(sa.text("select 1")).scalar()  # connection works
        row = conn.execute(sa.select(sa.column("reported_at")).select_from(
            sa.table("gw_case")).where(sa.column("id") == 2)).scalar()
    from data_sources.schema import case
    with db.engine.connect() as conn:
        value = conn.execute(sa.select(case.c.reported_at).where(case.c.id == 2)).scalar()
    assert reported == 1 and row is not None
    assert value == DAY + timedelta(hours=9)
    assert value.utcoffset() == timedelta(0)


def test_province_kpis_today(db):
    counts = q.kpi_counts(db.engine, PROVINCE, day_window(DAY.date(), SH), NOW)
    assert counts.intake == 6                 # cases 1–6; case 7 was reported yesterday
    assert counts.closed == 4                 # 1, 2, 3, 7
    assert counts.due == 5                    # closed 4 + case 4 (deadline 18:00, open);
                                              # not case 8, settled yesterday before its deadline
    assert counts.closed_on_time == 3         # 1, 7 (no deadline), 2; not 3
    assert counts.open == 2                   # 4, 5
    assert counts.overdue_open == 1           # 4
    assert counts.red_cards == 1 and counts.yellow_cards == 0
    assert (counts.rated, counts.satisfied, counts.basically_satisfied) == (3, 1, 1)
    assert counts.dispatches == 4 and counts.returned == 1   # case 3 was dispatched twice
    assert counts.signed_in_time == 2         # 4 dispatches − 1 returned − 1 signed late
    assert counts.direct_resolved == 1        # case 1 (case 7 is not today's intake)
    k = compute_kpis(counts)
    assert k.closure.display() == "80.00%"
    assert k.on_time.display() == "60.00%"
    assert k.satisfaction.display() == "66.67%"
    assert k.mean_close_hours == pytest.approx((0.5 + 3.5 + 13 + 7) / 4)


def test_children_sum_to_the_parent_and_scope_filters(db):
    window = day_window(DAY.date(), SH)
    by_city = q.kpi_counts_by(db.engine, PROVINCE, window, NOW, by_child=True)
    assert set(by_city) == {"320100", "320200"}
    total = by_city["320100"] + by_city["320200"]
    assert total == q.kpi_counts(db.engine, PROVINCE, window, NOW)
    wuxi = q.kpi_counts(db.engine, RegionScope("320200", Level.CITY), window, NOW)
    assert (wuxi.intake, wuxi.closed, wuxi.open) == (2, 1, 1)
    county = q.kpi_counts(db.engine, RegionScope("320102", Level.COUNTY), window, NOW)
    assert county.intake == 4


def test_empty_region_and_window_is_zero_counts_and_no_data_rates(db):
    window = day_window(DAY.date() - timedelta(days=30), SH)
    counts = q.kpi_counts(db.engine, RegionScope("321300", Level.CITY), window, NOW)
    assert counts.intake == 0
    assert compute_kpis(counts).satisfaction.display() == "无数据"


def test_hourly_breakdown_and_open_positions(db):
    window = day_window(DAY.date(), SH)
    hours = q.hourly(db.engine, PROVINCE, window)
    assert len(hours) == 24 and sum(hours) == 6
    assert hours[1] == 1 and hours[8] == 1 and hours[19] == 1
    closed_hours = q.hourly(db.engine, PROVINCE, window, "closed_at")
    assert closed_hours[2] == 1 and closed_hours[14] == 1 and sum(closed_hours) == 4
    assert q.breakdown(db.engine, PROVINCE, window, "source") == {"12345热线": 6}
    positions = q.open_by_state_and_level(db.engine, PROVINCE)
    assert positions == {("IN_PROGRESS", "网格"): 1, ("REGISTERED", None): 1}
    overdue = q.overdue_cases(db.engine, PROVINCE, NOW)
    assert [c["id"] for c in overdue] == [4]


def test_bad_dimension_is_refused(db):
    with pytest.raises(ValueError):
        q.breakdown(db.engine, PROVINCE, day_window(DAY.date(), SH), "password")


def test_health_reports_counts_and_a_dead_database(db, tmp_path):
    assert db.health()["status"] == "up" and db.health()["cases"] == len(CASES)
    dead = CaseDatabase("postgresql+psycopg://nobody@127.0.0.1:1/none")
    report = dead.health()
    assert report["status"] == "down" and report["error"]


def test_a_deadline_later_in_a_running_window_is_not_due_yet(db):
    # At 17:00 case 4's 18:00 deadline has not come: due is just the four closures.
    early = DAY + timedelta(hours=17)
    counts = q.kpi_counts(db.engine, PROVINCE, day_window(DAY.date(), SH), early)
    assert counts.due == 4 and counts.overdue_open == 0


def test_a_case_closed_before_its_deadline_day_counts_once_on_its_closing_day(db):
    yesterday = q.kpi_counts(db.engine, PROVINCE, day_window(DAY.date() - timedelta(days=1), SH),
                             NOW)
    assert (yesterday.closed, yesterday.closed_on_time, yesterday.due) == (1, 1, 1)   # case 8
    two_days = Window(DAY - timedelta(days=1), DAY + timedelta(days=1))
    both = q.kpi_counts(db.engine, PROVINCE, two_days, NOW)
    assert both.due == 6 and both.closed == 5      # 1, 2, 3, 7, 8 closed; case 4 overdue


# -- DOMAIN.md §5 on constructed cases: 及时签收率, 超期在办, 未办结 ------------------------
def limits(sign_h, deadline_h):
    return {"sign_deadline": DAY + timedelta(hours=sign_h),
            "deadline": DAY + timedelta(hours=deadline_h)}


GRID_LEVEL = {"level": "网格", "org": "320102001001001"}
SIGN_CASES = [
    # 11: dispatched 09:06, still unsigned at 20:00 although its limit was 10:00: late.
    (11, "320102", "320100", 9, [("REGISTERED", 9.05, limits(10, 40)),
                                 ("DISPATCHED", 9.1, GRID_LEVEL)]),
    # 12: dispatched, unsigned, its limit (22:00) still ahead: neither on time nor late yet.
    (12, "320102", "320100", 9, [("REGISTERED", 9.05, limits(22, 40)),
                                 ("DISPATCHED", 9.1, GRID_LEVEL)]),
    # 13: signed within its limit.
    (13, "320102", "320100", 9, [("REGISTERED", 9.05, limits(10, 40)),
                                 ("DISPATCHED", 9.1, GRID_LEVEL),
                                 ("ACCEPTED", 9.5, {"late": False})]),
    # 14: returned, waiting for a new dispatch: 回退率's, not 及时签收率's.
    (14, "320102", "320100", 9, [("REGISTERED", 9.05, limits(10, 40)),
                                 ("DISPATCHED", 9.1, GRID_LEVEL), ("RETURNED", 9.3, {})]),
    # 15: past its deadline (12:00) but 挂起 since 11:00: not 超期在办.
    (15, "320211", "320200", 8, [("REGISTERED", 8.05, limits(9, 12)),
                                 ("DISPATCHED", 8.1, GRID_LEVEL),
                                 ("ACCEPTED", 8.5, {"late": False}), ("SUSPENDED", 11, {})]),
    # 16: past its deadline (12:00) and in progress: 超期在办.
    (16, "320211", "320200", 8, [("REGISTERED", 8.05, limits(9, 12)),
                                 ("DISPATCHED", 8.1, GRID_LEVEL),
                                 ("ACCEPTED", 8.5, {"late": False})]),
]


@pytest.fixture
def small_db(database_url):
    database = CaseDatabase(database_url)
    database.init_schema()
    database.bulk_insert(*case_rows(SIGN_CASES))
    yield database
    database.close()


def test_a_dispatch_unsigned_past_its_limit_is_late_and_a_returned_one_is_not_counted(small_db):
    counts = q.kpi_counts(small_db.engine, RegionScope("320100", Level.CITY),
                          day_window(DAY.date(), SH), NOW)
    assert counts.dispatches == 4 and counts.returned == 1
    # On time: 13. Late: 11 (unsigned past its limit). Not yet due: 12. Returned: 14.
    assert compute_kpis(counts).timely_sign.display() == "50.00%"      # 1 of 2
    assert compute_kpis(counts).returns.display() == "25.00%"          # 1 of 4


def test_a_suspended_case_past_its_deadline_is_not_overdue(small_db):
    wuxi = RegionScope("320200", Level.CITY)
    counts = q.kpi_counts(small_db.engine, wuxi, day_window(DAY.date(), SH), NOW)
    assert counts.open == 2 and counts.overdue_open == 1               # 16, not 15
    assert [c["id"] for c in q.overdue_cases(small_db.engine, wuxi, NOW)] == [16]


def test_rejected_cases_are_not_counted_as_not_closed(db):
    from data_sources import case_list
    window = day_window(DAY.date(), SH)
    # Today's intake: 1 网格, 2 村社, 3 镇街 closed; 4 and 5 open; 6 rejected (不予受理).
    by = case_list.breakdowns(db.engine, PROVINCE, window, ("resolution_level", "category"))
    assert by["resolution_level"] == {"网格": 1, "村社": 1, "镇街": 1, "": 2}
    assert by["category"] == {"城市管理": 6}                           # still today's intake
    assert q.breakdown(db.engine, PROVINCE, window, "resolution_level") == by["resolution_level"]


CARD_CASES = [
    # 21: dispatched yesterday, 黄牌 yesterday 22:00, 红牌 today 09:00, still unsigned.
    (21, "320102", "320100", -20, [("REGISTERED", -19.9, limits(-12, 30)),
                                   ("DISPATCHED", -19.8, GRID_LEVEL),
                                   ("SUPERVISED", -2, {"supervision": "黄牌"}),
                                   ("SUPERVISED", 9, {"supervision": "红牌"})]),
    # 22: 黄牌 today 10:00, then closed at 15:00: a card issued today on a case now closed.
    (22, "320102", "320100", 1, [("REGISTERED", 1.1, limits(2, 12)),
                                 ("DISPATCHED", 1.2, GRID_LEVEL),
                                 ("SUPERVISED", 10, {"supervision": "黄牌"}),
                                 ("ACCEPTED", 11, {"late": True}), ("HANDLED", 14, {}),
                                 ("CLOSED", 15, {"resolution_level": "网格"})]),
    # 23: 催办 only: not a card.
    (23, "320102", "320100", 1, [("REGISTERED", 1.1, limits(2, 30)),
                                 ("DISPATCHED", 1.2, GRID_LEVEL),
                                 ("SUPERVISED", 10, {"supervision": "催办"})]),
]


def test_cards_are_counted_in_the_window_they_were_issued(database_url):
    database = CaseDatabase(database_url)
    database.init_schema()
    database.bulk_insert(*case_rows(CARD_CASES))
    try:
        nanjing = RegionScope("320100", Level.CITY)
        today = q.kpi_counts(database.engine, nanjing, day_window(DAY.date(), SH), NOW)
        yesterday = q.kpi_counts(database.engine, nanjing,
                                 day_window(DAY.date() - timedelta(days=1), SH), NOW)
        assert (today.yellow_issued, today.red_issued) == (1, 1)          # 22's, 21's
        assert (yesterday.yellow_issued, yesterday.red_issued) == (1, 0)  # 21's
        assert (today.yellow_cards, today.red_cards) == (0, 1)            # open now: 21 at 红牌
    finally:
        database.close()


@pytest.mark.parametrize("fields", [
    {"case_no": "2026112300001", "category": "城市管理", "urgency": "一般"},
    {"deadline": DAY, "sign_deadline": datetime(2026, 11, 23, 1, 2, 3, 45, tzinfo=SH)},
    {"late": True, "org": None}, {"late": False},
    {"note": 'quote " backslash \\ newline \n \u2028 中'}, {'ke"y': "v"},
    {"count": 3}, {"share": 0.5}, {1: "not a str key"}, {"naive": datetime(2026, 1, 1)},
])
def test_json_detail_writes_what_json_dumps_writes(fields):
    # json_detail writes the simple fields itself (issue 12 goal 7): the same text.
    assert json_detail(fields) == json.dumps(fields, ensure_ascii=False, default=_iso)
    assert json_detail({}) is None


def test_a_row_without_its_counters_gets_their_defaults_on_either_database(database_url):
    # bulk_insert COPYs on PostgreSQL and executes many on SQLite: a case row without a
    # key whose column has a default (the counters) stores that default on both, as
    # `case.insert()` would, instead of a NULL that the NOT NULL column refuses on one.
    database = CaseDatabase(database_url)
    database.init_schema()
    try:
        row, events = make_case(90, "320102", "320100", 8, [
            ("SELF_RESOLVED", 8.5, {"resolution_level": "网格"})])
        short = {k: v for k, v in row.items()
                 if k not in ("reopen_count", "suspended", "supervision_level")}
        database.bulk_insert([short], [tuple(e[c] for c in EVENT_COLUMNS) for e in events])
        with database.engine.connect() as conn:
            stored = conn.execute(sa.select(case).where(case.c.id == 90)).mappings().one()
            seqs = conn.execute(sa.select(case_event.c.seq)
                                .where(case_event.c.case_id == 90)).scalars().all()
        assert (stored["reopen_count"], stored["suspended"], stored["supervision_level"]) == \
            (0, 0, 0)
        assert stored["reported_at"] == row["reported_at"] and len(seqs) == len(events)
    finally:
        database.close()


def test_a_time_on_the_hour_lies_on_one_side_of_a_window_edge(database_url):
    # The seed's bulk path once stored SQLite's text without a zero microsecond
    # ('01:00:00'), which sorts before the same instant bound by a query
    # ('01:00:00.000000'): a card or deadline on the hour fell in both the hour before
    # and its own, and the hours' rebuild stored one hour twice (CI at 01:xx UTC).
    database = CaseDatabase(database_url)
    database.init_schema()
    try:
        on_the_hour = DAY + timedelta(hours=9)
        assert on_the_hour.microsecond == 0
        database.bulk_insert(*case_rows())
        with database.engine.connect() as conn:
            def count(start, end):
                return conn.execute(sa.select(sa.func.count()).select_from(case).where(
                    q._in(case.c.reported_at, start, end), case.c.id == 2)).scalar()
            assert conn.execute(sa.select(case.c.reported_at)
                                .where(case.c.id == 2)).scalar() == on_the_hour
            assert count(on_the_hour - timedelta(hours=1), on_the_hour) == 0
            assert count(on_the_hour, on_the_hour + timedelta(hours=1)) == 1
    finally:
        database.close()


def test_the_live_paths_read_is_one_round_trip_and_survives_a_dead_connection(db, tmp_path):
    """The live engine does not ping before a read (libpq's trace: the batch's SELECT is
    all it sends); a connection the server ended fails one read, and the next read gets a
    new connection."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's wire protocol")
    from dashboard.domain.hierarchy import Level
    from dashboard.domain.scope import RegionScope
    from data_sources import case_queries
    scope = RegionScope("320000", Level.PROVINCE)
    live = db.live_engine
    case_queries.case_summaries(live, scope, [1])           # the pool holds a connection
    raw = live.raw_connection()
    pg, pid = raw.driver_connection.pgconn, raw.driver_connection.info.backend_pid
    raw.close()
    trace = tmp_path / "libpq.trace"
    with open(trace, "w") as f:
        pg.trace(f.fileno())
        found = case_queries.case_summaries(live, scope, [2, 3, 999])
        pg.untrace()
    assert sorted(found) == [2, 3]
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    kinds = [p[3] for p in sent if len(p) > 3 and p[1] == "F"]
    assert "Query" not in kinds and kinds.count("Parse") == 1, kinds   # no ping, no BEGIN
    with db.engine.connect() as conn:                       # the server ends it
        conn.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(sa.exc.DBAPIError):
        case_queries.case_summaries(live, scope, [2])
    assert sorted(case_queries.case_summaries(live, scope, [2, 3])) == [2, 3]


def test_a_ticker_batchs_cases_are_read_in_one_statement_without_a_transaction(db, tmp_path):
    """The live ticker's read of the cases behind a batch of events, watched at the wire
    (libpq's trace): one statement, no BEGIN and ROLLBACK around it. In a busy gevent
    worker every round trip waits for a turn of the loop; those were two of its four
    (docs/benchmarks.md)."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's wire protocol")
    from dashboard.domain.hierarchy import Level
    from dashboard.domain.scope import RegionScope
    from data_sources import case_queries
    scope = RegionScope("320000", Level.PROVINCE)
    case_queries.case_summaries(db.engine, scope, [1])     # the pool holds a connection
    raw = db.engine.raw_connection()
    pg = raw.driver_connection.pgconn
    raw.close()
    trace = tmp_path / "libpq.trace"
    with open(trace, "w") as f:
        pg.trace(f.fileno())
        found = case_queries.case_summaries(db.engine, scope, [2, 3, 999])
        pg.untrace()
    assert sorted(found) == [2, 3]
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    queries = [p[4] for p in sent if len(p) > 4 and p[1] == "F" and p[3] == "Query"]
    parsed = [p[4] for p in sent if len(p) > 4 and p[1] == "F" and p[3] == "Parse"]
    assert not any("BEGIN" in q or "ROLLBACK" in q for q in queries), queries
    assert len(parsed) == 1 and "gw_case" in parsed[0]
