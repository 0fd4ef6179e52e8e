"""Daily aggregates: agg_day (every KPI counter that adds across days, per township and
local day), agg_day_county (the same per county), agg_mix (intake by category, source and
settling level, per county and day) and agg_due (cases closed after their
deadline or not closed, per township, deadline day and closing hour). docs/aggregates.md
says what they hold and how they are kept.

New tables, and one small partial index on the case table (the dispatches waiting to be
signed). The tables start empty; `gridwatch aggregates rebuild` fills them.

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
    # The waiting dispatches, found by report time: a window's "waiting, not yet late" was
    # a pass over the window's cases (148 ms of a province's month at 400k cases).
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.create_index('ix_case_dispatched', ['reported_at'], unique=False,
                              postgresql_where=sa.text("state = 'DISPATCHED'"),
                              sqlite_where=sa.text("state = 'DISPATCHED'"))
    op.create_table('agg_day',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('township_code', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('county_code', sa.String(length=20), nullable=False),
    sa.Column('intake', sa.Integer(), nullable=False),
    sa.Column('dispatches', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('direct_resolved', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('closed_on_time', sa.Integer(), nullable=False),
    sa.Column('close_hours_sum', sa.Float(), nullable=False),
    sa.Column('reworked', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('rated', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basically_satisfied', sa.Integer(), nullable=False),
    sa.Column('yellow_issued', sa.Integer(), nullable=False),
    sa.Column('red_issued', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'township_code')
    )
    with op.batch_alter_table('agg_day', schema=None) as batch_op:
        batch_op.create_index('ix_agg_day_city', ['city_code', 'day'], unique=False)
        batch_op.create_index('ix_agg_day_county', ['county_code', 'day'], unique=False)

    op.create_table('agg_day_county',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('county_code', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('intake', sa.Integer(), nullable=False),
    sa.Column('dispatches', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('direct_resolved', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('closed_on_time', sa.Integer(), nullable=False),
    sa.Column('close_hours_sum', sa.Float(), nullable=False),
    sa.Column('reworked', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('rated', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basically_satisfied', sa.Integer(), nullable=False),
    sa.Column('yellow_issued', sa.Integer(), nullable=False),
    sa.Column('red_issued', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'county_code')
    )
    with op.batch_alter_table('agg_day_county', schema=None) as batch_op:
        batch_op.create_index('ix_agg_day_county_city', ['city_code', 'day'], unique=False)

    op.create_table('agg_mix',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('county_code', sa.String(length=20), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=16), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'county_code', 'dimension', 'value')
    )
    with op.batch_alter_table('agg_mix', schema=None) as batch_op:
        batch_op.create_index('ix_agg_mix_city', ['city_code', 'day'], unique=False)

    op.create_table('agg_due',
    sa.Column('deadline_day', sa.String(length=10), nullable=False),
    sa.Column('township_code', sa.String(length=20), nullable=False),
    sa.Column('closed_hour', sa.String(length=13), nullable=False),
    sa.Column('province_code', sa.String(length=20), nullable=False),
    sa.Column('city_code', sa.String(length=20), nullable=False),
    sa.Column('county_code', sa.String(length=20), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
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
    with op.batch_alter_table('agg_mix', schema=None) as batch_op:
        batch_op.drop_index('ix_agg_mix_city')

    op.drop_table('agg_mix')
    with op.batch_alter_table('agg_day_county', schema=None) as batch_op:
        batch_op.drop_index('ix_agg_day_county_city')

    op.drop_table('agg_day_county')
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_dispatched', postgresql_where=sa.text("state = 'DISPATCHED'"),
                            sqlite_where=sa.text("state = 'DISPATCHED'"))
