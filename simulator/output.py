"""Turning planned steps into the two outputs of the upstream system: case-event rows for
the database and entries for the Redis Stream. One function each, so both always agree.
"""
from __future__ import annotations

from dashboard.projection import apply_event
from data_sources.database import json_detail
from data_sources.stream_events import encode_event
from simulator.lifecycle import Step

ACTOR_LEVEL_FIELDS = ("level", "resolution_level")


def apply_step(row: dict, step: Step, seq: int,
               with_stream: bool = True) -> tuple[dict, dict, dict | None]:
    """Apply a step to the live row; returns (changes, event_row, stream_fields).

    The backfill skips the stream encoding (it validates every field, which costs more than
    the rest) for history older than what it writes to the stream.
    """
    changes = apply_event(row, step.event, step.at, step.fields)
    actor_level = next((step.fields[k] for k in ACTOR_LEVEL_FIELDS if k in step.fields), None)
    event_row = {
        "case_id": row["id"], "seq": seq, "event_type": step.event.value, "at": step.at,
        "state": row["state"], "actor_level": actor_level or row.get("handler_level"),
        "actor_org": step.fields.get("org"), "detail": json_detail(step.fields),
    }
    stream_fields = encode_event(step.event, case_id=row["id"], seq=seq, ts=step.at,
                                 grid=row["grid_code"], state=row["state"],
                                 **step.fields) if with_stream else None
    return changes, event_row, stream_fields
