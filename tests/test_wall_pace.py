"""The walls' pace (dashboard/views/wall/pace.py): a saturated worker tells its screens to
refresh less often, and back again when it has room, with numbers and no server."""
import pytest

from dashboard.views.wall.pace import JITTER, MAX_FACTOR, Pace, next_factor


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
