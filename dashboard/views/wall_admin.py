"""What /admin shows of the wall devices: each device as a row (its region named, its
times in the installation's zone, its state) and the regions a new one may be bound to.
Pure: devices and the region tree in, values out (the store is the app's)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dashboard.domain.walls import DeviceState, WallDevice
from dashboard.views.account_admin import PickerRegion, region_label

PAGE_ROWS = 50      # a province has 1,345 walls: 315 kB of HTML drawn at once (bench.admin_walls)
TEXT_MAX = 40


@dataclass(frozen=True)
class WallFilter:
    """What /admin's device list shows: the devices `text` finds (by their name, their
    region code's prefix or the name of their region or one above it: device_page), in
    `state` ("" any), page `page` (1: the first). Parsed from the page's query string;
    anything else there is ignored."""
    text: str = ""
    state: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args) -> WallFilter:
        state = args.get("walls_state") or ""
        try:
            page = min(max(int(args.get("walls_page") or 1), 1), 10**6)
        except ValueError:
            page = 1
        return cls((args.get("walls_q") or "").strip()[:TEXT_MAX],
                   state if state in {s.value for s in DeviceState} else "", page)

    def href(self, lang: str, **changes) -> str:
        f = replace(self, **changes)
        params = {k: v for k, v in (("walls_q", f.text), ("walls_state", f.state),
                                    ("walls_page", f.page if f.page > 1 else "")) if v}
        if lang == "en":
            params["lang"] = "en"
        return "/admin" + ("?" + urlencode(params) if params else "") + "#admin-walls"


@dataclass(frozen=True)
class WallPage:
    """One page of the filtered devices' rows, and how many match by state."""
    rows: list
    counts: dict[str, int]
    filter: WallFilter

    @property
    def total(self) -> int:
        return self.counts.get(self.filter.state, 0) if self.filter.state else \
            sum(self.counts.values())

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_ROWS))


@dataclass(frozen=True)
class WallRow:
    id: int
    name: str
    region: str                 # "南京市 320100"
    privacy: bool
    allow: tuple[str, ...]      # networks; empty: any address
    created: str
    state: DeviceState
    since: str | None           # revoked: when; rotating: until when the old token works
    seen: str | None            # last seen, None: never
    address: str | None         # from where it was last seen


def local_time(at: datetime, tz: str) -> str:
    """A stored (UTC) time in the installation's zone, to the minute."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def wall_rows(devices: list[WallDevice], tree, lang: str, now: datetime,
              tz: str) -> list[WallRow]:
    """A row for each device, in the order given (the store's page: those still in use
    first, newest first, then the revoked ones). A token and its hash are not part of a
    row: nothing here opens a wall."""
    rows = []
    for d in devices:
        state = d.state(now)
        since = (d.revoked_at if state is DeviceState.REVOKED else
                 d.previous_until if state is DeviceState.ROTATING else None)
        rows.append(WallRow(
            d.id, d.name, region_label(d.region_code, tree, lang), d.privacy, d.allow,
            local_time(d.created_at, tz), state, local_time(since, tz) if since else None,
            local_time(d.last_seen_at, tz) if d.last_seen_at else None, d.last_seen_address))
    return rows


def region_choices(root: PickerRegion | None) -> list[tuple[str, str, int]]:
    """(code, name, depth) of the regions a wall may be picked for: the account picker's
    tree (the province, its cities, their counties), in its order; anything below is
    typed as a code."""
    out: list[tuple[str, str, int]] = []

    def walk(r: PickerRegion) -> None:
        out.append((r.code, r.name, r.depth))
        for child in r.children:
            walk(child)
    if root is not None:
        walk(root)
    return out
