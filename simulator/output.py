"""Turning planned steps into the two outputs of the upstream system: case-event rows for
the database and entries for the Redis Stream. One function each, so both always agree.
"""
from __future__ import annotations

from dashboard.domain.projection import apply_event
from data_sources.database import EVENT_COLUMNS, json_detail
from data_sources.stream_events import encode_event
from simulator.lifecycle import Step

ACTOR_LEVEL_FIELDS = ("level", "resolution_level")


def event_row(case_id: int, seq: int, step: Step) -> dict:
    """The case_event row of a planned step (its state and level were recorded when planned)."""
    return dict(zip(EVENT_COLUMNS, event_values(case_id, seq, step)))


def event_values(case_id: int, seq: int, step: Step) -> tuple:
    """event_row as a tuple in EVENT_COLUMNS order (what the backfill hands to COPY)."""
    fields = step.fields
    actor_level = None
    if fields:
        for k in ACTOR_LEVEL_FIELDS:
            if k in fields:
                actor_level = fields[k]
                break
    return (case_id, seq, step.event._value_, step.at, step.state,
            actor_level or step.handler_level, fields.get("org"), json_detail(fields))


def stream_fields(case_id: int, seq: int, grid: str, step: Step) -> dict:
    return encode_event(step.event, case_id=case_id, seq=seq, ts=step.at, grid=grid,
                        state=step.state, **step.fields)


def apply_step(row: dict, step: Step, seq: int,
               with_stream: bool = True) -> tuple[dict, dict, dict | None]:
    """Apply a step to the live row; returns (changes, event_row, stream_fields).

    The backfill skips the stream encoding (it validates every field, which costs more than
    the rest) for history older than what it writes to the stream.
    """
    changes = apply_event(row, step.event, step.at, step.fields)
    if row["state"] != step.state:
        raise AssertionError(f"case {row['id']}: planned {step.state}, applied {row['state']}")
    fields = stream_fields(row["id"], seq, row["grid_code"], step) if with_stream else None
    return changes, event_row(row["id"], seq, step), fields
