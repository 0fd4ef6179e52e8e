"""Long computations of a gevent web worker moved off its loop, into native threads.

Under gevent every request, live feed and frame of a worker shares one thread: a
greenlet that computes for 300 ms holds every other greenlet of the worker for 300 ms
(dashboard/app/loop_watch.py). In a native thread the same work shares the GIL instead:
the loop's thread gets it back within Python's switch interval (5 ms) whenever it has
something to do. Outside a gevent worker (tests, the CLI) the work runs where it is
called.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_lock = threading.Lock()
_python_pool = None


def _patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("threading")


def releasing_gil(fn: Callable[..., T], *args) -> T:
    """`fn(*args)` for work that releases the GIL while it computes (argon2, ~100 ms of
    CPU a password by design): in any of gevent's native threads."""
    if not _patched():
        return fn(*args)
    from gevent import get_hub
    return get_hub().threadpool.apply(fn, args)


def python_cpu(fn: Callable[..., T], *args) -> T:
    """`fn(*args)` for Python computing that holds the GIL (a map's label layout, tens to
    hundreds of ms a region): in one native thread of its own, so that the loop shares
    the GIL with that one thread, not with ten; calls queue for it."""
    if not _patched():
        return fn(*args)
    global _python_pool
    if _python_pool is None:
        from gevent.threadpool import ThreadPool
        with _lock:
            if _python_pool is None:
                _python_pool = ThreadPool(1)
    return _python_pool.apply(fn, args)
