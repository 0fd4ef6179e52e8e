"""How one workflow event changes a case row: the projection from the event history
to the case table. The simulator uses it to write rows consistent with its events; an
integrator can read it as the definition of each column (docs/data-contract.md).
"""
from __future__ import annotations

from datetime import datetime

from dashboard.domain.catalog import SUPERVISION_LEVELS
from dashboard.domain.hierarchy import CODE_COLUMNS
from dashboard.domain.states import TRANSITIONS, Event, State, next_state

E = Event
CARD_COLUMNS = {"黄牌": "yellow_card_at", "红牌": "red_card_at"}


# The row of a case not yet reported, in column order: a new row is a copy of it (a dict
# display of 46 entries cost four times as much, and the backfill makes one per case).
_BLANK_ROW = {
    "id": None, "case_no": None, **dict.fromkeys(CODE_COLUMNS),
    "category": None, "subcategory": None, "source": None, "urgency": None,
    "state": None, "reported_at": None,
    "registered_at": None, "dispatched_at": None, "accepted_at": None,
    "handled_at": None, "closed_at": None, "rated_at": None,
    "sign_deadline": None, "deadline": None, "handler_level": None,
    "resolution_level": None, "supervision_level": 0, "yellow_card_at": None,
    "red_card_at": None, "rating": None,
    "dispatch_count": 0, "late_sign_count": 0, "return_count": 0, "rework_count": 0,
    "reopen_count": 0, "suspended": 0, "updated_at": None,
    # Personal information (dashboard/domain/personal.py): none unless the upstream
    # sends it; the simulator fills it in (simulator/personal.py).
    "description": None, "address": None, "reporter_name": None, "reporter_phone": None,
    "lon": None, "lat": None,
}


def new_case_row(case_id: int, case_no: str, codes: dict, fields: dict, at: datetime) -> dict:
    """The row a REPORTED event creates (before the event itself is applied)."""
    row = _BLANK_ROW.copy()
    row["id"] = case_id
    row["case_no"] = case_no
    row.update(codes)
    row["category"] = fields["category"]
    row["subcategory"] = fields["subcategory"]
    row["source"] = fields["source"]
    row["urgency"] = fields["urgency"]
    row["reported_at"] = at
    row["updated_at"] = at
    return row


def apply_event(row: dict, event: Event, at: datetime, fields: dict) -> dict:
    """Apply `event` at `at` to `row` in place; returns the changed columns.

    Raises dashboard.domain.states.IllegalTransition for an event the row's state forbids, so a
    row can only ever be the result of a legal path.
    """
    if event.__class__ is not Event:  # a member already (the simulator's case) is kept
        event = Event(event)
    state = TRANSITIONS.get((row["state"], event))
    if state is None:   # next_state's own lookup, inline; it names what is illegal
        state = next_state(row["state"], event)
    # `_value_`, not `.value`: the property costs more than the rest of a simple event.
    changes: dict = {"state": state._value_, "updated_at": at}
    columns = _COLUMNS.get(event)
    if columns is not None:
        columns(row, at, fields, changes)
    row.update(changes)
    return changes


# Each event's columns besides state and updated_at, by event: a lookup instead of a chain
# of comparisons, and plain item assignments (the backfill applies ~6 events a case).
def _registered(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["registered_at"] = at
    changes["deadline"] = fields["deadline"]
    changes["sign_deadline"] = fields["sign_deadline"]


def _dispatched(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["dispatched_at"] = at
    changes["handler_level"] = fields["level"]
    changes["dispatch_count"] = row["dispatch_count"] + 1


def _returned(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["return_count"] = row["return_count"] + 1
    changes["handler_level"] = None


def _accepted(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["accepted_at"] = at
    changes["late_sign_count"] = row["late_sign_count"] + int(bool(fields.get("late")))


def _extended(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["deadline"] = fields["deadline"]


def _suspended(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["suspended"] = 1


def _handled(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["handled_at"] = at


def _rework(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["rework_count"] = row["rework_count"] + 1
    changes["handled_at"] = None


def _closed(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["closed_at"] = at
    changes["resolution_level"] = fields["resolution_level"]
    changes["supervision_level"] = row["supervision_level"]


def _self_resolved(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    _closed(row, at, fields, changes)
    changes["supervision_level"] = 0
    changes["handler_level"] = fields["resolution_level"]


def _rated(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes["rated_at"] = at
    changes["rating"] = fields["rating"]


def _reopened(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    changes.update(reopen_count=row["reopen_count"] + 1, closed_at=None, rated_at=None,
                   rating=None, handled_at=None, resolution_level=None)


def _supervised(row: dict, at: datetime, fields: dict, changes: dict) -> None:
    level = SUPERVISION_LEVELS.index(fields["supervision"]) + 1
    changes["supervision_level"] = max(row["supervision_level"], level)
    # The card's issue time: the first of its colour the case was given.
    card = CARD_COLUMNS.get(fields["supervision"])
    if card is not None and row.get(card) is None:
        changes[card] = at


_COLUMNS = {
    E.REGISTERED: _registered, E.DISPATCHED: _dispatched, E.ESCALATED: _dispatched,
    E.RETURNED: _returned, E.ACCEPTED: _accepted, E.EXTENDED: _extended,
    E.SUSPENDED: _suspended, E.HANDLED: _handled, E.REWORK: _rework, E.CLOSED: _closed,
    E.SELF_RESOLVED: _self_resolved, E.RATED: _rated, E.REOPENED: _reopened,
    E.SUPERVISED: _supervised,
}


def current_state(row: dict) -> State | None:
    return State(row["state"]) if row.get("state") else None
