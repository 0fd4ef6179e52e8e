"""The walls' pace (dashboard/views/wall/pace.py): a saturated worker tells its screens to
refresh less often, and back again when it has room, with numbers and no server."""
import pytest

from dashboard.views.wall.pace import JITTER, MAX_FACTOR, Pace, next_factor, resync_ms


class Clocks:
    """A process's CPU clock and a wall clock, moved by the test."""

    def __init__(self):
        self.now, self.cpu = 0.0, 0.0

    def run(self, seconds: float, busy: float):
        self.now += seconds
        self.cpu += seconds * busy


def test_next_factor_doubles_when_saturated_or_slow_and_halves_when_idle():
    assert next_factor(1, busy=0.95, slow=0.0) == 2
    assert next_factor(2, busy=0.3, slow=0.5) == 4           # slow answers alone suffice
    assert next_factor(8, busy=0.99, slow=1.0) == MAX_FACTOR == 12
    assert next_factor(12, busy=0.99, slow=1.0) == 12
    assert next_factor(4, busy=0.2, slow=0.01) == 2
    assert next_factor(1, busy=0.0, slow=0.0) == 1
    assert next_factor(4, busy=0.7, slow=0.01) == 4          # in between: keep


def test_a_saturated_worker_slows_its_walls_down_and_recovers():
    c = Clocks()
    pace = Pace(5.0, cpu=lambda: c.cpu, clock=lambda: c.now, window=10.0)
    assert pace.interval_ms() == 5000
    seen = []
    for _ in range(5):                      # five windows with the process saturated
        c.run(10.0, busy=0.97)
        seen.append(pace.current())
    assert seen == [2, 4, 8, 12, 12]
    assert pace.busy == pytest.approx(0.97)
    for _ in range(20):
        ms = pace.interval_ms()
        assert 60_000 * (1 - JITTER) <= ms <= 60_000 * (1 + JITTER)
    c.run(3.0, busy=0.1)                    # inside a window: no decision yet
    assert pace.current() == 12
    recovered = []
    for _ in range(4):
        c.run(10.0, busy=0.1)
        for _ in range(50):
            pace.observe(0.05)              # quick refreshes (1% of a tick)
        recovered.append(pace.current())
    assert recovered == [6, 3, 1, 1] and pace.interval_ms() == 5000


def test_slow_refreshes_slow_the_walls_even_when_the_cpu_is_someone_elses():
    """PostgreSQL or another process on the same cores: this worker is not busy itself,
    but its screens wait; the median refresh says so."""
    c = Clocks()
    pace = Pace(5.0, cpu=lambda: c.cpu, clock=lambda: c.now, window=10.0)
    for d in (2.0, 3.0, 0.1, 2.5, 4.0):
        pace.observe(d)
    c.run(10.0, busy=0.3)
    assert pace.current() == 2


def test_screens_that_started_together_resynchronise_spread_over_the_minute():
    """A province's 1,345 walls all told the resync interval at the same moment (a restart)
    come back spread over the minute, each at its own place, and keep that place."""
    started = 1_800_000_000.25
    keys = [f"32{k:07d}" for k in range(1345)]
    due = [started + resync_ms(60, key, started) / 1000 for key in keys]
    assert all(started + 30 <= d < started + 90 for d in due)
    per_slice = [0] * 12                       # 5 s slices of the minute
    for d in due:
        per_slice[int(d % 60 // 5)] += 1
    assert min(per_slice) >= 1345 / 12 * 0.6 and max(per_slice) <= 1345 / 12 * 1.4, per_slice
    # A screen answered 0.3 s after its place waits one period less that 0.3 s: it stays.
    key, at = keys[7], due[7]
    for _ in range(5):
        answered = at + 0.3
        nxt = answered + resync_ms(60, key, answered) / 1000
        assert nxt - at == pytest.approx(60, abs=0.002)
        at = nxt
