"""How one workflow event changes a case row: the projection from the event history
to the case table. The simulator uses it to write rows consistent with its events; an
integrator can read it as the definition of each column (docs/data-contract.md).
"""
from __future__ import annotations

from datetime import datetime

from dashboard.domain.catalog import SUPERVISION_LEVELS
from dashboard.domain.states import Event, State, next_state

E = Event
CARD_COLUMNS = {"黄牌": "yellow_card_at", "红牌": "red_card_at"}


def new_case_row(case_id: int, case_no: str, codes: dict, fields: dict, at: datetime) -> dict:
    """The row a REPORTED event creates (before the event itself is applied)."""
    row = {
        "id": case_id, "case_no": case_no, **codes,
        "category": fields["category"], "subcategory": fields["subcategory"],
        "source": fields["source"], "urgency": fields["urgency"],
        "state": None, "reported_at": at,
        "registered_at": None, "dispatched_at": None, "accepted_at": None,
        "handled_at": None, "closed_at": None, "rated_at": None,
        "sign_deadline": None, "deadline": None, "handler_level": None,
        "resolution_level": None, "supervision_level": 0, "yellow_card_at": None,
        "red_card_at": None, "rating": None,
        "dispatch_count": 0, "late_sign_count": 0, "return_count": 0, "rework_count": 0,
        "reopen_count": 0, "suspended": 0, "updated_at": at,
        # Personal information (dashboard/domain/personal.py): none unless the upstream
        # sends it; the simulator fills it in (simulator/personal.py).
        "description": None, "address": None, "reporter_name": None, "reporter_phone": None,
        "lon": None, "lat": None,
    }
    return row


def apply_event(row: dict, event: Event, at: datetime, fields: dict) -> dict:
    """Apply `event` at `at` to `row` in place; returns the changed columns.

    Raises dashboard.domain.states.IllegalTransition for an event the row's state forbids, so a
    row can only ever be the result of a legal path.
    """
    if event.__class__ is not Event:  # a member already (the simulator's case) is kept
        event = Event(event)
    state = next_state(row["state"], event)
    # `_value_`, not `.value`: the property costs more than the rest of a simple event.
    changes: dict = {"state": state._value_, "updated_at": at}
    if event == E.REGISTERED:
        changes.update(registered_at=at, deadline=fields["deadline"],
                       sign_deadline=fields["sign_deadline"])
    elif event in (E.DISPATCHED, E.ESCALATED):
        changes.update(dispatched_at=at, handler_level=fields["level"],
                       dispatch_count=row["dispatch_count"] + 1)
    elif event == E.RETURNED:
        changes.update(return_count=row["return_count"] + 1, handler_level=None)
    elif event == E.ACCEPTED:
        changes.update(accepted_at=at,
                       late_sign_count=row["late_sign_count"] + int(bool(fields.get("late"))))
    elif event == E.EXTENDED:
        changes.update(deadline=fields["deadline"])
    elif event == E.SUSPENDED:
        changes.update(suspended=1)
    elif event == E.HANDLED:
        changes.update(handled_at=at)
    elif event == E.REWORK:
        changes.update(rework_count=row["rework_count"] + 1, handled_at=None)
    elif event in (E.CLOSED, E.SELF_RESOLVED):
        changes.update(closed_at=at, resolution_level=fields["resolution_level"],
                       supervision_level=0 if event == E.SELF_RESOLVED else row["supervision_level"])
        if event == E.SELF_RESOLVED:
            changes["handler_level"] = fields["resolution_level"]
    elif event == E.RATED:
        changes.update(rated_at=at, rating=fields["rating"])
    elif event == E.REOPENED:
        changes.update(reopen_count=row["reopen_count"] + 1, closed_at=None, rated_at=None,
                       rating=None, handled_at=None, resolution_level=None)
    elif event == E.SUPERVISED:
        level = SUPERVISION_LEVELS.index(fields["supervision"]) + 1
        changes.update(supervision_level=max(row["supervision_level"], level))
        # The card's issue time: the first of its colour the case was given.
        card = CARD_COLUMNS.get(fields["supervision"])
        if card is not None and row.get(card) is None:
            changes[card] = at
    row.update(changes)
    return changes


def current_state(row: dict) -> State | None:
    return State(row["state"]) if row.get("state") else None
