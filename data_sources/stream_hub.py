"""One Redis Stream reader per worker, fanned out to every open live connection.

Each web worker runs one `XREAD BLOCK` loop (a greenlet under gunicorn's gevent workers, a
thread elsewhere) and puts each decoded batch into the queue of every subscriber. A
subscriber that resumes (Last-Event-ID) first registers its queue, then reads its backlog
with XRANGE, then drains the queue skipping what the backlog already gave: nothing is
lost between the two and nothing is sent twice.

Each entry reaches a client once: the reader drops repeats of an earlier (case_id, seq)
(data_sources.stream_skips) before anything is published, and a resuming client's backlog
uses the reader's verdicts, or judges its entries by the same rule when they are older
than the reader's window. The reader also counts every skipped entry by reason, once
across all workers (SkipCounter), and logs a summary at most once a minute.

Redis going away is a state, not an error: the loop reports `down` to the subscribers,
retries every second, and resumes from the last ID it read.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from data_sources.redis_stream import EventStream, StreamReader
from data_sources.stream_events import StreamEvent
from data_sources.stream_skips import (
    CATCH_UP_MAX,
    SUMMARY,
    RecentKeys,
    SkipCounter,
    SkipSummary,
    id_key,
)

log = logging.getLogger(__name__)

BLOCK_MS = 2000
BATCH = 500
COUNT_EVERY = 1.0           # s: the shared skip counter's position, when nothing was skipped
BACKLOG_MAX = 5000          # a longer outage resumes with the newest entries and says so
QUEUE_MAX = 2000            # a subscriber that falls this far behind is dropped


@dataclass
class Batch:
    events: list[StreamEvent]
    status: dict            # {"status": "live"|"down", "since": epoch|None, "error": str}


@dataclass
class Frame:
    """A wall's panel changes of one tick, already encoded (dashboard/app/wall_frames.py):
    queued between the batches, so that it reaches the page in the order it was made."""
    text: str


class Ages:
    """How old the live entries were, from the time in their stream ID (when Redis took
    them), at three places of a worker: when the hub's read returned them and when it
    published them to the pages (a batch's newest entry; between the two, the cases'
    rows are read: `prepare`), and when a page had written them to its screen (a resumed
    page's backlog left out). One log line a minute; a warning when the
    written ones' p95 is past WARN_MS (the walls' target for a live event)."""

    WARN_MS = 100.0

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.time):
        self.every, self.clock = every, clock
        self._since = time.monotonic()
        self.read: list[float] = []
        self.published: list[float] = []
        self.written: list[float] = []

    def note(self, into: list[float], entry_id: str) -> None:
        try:
            into.append(self.clock() * 1000 - int(entry_id.split("-", 1)[0]))
        except (ValueError, AttributeError):
            pass

    def line(self) -> tuple[int, str] | None:
        """(log level, the line) once `every` s have passed and something was noted, then
        starts over; None otherwise."""
        if time.monotonic() - self._since < self.every:
            return None
        read, published, written = sorted(self.read), sorted(self.published), \
            sorted(self.written)
        self.read, self.published, self.written = [], [], []
        seconds, self._since = time.monotonic() - self._since, time.monotonic()
        if not written and not published:
            return None
        level = logging.WARNING if written and percentile(written, 95) > self.WARN_MS \
            else logging.INFO
        return level, (f"live events in {seconds:.0f} s, ms after Redis took them: read by "
                       f"the hub p50 {percentile(read, 50):,.0f} / p95 "
                       f"{percentile(read, 95):,.0f}; published "
                       f"to the pages p50 {percentile(published, 50):,.0f} / p95 "
                       f"{percentile(published, 95):,.0f} ({len(published)}); written to the "
                       f"screens p50 {percentile(written, 50):,.0f} / p95 "
                       f"{percentile(written, 95):,.0f} / longest {percentile(written, 100):,.0f} ({len(written)})")


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (nearest rank) of sorted values; 0 for none."""
    return values[min(len(values) - 1, len(values) * q // 100)] if values else 0.0


class Subscriber:
    def __init__(self, accept: Callable[[StreamEvent], bool], region: str | None = None,
                 frames: object = None):
        self.accept = accept
        # Which frames the page takes (the wall's settings; None: none).
        self.frames = frames
        # When `accept` is "the event's grid lies in `region`": the hub hands it that
        # region's events without asking `accept` for each (see StreamHub.lineage).
        self.region = region
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_MAX)
        self.dropped = False
        # Its queue receives every entry after this one; its backlog stops here.
        self.position: str | None = None


class StreamHub:
    def __init__(self, make_stream: Callable[[], EventStream],
                 known_grid: Callable[[str], bool] | None = None,
                 counter_key: str | None = None, summary: SkipSummary = SUMMARY,
                 lineage: Callable[[str], tuple[str, ...]] | None = None,
                 prepare: Callable[[list[StreamEvent]], None] | None = None):
        self._make_stream = make_stream   # builds a stream on a blocking client
        # Called with a batch's events before any page gets them: what every page of the
        # batch reads (the cases' rows for the ticker) is read once, here, and each page
        # finds it ready instead of waiting for its turn of the loop to ask, then again
        # for the answer (a live event's wait, docs/benchmarks.md).
        self.prepare = prepare
        self.ages = Ages()
        # A grid and every region above it: a batch is sorted by region once, not
        # filtered once per open page (1,345 pages at a province, 8% of a worker).
        self.lineage = lineage
        self.known_grid = known_grid      # unknown grids are skipped (and counted)
        self.counter_key = counter_key    # the shared SkipCounter's key; None: no counting
        self.summary = summary
        self.backlog_max = BACKLOG_MAX
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._recent: RecentKeys | None = None   # the reader's duplicate window
        self.status = {"status": "starting", "since": time.time(), "error": None}
        self._told: str | None = None     # the state the subscribers were last told
        # The newest entry published: every subscriber's queue gets the entries after it.
        self.last_id: str | None = None

    # Subscribers -----------------------------------------------------------------------
    def subscribe(self, accept: Callable[[StreamEvent], bool],
                  region: str | None = None, frames: object = None) -> Subscriber:
        """Register for live batches. Raises when Redis is unreachable (the caller tells
        the browser to retry). The reader's start is resolved here, synchronously, so a
        subscriber's backlog read afterwards always meets the live batches. `region`:
        `accept` takes exactly the events whose grid's lineage holds it. `frames`: the
        key of the frames it takes (`frame_groups`, `deliver`)."""
        sub = Subscriber(accept, region if self.lineage is not None else None, frames)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                stream = self._make_stream()
                try:
                    self.last_id = StreamReader(stream).start_id_now()
                finally:
                    stream.client.close()
                self._recent = None
            sub.position = self.last_id
            self._subs.add(sub)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="stream-hub",
                                                daemon=True)
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def frame_groups(self) -> dict[object, list[Subscriber]]:
        """The subscribers that take frames, by the frames' key."""
        with self._lock:
            subs = list(self._subs)
        groups: dict[object, list[Subscriber]] = {}
        for sub in subs:
            if sub.frames is not None:
                groups.setdefault(sub.frames, []).append(sub)
        return groups

    @staticmethod
    def deliver(subs: list[Subscriber], frame: Frame) -> None:
        for sub in subs:
            try:
                sub.queue.put_nowait(frame)
            except queue.Full:
                sub.dropped = True  # its connection ends; the browser resumes by ID

    def backlog(self, after_id: str, accept: Callable[[StreamEvent], bool],
                upto: str | None = None) -> tuple[list[StreamEvent], bool]:
        """Entries after `after_id` up to `upto` (default: the tail), oldest first, without
        duplicates, and whether older ones were skipped. Counts nothing: the live reader
        counts every entry once."""
        if upto is not None and id_key(upto) <= id_key(after_id):
            return [], False
        stream = self._make_stream()
        try:
            reader = StreamReader(stream, self.known_grid, batch=BATCH)
            out, cursor, truncated = [], after_id, False
            # How far behind? Asked of the entries after `after_id` (a page that reconnects
            # is seconds behind), not of the newest backlog_max: a province's walls all
            # opening at once each read 5,000 entries, and Redis timed out.
            ahead = stream.client.xrange(stream.key, min="(" + after_id,
                                         count=self.backlog_max + 1)
            if not ahead:
                return [], False
            if len(ahead) > self.backlog_max:
                # More than backlog_max: jump to the newest ones.
                newest = stream.client.xrevrange(stream.key, count=self.backlog_max)
                if len(newest) == self.backlog_max and \
                        id_key(_sid(newest[-1][0])) > id_key(after_id):
                    cursor, truncated = _before(_sid(newest[-1][0])), True
            # Entries the live reader has judged: its verdicts. Older ones: judged here,
            # by the same rule, after reading the window before them.
            dups = self._verdicts(cursor, upto)
            if dups is None:
                reader.dedupe = RecentKeys()
                reader.prime(cursor)
            stop = id_key(upto) if upto is not None else None
            while True:
                result = reader.read(cursor, count=BATCH)
                for e in result.events:
                    k = id_key(e.entry_id)
                    if stop is not None and k > stop:
                        break
                    if (dups is None or k not in dups) and accept(e):
                        out.append(e)
                if result.last_id == cursor or (stop is not None
                                                and id_key(result.last_id) >= stop):
                    break
                cursor = result.last_id
            return out, truncated
        finally:
            stream.client.close()

    def _verdicts(self, after_id: str, upto: str | None) -> set | None:
        recent = self._recent
        if recent is None or upto is None:
            return None
        return recent.duplicates_between(id_key(after_id), id_key(upto))

    # The reader loop -------------------------------------------------------------------
    def _start(self, stream: EventStream, counter: SkipCounter | None) -> str:
        """Where the reader starts: where counting stopped when that is before the first
        entry to publish (entries nobody read are counted, not published), else there."""
        checked = counter.checked_to() if counter is not None else None
        if checked and id_key(checked) < id_key(self.last_id):
            return checked
        return self.last_id

    def _run(self) -> None:
        stream, reader, counter, pos, caught_up = None, None, None, None, 0
        uncounted, counted_at = None, 0.0   # the end of the batches read but not counted
        while True:
            with self._lock:
                if not self._subs:
                    self._thread = None
                    return
            try:
                if stream is None:
                    stream = self._make_stream()
                    counter = (SkipCounter(stream.client, self.counter_key)
                               if self.counter_key else None)
                    if pos is None:
                        pos = self._start(stream, counter)
                    reader = StreamReader(stream, self.known_grid, batch=BATCH,
                                          dedupe=RecentKeys())
                    reader.prime(pos, judge=True)
                    self._recent = reader.dedupe
                behind = id_key(pos) < id_key(self.last_id)
                result = reader.read(pos, count=BATCH, block_ms=None if behind else BLOCK_MS)
                read_to, skipped = result.last_id, [(r.entry_id, r.reason)
                                                    for r in result.skipped]
                if behind:
                    caught_up += len(result.events) + len(result.skipped)
                    if caught_up >= CATCH_UP_MAX and id_key(result.last_id) < id_key(self.last_id):
                        log.warning("stream: entries from %s to %s were not checked for "
                                    "skips (more than %d)", result.last_id, self.last_id,
                                    CATCH_UP_MAX)
                        result.last_id, result.events = self.last_id, []
                        reader.prime(self.last_id, judge=True)
                if behind and result.last_id == pos:
                    result.last_id = self.last_id  # nothing there any more (stream reset)
                newest = id_key(self.last_id)
                fresh = [e for e in result.events if id_key(e.entry_id) > newest]
                if fresh:
                    self.ages.note(self.ages.read, fresh[-1].entry_id)
                if id_key(result.last_id) > newest:
                    self.last_id = result.last_id
                if self.status["status"] != "live":
                    self.status = {"status": "live", "since": time.time(), "error": None}
                if fresh and self.prepare is not None:
                    try:
                        self.prepare(fresh)
                    except Exception as exc:  # noqa: BLE001 - each page then reads its own
                        log.debug("preparing a batch failed: %s", exc)
                if not behind or fresh:
                    self._publish(Batch(fresh, dict(self.status)))
                    if fresh:
                        self.ages.note(self.ages.published, fresh[-1].entry_id)
                # Counted after the pages have their events, and without skips at most
                # every COUNT_EVERY s (only `checked_to` moves then): the count is a
                # Redis round trip, and in a busy worker every wait is a turn behind the
                # other greenlets (bench/hub_latency.py). A batch with skips is counted
                # at once, up to its end; should that fail, the reader reads again from
                # `pos`, counts then, and publishes nothing newer than last_id twice.
                if counter is not None:
                    uncounted = read_to if read_to != pos else uncounted
                    if uncounted is not None and (
                            skipped or time.monotonic() - counted_at >= COUNT_EVERY):
                        self.summary.add(counter.count(uncounted, skipped))
                        uncounted, counted_at = None, time.monotonic()
                pos = result.last_id
                self.summary.tick()
                said = self.ages.line()
                if said is not None:
                    log.log(*said)
            except Exception as exc:  # noqa: BLE001 - Redis down: report, retry, resume
                if self.status["status"] != "down":
                    log.warning("stream reader: %s", exc)
                    self.status = {"status": "down", "since": time.time(),
                                   "error": f"{type(exc).__name__}: {exc}"[:200]}
                self._publish(Batch([], dict(self.status)))
                if stream is not None:
                    try:
                        stream.client.close()
                    except Exception:  # noqa: BLE001
                        pass
                stream = None
                time.sleep(1.0)

    def _publish(self, batch: Batch) -> None:
        with self._lock:
            subs = list(self._subs)
        # Only the pages a batch has events for are woken, and every page when the state
        # changes: waking a province's ~670 pages a worker for every batch cost ~6 ms of
        # CPU a batch (bench/hub_wakeups.py), and an upstream writing each event as it
        # happens gives a batch an event. The others' heartbeat is their own wait's
        # timeout (follow).
        told, self._told = self._told, batch.status.get("status")
        everyone = told != self._told
        by_region: dict[str, list[StreamEvent]] = {}
        if self.lineage is not None:
            for e in batch.events:
                for code in self.lineage(e.grid):
                    by_region.setdefault(code, []).append(e)
        for sub in subs:
            if not batch.events:
                events = []
            elif sub.region is not None:
                events = by_region.get(sub.region, [])
            else:
                events = [e for e in batch.events if sub.accept(e)]
            if not events and not everyone:
                continue
            try:
                sub.queue.put_nowait(Batch(events, batch.status))
            except queue.Full:
                sub.dropped = True  # its connection ends; the browser resumes by ID


def _sid(entry_id) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def _before(entry_id: str) -> str:
    ms, seq = id_key(entry_id)
    return f"{ms}-{seq - 1}" if seq > 0 else f"{ms - 1}-18446744073709551615"


def follow(hub: StreamHub, sub: Subscriber, after_id: str | None,
           accept: Callable[[StreamEvent], bool], heartbeat: float = 5.0
           ) -> Iterator[tuple[str, object]]:
    """("events", [StreamEvent, ...]) / ("status", dict) / ("gap", None) / ("frame", str)
    items for one client: its backlog after `after_id`, then live batches, each entry once
    and in order, and the frames pushed to it."""
    last = id_key(after_id) if after_id else None
    if after_id:
        events, truncated = hub.backlog(after_id, accept, sub.position)
        if truncated:
            yield "gap", None
        for i in range(0, len(events), BATCH):
            chunk = events[i:i + BATCH]
            last = id_key(chunk[-1].entry_id)
            yield "events", chunk
        if sub.position is not None:  # the backlog judged every entry up to there
            last = max(last, id_key(sub.position))
    yield "status", dict(hub.status)
    sent_status, sent_at = hub.status.get("status"), time.monotonic()
    while not sub.dropped:
        # The hub wakes a page only for its events, its frames and a change of state: the
        # status goes out when it changes and every `heartbeat` whatever else comes, so
        # the page's freshness badge is never older than that.
        try:
            batch = sub.queue.get(timeout=max(0.0, sent_at + heartbeat - time.monotonic()))
        except queue.Empty:
            batch = None
        if isinstance(batch, Frame):
            yield "frame", batch.text
        elif batch is not None:
            fresh = []
            for e in batch.events:
                k = id_key(e.entry_id)
                if last is None or k > last:
                    last = k
                    fresh.append(e)
            if fresh:
                yield "events", fresh
            if batch.status.get("status") != sent_status:
                sent_status, sent_at = batch.status.get("status"), time.monotonic()
                yield "status", batch.status
        if time.monotonic() - sent_at >= heartbeat:
            status = dict(hub.status)
            sent_status, sent_at = status.get("status"), time.monotonic()
            yield "status", status
