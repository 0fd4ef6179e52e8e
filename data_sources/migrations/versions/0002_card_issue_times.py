"""Card issue times: gw_case.yellow_card_at and red_card_at, and their partial indexes.

The ranking's card penalty counts the 黄牌 and 红牌 issued in a window (DOMAIN.md §6);
supervision_level only says which card a case holds now. Each column is the time the
case was given its first card of that colour (dashboard/domain/projection.py).

Existing rows are backfilled from their SUPERVISED events in case_event: one UPDATE per
column over the carded cases only (supervision_level >= 2, a few in a hundred), each a
lookup by ix_event_case. Adding the nullable columns is cheap; the UPDATE and building
the two indexes each read gw_case once, and on PostgreSQL they hold the table's write
lock until the upgrade's transaction commits: on tens of millions of rows, run
`gridwatch db upgrade` in a quiet hour.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# card column -> (the supervision_level a case holding it has at least, the card's name
# in a SUPERVISED event's detail JSON)
CARDS = {"yellow_card_at": (2, "黄牌"), "red_card_at": (3, "红牌")}


def upgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('yellow_card_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('red_card_at', sa.DateTime(timezone=True), nullable=True))
    for column, (level, name) in CARDS.items():
        op.execute(sa.text(
            f"UPDATE gw_case SET {column} = (SELECT min(e.at) FROM case_event e "
            "WHERE e.case_id = gw_case.id AND e.event_type = 'SUPERVISED' "
            "AND e.detail LIKE :card) WHERE supervision_level >= :level"
        ).bindparams(card=f'%"{name}"%', level=level))
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.create_index('ix_case_red_card', ['red_card_at'], unique=False, postgresql_where=sa.text('red_card_at IS NOT NULL'), sqlite_where=sa.text('red_card_at IS NOT NULL'))
        batch_op.create_index('ix_case_yellow_card', ['yellow_card_at'], unique=False, postgresql_where=sa.text('yellow_card_at IS NOT NULL'), sqlite_where=sa.text('yellow_card_at IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('gw_case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_yellow_card', postgresql_where=sa.text('yellow_card_at IS NOT NULL'), sqlite_where=sa.text('yellow_card_at IS NOT NULL'))
        batch_op.drop_index('ix_case_red_card', postgresql_where=sa.text('red_card_at IS NOT NULL'), sqlite_where=sa.text('red_card_at IS NOT NULL'))
        batch_op.drop_column('red_card_at')
        batch_op.drop_column('yellow_card_at')
