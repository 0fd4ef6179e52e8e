"""The event stream against a real Redis: appends, incremental reads, trimming, health."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from dashboard.domain.states import State
from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream, StreamReader, id_time, stream_health
from data_sources.stream_events import encode_event

GRID = "320102001001003"
OTHER_GRID = "320102001001004"
TS = datetime(2026, 11, 23, 9, 15, 2, 123000, tzinfo=timezone(timedelta(hours=8)))
KNOWN = {GRID}.__contains__


@pytest.fixture
def stream(redis_client, key_prefix):
    return EventStream(redis_client, key_prefix + "events")


def valid(case_id: int) -> dict[str, str]:
    return encode_event("HANDLED", case_id=case_id, seq=4, ts=TS, grid=GRID,
                        state=State.VERIFYING)


def malformed() -> list[tuple[dict, str]]:
    bad_time = valid(1) | {"ts": "23/11/2026 09:15"}
    missing = valid(1)
    del missing["seq"]
    return [
        (valid(1) | {"type": "TELEPORTED"}, "unknown_type"),
        (valid(1) | {"grid": OTHER_GRID}, "unknown_grid"),
        (bad_time, "bad_time"),
        (missing, "missing_field"),
        (valid(1) | {"note": "长" * 1000}, "oversized"),  # 3000 bytes of UTF-8
        (valid(1) | {"grid": b"\xc3\x28" * 7 + b"1"}, "bad_encoding"),
        (valid(1) | {"v": "2"}, "unknown_version"),
    ]


def test_reader_skips_and_counts_bad_entries(stream):
    entries, expected_ids, case_id = [], [], 100
    for bad, _reason in malformed():
        entries += [valid(case_id), bad]
        case_id += 1
    entries.append(valid(case_id))
    ids = stream.append_many(entries)
    assert len(ids) == len(entries) == stream.length()
    expected_ids = ids[0::2]

    reader = StreamReader(stream, known_grid=KNOWN)
    result = reader.read("0-0", count=100)
    assert [e.entry_id for e in result.events] == expected_ids
    assert [e.case_id for e in result.events] == list(range(100, case_id + 1))
    assert result.rejected == Counter(reason for _, reason in malformed())
    assert result.last_id == ids[-1]
    assert reader.rejected_total == result.rejected

    # A bad entry at the tail still moves the cursor past it.
    bad_id = stream.append(valid(1) | {"type": "NOPE"})
    again = reader.read(result.last_id)
    assert again.events == [] and again.last_id == bad_id
    assert reader.rejected_total["unknown_type"] == 2
    assert reader.read(bad_id).last_id == bad_id  # nothing new: cursor stays


def test_case_ids_reads_which_cases_entries_name_in_batches(stream):
    entries = [valid(100 + i % 5) for i in range(12)]
    entries[3] = entries[3] | {"case_id": "-7"}           # names no case decode accepts
    entries[4] = {k: v for k, v in valid(1).items() if k != "case_id"}
    entries[5] = valid(150) | {"type": "TELEPORTED"}      # rejected, but names case 150
    ids = stream.append_many(entries)
    reader = StreamReader(stream)
    named, last, n = reader.case_ids("0-0", count=7)
    assert (named, last, n) == ({100, 101, 102, 150}, ids[6], 7)
    named, last, n = reader.case_ids(last, count=7)
    assert (named, last, n) == ({102, 103, 104, 100, 101}, ids[-1], 5)
    assert reader.case_ids(last, count=7) == (set(), last, 0)
    assert reader.rejected_total == Counter()   # nothing decoded, nothing counted
    with pytest.raises(ValueError):
        reader.case_ids("$", count=7)


def test_small_batches_see_every_entry_once(stream):
    entries = [valid(i) for i in range(1, 58)]
    for i in range(3, 57, 7):
        entries[i] = entries[i] | {"state": "NOT_A_STATE"}
    ids = stream.append_many(entries)
    reader = StreamReader(stream, batch=5)
    seen, cursor, rejected, reads = [], "0-0", Counter(), 0
    while True:
        result = reader.read(cursor)
        reads += 1
        assert len(result.events) + sum(result.rejected.values()) <= 5
        if result.last_id == cursor:
            break
        seen += [e.entry_id for e in result.events]
        rejected += result.rejected
        cursor = result.last_id
    assert cursor == ids[-1]
    assert seen == [i for n, i in enumerate(ids) if entries[n]["state"] != "NOT_A_STATE"]
    assert rejected == Counter(bad_value=8)
    assert reads == 57 // 5 + 2


def test_start_id_now_and_read_latest(stream):
    reader = StreamReader(stream)
    assert reader.start_id_now() == "0-0" and stream.tail_id() == "0-0"
    assert reader.read_latest(5) == []
    old = stream.append_many([valid(i) for i in range(1, 4)])
    now_id = reader.start_id_now()
    assert now_id == old[-1]
    new = stream.append(valid(9))
    assert [e.entry_id for e in reader.read(now_id).events] == [new]
    latest = reader.read_latest(2)
    assert [e.entry_id for e in latest] == [old[-1], new]  # oldest first
    with pytest.raises(ValueError, match="start_id_now"):
        reader.read("$")


def test_maxlen_trimming_bounds_length(redis_client, key_prefix):
    stream = EventStream(redis_client, key_prefix + "events", maxlen=200)
    entries = [valid(i) for i in range(1, 2001)]
    for start in range(0, len(entries), 250):
        stream.append_many(entries[start:start + 250])
    # "~" trims whole radix-tree nodes (100 entries by default), so a little over maxlen.
    assert 200 <= stream.length() <= 200 + 2 * 100
    for fields in entries[:300]:
        stream.append(fields)
    assert 200 <= stream.length() <= 400


def test_blocking_read_wakes_on_append(redis_url, redis_client, key_prefix):
    writer = EventStream(redis_client, key_prefix + "events")
    blocking = make_client(redis_url, blocking=True)
    try:
        reader = StreamReader(EventStream(blocking, key_prefix + "events"))
        cursor = reader.start_id_now()
        timer = threading.Timer(0.3, writer.append, args=(valid(7),))
        timer.start()
        started = time.monotonic()
        result = reader.read(cursor, block_ms=7000)  # longer than redis-py's default 5 s
        elapsed = time.monotonic() - started
        timer.join()
        assert [e.case_id for e in result.events] == [7]
        assert 0.2 < elapsed < 5
        # Quiet stream: returns empty after the BLOCK time, cursor unchanged.
        quiet = reader.read(result.last_id, block_ms=200)
        assert quiet.events == [] and quiet.last_id == result.last_id
    finally:
        blocking.close()


def test_block_needs_blocking_client(stream):
    with pytest.raises(ValueError, match="blocking=True"):
        StreamReader(stream).read("0-0", block_ms=5000)
    with pytest.raises(ValueError, match="blocking=True"):
        StreamReader(stream).read("0-0", block_ms=0)  # 0 blocks forever


def test_health_empty_live_lagging(stream):
    now = datetime.now(timezone.utc)
    health = stream_health(stream, now, lag_warn_seconds=60)
    assert health["status"] == "empty" and health["length"] == 0
    assert health["error"] is None and health["lag_seconds"] is None

    entry_id = stream.append(valid(1))
    at = id_time(entry_id)
    health = stream_health(stream, at + timedelta(seconds=5), lag_warn_seconds=60)
    assert health["status"] == "live" and health["length"] == 1
    assert health["newest_id"] == entry_id
    assert datetime.fromisoformat(health["newest_at"]) == at
    assert health["lag_seconds"] == pytest.approx(5, abs=0.01)
    assert stream.lag_seconds(at + timedelta(seconds=5)) == pytest.approx(5, abs=0.01)

    health = stream_health(stream, at + timedelta(seconds=600), lag_warn_seconds=60)
    assert health["status"] == "lagging" and health["lag_seconds"] == pytest.approx(600)


def test_health_down():
    client = make_client("redis://127.0.0.1:1")
    try:
        started = time.monotonic()
        health = stream_health(EventStream(client, "gridwatch:events"),
                               datetime.now(timezone.utc), lag_warn_seconds=60)
        assert time.monotonic() - started < 3
    finally:
        client.close()
    assert health["status"] == "down" and health["length"] is None
    assert "ConnectionError" in health["error"]


def test_health_wrong_key_type(redis_client, key_prefix):
    redis_client.set(key_prefix + "events", "not a stream")
    health = stream_health(EventStream(redis_client, key_prefix + "events"),
                           datetime.now(timezone.utc), lag_warn_seconds=60)
    assert health["status"] == "down" and "WRONGTYPE" in health["error"]
