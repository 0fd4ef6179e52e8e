"""The app's one warmer: pages and the wall register jobs with it; it starts, stops and
joins them together.

A job is work done at a fixed interval so that no viewer pays for it: the wall rebuilds
the live view of every watched region at each tick boundary, /kpi and /region keep the
root's landing views young. Each job runs in its own thread (a province's month must not
delay the next tick of the walls), started by a worker's first request, never by building
an app. A `shared` job runs once per interval across all workers: a Redis slot key picks
one of them, and without Redis each worker does its own.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from dashboard.cache.background import Background
from dashboard.cache.leases import RELEASE_LOCK, RENEW_LEASE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: float                      # seconds between runs, aligned to the clock
    work: Callable[[datetime], object]
    shared: bool = False              # once per interval across workers (Redis slot)
    run_first: bool = False           # run at start, not only at the first boundary
    # A shared job that can outlast its interval (the aggregates follower rebuilding every
    # stored day) holds a lease while it runs, so that the next interval's worker does
    # not start the same work beside it: of this many seconds, renewed every third of it
    # for as long as the job runs. A worker killed in the middle (SIGKILL, OOM) lets
    # another take over within that time; a lease held for the job's longest run kept
    # the aggregates unfollowed for an hour, and every /kpi counted the case table.
    exclusive_seconds: float = 0
    enabled: Callable[[], bool] = field(default=lambda: True)


class Warmer:
    def __init__(self, key_prefix: str = "", redis: Callable[[], object] | None = None):
        self._prefix, self._redis = key_prefix, redis
        self.jobs: dict[str, Job] = {}
        self._threads: dict[str, Background] = {}
        self._stopped = False

    def register(self, job: Job) -> None:
        if job.name in self.jobs:
            raise ValueError(f"warm-up job {job.name!r} registered twice")
        self.jobs[job.name] = job
        self._threads[job.name] = Background(f"warm-{job.name}", lambda stop: self._loop(job, stop))

    def ensure_started(self, name: str | None = None) -> None:
        """Start every enabled job (or the one named) not running yet; idempotent, and a
        stopped warmer stays stopped."""
        if self._stopped:
            return
        for job in self.jobs.values():
            if (name is None or job.name == name) and job.enabled():
                self._threads[job.name].ensure_started()

    @property
    def alive(self) -> bool:
        return any(t.alive for t in self._threads.values())

    def running(self, name: str) -> bool:
        return self._threads[name].alive

    def stop(self) -> None:
        self._stopped = True
        for t in self._threads.values():
            t.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every job's thread; True when none runs any more."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads.values():
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.alive

    def run_once(self, name: str, now: datetime | None = None) -> bool:
        """Run a job now unless another worker has this interval's slot; True if it ran."""
        job = self.jobs[name]
        now = now or datetime.now(timezone.utc)
        if job.shared and not self._take_slot(job, now):
            return False
        lease = self._take_lease(job)
        if lease is False:
            return False  # still running elsewhere
        done = self._keep_lease(job, lease) if lease else None
        try:
            job.work(now)
        finally:
            if done is not None:
                done.set()
            if lease:
                self._release(job, lease)
        return True

    def _lease_key(self, job: Job) -> str:
        return f"{self._prefix}running:{job.name}"

    def _take_lease(self, job: Job) -> str | bool | None:
        """A token when the lease is ours, False when another worker holds it, None when
        the job needs none or Redis cannot say (then we run, as without Redis)."""
        if not (job.shared and job.exclusive_seconds and self._redis):
            return None
        token = uuid.uuid4().hex
        try:
            got = self._redis().set(self._lease_key(job), token, nx=True,
                                    ex=max(int(job.exclusive_seconds), 1))
        except Exception:  # noqa: BLE001 - Redis down: each worker does its own
            return None
        return token if got else False

    def _keep_lease(self, job: Job, token: str) -> threading.Event:
        """Renews the lease every third of its time until the returned event is set."""
        done = threading.Event()
        ms = max(int(job.exclusive_seconds * 1000), 1000)

        def renew() -> None:
            while not done.wait(ms / 3000):
                try:
                    if not self._redis().eval(RENEW_LEASE, 1, self._lease_key(job), token, ms):
                        log.warning("warm-up %s: its lease was lost while it ran", job.name)
                        return
                except Exception:  # noqa: BLE001 - Redis down: it expires, another may start
                    pass
        threading.Thread(target=renew, name=f"lease-{job.name}", daemon=True).start()
        return done

    def _release(self, job: Job, token: str) -> None:
        try:
            self._redis().eval(RELEASE_LOCK, 1, self._lease_key(job), token)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            pass

    def _take_slot(self, job: Job, now: datetime) -> bool:
        slot = int(now.timestamp() // job.every)
        try:
            client = self._redis() if self._redis else None
            if client is None:
                return True
            return bool(client.set(f"{self._prefix}warm:{job.name}:{slot}", "1", nx=True,
                                   ex=int(job.every) + 60))
        except Exception:  # noqa: BLE001 - Redis down: the views live in-process; warm ours
            return True

    def _loop(self, job: Job, stopping) -> None:
        first = job.run_first
        while first or not stopping.wait(job.every - time.time() % job.every + 0.02):
            first = False
            if stopping.is_set():
                return
            try:
                self.run_once(job.name)
            except Exception as exc:  # noqa: BLE001 - database down: the next round tries again
                log.warning("warm-up %s failed: %s", job.name, str(exc).splitlines()[0])
