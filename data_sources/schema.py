"""Tables of the data contract (docs/data-contract.md): region, case, case_event; and
gridwatch's own: aggregates, labels, accounts and the audit trail.

Timestamps are stored in UTC (timestamptz on PostgreSQL; naive-UTC text on SQLite, which
has no time zone type) and converted to the region's zone only for display and windows.
Indexes follow the dashboard's queries: every query filters one level's code column and a
time column, so each hot level gets a (code, time) index; open cases get partial indexes
because they are a small, hot slice of a table that grows without bound.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)

metadata = MetaData()

OPEN_STATES_SQL = ("REPORTED", "REGISTERED", "DISPATCHED", "IN_PROGRESS", "SUSPENDED",
                   "VERIFYING")


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; gridwatch stores aware timestamps only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


region = Table(
    "region", metadata,
    Column("code", String(20), primary_key=True),
    Column("parent_code", String(20), index=True),
    Column("level", SmallInteger, nullable=False),  # dashboard.domain.hierarchy.Level
    Column("name", String(64), nullable=False),
    Column("population", BigInteger, nullable=False, default=0),
    Column("lon", Float), Column("lat", Float),      # centroid / point location
    Column("boundary", Text),                        # GeoJSON geometry; province/city/county only
)

case = Table(
    "gw_case", metadata,  # "case" is an SQL keyword
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("case_no", String(32), nullable=False),
    Column("province_code", String(20), nullable=False),
    Column("city_code", String(20), nullable=False),
    Column("county_code", String(20), nullable=False),
    Column("township_code", String(20), nullable=False),
    Column("community_code", String(20), nullable=False),
    Column("grid_code", String(20), nullable=False),
    Column("category", String(16), nullable=False),
    Column("subcategory", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("urgency", String(4), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("registered_at", UTCDateTime),
    Column("dispatched_at", UTCDateTime),
    Column("accepted_at", UTCDateTime),
    Column("handled_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("rated_at", UTCDateTime),
    Column("sign_deadline", UTCDateTime),
    Column("deadline", UTCDateTime),
    Column("handler_level", String(4)),             # level now holding the case: 网格 ... 市
    Column("resolution_level", String(4)),          # level that settled it: 网格 / 村社 / ... / 市
    Column("supervision_level", SmallInteger, nullable=False, default=0),  # 0, 1 催办, 2 黄牌, 3 红牌
    Column("yellow_card_at", UTCDateTime),          # when the case was given its 黄牌
    Column("red_card_at", UTCDateTime),             # and its 红牌 (null: never)
    Column("rating", String(8)),                    # 满意 / 基本满意 / 不满意
    Column("dispatch_count", SmallInteger, nullable=False, default=0),
    Column("late_sign_count", SmallInteger, nullable=False, default=0),
    Column("return_count", SmallInteger, nullable=False, default=0),
    Column("rework_count", SmallInteger, nullable=False, default=0),
    Column("reopen_count", SmallInteger, nullable=False, default=0),
    Column("suspended", SmallInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
    # Personal information (migration 0008; dashboard/domain/personal.py masks it): null
    # for cases written before the upstream sent it. Never selected by the walls' queries.
    Column("description", Text),                    # 事件描述
    Column("address", String(200)),                 # 事发地址
    Column("reporter_name", String(64)),            # 上报人
    Column("reporter_phone", String(32)),           # 联系电话
    Column("lon", Float), Column("lat", Float),     # 事发位置 (WGS-84), optional
)

_open = case.c.state.in_(OPEN_STATES_SQL)
# Open cases are a small, hot slice (~2 days of intake) that every refresh counts by child,
# state, level and card. On PostgreSQL the partial indexes carry those columns, so the
# counts are index-only scans instead of one heap page per open case (bench: 205 → 10 ms
# at city scope on 10M cases). The level's code leads, then the deadline, which also
# serves "oldest overdue first".
_OPEN_PAYLOAD = ["state", "handler_level", "supervision_level"]
_CHILD = {"province": "city_code", "city": "county_code", "county": "township_code",
          "township": "community_code"}
# A database usually serves one province, so province scope uses the time-only indexes.
Index("ix_case_reported", case.c.reported_at)
Index("ix_case_closed", case.c.closed_at)
# The province's deadlines carry what "due, not closed by the window's end" asks of them,
# so a previous period's part-day (上期, 去年同期: a day's ~80k deadlines, scattered over
# the table) is an index-only scan: 10-19 ms instead of 138-155 at 10M (EXPLAIN ANALYZE,
# docs/benchmarks.md). +380 MB at 10M; the cities' and counties' stay plain (their part of
# a day is a thirteenth or less, and their views are well inside the goal).
Index("ix_case_deadline", case.c.deadline,
      postgresql_include=["province_code", "city_code", "state", "closed_at"])
for _level in ("city", "county"):
    Index(f"ix_case_{_level}_reported", case.c[f"{_level}_code"], case.c.reported_at)
    Index(f"ix_case_{_level}_closed", case.c[f"{_level}_code"], case.c.closed_at)
    Index(f"ix_case_{_level}_deadline", case.c[f"{_level}_code"], case.c.deadline)
for _level, _child in _CHILD.items():
    Index(f"ix_case_{_level}_open", case.c[f"{_level}_code"], case.c.deadline,
          postgresql_where=_open, sqlite_where=_open,
          postgresql_include=[_child, *_OPEN_PAYLOAD])
# Dispatches waiting to be signed (及时签收率 counts the ones whose limit has not passed
# apart): a few hundred of a province's cases at any time, found by report time.
_waiting = case.c.state == "DISPATCHED"
Index("ix_case_dispatched", case.c.reported_at, postgresql_where=_waiting,
      sqlite_where=_waiting)
# ... and by their signing limit: which limits the clock just passed (the live board).
Index("ix_case_signing", case.c.sign_deadline, postgresql_where=_waiting,
      sqlite_where=_waiting)
# Cards issued in a window (the ranking's card penalty): a few cases in a hundred get one,
# so partial indexes of the carded cases only.
for _card in ("yellow", "red"):
    _col = case.c[f"{_card}_card_at"]
    Index(f"ix_case_{_card}_card", _col, postgresql_where=_col.is_not(None),
          sqlite_where=_col.is_not(None))
    # A township's cards (its pages count every window from the case table): with the
    # province's index alone a township's month read every card of the province that
    # month, 30-45 ms a colour and window at 10M; ~1 ms by its own (migration 0011).
    Index(f"ix_case_township_{_card}_card", case.c.township_code, _col,
          postgresql_where=_col.is_not(None), sqlite_where=_col.is_not(None))
del _card, _col
# Below county a region holds ~1/1000 of the rows: one index to find them is enough.
Index("ix_case_township_reported", case.c.township_code, case.c.reported_at)
# The live board recomputes the townships events touched, their closures of today too.
Index("ix_case_township_closed", case.c.township_code, case.c.closed_at)
Index("ix_case_community_reported", case.c.community_code, case.c.reported_at)
Index("ix_case_grid_reported", case.c.grid_code, case.c.reported_at)
del _level, _child

case_event = Table(
    "case_event", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("seq", SmallInteger, nullable=False),
    Column("event_type", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),     # state after the event
    Column("actor_level", String(4)),
    Column("actor_org", String(20)),
    Column("detail", Text),                          # JSON of the fields this event changed
    Index("ix_event_case", "case_id", "seq", unique=True),
    Index("ix_event_at", "at"),
)

# -- aggregates (data_sources/aggregates.py, docs/aggregates.md) -----------------------
# What finished days sum to, per township and local day: every counter of a KPI side that
# adds across days. The ancestors' codes ride along so that a province, city or county
# groups its children without a join.
_AGG_CODES = [Column(f"{lvl}_code", String(20), nullable=False)
              for lvl in ("province", "city", "county")]


def _counter(name: str) -> Column:
    # Integer, not BigInteger: a township's day fits, and PostgreSQL sums integers in a
    # machine word but bigints as numeric (a province's month summed 40% faster).
    return Column(name, Float if name.endswith("_sum") else Integer, nullable=False,
                  default=0)


COUNTER_NAMES = ("intake", "dispatches", "late", "returned", "waiting", "direct_resolved",
                 "closed", "closed_on_time", "close_hours_sum", "reworked", "verified",
                 "reopened", "rated", "satisfied", "basically_satisfied", "yellow_issued",
                 "red_issued")


def _by_township(name: str, key: str, width: int) -> Table:
    """Every counter per township and `key` (a local day, or a UTC hour)."""
    return Table(name, metadata,
                 Column(key, String(width), primary_key=True),
                 Column("township_code", String(20), primary_key=True),
                 *[Column(col.name, col.type, nullable=False) for col in _AGG_CODES],
                 *[_counter(n) for n in COUNTER_NAMES])


def _by_county(name: str, key: str, width: int) -> Table:
    """The same counters summed per county: a province's or a city's window reads ~95 rows
    a day instead of ~1,237 (kept with the townships', by aggregates.rebuild*)."""
    return Table(name, metadata,
                 Column(key, String(width), primary_key=True),
                 Column("county_code", String(20), primary_key=True),
                 *[Column(f"{lvl}_code", String(20), nullable=False)
                   for lvl in ("province", "city")],
                 *[_counter(n) for n in COUNTER_NAMES])


agg_day = _by_township("agg_day", "day", 10)              # local date, YYYY-MM-DD
agg_day_county = _by_county("agg_day_county", "day", 10)


def _mix(name: str, place: str, codes: tuple[str, ...]) -> Table:
    """/region's breakdowns of intake (category, source, level that settled it) per
    `place` and local day, one row per dimension and value ('' for none)."""
    return Table(name, metadata,
                 Column("day", String(10), primary_key=True),
                 Column(place, String(20), primary_key=True),
                 Column("dimension", String(20), primary_key=True),
                 Column("value", String(16), primary_key=True),
                 *[Column(f"{lvl}_code", String(20), nullable=False) for lvl in codes],
                 Column("cases", Integer, nullable=False, default=0))


agg_mix = _mix("agg_mix", "county_code", ("province", "city"))
Index("ix_agg_mix_city", agg_mix.c.city_code, agg_mix.c.day)
# The same summed per city, for the province's windows: ~13 rows a day and value where
# agg_mix has ~95 (a province's /region over 89 days read 205,062 rows of agg_mix, a
# parallel scan of 49-54 ms at 10M; kept with agg_mix by aggregates._write_mix).
agg_mix_city = _mix("agg_mix_city", "city_code", ("province",))
Index("ix_agg_mix_city_province", agg_mix_city.c.province_code, agg_mix_city.c.day)
# Due does not add across days: a case is due in a window when its deadline passed in it
# and it was not closed before the window ended. Only cases closed after their deadline
# (or not closed) can be, so per township and deadline day they are counted by the UTC
# hour they closed in ('YYYY-MM-DD HH', or 'open', which sorts after every hour).
agg_due = Table(
    "agg_due", metadata,
    Column("deadline_day", String(10), primary_key=True),
    Column("township_code", String(20), primary_key=True),
    Column("closed_hour", String(13), primary_key=True),
    *[Column(col.name, col.type, nullable=False) for col in _AGG_CODES],
    Column("cases", Integer, nullable=False, default=0),
)
Index("ix_agg_day_county_city", agg_day_county.c.city_code, agg_day_county.c.day)
for _t, _day in ((agg_day, "day"), (agg_due, "deadline_day")):
    for _lvl in ("city", "county"):
        Index(f"ix_{_t.name}_{_lvl}", _t.c[f"{_lvl}_code"], _t.c[_day])
del _t, _day, _lvl
# A window's due cases are those of its stored deadline days closed in or after the hour
# it ends in: few (26,694 of 543,535 rows for a province's year at 10M), found from the
# closing hour; through the primary key a year read every row of its deadline days
# (85 ms against 15, index only; migration 0012).
Index("ix_agg_due_closed", agg_due.c.closed_hour, agg_due.c.deadline_day,
      postgresql_include=["province_code", "city_code", "county_code", "cases"])

# The same counters per UTC hour ('YYYY-MM-DD HH') for today and the recent days, kept by
# the aggregates' follower: a window's edges that are not whole stored days (today up to
# now, the previous period's same elapsed part) read their whole hours from here and count
# at most an hour at each end from the case table (docs/aggregates.md, "Hours").
agg_hour = _by_township("agg_hour", "hour", 13)
Index("ix_agg_hour_county", agg_hour.c.county_code, agg_hour.c.hour)
agg_hour_county = _by_county("agg_hour_county", "hour", 13)
Index("ix_agg_hour_county_city", agg_hour_county.c.city_code, agg_hour_county.c.hour)


meta = Table(
    "gw_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text),
)

# Where each wall map's labels go (layouts/label_placement.py): placed once per region and
# label width for the installation, not per worker and restart. `fingerprint` names what
# the layout was placed from (shapes, names, plot sizes, algorithm), so a changed tree or
# placement is placed again.
region_label = Table(
    "gw_region_label", metadata,
    Column("region_code", String(20), primary_key=True),
    Column("sample", String(24), primary_key=True),   # the widest value, e.g. "99.9%"
    Column("fingerprint", String(64), nullable=False),
    Column("layout", Text, nullable=False),           # JSON
)

# -- accounts and the audit trail (dashboard/domain/accounts.py, audit.py; docs/security.md)
account = Table(
    "gw_account", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),   # lower case (accounts.normalize_username)
    Column("display_name", String(64), nullable=False),
    Column("role", String(16), nullable=False),       # dashboard.domain.accounts.Role
    Column("password_hash", String(255), nullable=False),   # argon2id, PHC string
    Column("password_changed_at", UTCDateTime, nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    Column("totp_secret", String(255)),              # sealed (secret_box.py); null: none yet
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_account_username", "username", unique=True),
)
# The regions an account sees (and everything below them); none: it sees nothing. No
# foreign key to region: `regions import` replaces the tree's rows.
account_region = Table(
    "gw_account_region", metadata,
    Column("account_id", Integer, ForeignKey("gw_account.id"), primary_key=True),
    Column("region_code", String(20), primary_key=True),
)
# Append-only, hash-chained (dashboard/domain/audit.py): rows are only ever inserted, and
# deleted only by the oldest first past the retention (data_sources/audit_store.prune).
audit_log = Table(
    "gw_audit", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),      # username, "wall:<id>", "cli:<user>"
    Column("actor_id", Integer),                      # the account's id, when an account
    Column("address", String(64)),                    # client IP, "local", "ssh:<ip>"
    Column("action", String(32), nullable=False),     # dashboard.domain.audit.Action
    Column("target", String(200)),                    # a username, a case id, a page
    Column("scope", String(200)),                     # the region codes it concerned
    Column("result", String(16), nullable=False),     # ok / denied / failed
    Column("detail", Text, nullable=False),           # canonical JSON (audit.detail_text)
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_at", "at"),
    Index("ix_audit_actor", "actor", "id"),
    Index("ix_audit_target", "target", "id"),
)
# One row once old audit rows were pruned: the last pruned row, whose hash the oldest
# kept row chains from.
audit_anchor = Table(
    "gw_audit_anchor", metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),   # always 1
    Column("last_id", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    Column("pruned_rows", BigInteger, nullable=False),   # in all prunes so far
    Column("pruned_at", UTCDateTime, nullable=False),
)

# Enrolled wall screens (dashboard/domain/walls.py; docs/security.md "Wall devices"): only
# tokens' SHA-256 are kept. Never deleted, only revoked: the audit trail names them.
wall_device = Table(
    "gw_wall_device", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False),
    Column("region_code", String(20), nullable=False),
    Column("privacy", Boolean, nullable=False),       # personal details always hidden
    Column("allow", Text),                            # CIDRs, space-separated; null: any
    Column("token_hash", String(64), nullable=False),
    Column("previous_hash", String(64)),              # the token a rotation replaced ...
    Column("previous_until", UTCDateTime),            # ... works until then
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_seen_at", UTCDateTime),
    Column("last_seen_address", String(64)),
    Index("ix_wall_device_token", "token_hash", unique=True),
    Index("ix_wall_device_previous", "previous_hash"),
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
