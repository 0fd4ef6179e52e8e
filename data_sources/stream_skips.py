"""Stream entries that are not shown: repeats of an earlier entry, and how skips are counted.

Duplicates. The data contract makes (case_id, seq) an event's identity: a producer that
retries an XADD after a timeout may write the same event twice. An entry is a
*duplicate* when it decodes to a valid event and one of the DEDUPE_WINDOW stream entries
just before it is a valid event with the same (case_id, seq). The rule depends only on
the stream, not on who reads it or from where, so every worker's reader, a resuming
client's backlog and the counting below all agree on which entries are duplicates, as
long as each reader has seen the DEDUPE_WINDOW entries before its first one
(`RecentKeys` is that window; `StreamReader.prime` fills it). Memory is one window of
DEDUPE_WINDOW keys per reader. A retried XADD lands within seconds of the original;
2,000 entries are minutes of a province's stream at full volume.

Counting. Every worker runs its own stream reader (data_sources.stream_hub), so the same
bad entry is read once per worker. `SkipCounter` keeps one count per reason in a Redis
hash shared by all workers and instances, together with `checked_to`, the ID of the
newest entry counted. A reader hands each batch it read, (the rejected entries' IDs and
reasons, the batch's last ID), to one Lua script that counts only the entries after
`checked_to` and moves `checked_to` to the batch's end, atomically: two workers reading
the same entries count them once between them, and a reader that re-reads old entries
(a resuming client's backlog, a reader restarting) counts nothing. Backlogs and the
wall's first fill do not count at all; only the per-worker live readers do, and a reader
that starts (after a restart, or after nobody watched) first reads from `checked_to` up
to where it starts, so entries written while no reader ran are counted too (up to
CATCH_UP_MAX of them; an older gap is skipped and logged).

Logging. `SkipSummary` writes at most one line a minute per process with what this
process counted: "stream: skipped 12 entries in the last 60 s: bad_time=10 duplicate=2".
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from data_sources.stream_events import REJECT_REASONS

log = logging.getLogger(__name__)

DUPLICATE = "duplicate"
SKIP_REASONS = REJECT_REASONS + (DUPLICATE,)
DEDUPE_WINDOW = 2000
CATCH_UP_MAX = 20_000
SUMMARY_SECONDS = 60.0

IdKey = tuple[int, int]


def id_key(entry_id: str) -> IdKey:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RecentKeys:
    """The (case_id, seq) keys of the last `size` stream entries (None for a rejected one),
    and which of them were duplicates. `add` must see entries in stream order."""

    def __init__(self, size: int = DEDUPE_WINDOW):
        if size < 1:
            raise ValueError("size must be >= 1")
        self.size = size
        self._entries: deque[tuple[IdKey, tuple[int, int] | None]] = deque()
        self._counts: dict[tuple[int, int], int] = {}
        self._dups: set[IdKey] = set()
        # Verdicts are exact for entries after `exact_after` (the window had its full
        # context when they came); entries up to it were added to prime the window.
        self.exact_after: IdKey | None = None
        self.newest: IdKey | None = None
        self._evicted: IdKey | None = None  # newest entry that left the window
        # The live reader adds while clients' backlogs ask for verdicts.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def prime(self, entries: list[tuple[IdKey, tuple[int, int] | None]],
              position: IdKey, start_of_stream: bool = False) -> None:
        """Start over with the entries up to and including `position` (oldest first).

        Verdicts are exact from `position` on; also for the primed entries that have
        `size` entries before them in `entries`, and for all of them when `entries`
        begins the stream (`start_of_stream`), so that a reader that primes with twice
        its size can answer for the entries just before where it starts."""
        with self._lock:
            self._entries.clear()
            self._counts.clear()
            self._dups.clear()
            self._evicted = None
            for idk, key in entries:
                self._add(idk, key)
            if start_of_stream:
                self.exact_after = (0, 0)
            elif len(entries) > self.size:
                self.exact_after = entries[self.size - 1][0]
            else:
                self.exact_after = position
            self.newest = position

    def add(self, idk: IdKey, key: tuple[int, int] | None) -> bool:
        """Record the next entry; True when it repeats a key of the window (a duplicate)."""
        with self._lock:
            return self._add(idk, key)

    def _add(self, idk: IdKey, key: tuple[int, int] | None) -> bool:
        dup = key is not None and key in self._counts
        self._push(idk, key)
        if dup:
            self._dups.add(idk)
        self.newest = idk
        return dup

    def _push(self, idk: IdKey, key: tuple[int, int] | None) -> None:
        self._entries.append((idk, key))
        if key is not None:
            self._counts[key] = self._counts.get(key, 0) + 1
        while len(self._entries) > self.size:
            old_idk, old = self._entries.popleft()
            self._evicted = old_idk
            self._dups.discard(old_idk)
            if old is not None:
                left = self._counts[old] - 1
                if left:
                    self._counts[old] = left
                else:
                    del self._counts[old]

    def duplicates_between(self, after: IdKey, upto: IdKey) -> set[IdKey] | None:
        """The duplicates among the entries in (after, upto], or None when this window has
        not judged all of them exactly (too old, or not read yet)."""
        with self._lock:
            if self.exact_after is None or self.newest is None:
                return None
            floor = max(self.exact_after, self._evicted or (0, 0))
            if after < floor or upto > self.newest:
                return None
            return {k for k in self._dups if after < k <= upto}


# One atomic step of the shared count: count the rejected entries after `checked_to`,
# then move `checked_to` to the end of the batch. IDs are compared as numbers held in
# strings (Lua's doubles cannot hold every 64-bit sequence number).
_COUNT_LUA = """
local function num_lt(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function id_gt(x, y)
  local xm, xs = string.match(x, '^(%d+)-(%d+)$')
  local ym, ys = string.match(y, '^(%d+)-(%d+)$')
  if xm ~= ym then return num_lt(ym, xm) end
  return num_lt(ys, xs)
end
local cur = redis.call('HGET', KEYS[1], 'checked_to')
local counted = {}
for i = 3, #ARGV, 2 do
  if not cur or id_gt(ARGV[i], cur) then
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1], 1)
    counted[#counted + 1] = ARGV[i + 1]
  end
end
if not cur then
  redis.call('HSET', KEYS[1], 'checked_to', ARGV[1], 'since', ARGV[2])
elseif id_gt(ARGV[1], cur) then
  redis.call('HSET', KEYS[1], 'checked_to', ARGV[1])
end
return counted
"""


def counter_key(key_prefix: str, stream_key: str) -> str:
    return f"{key_prefix}stream-skips:{stream_key}"


class SkipCounter:
    """Skipped entries by reason, counted once across every worker (see the module doc)."""

    def __init__(self, client, key: str):
        self.client, self.key = client, key
        self._script = client.register_script(_COUNT_LUA)

    def count(self, batch_end: str, skipped: Iterable[tuple[str, str]]) -> Counter[str]:
        """Count a batch that ended at `batch_end`; returns what this call counted."""
        args: list[str] = [batch_end, str(int(time.time()))]
        for entry_id, reason in skipped:
            args += [entry_id, reason]
        counted = self._script(keys=[self.key], args=args)
        return Counter(r.decode() if isinstance(r, bytes) else str(r) for r in counted or ())

    def checked_to(self) -> str | None:
        value = self.client.hget(self.key, "checked_to")
        return value.decode() if isinstance(value, bytes) else value

    def snapshot(self) -> dict:
        """{"total", "by_reason", "checked_to", "since"} for the health report."""
        raw = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes)
                                                             else v)
               for k, v in self.client.hgetall(self.key).items()}
        by_reason = {r: int(raw[r]) for r in SKIP_REASONS if int(raw.get(r) or 0)}
        since = raw.get("since")
        return {"total": sum(by_reason.values()), "by_reason": by_reason,
                "checked_to": raw.get("checked_to"),
                "since": datetime.fromtimestamp(int(since), timezone.utc).isoformat()
                if since else None}


class SkipSummary:
    """A log line at most every `interval` seconds with what this process skipped since
    the previous line. Call `add` with counts and `tick` now and then (the stream reader
    does every loop, at least every few seconds); `row_error` for an event that could not
    be turned into a ticker row."""

    def __init__(self, interval: float = SUMMARY_SECONDS,
                 clock: Callable[[], float] = time.monotonic, logger=log):
        self.interval, self.clock, self.log = interval, clock, logger
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._rows: int = 0
        self._row_example = ""
        self._since: float | None = None   # start of the window being summed
        self._last_line: float | None = None
        self.row_errors = 0                # since the process started

    def add(self, counts: Counter[str] | dict[str, int]) -> None:
        counts = {r: n for r, n in counts.items() if n}
        if not counts:
            return
        with self._lock:
            self._start()
            self._pending.update(counts)
        self.tick()

    def row_error(self, entry_id: str, exc: BaseException) -> None:
        with self._lock:
            self._start()
            self.row_errors += 1
            self._rows += 1
            self._row_example = f"{entry_id}: {type(exc).__name__}: {exc}"[:160]
        self.tick()

    def _start(self) -> None:
        if self._since is None:
            now = self.clock()
            # A window opens with the first skip after a line, or after a quiet time.
            self._since = now if self._last_line is None or \
                now - self._last_line >= self.interval else self._last_line

    def tick(self) -> None:
        with self._lock:
            if self._since is None:
                return
            now = self.clock()
            if now - self._since < self.interval:
                return
            parts = []
            if self._pending:
                total = sum(self._pending.values())
                reasons = " ".join(f"{r}={self._pending[r]}" for r in sorted(self._pending))
                parts.append(f"skipped {total} entries in the last {now - self._since:.0f} s: "
                             f"{reasons}")
            if self._rows:
                parts.append(f"{self._rows} events not shown as ticker rows in the last "
                             f"{now - self._since:.0f} s (last {self._row_example})")
            line = "stream: " + "; ".join(parts)
            self._pending.clear()
            self._rows, self._since, self._last_line = 0, None, now
        self.log.warning(line)


# One per process: "at most one line a minute per process", whatever the number of hubs.
SUMMARY = SkipSummary()
