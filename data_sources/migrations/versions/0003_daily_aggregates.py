"""Daily aggregates: agg_day (every KPI counter that adds across days, per township and
local day) and agg_due (cases closed after their deadline or not closed, per township,
deadline day and closing hour). docs/aggregates.md says what they hold and how they are
kept.

New tables only: the case table is not touched. They start empty; `gridwatch aggregates
rebuild` fills them from the case table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agg_day',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('township_code', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('county_code', sa.String(length=20), nullable=False),
    sa.Column('intake', sa.BigInteger(), nullable=False),
    sa.Column('dispatches', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.BigInteger(), nullable=False),
    sa.Column('returned', sa.BigInteger(), nullable=False),
    sa.Column('waiting', sa.BigInteger(), nullable=False),
    sa.Column('direct_resolved', sa.BigInteger(), nullable=False),
    sa.Column('closed', sa.BigInteger(), nullable=False),
    sa.Column('closed_on_time', sa.BigInteger(), nullable=False),
    sa.Column('close_hours_sum', sa.Float(), nullable=False),
    sa.Column('reworked', sa.BigInteger(), nullable=False),
    sa.Column('verified', sa.BigInteger(), nullable=False),
    sa.Column('reopened', sa.BigInteger(), nullable=False),
    sa.Column('rated', sa.BigInteger(), nullable=False),
    sa.Column('satisfied', sa.BigInteger(), nullable=False),
    sa.Column('basically_satisfied', sa.BigInteger(), nullable=False),
    sa.Column('yellow_issued', sa.BigInteger(), nullable=False),
    sa.Column('red_issued', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'township_code')
    )
    with op.batch_alter_table('agg_day', schema=None) as batch_op:
        batch_op.create_index('ix_agg_day_city', ['city_code', 'day'], unique=False)
        batch_op.create_index('ix_agg_day_county', ['county_code', 'day'], unique=False)

    op.create_table('agg_due',
    sa.Column('deadline_day', sa.String(length=10), nullable=False),
    sa.Column('township_code', sa.String(length=20), nullable=False),
    sa.Column('closed_hour', sa.String(length=13), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('county_code', sa.String(length=20), nullable=False),
    sa.Column('cases', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('deadline_day', 'township_code', 'closed_hour')
    )
    with op.batch_alter_table('agg_due', schema=None) as batch_op:
        batch_op.create_index('ix_agg_due_city', ['city_code', 'deadline_day'], unique=False)
        batch_op.create_index('ix_agg_due_county', ['county_code', 'deadline_day'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('agg_due', schema=None) as batch_op:
        batch_op.drop_index('ix_agg_due_county')
        batch_op.drop_index('ix_agg_due_city')

    op.drop_table('agg_due')
    with op.batch_alter_table('agg_day', schema=None) as batch_op:
        batch_op.drop_index('ix_agg_day_county')
        batch_op.drop_index('ix_agg_day_city')

    op.drop_table('agg_day')
