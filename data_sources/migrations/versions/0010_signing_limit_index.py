"""The dispatches waiting to be signed, by their signing limit.

Each tick the live board's follower asks which dispatches' signing limit (及时签收) the
clock just passed. By report time (ix_case_dispatched) that read every dispatch of the
day still waiting to find the few whose limit fell in the last five seconds: ~7,000 rows
and 38 ms a tick at 1M cases. A partial index of the waiting dispatches by their limit
answers it from the few rows it asks for; it holds only the dispatches waiting now.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.create_index('ix_case_signing', ['sign_deadline'], unique=False,
                              postgresql_where=sa.text("state = 'DISPATCHED'"),
                              sqlite_where=sa.text("state = 'DISPATCHED'"))


def downgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_signing', postgresql_where=sa.text("state = 'DISPATCHED'"),
                            sqlite_where=sa.text("state = 'DISPATCHED'"))
