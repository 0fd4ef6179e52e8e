"""An index of the case table by township and closing time.

The live board (data_sources/live_board.py) recomputes, each tick, the townships that
events touched: their cases closed today (the closed side, the hours of closing today and
yesterday). Without this index PostgreSQL intersects every case closed today in the
province with every case of those townships (255 ms for 150 townships at 1M cases); with
it, it reads just those townships' closures. A township's /kpi and /region, counted from
the case table, use it too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.create_index('ix_case_township_closed', ['township_code', 'closed_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_township_closed')
