"""Personal information on cases: 事件描述, 事发地址, 上报人, 联系电话 and an optional point
(gw_case.description, address, reporter_name, reporter_phone, lon, lat): issue 13 part 5,
docs/data-contract.md and docs/security.md "Personal information".

Six nullable columns, no default and no backfill: on PostgreSQL each ADD COLUMN changes
only the catalog (no table rewrite, however many cases), and on SQLite ALTER TABLE ADD
COLUMN writes no row either. Cases written before stay null; every view shows them as
"—".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COLUMNS = (
    ('description', sa.Text()),
    ('address', sa.String(length=200)),
    ('reporter_name', sa.String(length=64)),
    ('reporter_phone', sa.String(length=32)),
    ('lon', sa.Float()),
    ('lat', sa.Float()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column('gw_case', sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # SQLite drops a column by copying the table: batch mode does that for it.
    with op.batch_alter_table('gw_case') as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
