"""The province's deadline index carries the columns of "due, not closed".

A province's /kpi compares with the previous period's same elapsed part (上期) and a
year ago's (去年同期). Their due cases in the part-day where they end were read through
ix_case_deadline: a day's ~80,000 deadlines, of cases reported over weeks, one heap page
each: 138-155 ms of a ~220 ms view at 10M cases. With the scope's code, the child's code,
the state and the closing time in the index, it is an index-only scan: 10-19 ms.
PostgreSQL only: SQLite has no INCLUDE, and its index stays as it was.

Rebuilding the index takes ~10 s at 10M cases on this project's 2-core bench machine
and blocks writes to gw_case meanwhile: run it in a quiet hour on a large installation.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""
from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _recreate(include: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index('ix_case_deadline', table_name='gw_case')
    op.create_index('ix_case_deadline', 'gw_case', ['deadline'], unique=False,
                    postgresql_include=include)


def upgrade() -> None:
    _recreate(["province_code", "city_code", "state", "closed_at"])


def downgrade() -> None:
    _recreate([])
