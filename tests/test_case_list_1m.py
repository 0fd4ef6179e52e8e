"""The case list on 1.04M cases in PostgreSQL: paging, sorting and filtering happen in SQL
(data_sources.case_list) and agree with independent queries; the plans use the indexes.

The cases are generated inside PostgreSQL (generate_series), which loads a million rows
in seconds; the list reads only the case table, so no events or region rows are needed.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashboard.domain.catalog import CATEGORIES, SOURCES, URGENCIES
from dashboard.domain.hierarchy import Level
from dashboard.domain.periods import Window
from dashboard.domain.scope import RegionScope
from data_sources import case_list
from data_sources.case_list import COUNT_CAP, MAX_OFFSET, PAGE_SIZE, CaseQuery
from data_sources.database import CaseDatabase
from data_sources.schema import case

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
N = 1_040_000
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
WINDOW = Window(NOW - timedelta(days=30), NOW)
CITY, COUNTY = "320500", "320502"
TOWNSHIP = "320502003"
OPEN = ("REPORTED", "REGISTERED", "DISPATCHED", "IN_PROGRESS", "SUSPENDED", "VERIFYING")

FILL = """
WITH g AS (
  SELECT i, (i * 2654435761) % 4294967296 AS h FROM generate_series(1, :n) AS i
), c AS (
  SELECT i, h,
    '32' || lpad((i % 13 + 1)::text, 2, '0') || '00' AS city,
    '32' || lpad((i % 13 + 1)::text, 2, '0') || lpad(((i / 13) % 10 + 1)::text, 2, '0') AS county,
    CAST(:now AS timestamptz) - make_interval(secs => h % (60 * 86400)) AS rep,
    (h / 7) % 20 AS s
  FROM g
), r AS (
  SELECT c.*, county || lpad(((i / 130) % 10 + 1)::text, 3, '0') AS town,
    CASE WHEN s < 6 THEN 'CLOSED' WHEN s < 12 THEN 'RATED' WHEN s = 12 THEN 'REJECTED'
         ELSE (CAST(:open AS text[]))[(s - 13) % 6 + 1] END AS state
  FROM c
), t AS (
  SELECT r.*, town || lpad(((i / 1300) % 10 + 1)::text, 3, '0') AS comm,
    CASE WHEN state IN ('CLOSED', 'RATED')
         THEN least(CAST(:now AS timestamptz), rep + make_interval(secs => (h / 11) % (5 * 86400))) END AS closed,
    CASE WHEN (h / 13) % 10 = 0 OR state = 'REJECTED' THEN NULL
         ELSE rep + interval '5 days' END AS due
  FROM r
)
INSERT INTO gw_case (id, case_no, province_code, city_code, county_code, township_code,
  community_code, grid_code, category, subcategory, source, urgency, state, reported_at,
  closed_at, deadline, supervision_level, rating, dispatch_count, late_sign_count,
  return_count, rework_count, reopen_count, suspended, updated_at)
SELECT i, 'T' || i, '320000', city, county, town, comm,
  comm || lpad(((i / 13000) % 5 + 1)::text, 3, '0'),
  (CAST(:cats AS text[]))[(h / 17) % 12 + 1], (CAST(:cats AS text[]))[(h / 17) % 12 + 1], (CAST(:sources AS text[]))[(h / 19) % 7 + 1],
  (CAST(:urgencies AS text[]))[(h / 23) % 3 + 1], state, rep, closed, due,
  CASE WHEN state = ANY(CAST(:open AS text[])) THEN ((h / 29) % 4)::smallint ELSE 0 END,
  CASE WHEN state = 'RATED' THEN (ARRAY['满意', '基本满意', '不满意'])[(h / 31) % 3 + 1] END,
  1, 0, 0, 0, 0, 0, rep
FROM t
"""


@pytest.fixture(scope="module")
def big_db():
    """1.04M cases in a schema this module owns (created, filled, analysed, dropped)."""
    from tests.conftest import _pg_url_or_skip
    base = _pg_url_or_skip()
    schema = f"gwtest1m_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    db = CaseDatabase(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        db.init_schema()
        with db.engine.begin() as conn:
            # Indexes after the load: building them once is far cheaper than maintaining
            # twenty of them row by row.
            for ix in case.indexes:
                conn.exec_driver_sql(f'DROP INDEX "{ix.name}"')
            conn.execute(sa.text(FILL), {"n": N, "now": NOW, "open": list(OPEN),
                                         "cats": list(CATEGORIES), "sources": list(SOURCES),
                                         "urgencies": list(URGENCIES)})
            for ix in case.indexes:
                ix.create(conn)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE gw_case")
        yield db.engine
    finally:
        db.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def scope(code: str) -> RegionScope:
    level = {6: Level.CITY if code.endswith("00") else Level.COUNTY, 9: Level.TOWNSHIP}[len(code)]
    return RegionScope("320000", Level.PROVINCE) if code == "320000" else RegionScope(code, level)


def independent(engine, where: str, params: dict, cols: str = "id") -> list[tuple]:
    """Rows by hand-written SQL, for comparison with the list's SQLAlchemy queries."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT {cols} FROM gw_case WHERE {where}"),
                                               params)]


def test_the_database_holds_a_million_cases(big_db):
    with big_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM gw_case")).scalar() == N


def test_pages_of_a_township_cover_its_cases_once_in_order(big_db):
    expected = independent(big_db, "township_code = :t AND reported_at >= :s AND reported_at < :e",
                           {"t": TOWNSHIP, "s": WINDOW.start, "e": WINDOW.end}, "id, reported_at")
    expected.sort(key=lambda r: (r[1], r[0]), reverse=True)
    assert PAGE_SIZE < len(expected) < COUNT_CAP
    seen, page_no = [], 1
    while True:
        page = case_list.case_page(big_db, scope(TOWNSHIP), WINDOW, NOW, CaseQuery(page=page_no))
        assert (page.total, page.capped) == (len(expected), False)
        seen += [r["id"] for r in page.rows]
        if page_no == page.pages:
            break
        page_no += 1
    assert seen == [r[0] for r in expected]


def test_province_count_is_capped_and_deep_pages_stop_at_the_cap(big_db):
    (n,), = independent(big_db, "reported_at >= :s AND reported_at < :e",
                        {"s": WINDOW.start, "e": WINDOW.end}, "count(*)")
    assert n > 400_000
    first = case_list.case_page(big_db, scope("320000"), WINDOW, NOW, CaseQuery())
    assert (first.total, first.capped, first.pages) == (COUNT_CAP, True, MAX_OFFSET // PAGE_SIZE)
    # A page number past the end shows the last reachable page.
    last = case_list.case_page(big_db, scope("320000"), WINDOW, NOW, CaseQuery(page=10**6))
    assert last.page == first.pages
    want = independent(big_db, "reported_at >= :s AND reported_at < :e "
                       "ORDER BY reported_at DESC, id DESC OFFSET :o LIMIT :l",
                       {"s": WINDOW.start, "e": WINDOW.end, "o": MAX_OFFSET - PAGE_SIZE,
                        "l": PAGE_SIZE})
    assert [r["id"] for r in last.rows] == [w[0] for w in want]
    two = case_list.case_page(big_db, scope("320000"), WINDOW, NOW, CaseQuery(page=2))
    stamps = [(r["reported_at"], r["id"]) for r in first.rows + two.rows]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 2 * PAGE_SIZE


@pytest.mark.parametrize("basis, filters, sql", [
    ("reported", (("category", "城市管理"), ("source", "12345热线"), ("urgency", "一般")),
     "reported_at >= :s AND reported_at < :e AND category = '城市管理' AND source = '12345热线' "
     "AND urgency = '一般'"),
    ("closed", (("state", "RATED"), ("category", "民生服务")),
     "closed_at >= :s AND closed_at < :e AND state = 'RATED' AND category = '民生服务'"),
    ("open", (("state", "DISPATCHED"),), "state = 'DISPATCHED'"),
    ("overdue", (("urgency", "紧急"),),
     "state IN ('REPORTED','REGISTERED','DISPATCHED','IN_PROGRESS','VERIFYING') "
     "AND deadline < :now AND urgency = '紧急'"),   # 超期在办 leaves 挂起 out
])
def test_filters_match_an_independent_count(big_db, basis, filters, sql):
    (n,), = independent(big_db, f"city_code = :c AND {sql}",
                        {"c": CITY, "s": WINDOW.start, "e": WINDOW.end, "now": NOW}, "count(*)")
    q = CaseQuery(basis=basis, filters=filters)
    page = case_list.case_page(big_db, scope(CITY), WINDOW, NOW, q)
    assert 0 < n
    assert page.total == min(n, COUNT_CAP) and page.capped == (n > COUNT_CAP)
    for row in page.rows:
        assert row["id"] % 13 == 4  # 苏州: i % 13 + 1 == 5
        for name, value in filters:
            assert row[name] == value
        if basis == "overdue":
            assert row["state"] in OPEN and row["state"] != "SUSPENDED" and row["deadline"] < NOW
        if basis == "closed":
            assert WINDOW.start <= row["closed_at"] < WINDOW.end


@pytest.mark.parametrize("sort, basis", [("deadline", "reported"), ("-deadline", "reported"),
                                         ("-closed_at", "closed"), ("closed_at", "closed"),
                                         ("reported_at", "reported")])
def test_sorts_are_total_and_put_missing_deadlines_where_the_index_does(big_db, sort, basis):
    column, desc = sort.lstrip("-"), sort.startswith("-")
    rows = []
    for p in (1, 2, 3):
        rows += case_list.case_page(big_db, scope(COUNTY), WINDOW, NOW,
                                    CaseQuery(basis=basis, sort=sort, page=p)).rows
    far = datetime.max.replace(tzinfo=timezone.utc)
    # ASC NULLS LAST, DESC NULLS FIRST: nulls sort as the largest value either way.
    keys = [((r[column] or far), r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=desc)
    assert len({r["id"] for r in rows}) == 3 * PAGE_SIZE


@pytest.mark.parametrize("code, basis", [("320000", "reported"), (CITY, "reported"),
                                         (COUNTY, "closed"), (TOWNSHIP, "reported")])
def test_page_queries_read_an_index_not_the_table(big_db, code, basis):
    s = scope(code)
    cond = case_list.conditions(s, WINDOW, NOW, CaseQuery(basis=basis))
    sort = "-closed_at" if basis == "closed" else "-reported_at"
    stmt = (sa.select(*case_list.LIST_COLUMNS).where(*cond)
            .order_by(*case_list.order_by(sort)).limit(PAGE_SIZE).offset(PAGE_SIZE * 10))
    sql = str(stmt.compile(big_db, compile_kwargs={"literal_binds": True}))
    with big_db.connect() as conn:
        conn.exec_driver_sql("SET random_page_cost = 1.1")
        plan = json.dumps(conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").scalar())
    assert "Index" in plan and '"Node Type": "Seq Scan"' not in plan, plan


def test_a_previous_periods_due_part_day_at_the_province_reads_only_the_index(big_db):
    """上期's and 去年同期's due cases of their part-day (deadlines from the day's start to
    the period's end, not closed by then) at the province: an index-only scan of
    ix_case_deadline, whose INCLUDE columns carry what the statement asks (migration 0015),
    not one heap page per deadline. And the figure is the hand-written count's."""
    from data_sources import case_queries as q
    end = NOW - timedelta(days=7)
    start = end - timedelta(hours=16)
    where = q.scoped(scope("320000"))
    stmt = q.due_unclosed(start, end, end).grouped(where, [case.c.city_code])
    sql = str(stmt.compile(big_db, compile_kwargs={"literal_binds": True}))
    with big_db.connect() as conn:
        plan = json.dumps(conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").scalar())
        got = sum(n for _, n in conn.execute(stmt))
    assert '"Node Type": "Index Only Scan"' in plan and '"ix_case_deadline"' in plan, plan
    expected = independent(
        big_db, "province_code = '320000' AND deadline >= :s AND deadline < :e "
        "AND state <> 'REJECTED' AND (closed_at IS NULL OR closed_at >= :e)",
        {"s": start, "e": end}, cols="count(*)")[0][0]
    assert got == expected > 0
