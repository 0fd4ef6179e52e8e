"""Long Python computations of a gevent worker run off its loop (data_sources/off_loop.py):
in a real gevent process a 5 ms ticker greenlet keeps ticking while 300 ms of pure-Python
work computes, where it stood still for all of it on the loop. The answers are the same."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from data_sources import off_loop

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    from gevent import monkey; monkey.patch_all()
    import sys, time
    import gevent
    from data_sources import off_loop

    def work(n):
        t, total = time.perf_counter(), 0
        while time.perf_counter() - t < 0.3:   # Python, holding the GIL
            total += n
        return n * 2

    gaps, stop = [], []

    def feed():
        last = time.perf_counter()
        while not stop:
            gevent.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
    ticker = gevent.spawn(feed)
    gevent.sleep(0.05)
    run = off_loop.python_cpu if sys.argv[1] == "off" else (lambda fn, *a: fn(*a))
    # Two at once: they queue for the one thread, the loop goes on.
    both = [gevent.spawn(run, work, 21), gevent.spawn(run, work, 4)]
    gevent.joinall(both)
    stop.append(1)
    ticker.join()
    print(both[0].value, both[1].value, round(max(gaps) * 1000))
""")


def _run(where: str) -> tuple[str, str, int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, where], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    a, b, gap = out.stdout.split()
    return a, b, int(gap)


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
