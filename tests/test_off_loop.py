"""Long Python computations of a gevent worker run off its loop (data_sources/off_loop.py):
in a real gevent process a 5 ms ticker greenlet keeps ticking while 300 ms of pure-Python
work computes, where it stood still for all of it on the loop. The answers are the same."""
from __future__ import annotations

from data_sources import off_loop
from tests.gevent_ticker import beside_ticker

BODY = """
    from data_sources import off_loop

    def work(n):
        t, total = time.perf_counter(), 0
        while time.perf_counter() - t < 0.3:   # Python, holding the GIL
            total += n
        return n * 2

    run = off_loop.python_cpu if sys.argv[1] == "off" else (lambda fn, *a: fn(*a))
    # Two at once: they queue for the one thread, the loop goes on.
    both = [gevent.spawn(run, work, 21), gevent.spawn(run, work, 4)]
    gevent.joinall(both)
    result = [both[0].value, both[1].value]
"""


def _run(where: str) -> tuple[str, str, int]:
    (a, b), gap = beside_ticker(BODY, where, timeout=60)
    return a, b, gap


def test_python_work_off_the_loop_leaves_the_loop_its_turns():
    a, b, on_loop = _run("on")
    assert (a, b) == ("42", "8") and on_loop >= 250     # the ticker waited for the work
    a, b, off = _run("off")
    assert (a, b) == ("42", "8")
    # The ticker waits for its GIL turns (5 ms switch interval) only, not for the work.
    assert off < 100, off


def test_without_gevent_the_work_runs_where_it_is_called():
    import threading
    where = []
    assert off_loop.python_cpu(lambda: where.append(threading.get_ident()) or 7) == 7
    assert off_loop.releasing_gil(lambda x: x + 1, 1) == 2
    assert where == [threading.get_ident()]
