"""What moving a published live model to a later tick costs a reader
(dashboard/views/wall/live_models.restamp): a model with the wall's 12 + 12 listed cases.

    .venv/bin/python -m bench.restamp

Each worker does it for every carried-over model its screens show, at every tick (~670
walls a worker at a province). Run from the checkout it measures (`python -m` puts the
current directory first on the path).
"""
from __future__ import annotations

import timeit
from datetime import datetime, timedelta, timezone

from dashboard.views.wall.live_models import restamp

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)


def model() -> dict:
    row = {"id": 1, "case_no": "20261203000001", "grid": "第1网格",
           "grid_code": "320506001001001", "community": "金色社区", "category": "市容环境",
           "urgency": "一般", "state": "IN_PROGRESS", "supervision": 2,
           "deadline": "12-03 18:00", "deadline_at": (NOW + timedelta(hours=2)).isoformat(),
           # A model of a checkout before 2063db0 held each row's time left as well.
           "seconds_left": 7200.0}
    at = NOW.isoformat(timespec="seconds")
    return {"region": "320500", "computed_at": at, "version": "a#1",
            "sources": {"database": {"status": "up", "since": None, "as_of": at}},
            "sections": {"kpis": {"as_of": at}, "children": {"as_of": at, "rows": []},
                         "dispatch": {"as_of": at}, "mix": {"as_of": at},
                         "hourly": {"as_of": at, "now_hour": 16, "now_minute": 0},
                         "overdue": {"as_of": at,
                                     "oldest": [dict(row, id=i) for i in range(12)],
                                     "urgent": [dict(row, id=100 + i) for i in range(12)]}}}


def main() -> None:
    m, later, n = model(), NOW + timedelta(seconds=5), 20_000
    runs = [timeit.timeit(lambda: restamp(m, later, "Asia/Shanghai"), number=n) / n * 1e6
            for _ in range(5)]
    print(f"restamp of a model with 24 listed cases: {sorted(runs)[2]:.1f} µs (median of 5)")


if __name__ == "__main__":
    main()
