"""Seeding in several processes (PostgreSQL): each seeds a share of the counties and
writes it with a COPY of its own, so a seed uses every core instead of one.

One process plans and encodes ~55 µs of Python a case, more than the server spends
loading it (~45 µs): it held a seed to ~0.65× a plain COPY of the same rows (issue 12,
goal 7). The rows do not depend on the split (simulator/seed.py: every county draws from
generators of its own, and every process draws the same plan of arrivals and ids).

Workers are forked when this process runs no other thread (the CLI, the benchmarks):
they start at once and share the caller's world and plan without copying. Where another
thread runs (a test runner, an app), fork could copy a lock that thread holds, so they
are spawned instead (~1 s of imports each). A forked worker never touches the caller's
connections (SQLAlchemy's advice for fork: dispose(close=False)); each connects anew.
"""
from __future__ import annotations

import multiprocessing as mp
import threading

from data_sources.database import CaseDatabase
from simulator.world import World

_done = None     # cases handed over so far, one slot per worker (each slot one writer)
_world: World | None = None
_plan = None     # the caller's plan, when forked (spawned workers draw it again)
_run = None      # what seeds a share: simulator.seed.seed_share


def balanced_split(world: World, parts: int) -> list[list[int]]:
    """County indexes in `parts` groups of near-equal volume (largest first, to the
    lightest), each group in the counties' order."""
    groups: list[list[int]] = [[] for _ in range(parts)]
    load = [0.0] * parts
    rates = world.intake_rates
    for i in sorted(range(len(rates)), key=lambda i: -rates[i]):
        k = load.index(min(load))
        groups[k].append(i)
        load[k] += rates[i]
    return [sorted(g) for g in groups if g]


def start_method() -> str:
    return "fork" if threading.active_count() == 1 and "fork" in mp.get_all_start_methods() \
        else "spawn"


def _init(done, world: World, engine, plan, run) -> None:
    global _done, _world, _plan, _run
    _done, _world, _plan, _run = done, world, plan, run
    if engine is not None:      # forked: the caller's pool is the caller's alone
        engine.dispose(close=False)


def _seed_share(args: tuple):
    slot, url, counties, job = args
    db = CaseDatabase(url)
    try:
        def progress(n: int) -> None:
            _done[slot] += n
        return _run(db, _world, counties, job, _plan, progress)
    finally:
        db.close()


def seed_in_processes(db, world: World, job, plan, workers: int, make_bar, run) -> list:
    """Seed `job` in `workers` processes, each with its own connection to `db.url` and
    a share of the counties, by `run(db, world, counties, job, plan or None, progress)`
    (a module-level function: a spawned worker imports it by name); `make_bar()` (a
    tqdm, made once they run) follows them. Returns what each run returned."""
    shares = balanced_split(world, workers)
    method = start_method()
    ctx = mp.get_context(method)
    done = ctx.RawArray("q", len(shares))   # RawArray: no lock left to the tracker
    forked = method == "fork"
    engine = getattr(db, "engine", None) if forked else None
    with ctx.Pool(len(shares), initializer=_init,
                  initargs=(done, world, engine, plan if forked else None, run)) as pool:
        pending = pool.map_async(_seed_share, [(k, db.url, share, job)
                                               for k, share in enumerate(shares)])
        with make_bar() as bar:
            while not pending.ready():
                pending.wait(0.5)
                bar.update(sum(done) - bar.n)
            parts = pending.get()   # a worker's error is raised here; the pool then stops
            bar.update(sum(done) - bar.n)
    return parts
