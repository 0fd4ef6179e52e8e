"""One workflow transition as the event stream carries it (docs/data-contract.md): the
type the stream's codec (data_sources/stream_events.py) decodes into, and what the live
views read."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboard.domain.states import Event, State


@dataclass(frozen=True)
class StreamEvent:
    entry_id: str
    type: Event
    case_id: int
    seq: int
    ts: datetime
    grid: str
    state: State
    # Type-specific and optional fields, parsed (datetimes, bool for `late`). A plain
    # dict so events pickle (flask-caching); treat it as read-only.
    fields: dict[str, Any] = field(default_factory=dict, hash=False)
