"""One Redis Stream reader per worker, fanned out to every open live connection.

Each web worker runs one `XREAD BLOCK` loop (a greenlet under gunicorn's gevent workers, a
thread elsewhere) and puts each decoded batch into the queue of every subscriber. A
subscriber that resumes (Last-Event-ID) first registers its queue, then reads its backlog
with XRANGE, then drains the queue skipping what the backlog already gave: nothing is
lost between the two and nothing is sent twice.

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

log = logging.getLogger(__name__)

BLOCK_MS = 2000
BATCH = 500
BACKLOG_MAX = 5000          # a longer outage resumes with the newest entries and says so
QUEUE_MAX = 2000            # a subscriber that falls this far behind is dropped


def id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass
class Batch:
    events: list[StreamEvent]
    status: dict            # {"status": "live"|"down", "since": epoch|None, "error": str}


class Subscriber:
    def __init__(self, accept: Callable[[StreamEvent], bool]):
        self.accept = accept
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_MAX)
        self.dropped = False


class StreamHub:
    def __init__(self, make_stream: Callable[[], EventStream]):
        self._make_stream = make_stream   # builds a stream on a blocking client
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.status = {"status": "starting", "since": time.time(), "error": None}
        self.last_id: str | None = None

    # Subscribers -----------------------------------------------------------------------
    def subscribe(self, accept: Callable[[StreamEvent], bool]) -> Subscriber:
        """Register for live batches. Raises when Redis is unreachable (the caller tells
        the browser to retry). The reader's start is resolved here, synchronously, so a
        subscriber's backlog read afterwards always overlaps the live batches."""
        sub = Subscriber(accept)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                stream = self._make_stream()
                try:
                    self.last_id = StreamReader(stream).start_id_now()
                finally:
                    stream.client.close()
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

    def backlog(self, after_id: str, accept: Callable[[StreamEvent], bool]
                ) -> tuple[list[StreamEvent], bool]:
        """Entries after `after_id` (oldest first) and whether older ones were skipped."""
        stream = self._make_stream()
        try:
            reader = StreamReader(stream, batch=BATCH)
            out, cursor, truncated = [], after_id, False
            first = stream.client.xrange(stream.key, min="(" + after_id, count=1)
            if first:
                # How far behind? If more than BACKLOG_MAX, jump to the newest ones.
                newest = stream.client.xrevrange(stream.key, count=BACKLOG_MAX)
                if len(newest) == BACKLOG_MAX and id_key(_sid(newest[-1][0])) > id_key(after_id):
                    cursor, truncated = _before(_sid(newest[-1][0])), True
            while True:
                result = reader.read(cursor, count=BATCH)
                out.extend(e for e in result.events if accept(e))
                if result.last_id == cursor:
                    break
                cursor = result.last_id
            return out, truncated
        finally:
            stream.client.close()

    # The reader loop -------------------------------------------------------------------
    def _run(self) -> None:
        stream, reader = None, None
        while True:
            with self._lock:
                if not self._subs:
                    self._thread = None
                    return
            try:
                if stream is None:
                    stream = self._make_stream()
                    reader = StreamReader(stream, batch=BATCH)
                result = reader.read(self.last_id, count=BATCH, block_ms=BLOCK_MS)
                self.last_id = result.last_id
                if self.status["status"] != "live":
                    self.status = {"status": "live", "since": time.time(), "error": None}
                self._publish(Batch(result.events, dict(self.status)))
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
        for sub in subs:
            events = [e for e in batch.events if sub.accept(e)]
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
    """("events", [StreamEvent, ...]) / ("status", dict) / ("gap", None) items for one
    client: its backlog after `after_id`, then live batches, each entry once and in order."""
    last = id_key(after_id) if after_id else None
    if after_id:
        events, truncated = hub.backlog(after_id, accept)
        if truncated:
            yield "gap", None
        for i in range(0, len(events), BATCH):
            chunk = events[i:i + BATCH]
            last = id_key(chunk[-1].entry_id)
            yield "events", chunk
    yield "status", dict(hub.status)
    sent_status, sent_at = hub.status.get("status"), time.monotonic()
    while not sub.dropped:
        try:
            batch = sub.queue.get(timeout=heartbeat)
        except queue.Empty:
            sent_at = time.monotonic()
            yield "status", dict(hub.status)
            continue
        fresh = []
        for e in batch.events:
            k = id_key(e.entry_id)
            if last is None or k > last:
                last = k
                fresh.append(e)
        if fresh:
            yield "events", fresh
        # A busy stream never has an empty batch: send the status when it changes and as
        # a heartbeat, so the page's freshness badge is never older than `heartbeat`.
        if batch.status.get("status") != sent_status or time.monotonic() - sent_at >= heartbeat:
            sent_status, sent_at = batch.status.get("status"), time.monotonic()
            yield "status", batch.status
