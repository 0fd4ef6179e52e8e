"""Codec of the event stream: one Redis Stream entry per workflow transition (schema v1).

Pure functions, no Redis: the simulator encodes with `encode_event`, the reader decodes
with `decode_entry`, and both apply the same rules. docs/data-contract.md is written
from this docstring.

Every entry's fields are UTF-8 strings.

Always present:
    v           schema version, "1"; any other value is rejected (unknown_version)
    type        event type, a dashboard.domain.states.Event value, e.g. "DISPATCHED"
    case_id     the case's id in the case database: integer 1 .. 2**53 - 1 (the largest
                integer a browser's JSON keeps exactly; the ticker links to it)
    seq         the case's event sequence number, integer 1 .. 32767 (1 is its REPORTED;
                case_event.seq is a smallint)
    ts          when it happened: ISO 8601 with a UTC offset, 2026-11-23T09:15:02.123+08:00
                ("Z" allowed, up to 9 fraction digits, kept to microseconds). Bounds:
                the year is 2000-2099 and the instant, in UTC, lies in [2000-01-01,
                2100-01-01); the offset is at most 14:00 either way; and when the entry
                ID carries a real time (its millisecond part is itself in 2000-2099) ts
                is at most MAX_TS_AHEAD (5 minutes of clock skew) after it. Backfilled
                history uses IDs at event times, live entries IDs at "now", so a real
                event is never later than its ID; a ts far in the future is a corrupt
                entry (it used to overflow when converted to the region's time zone).
    grid        15-digit grid code of the case
    state       the case's dashboard.domain.states.State after the event; must be a state
                the event can lead to (REPORTED -> REPORTED, CLOSED -> CLOSED, ...)

Per type (required):
    REPORTED            case_no, category, subcategory, source, urgency
                        (category, source, urgency from dashboard.domain.catalog vocabularies;
                        subcategory is free text, as sources name them differently)
    REGISTERED          deadline, sign_deadline (ISO 8601 with offset, the same absolute
                        bounds as ts, and within MAX_DEADLINE_SPAN (366 days) of ts either
                        way)
    DISPATCHED          level (网格/村社/镇街/县区/市), org (region code of the receiver)
    ESCALATED           level, org
    ACCEPTED            late ("1": signed after sign_deadline, else "0")
    EXTENDED            deadline (bounded as REGISTERED's)
    SELF_RESOLVED       resolution_level (网格/村社/镇街/县区/市)
    CLOSED              resolution_level
    RATED               rating (满意/基本满意/不满意)
    SUPERVISED          supervision (催办/黄牌/红牌)
    REJECTED RETURNED SUSPENDED RESUMED HANDLED REWORK REOPENED: nothing extra

Optional on any type: org (region code), level, note (free text).

Free text is bounded to what a screen row can show and the case table can hold:
case_no at most 32 characters (gw_case.case_no), subcategory at most 16 (gw_case.
subcategory), note at most 256; none of them may contain control characters (note may
hold line breaks and tabs). Longer or control-laden text is bad_value.

Unknown fields are ignored, whatever their bytes, so producers may add fields without a
version bump. An entry is rejected with one reason from REJECT_REASONS, checked in this
order: oversized (whole entry above 8 KiB, any key or value above 2 KiB, more than 64
fields), bad_encoding (a known field is not UTF-8), missing_field (`v` absent or empty),
unknown_version, unknown_type, missing_field (any other required field absent or empty),
bad_time (ts, deadline, sign_deadline: malformed, or outside the bounds above), bad_value
(anything else malformed, outside its vocabulary or outside its bounds), unknown_grid
(well-formed grid the caller's `known_grid` does not know).

Decoding is per entry. Whether an entry repeats an earlier one (the same case_id and seq)
is the reader's business: data_sources.stream_skips.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from dashboard.domain.catalog import (
    CATEGORIES,
    RATINGS,
    RESOLUTION_LEVELS,
    SOURCES,
    SUPERVISION_LEVELS,
    URGENCIES,
)
from dashboard.domain.events import StreamEvent
from dashboard.domain.hierarchy import is_valid_code
from dashboard.domain.states import TRANSITIONS, Event, State

SCHEMA_VERSION = "1"
MAX_ENTRY_BYTES = 8 * 1024
MAX_FIELD_BYTES = 2 * 1024
MAX_FIELDS = 64

REJECT_REASONS = ("unknown_version", "unknown_type", "missing_field", "bad_time",
                  "bad_value", "unknown_grid", "oversized", "bad_encoding")

# Bounds on values that are well-formed but impossible (see the module docstring).
MIN_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_TIME = datetime(2100, 1, 1, tzinfo=timezone.utc)   # exclusive
MAX_OFFSET = timedelta(hours=14)                       # Kiribati, UTC+14, is the extreme
MAX_TS_AHEAD = timedelta(minutes=5)                    # ts after its entry ID's time
MAX_DEADLINE_SPAN = timedelta(days=366)                # deadline, sign_deadline from ts
MAX_CASE_ID = 2**53 - 1
MAX_SEQ = 32767
MAX_TEXT = {"case_no": 32, "subcategory": 16, "note": 256}   # characters

COMMON_FIELDS = ("v", "type", "case_id", "seq", "ts", "grid", "state")
OPTIONAL_FIELDS = ("org", "level", "note")
TYPE_FIELDS: dict[Event, tuple[str, ...]] = {
    Event.REPORTED: ("case_no", "category", "subcategory", "source", "urgency"),
    Event.REGISTERED: ("deadline", "sign_deadline"),
    Event.DISPATCHED: ("level", "org"),
    Event.ESCALATED: ("level", "org"),
    Event.ACCEPTED: ("late",),
    Event.EXTENDED: ("deadline",),
    Event.SELF_RESOLVED: ("resolution_level",),
    Event.CLOSED: ("resolution_level",),
    Event.RATED: ("rating",),
    Event.SUPERVISED: ("supervision",),
}
_KNOWN = frozenset(COMMON_FIELDS + OPTIONAL_FIELDS).union(*TYPE_FIELDS.values())
_TIME_FIELDS = frozenset({"deadline", "sign_deadline"})
# The states each event can lead to; a `state` outside this set is a corrupt entry.
_RESULT_STATES: dict[Event, frozenset[State]] = {
    ev: frozenset(s for (_, e), s in TRANSITIONS.items() if e == ev) for ev in Event}

# Extended ISO 8601 with a mandatory offset: fromisoformat alone also takes basic format
# and naive times, which an integrator would then see accepted here and rejected by a
# stricter consumer.
_TS_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(?:(Z|z)|([+-])(\d{2}):?(\d{2}))", re.ASCII)
_INT_RE = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)  # fits a signed 64-bit BIGINT
_GRID_RE = re.compile(r"[0-9]{15}", re.ASCII)
_ID_MS_RE = re.compile(r"([0-9]{1,20})-[0-9]{1,20}", re.ASCII)
# C0 and C1 controls and DEL; note may keep \t and \n.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOTE_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Rejected:
    entry_id: str
    reason: str
    detail: str = field(default="", compare=False)


class _Reject(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def parse_time(text: str) -> datetime:
    """An aware datetime from strict ISO 8601 with offset, inside the absolute bounds
    (years 2000-2099, offset at most 14:00); ValueError otherwise. Any datetime it returns
    converts to any time zone without overflow."""
    m = _TS_RE.fullmatch(text)
    if not m:
        raise ValueError(f"not ISO 8601 with a UTC offset: {text[:40]!r}")
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    if not MIN_TIME.year <= int(y) < MAX_TIME.year:
        raise ValueError(f"year outside {MIN_TIME.year}-{MAX_TIME.year - 1}: {text[:40]!r}")
    if z:
        tz = timezone.utc
    else:
        if int(om) > 59:
            raise ValueError(f"bad UTC offset in {text[:40]!r}")
        delta = timedelta(hours=int(oh), minutes=int(om))
        if delta > MAX_OFFSET:
            raise ValueError(f"UTC offset beyond 14:00 in {text[:40]!r}")
        tz = timezone(-delta if sign == "-" else delta)
    micro = int((frac or "0")[:6].ljust(6, "0"))
    value = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tz)
    if not MIN_TIME <= value < MAX_TIME:  # e.g. 2099-12-31T23:00-05:00 is in 2100 (UTC)
        raise ValueError(f"outside {MIN_TIME.year}-{MAX_TIME.year - 1} in UTC: {text[:40]!r}")
    return value


_MIN_MS, _MAX_MS = (int(t.timestamp()) * 1000 for t in (MIN_TIME, MAX_TIME))


def real_id_time(entry_id: str) -> datetime | None:
    """The time of a stream entry ID's millisecond part when it is a real time (inside the
    absolute bounds), else None (IDs such as "0-0" or "5-1" chosen by hand)."""
    m = _ID_MS_RE.fullmatch(entry_id)
    if not m or not _MIN_MS <= int(m.group(1)) < _MAX_MS:
        return None
    return MIN_TIME + timedelta(milliseconds=int(m.group(1)) - _MIN_MS)


def format_time(value: datetime) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"need an aware datetime, got {value!r}")
    return value.isoformat(timespec="milliseconds")


def _size(x: object) -> int:
    if isinstance(x, (bytes, bytearray, memoryview)):
        return len(x)
    if isinstance(x, str):
        return len(x.encode("utf-8", "surrogatepass"))
    raise _Reject("bad_encoding", f"field of type {type(x).__name__}")


def _text(x: bytes | str) -> str:
    if isinstance(x, str):
        x.encode("utf-8")  # lone surrogates are not UTF-8 either
        return x
    return bytes(x).decode("utf-8")


def _decode_fields(raw: object, max_entry: int, max_field: int) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise _Reject("bad_encoding", f"entry is a {type(raw).__name__}")
    if len(raw) > MAX_FIELDS:
        raise _Reject("oversized", f"{len(raw)} fields")
    total = 0
    for key, value in raw.items():
        ks, vs = _size(key), _size(value)
        if ks > max_field or vs > max_field:
            raise _Reject("oversized", "field above limit")
        total += ks + vs
    if total > max_entry:
        raise _Reject("oversized", f"{total} bytes")
    out: dict[str, str] = {}
    for key, value in raw.items():
        try:
            name = _text(key)
        except UnicodeError:
            continue  # cannot be a known field: ignored like any unknown field
        if name not in _KNOWN:
            continue
        try:
            out[name] = _text(value)
        except UnicodeError:
            raise _Reject("bad_encoding", f"field {name!r}") from None
    return out


def _require(f: dict[str, str], names) -> None:
    for name in names:
        if not f.get(name):
            raise _Reject("missing_field", name)


def _int(f: dict[str, str], name: str, maximum: int) -> int:
    if not _INT_RE.fullmatch(f[name]) or int(f[name]) > maximum:
        raise _Reject("bad_value", f"{name}={f[name][:40]!r}")
    return int(f[name])


def _time(f: dict[str, str], name: str) -> datetime:
    try:
        return parse_time(f[name])
    except ValueError as exc:  # includes out-of-range dates such as 2026-02-30
        raise _Reject("bad_time", f"{name}: {exc}") from None


def _one_of(f: dict[str, str], name: str, allowed) -> str:
    if f[name] not in allowed:
        raise _Reject("bad_value", f"{name}={f[name][:40]!r}")
    return f[name]


def _extra(f: dict[str, str], name: str) -> Any:
    """Parse one type-specific or optional field (present and non-empty)."""
    if name in _TIME_FIELDS:
        return _time(f, name)
    if name == "late":
        return _one_of(f, name, ("0", "1")) == "1"
    if name in ("level", "resolution_level"):
        return _one_of(f, name, RESOLUTION_LEVELS)
    if name == "org":
        if not is_valid_code(f[name]) or not f[name].isascii():
            raise _Reject("bad_value", f"org={f[name][:40]!r}")
        return f[name]
    vocab = {"category": CATEGORIES, "source": SOURCES, "urgency": URGENCIES,
             "rating": RATINGS, "supervision": SUPERVISION_LEVELS}.get(name)
    if vocab is not None:
        return _one_of(f, name, vocab)
    return _free_text(f, name)  # case_no, subcategory, note


def _free_text(f: dict[str, str], name: str) -> str:
    value = f[name]
    if len(value) > MAX_TEXT[name]:
        raise _Reject("bad_value", f"{name}: {len(value)} characters, at most {MAX_TEXT[name]}")
    if (_NOTE_CONTROL_RE if name == "note" else _CONTROL_RE).search(value):
        raise _Reject("bad_value", f"{name}: control character")
    return value


def _check_times(entry_id: str, ts: datetime, parsed: dict[str, Any],
                 max_ahead: timedelta) -> None:
    """The bounds that relate times: ts to the entry ID's time, deadlines to ts."""
    at = real_id_time(entry_id)
    if at is not None and ts - at > max_ahead:
        raise _Reject("bad_time", f"ts {ts.isoformat()} is {(ts - at).total_seconds():.0f} s "
                                  f"after its entry ID's time {at.isoformat()}")
    for name in _TIME_FIELDS:
        value = parsed.get(name)
        if value is not None and abs(value - ts) > MAX_DEADLINE_SPAN:
            raise _Reject("bad_time", f"{name} {value.isoformat()} is more than "
                                      f"{MAX_DEADLINE_SPAN.days} days from ts")


def _decode(entry_id: str, raw: object, max_entry: int, max_field: int,
            max_ahead: timedelta) -> StreamEvent:
    f = _decode_fields(raw, max_entry, max_field)
    _require(f, ("v",))
    if f["v"] != SCHEMA_VERSION:
        raise _Reject("unknown_version", f["v"][:40])
    _require(f, ("type",))
    try:
        event = Event(f["type"])
    except ValueError:
        raise _Reject("unknown_type", f["type"][:40]) from None
    required = TYPE_FIELDS.get(event, ())
    _require(f, COMMON_FIELDS + required)
    ts = _time(f, "ts")
    parsed = {name: _extra(f, name) for name in required if name in _TIME_FIELDS}
    _check_times(entry_id, ts, parsed, max_ahead)
    case_id, seq = _int(f, "case_id", MAX_CASE_ID), _int(f, "seq", MAX_SEQ)
    if not _GRID_RE.fullmatch(f["grid"]):
        raise _Reject("bad_value", f"grid={f['grid'][:40]!r}")
    try:
        state = State(f["state"])
    except ValueError:
        raise _Reject("bad_value", f"state={f['state'][:40]!r}") from None
    if state not in _RESULT_STATES[event]:
        raise _Reject("bad_value", f"{event.value} cannot lead to {state.value}")
    for name in required + OPTIONAL_FIELDS:
        if name not in parsed and f.get(name):
            parsed[name] = _extra(f, name)
    return StreamEvent(entry_id, event, case_id, seq, ts, f["grid"], state, parsed)


def case_id_of(raw_fields: Mapping[bytes | str, bytes | str]) -> int | None:
    """The case an entry names, read alone (None if it names none that decode_entry would
    accept): for a reader that reads the cases again from the database and needs only
    which ones, so that it does not check and decode every field of every entry."""
    raw = raw_fields.get(b"case_id", raw_fields.get("case_id")) \
        if isinstance(raw_fields, Mapping) else None
    try:
        text = _text(raw) if raw is not None else ""
    except UnicodeError:
        return None
    if not _INT_RE.fullmatch(text) or int(text) > MAX_CASE_ID:
        return None
    return int(text)


def decode_entry(entry_id: bytes | str, raw_fields: Mapping[bytes | str, bytes | str],
                 known_grid: Callable[[str], bool] | None = None, *,
                 max_entry_bytes: int = MAX_ENTRY_BYTES,
                 max_field_bytes: int = MAX_FIELD_BYTES,
                 max_ts_ahead: timedelta = MAX_TS_AHEAD) -> StreamEvent | Rejected:
    """One stream entry as a StreamEvent, or Rejected with its reason.

    Never raises on bad input. `known_grid` is the caller's (fast, in-memory) lookup;
    an exception from it propagates, because rejecting every entry while the caller's
    region data is broken would silently empty the wall. `entry_id` takes part: a ts
    more than `max_ts_ahead` after the ID's own time is bad_time.
    """
    if isinstance(entry_id, (bytes, bytearray)):
        entry_id = bytes(entry_id).decode("ascii", "replace")
    entry_id = str(entry_id)
    try:
        event = _decode(entry_id, raw_fields, max_entry_bytes, max_field_bytes, max_ts_ahead)
    except _Reject as rej:
        return Rejected(entry_id, rej.reason, rej.detail)
    except Exception as exc:  # noqa: BLE001 - a codec bug must not stop the reader
        return Rejected(entry_id, "bad_encoding", f"internal: {type(exc).__name__}: {exc}")
    if known_grid is not None and not known_grid(event.grid):
        return Rejected(entry_id, "unknown_grid", event.grid)
    return event


def encode_event(event: Event | str, *, case_id: int, seq: int, ts: datetime, grid: str,
                 state: State | str, **fields: Any) -> dict[str, str]:
    """The stream fields of one event, validated with decode_entry's rules.

    `fields` holds the type's required fields and any of org/level/note: datetimes for
    deadline/sign_deadline, bool for late, str otherwise. Raises ValueError naming the
    reason when the result would be rejected, or for a field the type does not define.
    """
    try:
        event = Event(event)
    except ValueError:
        raise ValueError(f"unknown_type: {event!r}") from None
    allowed = set(TYPE_FIELDS.get(event, ())) | set(OPTIONAL_FIELDS)
    if unknown := set(fields) - allowed:
        raise ValueError(f"{event.value} does not define fields {sorted(unknown)}")
    out = {"v": SCHEMA_VERSION, "type": event.value, "case_id": str(case_id),
           "seq": str(seq), "ts": format_time(ts), "grid": str(grid),
           "state": State(state).value if isinstance(state, State) else str(state)}
    for name, value in fields.items():
        if value is None:
            continue
        if name in _TIME_FIELDS:
            value = format_time(value)
        elif name == "late":
            if not isinstance(value, bool):
                raise ValueError(f"late must be a bool, got {value!r}")
            value = "1" if value else "0"
        out[name] = str(value)
    result = decode_entry("0-0", out)
    if isinstance(result, Rejected):
        raise ValueError(f"{result.reason}: {result.detail}")
    return out
