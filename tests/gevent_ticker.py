"""Runs test code in a real gevent process beside a 5 ms ticker greenlet (a wall's live
feed standing in), to see whether that code holds the worker's loop: the ticker's
longest gap between two ticks is what a live event would have waited."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
from gevent import monkey; monkey.patch_all()
import sys, time
import gevent
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
"""
EPILOGUE = """
stop.append(1)
ticker.join()
print(*result, round(max(gaps) * 1000))
"""


def beside_ticker(body: str, *args: str, timeout: float = 120) -> tuple[list[str], int]:
    """Runs `body` (which sets `result`, a list of values to print) after the ticker has
    started; (the printed values, the ticker's longest gap in ms)."""
    script = PRELUDE + textwrap.dedent(body) + EPILOGUE
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                         text=True, cwd=ROOT, timeout=timeout)
    assert out.returncode == 0, out.stderr
    *values, gap = out.stdout.split()
    return values, int(gap)
