"""SQLite's timestamps in one spelling: 'YYYY-MM-DD HH:MM:SS.ffffff'.

The seed's bulk insert (database._insert) handed SQLite naive datetimes, and sqlite3's
adapter drops a zero microsecond: a deadline or card on the hour was stored as
'… 01:00:00', which sorts before the '… 01:00:00.000000' a query binds for the same
instant. Such a time fell before a window edge at its own instant: in the hour before
its own, so the hours' rebuild wrote one hour twice. SQLite compares the text, so the
rows written that way get their microseconds; PostgreSQL stores timestamps, nothing to do.
The stored hours are rebuilt whole by the follower's first step after a start.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# The timestamp columns the bulk insert wrote (the cases and their events), as of 0013.
COLUMNS = {
    "gw_case": ("reported_at", "registered_at", "dispatched_at", "accepted_at", "handled_at",
                "closed_at", "rated_at", "sign_deadline", "deadline", "updated_at",
                "yellow_card_at", "red_card_at"),
    "case_event": ("at",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            # length 19: 'YYYY-MM-DD HH:MM:SS' exactly, the only spelling the adapter
            # gave besides the full one.
            op.execute(f"UPDATE {table} SET {column} = {column} || '.000000' "
                       f"WHERE length({column}) = 19")


def downgrade() -> None:
    pass        # the full spelling is what SQLAlchemy itself writes: nothing to undo
