"""The TOTP keys sealed (SM4-GCM, data_sources/secret_box.py): gw_account.totp_secret widened
from 64 to 255 characters to hold a sealed key (issue 13, docs/security.md).

Keys stored in clear before this revision are sealed in place by the application the
next time they are read (the key that seals them is not the database's to know).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gw_account', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)


def downgrade() -> None:
    # A sealed key does not fit 64 characters: a downgrade removes the second factors
    # (their owners enrol again), rather than failing half-way.
    op.execute("UPDATE gw_account SET totp_secret = NULL WHERE length(totp_secret) > 64")
    with op.batch_alter_table('gw_account', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
