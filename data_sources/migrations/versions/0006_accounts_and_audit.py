"""Accounts, the regions each sees, and the audit trail (gw_account, gw_account_region,
gw_audit, gw_audit_anchor): issue 13, docs/security.md.

Four new tables, empty: nothing existing is rewritten. gw_audit is append-only and
hash-chained (dashboard/domain/audit.py); gw_audit_anchor keeps the last pruned row's hash
so that the chain still checks after old rows were deleted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'gw_account',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('must_change_password', sa.Boolean(), nullable=False),
        sa.Column('totp_secret', sa.String(length=64), nullable=True),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('gw_account', schema=None) as batch_op:
        batch_op.create_index('ix_account_username', ['username'], unique=True)

    op.create_table(
        'gw_account_region',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('region_code', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['gw_account.id']),
        sa.PrimaryKeyConstraint('account_id', 'region_code'),
    )

    op.create_table(
        'gw_audit',
        # BIGSERIAL on PostgreSQL; on SQLite an INTEGER PRIMARY KEY (the rowid).
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=True),
        sa.Column('scope', sa.String(length=200), nullable=True),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('gw_audit', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_actor', ['actor', 'id'], unique=False)
        batch_op.create_index('ix_audit_target', ['target', 'id'], unique=False)

    op.create_table(
        'gw_audit_anchor',
        sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('last_id', sa.BigInteger(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('pruned_rows', sa.BigInteger(), nullable=False),
        sa.Column('pruned_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('gw_audit_anchor')
    op.drop_table('gw_audit')
    op.drop_table('gw_account_region')
    op.drop_table('gw_account')
