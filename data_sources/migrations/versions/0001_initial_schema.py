"""The initial schema: region, gw_case, case_event, gw_meta and their indexes.

Exactly what `metadata.create_all` made before gridwatch used Alembic, on SQLite and on
PostgreSQL. UTCDateTime is its plain column type here, DateTime(timezone=True):
timestamptz on PostgreSQL, DATETIME (naive UTC text) on SQLite. The open-case indexes
are partial on both databases and carry INCLUDE columns on PostgreSQL.

Frozen: never edit this file. A database made by the old `create_all` (no
alembic_version table) is adopted by comparing it with `schema()` below before it is
stamped with this revision (data_sources/migrate.py).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The open states of dashboard/states.py at this revision, as the old create_all wrote the
# predicate (SQLite keeps the text as written; PostgreSQL stores its own form of it).
OPEN_CASES = ("state IN ('REPORTED', 'REGISTERED', 'DISPATCHED', 'IN_PROGRESS', "
              "'SUSPENDED', 'VERIFYING')")
_OPEN_PAYLOAD = ["state", "handler_level", "supervision_level"]


def _columns() -> dict[str, list[sa.Column]]:
    """Fresh column objects per call (a Column belongs to one table)."""
    ts = sa.DateTime(timezone=True)
    return {
        "region": [
            sa.Column("code", sa.String(20), primary_key=True),
            sa.Column("parent_code", sa.String(20)),
            sa.Column("level", sa.SmallInteger(), nullable=False),
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("population", sa.BigInteger(), nullable=False),
            sa.Column("lon", sa.Float()),
            sa.Column("lat", sa.Float()),
            sa.Column("boundary", sa.Text()),
        ],
        "gw_case": [
            sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
            sa.Column("case_no", sa.String(32), nullable=False),
            sa.Column("province_code", sa.String(20), nullable=False),
            sa.Column("city_code", sa.String(20), nullable=False),
            sa.Column("county_code", sa.String(20), nullable=False),
            sa.Column("township_code", sa.String(20), nullable=False),
            sa.Column("community_code", sa.String(20), nullable=False),
            sa.Column("grid_code", sa.String(20), nullable=False),
            sa.Column("category", sa.String(16), nullable=False),
            sa.Column("subcategory", sa.String(16), nullable=False),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("urgency", sa.String(4), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("reported_at", ts, nullable=False),
            sa.Column("registered_at", ts),
            sa.Column("dispatched_at", ts),
            sa.Column("accepted_at", ts),
            sa.Column("handled_at", ts),
            sa.Column("closed_at", ts),
            sa.Column("rated_at", ts),
            sa.Column("sign_deadline", ts),
            sa.Column("deadline", ts),
            sa.Column("handler_level", sa.String(4)),
            sa.Column("resolution_level", sa.String(4)),
            sa.Column("supervision_level", sa.SmallInteger(), nullable=False),
            sa.Column("rating", sa.String(8)),
            sa.Column("dispatch_count", sa.SmallInteger(), nullable=False),
            sa.Column("late_sign_count", sa.SmallInteger(), nullable=False),
            sa.Column("return_count", sa.SmallInteger(), nullable=False),
            sa.Column("rework_count", sa.SmallInteger(), nullable=False),
            sa.Column("reopen_count", sa.SmallInteger(), nullable=False),
            sa.Column("suspended", sa.SmallInteger(), nullable=False),
            sa.Column("updated_at", ts, nullable=False),
        ],
        "case_event": [
            # BIGSERIAL on PostgreSQL; on SQLite an INTEGER PRIMARY KEY (the rowid).
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                      primary_key=True, autoincrement=True),
            sa.Column("case_id", sa.BigInteger(), nullable=False),
            sa.Column("seq", sa.SmallInteger(), nullable=False),
            sa.Column("event_type", sa.String(16), nullable=False),
            sa.Column("at", ts, nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("actor_level", sa.String(4)),
            sa.Column("actor_org", sa.String(20)),
            sa.Column("detail", sa.Text()),
        ],
        "gw_meta": [
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text()),
        ],
    }


def _indexes() -> list[tuple[str, str, list[str], dict]]:
    """(name, table, columns, options) of every index."""
    out = [("ix_region_parent_code", "region", ["parent_code"], {}),
           ("ix_case_reported", "gw_case", ["reported_at"], {}),
           ("ix_case_closed", "gw_case", ["closed_at"], {}),
           ("ix_case_deadline", "gw_case", ["deadline"], {})]
    for level in ("city", "county"):
        for column in ("reported_at", "closed_at", "deadline"):
            out.append((f"ix_case_{level}_{column.removesuffix('_at')}", "gw_case",
                        [f"{level}_code", column], {}))
    for level, child in (("province", "city_code"), ("city", "county_code"),
                         ("county", "township_code"), ("township", "community_code")):
        out.append((f"ix_case_{level}_open", "gw_case", [f"{level}_code", "deadline"],
                    {"postgresql_where": sa.text(OPEN_CASES),
                     "sqlite_where": sa.text(OPEN_CASES),
                     "postgresql_include": [child, *_OPEN_PAYLOAD]}))
    for level in ("township", "community", "grid"):
        out.append((f"ix_case_{level}_reported", "gw_case", [f"{level}_code", "reported_at"],
                    {}))
    out += [("ix_event_case", "case_event", ["case_id", "seq"], {"unique": True}),
            ("ix_event_at", "case_event", ["at"], {})]
    return out


def schema() -> sa.MetaData:
    """This revision's schema as SQLAlchemy metadata (for adopting pre-Alembic databases)."""
    metadata = sa.MetaData()
    tables = {name: sa.Table(name, metadata, *columns)
              for name, columns in _columns().items()}
    for name, table, columns, options in _indexes():
        sa.Index(name, *(tables[table].c[c] for c in columns), **options)
    return metadata


def upgrade() -> None:
    for name, columns in _columns().items():
        op.create_table(name, *columns)
    for name, table, columns, options in _indexes():
        op.create_index(name, table, columns, **options)


def downgrade() -> None:
    for name in ("gw_meta", "case_event", "gw_case", "region"):
        op.drop_table(name)
