"""Hourly aggregates of today and the recent days.

A province's /kpi today counted today (00:00 to now), yesterday's same hours (上期) and
today's hourly trend from the case table: each a day's ~60,000 scattered closures, ~840 ms
of a first view at 10M cases (bench.first_views). agg_hour and agg_hour_county hold the
daily aggregates' counters per township (per county) and UTC hour, for the hours the
follower keeps (aggregates.HOURS_KEPT_DAYS days before today, and today up to its last
whole hour), so a window's edges read whole hours and count at most an hour at each end.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COUNTERS = ("intake", "dispatches", "late", "returned", "waiting", "direct_resolved",
            "closed", "closed_on_time", "close_hours_sum", "reworked", "verified",
            "reopened", "rated", "satisfied", "basically_satisfied", "yellow_issued",
            "red_issued")


def _create(name: str, place: str, codes: tuple[str, ...], index: str, indexed: str) -> None:
    """A table of every counter per `place` (a township, a county) and UTC hour."""
    op.create_table(name,
    sa.Column('hour', sa.String(length=13), nullable=False),
    sa.Column(place, sa.String(length=20), nullable=False),
    *[sa.Column(code, sa.String(length=20), nullable=False) for code in codes],
    *[sa.Column(n, sa.Float() if n.endswith("_sum") else sa.Integer(), nullable=False)
      for n in COUNTERS],
    sa.PrimaryKeyConstraint('hour', place)
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(index, [indexed, 'hour'], unique=False)


def upgrade() -> None:
    _create('agg_hour', 'township_code', ('province_code', 'city_code', 'county_code'),
            'ix_agg_hour_county', 'county_code')
    _create('agg_hour_county', 'county_code', ('province_code', 'city_code'),
            'ix_agg_hour_county_city', 'city_code')


def downgrade() -> None:
    with op.batch_alter_table('agg_hour_county', schema=None) as batch_op:
        batch_op.drop_index('ix_agg_hour_county_city')
    op.drop_table('agg_hour_county')
    with op.batch_alter_table('agg_hour', schema=None) as batch_op:
        batch_op.drop_index('ix_agg_hour_county')
    op.drop_table('agg_hour')
