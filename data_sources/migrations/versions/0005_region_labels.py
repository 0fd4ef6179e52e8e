"""A table of the wall maps' label layouts (gw_region_label).

Placing the labels of one region's map takes 10-300 ms of CPU; a province's 1,345 walls
starting at once made every web worker place all of them (bench.province_scale). Kept
here, each is placed once per installation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'gw_region_label',
        sa.Column('region_code', sa.String(length=20), nullable=False),
        sa.Column('sample', sa.String(length=24), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('layout', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('region_code', 'sample'),
    )


def downgrade() -> None:
    op.drop_table('gw_region_label')
