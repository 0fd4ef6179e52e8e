"""Wall devices (gw_wall_device): issue 13 part 3, docs/security.md "Wall devices".

One new table, empty: nothing existing is rewritten. A device keeps only the SHA-256 of
its token (and of the one a rotation replaced, until the overlap ends).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'gw_wall_device',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('region_code', sa.String(length=20), nullable=False),
        sa.Column('privacy', sa.Boolean(), nullable=False),
        sa.Column('allow', sa.Text(), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('previous_hash', sa.String(length=64), nullable=True),
        sa.Column('previous_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_seen_address', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('gw_wall_device', schema=None) as batch_op:
        batch_op.create_index('ix_wall_device_token', ['token_hash'], unique=True)
        batch_op.create_index('ix_wall_device_previous', ['previous_hash'], unique=False)


def downgrade() -> None:
    op.drop_table('gw_wall_device')
