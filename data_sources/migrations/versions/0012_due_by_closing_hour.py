"""The stored due cases by their closing hour.

A window's due cases on its stored deadline days are those closed in or after the hour
the window ends in (or still open): for a province's year at 10M cases, 26,694 of the
table's 543,535 rows. Through the primary key (deadline day first) PostgreSQL read every
row of the year's deadline days to keep them: 85 ms of a first view of /kpi over a year
(bench.first_views). By (closing hour, deadline day), with the region codes and the
count included, it is an index-only scan of those rows: 15 ms.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agg_due', schema=None) as batch_op:
        batch_op.create_index('ix_agg_due_closed', ['closed_hour', 'deadline_day'], unique=False,
                              postgresql_include=['province_code', 'city_code', 'county_code',
                                                  'cases'])


def downgrade() -> None:
    with op.batch_alter_table('agg_due', schema=None) as batch_op:
        batch_op.drop_index('ix_agg_due_closed',
                            postgresql_include=['province_code', 'city_code', 'county_code',
                                                'cases'])
