"""A township's cards, by its own partial indexes.

A township's /kpi and /region count every window from the case table (its children are
communities, finer than the daily aggregates). Its cards of a window were found through
the province's partial card indexes, every card of the province in the window read to
keep the township's: 30-45 ms a colour and window for a month or a year at 10M cases,
most of a township's first view (bench.first_views). By (township, time) they take ~1 ms.
The indexes hold the carded cases only (~7% yellow, ~2% red at 10M); 5 s to build both
at 10M.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CARDS = ("yellow", "red")


def _carded(card: str):
    return sa.text(f"{card}_card_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        for card in CARDS:
            batch_op.create_index(f'ix_case_township_{card}_card',
                                  ['township_code', f'{card}_card_at'], unique=False,
                                  postgresql_where=_carded(card), sqlite_where=_carded(card))


def downgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        for card in CARDS:
            batch_op.drop_index(f'ix_case_township_{card}_card',
                                postgresql_where=_carded(card), sqlite_where=_carded(card))
