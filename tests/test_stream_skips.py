"""Skipped stream entries against a real Redis: a duplicate is shown once, every skip is
counted once across workers and resumes, the log says so at most once a minute, and one
event that cannot become a ticker row never stops the others."""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream, StreamReader
from data_sources.stream_events import StreamEvent, decode_entry, encode_event
from data_sources.stream_hub import StreamHub, follow
from data_sources.stream_skips import RecentKeys, SkipCounter, SkipSummary, counter_key

GRID = "320102001001001"
KNOWN = {GRID}.__contains__


def event(case_id: int, seq: int = 1) -> dict[str, str]:
    return encode_event("HANDLED", case_id=case_id, seq=seq,
                        ts=datetime.now(timezone.utc) - timedelta(seconds=1), grid=GRID,
                        state="VERIFYING")


class Client:
    """One live page: subscribed to a hub, following from `after`, collecting case ids."""

    def __init__(self, hub: StreamHub, after: str | None):
        self.hub, self.seen, self.stop = hub, [], threading.Event()
        self.sub = hub.subscribe(lambda e: True)
        self.thread = threading.Thread(target=self._run, args=(after,), daemon=True)
        self.thread.start()

    def _run(self, after):
        for kind, item in follow(self.hub, self.sub, after, lambda e: True, heartbeat=0.2):
            if kind == "events":
                self.seen.extend((e.case_id, e.seq) for e in item)
            if self.stop.is_set():
                return

    def wait_for(self, last: tuple[int, int], timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and last not in self.seen:
            time.sleep(0.05)
        return self.seen

    def close(self):
        self.stop.set()
        self.hub.unsubscribe(self.sub)
        self.thread.join(timeout=5)


def _hub(redis_url, key, key_prefix, summary=None) -> StreamHub:
    return StreamHub(lambda: EventStream(make_client(redis_url, blocking=True), key),
                     known_grid=KNOWN, counter_key=counter_key(key_prefix, key),
                     summary=summary or SkipSummary())


def _stop(hub: StreamHub) -> None:
    if hub._thread is not None:
        hub._thread.join(timeout=5)


def test_duplicate_entry_is_shown_once(redis_url, redis_client, key_prefix):
    key = key_prefix + "events"
    stream = EventStream(redis_client, key)
    before = stream.append_many([event(i) for i in (1, 2)])
    hub = _hub(redis_url, key, key_prefix)
    live = Client(hub, before[-1])          # the hub starts here: its window is primed
    ids = stream.append_many([event(3), event(2), event(4), event(3), event(3, seq=2),
                              event(1), event(5)])
    assert live.wait_for((5, 1)) == [(3, 1), (4, 1), (3, 2), (5, 1)]
    # A page resuming from before everything (the hub judged the whole short stream
    # when it started) ...
    everything = [(1, 1), (2, 1), (3, 1), (4, 1), (3, 2), (5, 1)]
    old = Client(hub, "0-0")
    assert old.wait_for((5, 1)) == everything
    assert hub._verdicts("0-0", ids[-1]) is not None
    # ... and the same backlog judged by the page itself, as when it resumes from before
    # what the hub's window holds: the same entries.
    recent, hub._recent = hub._recent, None
    events, _ = hub.backlog("0-0", lambda e: True, ids[-1])
    hub._recent = recent
    assert [(e.case_id, e.seq) for e in events] == everything
    # A page resuming right after case 3's first entry: its repeat comes later, the
    # original is before the resume point; the hub's verdicts say it is a duplicate.
    near = Client(hub, ids[0])
    assert near.wait_for((5, 1)) == [(4, 1), (3, 2), (5, 1)]
    assert hub._verdicts(ids[0], ids[-1]) is not None  # that path, not the fallback
    # The wall's first fill (newest entries) shows it once too.
    latest = StreamReader(stream).read_latest(20)
    assert [(e.case_id, e.seq) for e in latest] == [(1, 1), (2, 1), (3, 1), (4, 1), (3, 2), (5, 1)]
    for c in (live, old, near):
        c.close()
    _stop(hub)
    # Counted once, by the live reader only: case 2, 3 and 1 repeated after its start.
    assert SkipCounter(redis_client, counter_key(key_prefix, key)).snapshot()["by_reason"] \
        == {"duplicate": 3}


def test_recent_keys_window_is_bounded_and_knows_what_it_judged():
    w = RecentKeys(3)
    w.prime([((1, 0), (10, 1)), ((2, 0), None)], (2, 0))
    assert w.add((3, 0), (10, 1)) is True          # within the last 3 entries
    assert w.add((4, 0), (11, 1)) is False
    assert w.add((5, 0), (12, 1)) is False
    assert w.duplicates_between((2, 0), (5, 0)) == {(3, 0)}
    assert w.add((6, 0), (13, 1)) is False
    assert w.add((7, 0), (10, 1)) is False         # (10, 1) left the window: not a repeat
    assert len(w) == 3
    assert w.duplicates_between((4, 0), (7, 0)) == set()
    assert w.duplicates_between((3, 0), (7, 0)) is None    # (4, 0) was evicted
    assert w.duplicates_between((5, 0), (8, 0)) is None    # not read yet
    w2 = RecentKeys(10)
    w2.prime([], (5, 0))
    w2.add((6, 0), (1, 1))
    w2.add((7, 0), (1, 1))
    assert w2.duplicates_between((5, 0), (7, 0)) == {(7, 0)}
    assert w2.duplicates_between((4, 0), (7, 0)) is None   # before the exact verdicts
    # Primed with twice its size, a window answers for the entries before its start too.
    w3 = RecentKeys(2)
    w3.prime([((1, 0), (1, 1)), ((2, 0), (2, 1)), ((3, 0), (1, 1)), ((4, 0), (2, 1))], (4, 0))
    assert w3.duplicates_between((2, 0), (4, 0)) == {(3, 0), (4, 0)}
    assert w3.duplicates_between((1, 0), (4, 0)) is None
    w3.prime([((1, 0), (1, 1)), ((2, 0), (1, 1))], (2, 0), start_of_stream=True)
    assert w3.duplicates_between((0, 0), (2, 0)) == {(2, 0)}


def test_skips_counted_once_across_workers_resumes_and_restarts(redis_url, redis_client,
                                                                key_prefix):
    key = key_prefix + "events"
    stream = EventStream(redis_client, key)
    start = stream.append_many([event(i) for i in range(1, 4)])[-1]
    bad = {"unknown_type": event(90) | {"type": "TELEPORTED"},
           "bad_time": event(91) | {"ts": "9999-12-31T23:59:59Z"},
           "unknown_grid": event(92) | {"grid": "110101001001001"},
           "bad_value": event(93) | {"seq": "40000"}}
    summary = SkipSummary(clock=lambda: clock[0])
    clock = [0.0]
    # Two workers, each with its own reader and its own live page.
    hubs = [_hub(redis_url, key, key_prefix, summary) for _ in range(2)]
    pages = [Client(h, start) for h in hubs]
    entries = []
    for n in range(30):
        entries += [event(100 + n), bad[list(bad)[n % 4]], event(2)]   # case 2: a repeat
    entries.append(event(999))
    stream.append_many(entries)
    for page in pages:
        assert page.wait_for((999, 1)) == [(100 + n, 1) for n in range(30)] + [(999, 1)]
    expected = Counter({"duplicate": 30, "unknown_type": 8, "bad_time": 8,
                        "unknown_grid": 7, "bad_value": 7})
    counter = SkipCounter(redis_client, counter_key(key_prefix, key))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and counter.snapshot()["total"] < 60:
        time.sleep(0.05)
    snap = counter.snapshot()
    assert Counter(snap["by_reason"]) == expected and snap["total"] == 60
    # A page resuming from the start re-reads every bad entry: nothing is counted again.
    again = Client(hubs[0], start)
    assert again.wait_for((999, 1))[-1] == (999, 1)
    # This process's log line: what it counted, once, however many readers it has.
    clock[0] = 61.0
    summary.tick()
    for page in pages + [again]:
        page.close()
    for hub in hubs:
        _stop(hub)
    assert Counter(counter.snapshot()["by_reason"]) == expected
    # Entries written while no reader ran are counted when one starts again...
    stream.append_many([bad["bad_time"], event(1000), bad["unknown_type"], event(1001)])
    later = _hub(redis_url, key, key_prefix, summary)
    page = Client(later, None)
    last = stream.append(event(1002))
    assert page.wait_for((1002, 1)) == [(1002, 1)]   # ... and not shown: they are old
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and counter.checked_to() != last:
        time.sleep(0.05)
    page.close()
    _stop(later)
    assert Counter(counter.snapshot()["by_reason"]) == expected + Counter(bad_time=1,
                                                                          unknown_type=1)


def test_a_count_that_fails_after_its_batch_was_published_shows_nothing_twice(
        redis_url, redis_client, key_prefix, monkeypatch):
    # The reader publishes a batch before it counts the batch's skips (one Redis round
    # trip less before the pages have their events). When the count fails, the reader
    # reads again from before the batch: the skips are counted then, once, and the
    # events it had published are not published again.
    key = key_prefix + "events"
    stream = EventStream(redis_client, key)
    start = stream.append(event(1))
    real, failed = SkipCounter.count, []

    def count_failing_once(self, batch_end, skipped):
        if skipped and not failed:
            failed.append((batch_end, hub.last_id))   # how far it had published
            raise ConnectionError("Redis went away between the publish and the count")
        return real(self, batch_end, skipped)
    monkeypatch.setattr(SkipCounter, "count", count_failing_once)
    hub = _hub(redis_url, key, key_prefix)
    page = Client(hub, start)
    stream.append_many([event(100), event(1), event(101) | {"type": "TELEPORTED"},
                        event(102)])
    assert page.wait_for((102, 1)) == [(100, 1), (102, 1)]
    counter = SkipCounter(redis_client, counter_key(key_prefix, key))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and counter.snapshot()["total"] < 2:
        time.sleep(0.05)
    later = stream.append(event(103))
    assert page.wait_for((103, 1)) == [(100, 1), (102, 1), (103, 1)]
    assert len(failed) == 1 and failed[0][1] == failed[0][0]   # published, then counted
    # Without skips the counter's position moves at most every COUNT_EVERY s (and when
    # a read finds nothing new): it reaches the last entry soon after.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and counter.checked_to() != later:
        time.sleep(0.05)
    assert counter.checked_to() == later
    assert Counter(counter.snapshot()["by_reason"]) == Counter(duplicate=1, unknown_type=1)
    page.close()
    _stop(hub)


def test_skip_log_line_at_most_once_a_minute(caplog):
    clock = [1000.0]
    logger = logging.getLogger("test.stream.skips")
    summary = SkipSummary(clock=lambda: clock[0], logger=logger)
    with caplog.at_level(logging.WARNING, logger="test.stream.skips"):
        summary.tick()
        summary.add(Counter(bad_time=3))
        clock[0] += 30
        summary.add({"duplicate": 2, "bad_time": 7, "bad_value": 0})
        summary.tick()
        assert caplog.messages == []                    # not a minute yet
        clock[0] += 30
        summary.tick()
        assert caplog.messages == [
            "stream: skipped 12 entries in the last 60 s: bad_time=10 duplicate=2"]
        # Skips right after a line wait for the next minute from that line.
        clock[0] += 5
        summary.add(Counter(unknown_type=1))
        clock[0] += 50
        summary.tick()
        assert len(caplog.messages) == 1
        clock[0] += 5
        summary.tick()
        assert caplog.messages[-1] == \
            "stream: skipped 1 entries in the last 60 s: unknown_type=1"
        # Quiet for a while: nothing is logged; the next window starts at the next skip.
        clock[0] += 600
        summary.tick()
        summary.row_error("1-0", OverflowError("date value out of range"))
        summary.add(Counter(bad_time=1))
        clock[0] += 60
        summary.tick()
        summary.tick()
    assert caplog.messages[2:] == [
        "stream: skipped 1 entries in the last 60 s: bad_time=1; 1 events not shown as "
        "ticker rows in the last 60 s (last 1-0: OverflowError: date value out of range)"]
    assert summary.row_errors == 1


def test_ticker_rows_skip_an_event_that_cannot_be_shown():
    """Defence in depth: an event the codec let through but the ticker cannot draw (here a
    year 9999 made by hand) is skipped and counted; the rows of the others go out."""
    from zoneinfo import ZoneInfo  # noqa: F401 - the service converts to Asia/Shanghai

    from dashboard.app.context import AppContext
    from dashboard.app.settings import Settings
    from dashboard.domain.states import Event, State
    from dashboard.views.wall.service import WallService
    from data_sources import stream_skips

    class Node:
        code, level, name, parent, lon, lat = "320000", 0, "江苏省", None, None, None

    class Tree:
        def get(self, code):
            return Node() if code == "320000" else None

    class Lazy:
        def get(self):
            return Tree()

    good = decode_entry("1-0", event(7))
    assert isinstance(good, StreamEvent)
    broken = StreamEvent("2-0", Event.HANDLED, 8, 1, datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc),
                         GRID, State.VERIFYING)
    class NoDatabase:
        def case_summaries(self, scope, ids):
            raise RuntimeError("no database")

    svc = WallService(AppContext(Settings(), None, Lazy(), None, NoDatabase()), None,
                      on_row_error=stream_skips.SUMMARY.row_error)
    before = stream_skips.SUMMARY.row_errors
    rows = svc.ticker_rows([broken, good, broken], "320000", False, "zh")
    assert [r["id"] for r in rows] == ["1-0"]
    assert stream_skips.SUMMARY.row_errors == before + 2
    with pytest.raises(OverflowError):  # what the loop used to die of
        broken.ts.astimezone(ZoneInfo("Asia/Shanghai"))
