"""What held a gevent worker's loop (dashboard/app/loop_watch.py): in a real gevent
process, a greenlet that computes for 150 ms without yielding is named, with where it
gave the loop back; short turns and the hub's idle waits are not counted."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from dashboard.app import loop_watch
from dashboard.app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    from gevent import monkey; monkey.patch_all()
    import logging, sys, time
    import gevent
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(message)s")
    from dashboard.app import loop_watch
    from dashboard.views.wall import pace   # a gridwatch module the hog stands in

    def hog():
        t = time.perf_counter()
        while time.perf_counter() - t < 0.15:
            pass
        pace.resync_ms(60, "320000", time.time())   # a gridwatch frame on the stack
        gevent.sleep(0.01)                           # where it gives the loop back

    stalls = loop_watch.install(100, every=1.0)
    assert stalls is not None
    chatter = [gevent.spawn(lambda: [gevent.sleep(0.001) for _ in range(300)])]
    gevent.sleep(0.5)               # the hub idle: not a stall
    gevent.joinall([gevent.spawn(hog), *chatter])
    gevent.sleep(1.2)               # the minute (here a second) ends: the summary
""")


def test_a_greenlet_that_holds_the_loop_is_named_once_a_minute():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [x for x in out.stdout.splitlines() if "the loop was held" in x]
    assert len(lines) == 1, out.stdout + out.stderr
    line = lines[0]
    assert "≥ 100 ms 1 times" in line, line
    held = int(line.split("longest ")[1].split(" ms")[0].replace(",", ""))
    assert 150 <= held < 1000
    # Where it gave the loop back: the test's hog (not gridwatch's) waiting in sleep.
    assert "[sleep]" in line
    # The lag timer waited for the hog too: its longest lateness is the hog's turn.
    late = int(line.split("timer woke late by ")[1].split("longest ")[1].split(" ms")[0])
    assert 100 <= late < 1000, line


def test_stalls_count_only_long_turns_and_start_over():
    s = loop_watch.Stalls(100)
    s.add(0.05, "short")
    assert s.summary(60) is None
    s.add(0.2, "callbacks.wall.frame [get]")
    s.add(0.3, "callbacks.wall.frame [get]")
    s.add(0.12, "dashboard.views.kpi.build [execute]")
    line = s.summary(60)
    assert "3 times in 60 s (total 620 ms, longest 300 ms)" in line
    assert line.index("callbacks.wall.frame [get] (2×, 500 ms)") < line.index("kpi.build")
    assert s.summary(60) is None
    # A timer late by the threshold or more is worth a line on its own.
    for late in [0.001] * 18 + [0.04, 0.15]:
        s.lag(late)
    line = s.summary(60)
    assert line == "in 60 s, a 20 ms timer woke late by p50 1 / p95 150 / longest 150 ms"
    s.lag(0.05)
    assert s.summary(60) is None


def test_nothing_is_installed_without_gevent_or_when_switched_off():
    assert loop_watch.install(0) is None
    assert loop_watch.install(100) is None     # pytest's process is not monkey-patched
    assert Settings.from_env({"GRIDWATCH_LOOP_WATCH_MS": "0"}).loop_watch_ms == 0
    assert Settings().loop_watch_ms == 100
