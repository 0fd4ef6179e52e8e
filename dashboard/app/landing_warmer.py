"""The landing-page warmer: keeps the root region's landing views computed (/kpi this month
and today, /region of the root this month), so the first leader of the morning does not
wait seconds for a province's month either."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from dashboard.cache.background import Background
from dashboard.cache.page_memo import PageMemo
from dashboard.views import kpi as kpi_view
from dashboard.views import region as region_view
from dashboard.views import url_state

log = logging.getLogger(__name__)


class LandingWarmer:
    """Keeps the root region's landing views computed (/kpi this month and today, /region
    of the root this month), so the first leader of the morning does not wait seconds
    for a province's month either. It rebuilds them a little more often than
    `page_stale_seconds`, so a viewer always finds figures young enough to show at once.
    Every worker runs one; a Redis slot key lets one of them do each round."""

    def __init__(self, ctx):
        self.ctx = ctx
        s = ctx.settings
        self.every = max(s.page_cache_seconds, s.page_stale_seconds - s.page_cache_seconds, 1.0)
        self.job = Background("page-warmer", self._run)

    def ensure_started(self) -> None:
        if self.ctx.settings.page_cache_seconds > 0 and self.ctx.views is not None:
            self.job.ensure_started()

    def stop(self) -> None:
        self.job.stop()

    def join(self, timeout: float | None = None) -> bool:
        return self.job.join(timeout)

    def _run(self, stopping) -> None:
        while not stopping.is_set():
            try:
                self.warm_once()
            except Exception as exc:  # noqa: BLE001 - database down: try again next round
                log.warning("warming the landing pages failed: %s", str(exc).splitlines()[0])
            stopping.wait(self.every - time.time() % self.every + 0.05)

    def warm_once(self, now: datetime | None = None) -> bool:
        """Build the landing views now unless another worker has this round; True if built."""
        now = now or datetime.now(timezone.utc)
        slot = int(now.timestamp() // self.every)
        try:
            client = self.ctx.runtime.redis.client
            if not client.set(f"{self.ctx.settings.key_prefix}page-warm:{slot}", "1", nx=True,
                              ex=int(self.every) + 60):
                return False
        except Exception:  # noqa: BLE001 - Redis down: the views live in-process; warm ours
            pass
        s, cases, tree = self.ctx.settings, self.ctx.cases, self.ctx.tree.get()
        # Figures older than one interval are not good enough here: this build is what
        # keeps them young for the viewers.
        memo = lambda: PageMemo(self.ctx.views, s.page_cache_seconds, s.page_cache_seconds,  # noqa: E731
                                now.timestamp())
        for period in ("this_month", "today"):
            kpi_view.build(cases, tree, s, url_state.parse({"period": period}), now, memo())
        region_view.build(cases, tree, s, s.region, url_state.parse({}), now, memo())
        return True
