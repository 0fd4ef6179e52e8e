"""CPython's cyclic garbage collector, set for a long-running web worker or wall builder.

The collector runs a full collection once the objects promoted since the last one reach a
quarter of those that survived it, and every full collection stops the whole process:
under gevent, every live feed, frame and callback of the worker. A province's worker
replaces ~100k tracked objects at every tick (the walls' models decoded from Redis, the
frames drawn from them), so with Python's defaults (a young collection every 700 new
objects) each web worker ran a full collection every 3-5 s, of 250-1,200 ms (~300 ms of
CPU over ~410k objects on a 420 MB heap; docs/benchmarks.md, "Garbage collection"): the
live ticker's and the callbacks' tails.

Here the young generation is collected every `young` new objects instead, so that the
middle and old ones fill up a hundred times slower and full collections come minutes
apart, and what exists once the app is built (modules, Dash's registry, the layouts) is
frozen out of every collection. Only cyclic garbage waits longer for it: reference
counting still frees everything else at once.
"""
from __future__ import annotations

import gc


def settle(young: int) -> None:
    """Called once the app is built, before it serves. `young` 0: Python's defaults."""
    if young <= 0:
        return
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(young, gen1, gen2)
    gc.collect()
    gc.freeze()
