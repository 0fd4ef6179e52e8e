"""What /admin shows of the wall devices: each device as a row (its region named, its
times in the installation's zone, its state) and the regions a new one may be bound to.
Pure: devices and the region tree in, values out (the store is the app's)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.domain.walls import DeviceState, WallDevice
from dashboard.views.account_admin import PickerRegion, region_label


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
    """Every device, those still in use first (newest first), then the revoked ones. A
    token and its hash are not part of a row: nothing here opens a wall."""
    rows = []
    for d in devices:
        state = d.state(now)
        since = (d.revoked_at if state is DeviceState.REVOKED else
                 d.previous_until if state is DeviceState.ROTATING else None)
        rows.append(WallRow(
            d.id, d.name, region_label(d.region_code, tree, lang), d.privacy, d.allow,
            local_time(d.created_at, tz), state, local_time(since, tz) if since else None,
            local_time(d.last_seen_at, tz) if d.last_seen_at else None, d.last_seen_address))
    return sorted(rows, key=lambda r: (r.state is DeviceState.REVOKED, -r.id))


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
