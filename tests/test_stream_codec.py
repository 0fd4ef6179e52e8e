"""The stream codec: round trips, each rejection reason, and a fuzz loop that never raises."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from dashboard.domain.states import Event, State
from data_sources.stream_events import (
    REJECT_REASONS,
    Rejected,
    StreamEvent,
    decode_entry,
    encode_event,
    parse_time,
)

CST = timezone(timedelta(hours=8))
TS = datetime(2026, 11, 23, 9, 15, 2, 123000, tzinfo=CST)
GRID = "320102001001003"

# A state each event can lead to, and the event's own fields.
SAMPLES: dict[Event, tuple[State, dict]] = {
    Event.REPORTED: (State.REPORTED, dict(case_no="JS-2026-0001", category="城市管理",
                                          subcategory="占道经营", source="12345热线",
                                          urgency="较急")),
    Event.REJECTED: (State.REJECTED, {}),
    Event.SELF_RESOLVED: (State.CLOSED, dict(resolution_level="网格")),
    Event.REGISTERED: (State.REGISTERED, dict(deadline=TS + timedelta(days=5),
                                              sign_deadline=TS + timedelta(days=1))),
    Event.DISPATCHED: (State.DISPATCHED, dict(level="镇街", org="320102001")),
    Event.RETURNED: (State.REGISTERED, {}),
    Event.ACCEPTED: (State.IN_PROGRESS, dict(late=True)),
    Event.EXTENDED: (State.IN_PROGRESS, dict(deadline=TS + timedelta(days=9))),
    Event.ESCALATED: (State.DISPATCHED, dict(level="县区", org="320102")),
    Event.SUSPENDED: (State.SUSPENDED, {}),
    Event.RESUMED: (State.IN_PROGRESS, {}),
    Event.HANDLED: (State.VERIFYING, {}),
    Event.REWORK: (State.IN_PROGRESS, {}),
    Event.CLOSED: (State.CLOSED, dict(resolution_level="村社")),
    Event.RATED: (State.RATED, dict(rating="基本满意")),
    Event.REOPENED: (State.IN_PROGRESS, {}),
    Event.SUPERVISED: (State.DISPATCHED, dict(supervision="黄牌")),
}


def fields_for(event: Event, **extra) -> dict[str, str]:
    state, own = SAMPLES[event]
    return encode_event(event, case_id=42, seq=3, ts=TS, grid=GRID, state=state,
                        **own, **extra)


def test_samples_cover_every_event():
    assert set(SAMPLES) == set(Event)


@pytest.mark.parametrize("event", list(Event))
def test_round_trip(event):
    state, own = SAMPLES[event]
    raw = {k.encode(): v.encode() for k, v in fields_for(event).items()}
    entry_id = f"{int(TS.timestamp() * 1000)}-0"  # written at the event's time
    got = decode_entry(entry_id.encode(), raw, known_grid={GRID}.__contains__)
    assert isinstance(got, StreamEvent), got
    assert (got.entry_id, got.type, got.case_id, got.seq, got.grid, got.state) == \
        (entry_id, event, 42, 3, GRID, state)
    assert got.ts == TS and got.ts.utcoffset() == timedelta(hours=8)
    assert got.fields == own


def test_optional_fields_and_str_input():
    raw = fields_for(Event.HANDLED, org="320102001001", level="村社", note="已清理")
    raw["x-vendor-trace"] = "abc"  # unknown: ignored
    raw[b"\xff\xfe"] = b"\xff"     # unknown and not UTF-8: ignored too
    got = decode_entry("1-0", raw, None)
    assert isinstance(got, StreamEvent)
    assert got.fields == {"org": "320102001001", "level": "村社", "note": "已清理"}


def test_wire_format():
    raw = fields_for(Event.ACCEPTED)
    assert raw == {"v": "1", "type": "ACCEPTED", "case_id": "42", "seq": "3",
                   "ts": "2026-11-23T09:15:02.123+08:00", "grid": GRID,
                   "state": "IN_PROGRESS", "late": "1"}


@pytest.mark.parametrize("text,expected", [
    ("2026-11-23T01:15:02Z", datetime(2026, 11, 23, 1, 15, 2, tzinfo=timezone.utc)),
    ("2026-11-23T09:15:02.123456789+0800", datetime(2026, 11, 23, 9, 15, 2, 123456, CST)),
    ("2026-11-23 09:15:02,5+08:00", datetime(2026, 11, 23, 9, 15, 2, 500000, CST)),
])
def test_time_formats_accepted(text, expected):
    assert parse_time(text) == expected


def _mutate(event: Event, **changes) -> dict:
    raw = fields_for(event)
    for key, value in changes.items():
        if value is None:
            raw.pop(key)
        else:
            raw[key] = value
    return raw


@pytest.mark.parametrize("raw,reason", [
    (_mutate(Event.HANDLED, v="2"), "unknown_version"),
    (_mutate(Event.HANDLED, v=None), "missing_field"),
    (_mutate(Event.HANDLED, type="TELEPORTED"), "unknown_type"),
    (_mutate(Event.HANDLED, type=None), "missing_field"),
    (_mutate(Event.HANDLED, case_id=None), "missing_field"),
    (_mutate(Event.HANDLED, ts=""), "missing_field"),
    (_mutate(Event.RATED, rating=None), "missing_field"),
    (_mutate(Event.REPORTED, urgency=None), "missing_field"),
    (_mutate(Event.HANDLED, ts="2026-11-23T09:15:02"), "bad_time"),        # naive
    (_mutate(Event.HANDLED, ts="2026-02-30T09:15:02+08:00"), "bad_time"),
    (_mutate(Event.HANDLED, ts="1700000000"), "bad_time"),
    (_mutate(Event.EXTENDED, deadline="next week"), "bad_time"),
    (_mutate(Event.HANDLED, case_id="-1"), "bad_value"),
    (_mutate(Event.HANDLED, case_id="0"), "bad_value"),
    (_mutate(Event.HANDLED, seq="1.5"), "bad_value"),
    (_mutate(Event.HANDLED, seq="9" * 30), "bad_value"),
    (_mutate(Event.HANDLED, grid="32010200100100"), "bad_value"),
    (_mutate(Event.HANDLED, grid="３２０１０２００１００１００３"), "bad_value"),
    (_mutate(Event.HANDLED, state="DONE"), "bad_value"),
    (_mutate(Event.HANDLED, state="CLOSED"), "bad_value"),  # HANDLED leads to VERIFYING
    (_mutate(Event.ACCEPTED, late="yes"), "bad_value"),
    (_mutate(Event.DISPATCHED, level="省"), "bad_value"),
    (_mutate(Event.DISPATCHED, org="abc"), "bad_value"),
    (_mutate(Event.REPORTED, category="天气"), "bad_value"),
    (_mutate(Event.REPORTED, source="微博"), "bad_value"),
    (_mutate(Event.RATED, rating="很好"), "bad_value"),
    (_mutate(Event.SUPERVISED, supervision="蓝牌"), "bad_value"),
    (_mutate(Event.HANDLED, note="x" * 3000), "oversized"),
    (_mutate(Event.HANDLED, **{f"extra{i}": "y" * 1500 for i in range(6)}), "oversized"),
    (_mutate(Event.HANDLED, **{f"k{i}": "" for i in range(70)}), "oversized"),
    (_mutate(Event.HANDLED, grid=b"\xff" * 15), "bad_encoding"),
    (_mutate(Event.HANDLED, note="\ud800"), "bad_encoding"),
    (None, "bad_encoding"),
    ([("v", "1")], "bad_encoding"),
    ({"v": 1}, "bad_encoding"),
])
def test_rejections(raw, reason):
    got = decode_entry("5-0", raw, None)
    assert isinstance(got, Rejected) and got.reason == reason, got
    assert got.reason in REJECT_REASONS and got.entry_id == "5-0"


def test_unknown_grid():
    raw = fields_for(Event.HANDLED)
    assert decode_entry("1-0", raw, lambda grid: False).reason == "unknown_grid"
    assert isinstance(decode_entry("1-0", raw, lambda grid: True), StreamEvent)


def test_limits_are_parameters():
    raw = fields_for(Event.HANDLED, note="x" * 250)
    assert decode_entry("1-0", raw, None, max_field_bytes=200).reason == "oversized"
    assert decode_entry("1-0", raw, None, max_entry_bytes=270).reason == "oversized"


def test_encode_validates():
    with pytest.raises(ValueError, match="does not define"):
        encode_event(Event.HANDLED, case_id=1, seq=1, ts=TS, grid=GRID,
                     state=State.VERIFYING, rating="满意")
    with pytest.raises(ValueError, match="missing_field"):
        encode_event(Event.RATED, case_id=1, seq=1, ts=TS, grid=GRID, state=State.RATED)
    with pytest.raises(ValueError, match="bad_value"):
        encode_event(Event.HANDLED, case_id=0, seq=1, ts=TS, grid=GRID, state="VERIFYING")
    with pytest.raises(ValueError, match="aware"):
        encode_event(Event.HANDLED, case_id=1, seq=1, ts=datetime(2026, 1, 1), grid=GRID,
                     state="VERIFYING")
    with pytest.raises(ValueError, match="unknown_type"):
        encode_event("NOPE", case_id=1, seq=1, ts=TS, grid=GRID, state="VERIFYING")


def _random_bytes(rng: random.Random) -> bytes:
    n = rng.choice((0, 1, 3, 15, 40, 300, 2100, 9000))
    return rng.randbytes(n)


def _fuzz_case(rng: random.Random):
    kind = rng.random()
    if kind < 0.3:  # random bytes everywhere
        return {_random_bytes(rng)[:64]: _random_bytes(rng) for _ in range(rng.randrange(12))}
    # A valid entry with a few fields replaced, dropped or garbled.
    raw = {k.encode(): v.encode() for k, v in fields_for(rng.choice(list(Event))).items()}
    keys = list(raw) + [b"deadline", b"late", b"org", b"level", b"rating", b"zz"]
    for _ in range(rng.randrange(1, 4)):
        key = rng.choice(keys)
        action = rng.random()
        if action < 0.3:
            raw.pop(key, None)
        elif action < 0.6:
            raw[key] = _random_bytes(rng)
        elif action < 0.8:
            value = raw.get(key, b"1")
            cut = rng.randrange(len(value) + 1)
            raw[key] = value[:cut] + rng.randbytes(rng.randrange(3)) + value[cut:]
        else:
            raw[key] = rng.choice([b"", b"0", b"-0", b"1e3", b"\x00", b"NaN", "９".encode(),
                                   b"9999-12-31T23:59:59+23:59", b"0000-01-01T00:00:00Z"])
    return raw


def test_fuzz_never_raises():
    rng = random.Random(20261123)
    reasons = set()
    for _ in range(5000):
        got = decode_entry(rng.randbytes(8), _fuzz_case(rng), lambda grid: grid[-1] != "7")
        assert isinstance(got, (StreamEvent, Rejected))
        if isinstance(got, Rejected):
            assert got.reason in REJECT_REASONS
            assert not got.detail.startswith("internal:"), got  # the catch-all is a bug
            reasons.add(got.reason)
    assert reasons >= {"bad_encoding", "missing_field", "bad_value", "oversized"}


# -- bounds: well-formed but impossible values (issue 9, item 2) --------------------------
def _id_at(when: datetime) -> str:
    """An entry ID whose millisecond part is `when`, as Redis gives a live or backfilled entry."""
    return f"{int(when.timestamp() * 1000)}-0"


LIVE_ID = _id_at(TS)


@pytest.mark.parametrize("ts", [
    "9999-12-31T23:59:59Z",            # the probe's entry: overflowed in Asia/Shanghai
    "9999-12-31T23:59:59+23:59",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "2100-01-01T00:00:00+08:00",       # year 2100 as written, even if 2099 in UTC
    "2099-12-31T23:00:00-05:00",       # 2100 in UTC
    "2000-01-01T07:00:00+08:00",       # 1999 in UTC
    "2026-11-23T09:15:02+23:59",       # no time zone is 23 h 59 min from UTC
    "2026-11-23T09:15:02-15:00",
])
def test_impossible_times_are_bad_time(ts):
    for entry_id in (LIVE_ID, "0-0", "5-1"):
        got = decode_entry(entry_id, _mutate(Event.HANDLED, ts=ts), None)
        assert isinstance(got, Rejected) and got.reason == "bad_time", (entry_id, got)
    with pytest.raises(ValueError):
        parse_time(ts)


def test_ts_not_later_than_its_entry_id():
    def decode(ts: datetime, entry_id: str = LIVE_ID):
        return decode_entry(entry_id, _mutate(Event.HANDLED, ts=ts.isoformat()), None)
    assert isinstance(decode(TS), StreamEvent)
    assert isinstance(decode(TS - timedelta(days=300)), StreamEvent)  # a late replay: fine
    assert isinstance(decode(TS + timedelta(minutes=4, seconds=59)), StreamEvent)  # skew
    for ahead in (timedelta(minutes=5, seconds=1), timedelta(days=1), timedelta(days=3650)):
        got = decode(TS + ahead)
        assert got.reason == "bad_time" and "after its entry ID" in got.detail, got
    # A backfill writes IDs at event times: the same rule holds there.
    old = TS - timedelta(days=20)
    assert isinstance(decode(old, _id_at(old)), StreamEvent)
    assert decode(old + timedelta(hours=1), _id_at(old)).reason == "bad_time"
    # IDs that carry no real time (chosen by hand, or the encoder's "0-0") only get the
    # absolute bounds; so do IDs that are not IDs at all.
    for entry_id in ("0-0", "5-0", "4102444800000-0", "garbage", "\udcff"):
        assert isinstance(decode(TS + timedelta(days=3650), entry_id), StreamEvent), entry_id
    assert decode(TS, "5-0").entry_id == "5-0"
    # The allowance is a parameter.
    assert decode_entry(LIVE_ID, _mutate(Event.HANDLED, ts=(TS + timedelta(seconds=2)).isoformat()),
                        None, max_ts_ahead=timedelta(seconds=1)).reason == "bad_time"


@pytest.mark.parametrize("event,field,value,ok", [
    (Event.REGISTERED, "deadline", "9999-12-31T23:59:59Z", False),
    (Event.REGISTERED, "sign_deadline", "0001-01-01T00:00:00Z", False),
    (Event.REGISTERED, "deadline", (TS + timedelta(days=367)).isoformat(), False),
    (Event.REGISTERED, "sign_deadline", (TS - timedelta(days=367)).isoformat(), False),
    (Event.EXTENDED, "deadline", (TS + timedelta(days=365)).isoformat(), True),
    (Event.EXTENDED, "deadline", (TS - timedelta(days=2)).isoformat(), True),
    (Event.EXTENDED, "deadline", "2099-06-01T00:00:00+08:00", False),
])
def test_deadlines_within_a_year_of_ts(event, field, value, ok):
    got = decode_entry(LIVE_ID, _mutate(event, **{field: value}), None)
    if ok:
        assert isinstance(got, StreamEvent), got
    else:
        assert got.reason == "bad_time" and field in got.detail, got


@pytest.mark.parametrize("event,changes,ok", [
    (Event.HANDLED, {"case_id": str(2**53 - 1)}, True),
    (Event.HANDLED, {"case_id": str(2**53)}, False),             # a browser would round it
    (Event.HANDLED, {"case_id": "9" * 18}, False),
    (Event.HANDLED, {"seq": "32767"}, True),
    (Event.HANDLED, {"seq": "32768"}, False),                    # case_event.seq: smallint
    (Event.HANDLED, {"seq": "999999999999"}, False),
    (Event.REPORTED, {"case_no": "N" * 32}, True),
    (Event.REPORTED, {"case_no": "N" * 33}, False),
    (Event.REPORTED, {"case_no": "长" * 600}, False),              # fits 2 KiB, not a row
    (Event.REPORTED, {"case_no": "JS-0001\n<b>"}, False),
    (Event.REPORTED, {"case_no": "JS\x00001"}, False),
    (Event.REPORTED, {"subcategory": "婚姻家庭邻里纠纷"}, True),
    (Event.REPORTED, {"subcategory": "纠" * 17}, False),
    (Event.HANDLED, {"note": "已清理。\n第二行\t备注"}, True),
    (Event.HANDLED, {"note": "x" * 256}, True),
    (Event.HANDLED, {"note": "x" * 257}, False),
    (Event.HANDLED, {"note": "bell\x07"}, False),
])
def test_bounded_values(event, changes, ok):
    got = decode_entry(LIVE_ID, _mutate(event, **changes), None)
    if ok:
        assert isinstance(got, StreamEvent), got
    else:
        assert isinstance(got, Rejected) and got.reason == "bad_value", got


def test_encoder_refuses_what_the_decoder_rejects():
    with pytest.raises(ValueError, match="bad_time"):
        encode_event(Event.HANDLED, case_id=1, seq=1, ts=datetime(9999, 12, 31, tzinfo=timezone.utc),
                     grid=GRID, state="VERIFYING")
    with pytest.raises(ValueError, match="bad_value"):
        encode_event(Event.HANDLED, case_id=1, seq=40000, ts=TS, grid=GRID, state="VERIFYING")


def test_every_accepted_time_converts_to_any_zone():
    """Whatever the decoder accepts, the ticker can show: no overflow in any time zone."""
    from zoneinfo import ZoneInfo
    zones = [ZoneInfo(z) for z in ("Asia/Shanghai", "Pacific/Kiritimati", "Etc/GMT+12")]
    rng = random.Random(9)
    years = [1, 999, 1999, 2000, 2001, 2026, 2098, 2099, 2100, 9999]
    offsets = ["Z", "+00:00", "+08:00", "+14:00", "-12:00", "+23:59", "-23:59"]
    accepted = 0
    for _ in range(3000):
        ts = (f"{rng.choice(years):04d}-{rng.choice([1, 12]):02d}-{rng.choice([1, 31]):02d}"
              f"T{rng.choice([0, 23]):02d}:59:59{rng.choice(offsets)}")
        deadline = ts.replace(ts[:4], f"{rng.choice(years):04d}", 1)
        raw = _mutate(Event.EXTENDED, ts=ts, deadline=deadline)
        got = decode_entry(rng.choice(["0-0", LIVE_ID, "4102444799999-0"]), raw, None)
        if isinstance(got, StreamEvent):
            accepted += 1
            for zone in zones:
                got.ts.astimezone(zone).strftime("%H:%M:%S")
                got.fields["deadline"].astimezone(zone)
                (got.fields["deadline"] - got.ts).total_seconds()
    assert accepted > 100
