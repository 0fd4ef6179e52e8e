"""The event stream in Redis: append (simulator), incremental reads (dashboard), health.

Reads are always incremental from a concrete entry ID with a bounded COUNT, never the
whole stream and never from "$" in a loop ("$" means "newer than whatever is newest
when this command arrives", so each call would skip what arrived between two calls).
Bad entries are counted by reason and skipped; the cursor still moves past them, so one
bad entry can never wedge a reader. A reader given a `RecentKeys` window also skips
repeats of an earlier entry (data_sources.stream_skips), with the reason "duplicate".
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import redis

from data_sources.stream_events import Rejected, StreamEvent, case_id_of, decode_entry
from data_sources.stream_skips import DUPLICATE, RecentKeys, SkipCounter, id_key

_APPEND_CHUNK = 1000


def _sid(entry_id: bytes | str) -> str:
    return entry_id.decode("ascii") if isinstance(entry_id, bytes) else str(entry_id)


def id_time(entry_id: str) -> datetime:
    """The UTC time of an entry ID's millisecond part (the Redis server's clock)."""
    return datetime.fromtimestamp(int(entry_id.split("-", 1)[0]) / 1000, tz=timezone.utc)


class EventStream:
    def __init__(self, client: redis.Redis, key: str, maxlen: int = 1_000_000):
        self.client, self.key, self.maxlen = client, key, maxlen

    def append(self, fields: Mapping[str, str]) -> str:
        return _sid(self.client.xadd(self.key, dict(fields), maxlen=self.maxlen,
                                     approximate=True))

    def append_many(self, entries: Iterable[Mapping[str, str]]) -> list[str]:
        ids: list[str] = []
        batch = list(entries)
        # Chunked so a large backfill neither builds one huge reply nor stalls Redis.
        for start in range(0, len(batch), _APPEND_CHUNK):
            pipe = self.client.pipeline(transaction=False)
            for fields in batch[start:start + _APPEND_CHUNK]:
                pipe.xadd(self.key, dict(fields), maxlen=self.maxlen, approximate=True)
            ids.extend(_sid(i) for i in pipe.execute())
        return ids

    def append_history(self, timed: list[tuple[datetime, Mapping[str, str]]]) -> int:
        """Append past events with entry IDs at their event times (sorted by time).

        Entries not newer than the stream's tail are skipped: stream IDs only grow, and a
        second backfill must not duplicate what is already there. Returns how many went in.
        """
        tail_ms, tail_seq = (int(x) for x in self.tail_id().split("-"))
        last_ms, seq, written = tail_ms, tail_seq, 0
        pipe = self.client.pipeline(transaction=False)
        for at, fields in timed:
            ms = int(at.timestamp() * 1000)
            if ms < last_ms:
                continue
            seq = seq + 1 if ms == last_ms else 0
            if (ms, seq) <= (tail_ms, tail_seq):
                continue
            last_ms = ms
            pipe.xadd(self.key, dict(fields), id=f"{ms}-{seq}", maxlen=self.maxlen,
                      approximate=True)
            written += 1
            if written % _APPEND_CHUNK == 0:
                pipe.execute()
        pipe.execute()
        return written

    def newest(self) -> tuple[str, datetime] | None:
        rows = self.client.xrevrange(self.key, count=1)
        if not rows:
            return None
        entry_id = _sid(rows[0][0])
        return entry_id, id_time(entry_id)

    def tail_id(self) -> str:
        newest = self.newest()
        return newest[0] if newest else "0-0"

    def length(self) -> int:
        return int(self.client.xlen(self.key))

    def lag_seconds(self, now: datetime) -> float | None:
        """Age of the newest entry; None when empty. Clamped at 0 for clock skew."""
        newest = self.newest()
        if newest is None:
            return None
        return max(0.0, (now - newest[1]).total_seconds())


@dataclass
class ReadResult:
    events: list[StreamEvent]
    last_id: str
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: list[Rejected] = field(default_factory=list)   # the entries behind `rejected`


class StreamReader:
    def __init__(self, stream: EventStream, known_grid: Callable[[str], bool] | None = None,
                 batch: int = 500, dedupe: RecentKeys | None = None):
        if batch < 1:
            raise ValueError("batch must be >= 1")
        self.stream, self.known_grid, self.batch = stream, known_grid, batch
        self.dedupe = dedupe
        self.rejected_total: Counter[str] = Counter()

    def prime(self, position: str, judge: bool = False) -> None:
        """Fill the duplicate window with the entries up to `position`, so that reads after
        it judge duplicates exactly as any other reader does. With `judge`, read twice the
        window, so that the window also holds exact verdicts on the entries up to
        `position` (a live reader answers for pages resuming from just before it)."""
        if self.dedupe is None:
            raise ValueError("prime needs a reader with a dedupe window")
        count = self.dedupe.size * (2 if judge else 1)
        rows = self.stream.client.xrevrange(self.stream.key, max=position, count=count)
        keys = []
        for entry_id, raw in reversed(rows):
            decoded = decode_entry(entry_id, raw, self.known_grid)
            keys.append((id_key(decoded.entry_id), None if isinstance(decoded, Rejected)
                         else (decoded.case_id, decoded.seq)))
        self.dedupe.prime(keys, id_key(position), start_of_stream=len(rows) < count)

    def trimmed_past(self, position: str) -> bool:
        """Whether entries after `position` were trimmed (MAXLEN) before they were read:
        the position itself is no longer in the stream while older entries are gone (a
        position of 0-0 means "from the start": nothing read yet that could be missed)."""
        client, key = self.stream.client, self.stream.key
        oldest = client.xrange(key, count=1)
        if not oldest or position == "0-0":
            return False
        oldest_id = oldest[0][0].decode() if isinstance(oldest[0][0], bytes) else oldest[0][0]
        if _id_key(oldest_id) <= _id_key(position):
            return False
        return not client.xrange(key, min=position, max=position, count=1)

    def start_id_now(self) -> str:
        """A concrete ID meaning "from now on": read(after_id=this) sees only new entries."""
        return self.stream.tail_id()

    def read(self, after_id: str, count: int | None = None,
             block_ms: int | None = None) -> ReadResult:
        """Entries strictly after `after_id`, at most `count` (default: batch).

        With `block_ms`, waits up to that long for an entry when none is there yet; the
        client must then come from make_client(..., blocking=True).
        """
        if after_id in ("$", "+", ">") or not after_id:
            raise ValueError(f"after_id must be a concrete entry ID, got {after_id!r}; "
                             "use start_id_now() for 'from now'")
        count = self.batch if count is None else count
        if count < 1:
            raise ValueError("count must be >= 1")
        if block_ms is not None:
            self._check_block(block_ms)
        reply = self.stream.client.xread({self.stream.key: after_id}, count=count,
                                         block=block_ms)
        if isinstance(reply, dict):  # RESP3 replies map key -> entries
            rows = next(iter(reply.values()), [])
        else:
            rows = reply[0][1] if reply else []
        return self._decode(rows, after_id)

    def case_ids(self, after_id: str, count: int) -> tuple[set[int], str, int]:
        """The cases named by the entries strictly after `after_id`, at most `count` of
        them, the last entry's ID and how many entries were read: all a follower needs
        that reads the cases themselves from the database (an entry that is not valid
        names at most a case to read again). Neither decoded nor counted as skipped."""
        if after_id in ("$", "+", ">") or not after_id:
            raise ValueError(f"after_id must be a concrete entry ID, got {after_id!r}")
        reply = self.stream.client.xread({self.stream.key: after_id}, count=count)
        rows = next(iter(reply.values()), []) if isinstance(reply, dict) else \
            (reply[0][1] if reply else [])
        ids = {i for i in (case_id_of(raw) for _, raw in rows) if i is not None}
        return ids, (_sid(rows[-1][0]) if rows else after_id), len(rows)

    def read_latest(self, n: int, upto: str | None = None) -> list[StreamEvent]:
        """The valid events of the newest n entries (up to and including `upto`), oldest
        first, each (case_id, seq) once (a ticker's initial fill)."""
        if n < 1:
            return []
        rows = self.stream.client.xrevrange(self.stream.key, max=upto or "+", count=n)
        return self._decode(list(reversed(rows)), "0-0", RecentKeys(n)).events

    def _decode(self, rows, after_id: str, dedupe: RecentKeys | None = None) -> ReadResult:
        dedupe = self.dedupe if dedupe is None else dedupe
        result = ReadResult([], after_id)
        for entry_id, raw in rows:
            decoded = decode_entry(entry_id, raw, self.known_grid)
            if dedupe is not None:
                key = None if isinstance(decoded, Rejected) else (decoded.case_id, decoded.seq)
                if dedupe.add(id_key(decoded.entry_id), key):
                    decoded = Rejected(decoded.entry_id, DUPLICATE,
                                       f"case {decoded.case_id} seq {decoded.seq}")
            if isinstance(decoded, Rejected):
                result.rejected[decoded.reason] += 1
                result.skipped.append(decoded)
            else:
                result.events.append(decoded)
            result.last_id = decoded.entry_id
        self.rejected_total.update(result.rejected)
        return result

    def _check_block(self, block_ms: int) -> None:
        # A read timeout shorter than BLOCK turns every quiet period into a TimeoutError.
        timeout = self.stream.client.connection_pool.connection_kwargs.get("socket_timeout")
        too_long = timeout is not None and (block_ms == 0 or block_ms / 1000 + 0.5 > timeout)
        if block_ms < 0 or too_long:
            raise ValueError(f"block_ms={block_ms} needs a client without a shorter socket "
                             "timeout: make_client(url, blocking=True)")


def stream_health(stream: EventStream, now: datetime, lag_warn_seconds: float,
                  skips: SkipCounter | None = None) -> dict:
    """Status of the stream for the freshness badge, and with `skips` the entries skipped
    so far by reason (`skipped`); never raises on Redis errors."""
    health = {"status": "down", "length": None, "newest_id": None, "newest_at": None,
              "lag_seconds": None, "error": None}
    if skips is not None:
        health["skipped"] = None
    try:
        length = stream.length()
        newest = stream.newest()
        if skips is not None:
            health["skipped"] = skips.snapshot()
    except (redis.RedisError, OSError) as exc:
        health["error"] = f"{type(exc).__name__}: {exc}"
        return health
    health["length"] = length
    if newest is None:
        health["status"] = "empty"
        return health
    entry_id, at = newest
    lag = max(0.0, (now - at).total_seconds())
    health.update(newest_id=entry_id, newest_at=at.isoformat(timespec="milliseconds"),
                  lag_seconds=lag, status="lagging" if lag > lag_warn_seconds else "live")
    return health


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
