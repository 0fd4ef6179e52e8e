"""The wall's panels, declared once. A panel is drawn from one section of one of the two
shared view models (the live view, rebuilt every tick; the period view, every minute) and
says when its data is from. The layout, the refresh callback's outputs and the panel
clocks are all built from this list, so a new panel is one `Panel(...)` here, its title
(`wall.panel.<key>` in dashboard/domain/text.py) and its place in assets/wall.css.

The map (recoloured with a Patch), the KPI strip and the live ticker (fed by the SSE
stream) are drawn by layouts/wall.py itself.
"""
from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.domain.text import t
from layouts import wall_charts as charts
from layouts import wall_parts as parts


@dataclass(frozen=True)
class PanelData:
    """What a panel is drawn from: both views' sections, the children's rows and the
    viewer's settings."""
    live: dict
    period: dict
    rows: list[dict]
    lang: str
    target: float
    privacy: bool


@dataclass(frozen=True)
class Panel:
    key: str                    # id wall-<key>, CSS area gw-area-<key>, title wall.panel.<key>
    view: str                   # "live" or "period": which view holds its section
    section: str                # the section it draws and takes its data time from
    draw: Callable[[PanelData], object]
    reads: Callable[[PanelData], tuple]     # everything `draw` reads from the data
    graph: bool = False         # a dcc.Graph (figure) rather than children
    body_class: str = ""

    @property
    def prop(self) -> str:
        return "figure" if self.graph else "children"

    def as_of(self, d: PanelData) -> str | None:
        return ((d.live if self.view == "live" else d.period).get(self.section) or {}).get("as_of")

    def mark(self, d: PanelData) -> str:
        """A digest of what the panel would be drawn from, its time left out: equal marks,
        equal drawings (the draw functions are pure over these). A screen that shows a
        panel of the same mark is not sent it again."""
        return digest(d.lang, *self.reads(d))


def digest(*parts) -> str:
    """A short mark of plain data: what the screen is told it shows, and sends back.
    Equal marks mean equal data; equal data in another key order or of another type
    (1 and 1.0) may mark differently, which costs a redraw, never a stale panel. Pickled
    rather than JSON-encoded with sorted keys: a third of the time, for every panel of
    every answer. `fast` (no memo): shared and copied objects pickle alike."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    pickler.fast = True
    pickler.dump(parts)
    return hashlib.blake2b(out.getbuffer(), digest_size=8).hexdigest()


def _timeless(section: dict | None) -> dict | None:
    """A section without its time: a section whose counts did not change between two ticks
    draws the same."""
    return {k: v for k, v in section.items() if k != "as_of"} if section else section


def _overdue(d: PanelData):
    return parts.overdue_rows(d.live.get("overdue"), d.lang, d.privacy)


def _hourly(d: PanelData):
    if not d.live.get("hourly"):
        return charts.placeholder(t("wall.waiting", d.lang))
    return charts.hourly_figure(d.live["hourly"], d.lang)


def _satisfaction(d: PanelData):
    if not d.rows:
        return charts.placeholder(t("wall.waiting", d.lang))
    ranking = d.period.get("ranking") or {}
    month_by_code = {r["code"]: r for r in ranking.get("rows", [])}
    return charts.satisfaction_figure([{**r, "name": parts.short_name(r["name"])} for r in d.rows],
                                      month_by_code, d.target, ranking.get("min_sample", 30),
                                      d.lang)


# In the page's order; the CSS grid areas place them on the canvas.
PANELS = (
    Panel("dispatch", "live", "dispatch",
          lambda d: parts.dispatch_bars(d.live.get("dispatch"), d.lang),
          lambda d: (_timeless(d.live.get("dispatch")),)),
    Panel("funnel", "period", "funnel", lambda d: parts.funnel_bars(d.period.get("funnel"), d.lang),
          lambda d: (_timeless(d.period.get("funnel")),)),
    Panel("mix", "live", "mix", lambda d: parts.mix_lists(d.live.get("mix"), d.lang),
          lambda d: (_timeless(d.live.get("mix")),), body_class="gw-w-mix"),
    Panel("ranking", "period", "ranking",
          lambda d: parts.ranking_table(d.period.get("ranking"), d.lang, d.target),
          lambda d: (_timeless(d.period.get("ranking")), d.target)),
    Panel("overdue", "live", "overdue", lambda d: parts.overdue_list(_overdue(d), d.lang),
          lambda d: (_overdue(d),)),
    Panel("hourly", "live", "hourly", _hourly, lambda d: (_timeless(d.live.get("hourly")),),
          graph=True),
    Panel("sat", "live", "children", _satisfaction,
          lambda d: (d.rows, _timeless(d.period.get("ranking")), d.target), graph=True),
)
BY_KEY = {p.key: p for p in PANELS}
