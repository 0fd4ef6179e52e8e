"""The app's one warmer: jobs registered by pages and the wall run on the clock, a shared
job once per interval across workers (real Redis), and stop() ends them all."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest

from dashboard.cache.warmer import Job, Warmer


def test_jobs_run_on_their_interval_and_stop_together():
    runs: dict[str, list[float]] = {"fast": [], "first": []}
    warmer = Warmer()
    warmer.register(Job("fast", 0.2, lambda now: runs["fast"].append(time.time())))
    warmer.register(Job("first", 60, lambda now: runs["first"].append(time.time()),
                        run_first=True))
    warmer.register(Job("off", 0.2, lambda now: pytest.fail("a disabled job ran"),
                        enabled=lambda: False))
    warmer.ensure_started()
    threads = {name: warmer._threads[name]._thread for name in ("fast", "first")}
    warmer.ensure_started()          # idempotent: still one thread per job
    assert {name: warmer._threads[name]._thread for name in threads} == threads
    assert warmer.running("fast") and warmer.running("first") and not warmer.running("off")
    time.sleep(1.0)
    assert 2 <= len(runs["fast"]) <= 6
    assert len(runs["first"]) == 1   # at start, not again within its minute
    warmer.stop()
    assert warmer.join(5) and not warmer.alive
    warmer.ensure_started()          # a stopped warmer stays stopped
    assert not warmer.alive


def test_a_failing_job_keeps_its_thread_and_runs_again():
    calls = []

    def flaky(now):
        calls.append(now)
        raise RuntimeError("database down")
    warmer = Warmer()
    warmer.register(Job("flaky", 0.2, flaky))
    warmer.ensure_started()
    time.sleep(0.9)
    try:
        assert len(calls) >= 2 and warmer.running("flaky")
    finally:
        warmer.stop()
        warmer.join(5)


def test_a_name_is_registered_once():
    warmer = Warmer()
    warmer.register(Job("a", 1, lambda now: None))
    with pytest.raises(ValueError):
        warmer.register(Job("a", 1, lambda now: None))


def test_a_shared_job_runs_once_per_interval_across_workers(redis_client, key_prefix):
    done = []
    workers = [Warmer(key_prefix, lambda: redis_client) for _ in range(3)]
    for w in workers:
        w.register(Job("landing", 60, done.append, shared=True))
    now = datetime(2026, 12, 2, 9, 0, 30, tzinfo=timezone.utc)
    assert [w.run_once("landing", now) for w in workers] == [True, False, False]
    later = datetime(2026, 12, 2, 9, 1, 0, tzinfo=timezone.utc)   # the next interval
    assert [w.run_once("landing", later) for w in workers] == [True, False, False]
    assert done == [now, later]


def test_without_redis_each_worker_warms_its_own():
    def down():
        raise ConnectionError("redis down")
    done = []
    workers = [Warmer("x:", down) for _ in range(2)]
    for w in workers:
        w.register(Job("landing", 60, done.append, shared=True))
    now = datetime(2026, 12, 2, 9, 0, 30, tzinfo=timezone.utc)
    assert all(w.run_once("landing", now) for w in workers) and len(done) == 2


def test_one_job_can_be_started_alone():
    warmer = Warmer()
    for name in ("wall-live", "kpi-landing"):
        warmer.register(Job(name, 60, lambda now: None))
    warmer.ensure_started("wall-live")
    try:
        assert warmer.running("wall-live") and not warmer.running("kpi-landing")
    finally:
        warmer.stop()
        assert warmer.join(5)



def _running_in_another_worker(redis_client, key_prefix, first, every, lease):
    """Two workers' warmers with the exclusive "aggregates" job; the first runs it from
    `first` until `release` is set. Returns (the second warmer, the first's thread,
    release, the times the job ran)."""
    started, release = threading.Event(), threading.Event()
    done = []

    def slow(now):
        started.set()
        release.wait(10)
        done.append(now)
    a, b = (Warmer(key_prefix, lambda: redis_client) for _ in range(2))
    for w in (a, b):
        w.register(Job("aggregates", every, slow, shared=True, exclusive_seconds=lease))
    runner = threading.Thread(target=a.run_once, args=("aggregates", first))
    runner.start()
    assert started.wait(10)
    return b, runner, release, done


def test_an_exclusive_job_that_outlasts_its_interval_is_not_started_beside_itself(
        redis_client, key_prefix):
    """The aggregates follower rebuilding every stored day takes longer than a tick: the
    next interval's worker must not start the same rebuild beside it."""
    first = datetime(2026, 12, 2, 9, 0, 0, tzinfo=timezone.utc)
    b, runner, release, done = _running_in_another_worker(redis_client, key_prefix, first,
                                                          every=5, lease=60)
    later = first.replace(second=5)                     # the next interval's slot
    assert b.run_once("aggregates", later) is False     # still running in the other worker
    release.set()
    runner.join(10)
    again = first.replace(second=10)
    assert b.run_once("aggregates", again) is True      # the lease went with the run
    assert done == [first, again]


def test_an_exclusive_job_keeps_its_lease_while_it_runs_and_a_killed_worker_loses_it(
        redis_client, key_prefix):
    """The lease is short and renewed while the job runs: a follow longer than the lease
    is never started twice, and a worker killed mid-run (its lease no longer renewed)
    hands the job over within the lease's time instead of the job's longest run."""
    first = datetime(2026, 12, 2, 9, 0, 0, tzinfo=timezone.utc)
    b, runner, release, _done = _running_in_another_worker(redis_client, key_prefix, first,
                                                           every=1, lease=1.5)
    time.sleep(2.5)                                      # past the lease's 1.5 s
    assert b.run_once("aggregates", first.replace(second=3)) is False   # renewed
    release.set()
    runner.join(10)
    # A worker killed while it ran: the lease it took is never renewed nor released.
    key = f"{key_prefix}running:aggregates"
    redis_client.set(key, "a-killed-worker", px=1500)
    assert b.run_once("aggregates", first.replace(second=4)) is False
    time.sleep(1.7)
    assert b.run_once("aggregates", first.replace(second=6)) is True
