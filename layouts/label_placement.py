"""Where each map label goes, so that no label covers another: a pure function of the
labels' anchors, their boxes and their areas, in pixels (y down) of a frame of the plot.

Each label is tried first inside its own area (a child's polygon), at its anchor or
nudged a little from it: the largest areas first, since they have room to spare. A label
that finds no place there (a small district in a city centre) is led out: a boxed label
at some distance, in the direction with the most free room (preferably off the land),
joined to its anchor by a line that crosses no other label. Labels of dots (regions
without a boundary) sit beside their dot, never on another dot.

Nothing here knows about plotly: layouts/wall_charts.py turns the result into a text
trace and annotations. Placing labels at the smallest scale they will be drawn at keeps
them apart at every larger one: boxes keep their pixel size while their centres (fixed
in data coordinates) move apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely import contains_xy, prepare

GAP = 4.0            # px between two labels' boxes
STEP = 3.0           # px between candidate positions inside an area
MIN_INSIDE = 0.95    # share of a label's ink that must lie in its own area
REACH = 0.9          # how far a label may move inside its area, in its own width/height
SAMPLES = (7, 5)     # points across and down a box that tell how much of it is inside
RING = 6.0           # px between the rings of spots tried around a led-out label's anchor
LEADER_PAD = 5.0     # px a led-out label's box (background and border) adds on each side
LAND_COST = 300.0    # px of leader length worth as much as a box wholly over the land
LINE_LAND_COST = 1.0  # and a px of leader over the land, as much as this many more
DOT_RADIUS = 13.0    # px: the wall's dots are 26 px across
ANGLES = 24
UNPLACED_COST = 1e6  # a label with no place at all, against any length of lines
MANY = 8             # labels to lead out above which fewer orders are tried
# Layouts are kept in the database (gw_region_label) under a fingerprint of what they were
# placed from: bump this when the algorithm below changes in a way the constants don't show.
PLACEMENT_VERSION = 1
PLACEMENT_CONSTANTS = (GAP, STEP, MIN_INSIDE, REACH, SAMPLES, RING, LEADER_PAD, LAND_COST,
                       LINE_LAND_COST, DOT_RADIUS, ANGLES, UNPLACED_COST, MANY)


@dataclass(frozen=True)
class Label:
    key: str
    x: float               # its anchor, px
    y: float
    w: float               # its text's box, px
    h: float
    area: object = None    # shapely geometry (px) to stay inside; None: a dot at the anchor
    # Where its ink is, as boxes (dx, dy, w, h) about the box's centre (its lines of text):
    # what must lie inside the area. The whole box when empty.
    ink: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class Spot:
    key: str
    x: float               # the centre of the label's box, px
    y: float
    w: float               # the box as drawn (a led-out label's includes its border)
    h: float
    leader: bool = False   # drawn boxed, with a line to its anchor

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x - self.w / 2, self.y - self.h / 2, self.x + self.w / 2, self.y + self.h / 2)


def _overlap(a, b, gap: float = GAP) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _within(b, width: float, height: float) -> bool:
    return b[0] >= 0 and b[1] >= 0 and b[2] <= width and b[3] <= height


def _box(x: float, y: float, w: float, h: float):
    return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def _segment_hits(x0, y0, x1, y1, b) -> bool:
    """Whether the segment (x0, y0)-(x1, y1) passes through box b (Liang–Barsky)."""
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - b[0]), (dx, b[2] - x0), (-dy, y0 - b[1]), (dy, b[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return False
    return True


def _cross(a, b) -> bool:
    """Whether two segments ((x0, y0), (x1, y1)) cross."""
    (p, q), (r, s) = a, b

    def orient(u, v, w):
        return (v[0] - u[0]) * (w[1] - u[1]) - (v[1] - u[1]) * (w[0] - u[0])
    return (orient(p, q, r) * orient(p, q, s) < 0) and (orient(r, s, p) * orient(r, s, q) < 0)


def _offsets(reach_x: float, reach_y: float):
    """Candidate offsets from an anchor, nearest first."""
    nx, ny = int(reach_x // STEP), int(reach_y // STEP)
    out = [(i * STEP, j * STEP) for i in range(-nx, nx + 1) for j in range(-ny, ny + 1)]
    out.sort(key=lambda d: d[0] * d[0] + d[1] * d[1])
    return out


class _Board:
    """The frame and what is on it: placed boxes, leader lines, dots and anchors."""

    def __init__(self, width: float, height: float, labels: list[Label], dots):
        self.width, self.height = width, height
        self.boxes: list[tuple] = []
        self.segments: list[tuple] = []
        self.dots = [(x - DOT_RADIUS, y - DOT_RADIUS, x + DOT_RADIUS, y + DOT_RADIUS)
                     for x, y in dots]
        self.anchors = [(lab.key, (lab.x - 4, lab.y - 4, lab.x + 4, lab.y + 4))
                        for lab in labels]

    def copy(self) -> _Board:
        other = object.__new__(_Board)
        other.__dict__.update(self.__dict__)
        other.boxes, other.segments = list(self.boxes), list(self.segments)
        return other

    def free(self, b, key: str | None) -> bool:
        """Inside the frame, apart from every placed box, on no dot, on no other label's
        anchor (no anchor at all for key None) and across no leader line."""
        return (_within(b, self.width, self.height)
                and not any(_overlap(b, o) for o in self.boxes)
                and not any(_overlap(b, d, 0) for d in self.dots)
                and not any(_overlap(b, p, 0) for k, p in self.anchors if k != key)
                and not any(_segment_hits(*s[0], *s[1], b) for s in self.segments))


def place(labels: list[Label], width: float, height: float, land=None,
          dots: tuple[tuple[float, float], ...] = ()) -> tuple[dict[str, Spot], list[str]]:
    """Spots for as many labels as fit in the frame (0..width, 0..height) without two boxes
    closer than GAP, and the keys of those that found none. `land` (shapely, px) is where
    led-out labels should rather not go; `dots` are centres no label may cover."""
    for geometry in [lab.area for lab in labels if lab.area is not None] + [land]:
        if geometry is not None:
            prepare(geometry)    # in place: the many point tests below are then fast
    board = _Board(width, height, labels, dots)
    spots: dict[str, Spot] = {}

    # 1. Inside its own area (or beside its dot), the largest areas first.
    missing: list[Label] = []
    for lab in sorted(labels, key=lambda lab: -(lab.area.area if lab.area is not None else 0)):
        spot = _inside(lab, board.free) if lab.area is not None else _beside_dot(lab, board.free)
        if spot is None:
            missing.append(lab)
        else:
            spots[lab.key] = spot
            board.boxes.append(spot.box)

    # 2. Led out with a line. Who goes first matters (the first takes the nearest free
    # room): a few orders are tried, and the one with the shortest lines over the least
    # land kept.
    best: tuple[float, dict, list] | None = None
    keys = (lambda lab: lab.area.area if lab.area is not None else 0, lambda lab: lab.x,
            lambda lab: -(lab.area.area if lab.area is not None else 0),
            lambda lab: -lab.x, lambda lab: lab.y, lambda lab: -lab.y)
    # Many to lead out (a county's townships as dots): two orders only, it is slow work.
    orders = {tuple(sorted(missing, key=key))
              for key in keys[:2 if len(missing) > MANY else len(keys)]}
    for order in sorted(orders, key=lambda o: [lab.key for lab in o]):
        trial, led, failed, total = board.copy(), {}, [], 0.0
        for lab in order:
            found = _led_out(lab, trial, land)
            if found is None:
                failed.append(lab.key)
                total += UNPLACED_COST
                continue
            spot, score = found
            led[lab.key] = spot
            total += score
            trial.boxes.append(spot.box)
            trial.segments.append(((lab.x, lab.y), (spot.x, spot.y)))
        if best is None or total < best[0]:
            best = (total, led, failed)
    if best is None:
        return spots, []
    return {**spots, **best[1]}, best[2]


def _samples(parts) -> tuple[np.ndarray, np.ndarray]:
    """A grid of points over each box (dx, dy, w, h), as offsets from the centre."""
    u = (np.arange(SAMPLES[0]) + 0.5) / SAMPLES[0] - 0.5
    v = (np.arange(SAMPLES[1]) + 0.5) / SAMPLES[1] - 0.5
    xs, ys = [], []
    for dx, dy, w, h in parts:
        gx, gy = np.meshgrid(dx + u * w, dy + v * h)
        xs.append(gx.ravel())
        ys.append(gy.ravel())
    return np.concatenate(xs), np.concatenate(ys)


def _share_inside(geometry, xs: np.ndarray, ys: np.ndarray, parts) -> np.ndarray:
    """For labels centred at (xs, ys): the share of each one's `parts` lying in
    `geometry`, from a grid of sample points (one call for every candidate)."""
    gx, gy = _samples(parts)
    return contains_xy(geometry, xs[:, None] + gx[None, :], ys[:, None] + gy[None, :]).mean(axis=1)


def _inside(lab: Label, free) -> Spot | None:
    offsets = np.array(_offsets(lab.w * REACH, lab.h * REACH))
    xs, ys = lab.x + offsets[:, 0], lab.y + offsets[:, 1]
    share = _share_inside(lab.area, xs, ys, lab.ink or ((0, 0, lab.w, lab.h),))
    for x, y in zip(xs[share >= MIN_INSIDE], ys[share >= MIN_INSIDE]):
        if free(_box(x, y, lab.w, lab.h), lab.key):
            return Spot(lab.key, float(x), float(y), lab.w, lab.h)
    return None


def _beside_dot(lab: Label, free) -> Spot | None:
    below = DOT_RADIUS + 2 + lab.h / 2
    side = DOT_RADIUS + 2 + lab.w / 2
    for dx, dy in ((0, below), (0, -below), (side, 0), (-side, 0),
                   (side, below), (-side, below), (side, -below), (-side, -below)):
        x, y = lab.x + dx, lab.y + dy
        if free(_box(x, y, lab.w, lab.h), lab.key):
            return Spot(lab.key, x, y, lab.w, lab.h)
    return None


def _hits(x0: float, y0: float, x1: np.ndarray, y1: np.ndarray, b) -> np.ndarray:
    """Which segments from (x0, y0) to (x1, y1) (arrays) pass through box b (slabs)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ix, iy = 1 / (x1 - x0), 1 / (y1 - y0)
        tx0, tx1 = (b[0] - x0) * ix, (b[2] - x0) * ix
        ty0, ty1 = (b[1] - y0) * iy, (b[3] - y0) * iy
        lo = np.maximum(np.maximum(np.fmin(tx0, tx1), np.fmin(ty0, ty1)), 0)
        hi = np.minimum(np.minimum(np.fmax(tx0, tx1), np.fmax(ty0, ty1)), 1)
    return lo <= hi


def _covers(x, y, w: float, h: float, b, gap: float = 0.0) -> np.ndarray:
    """Which boxes of size w x h centred at (x, y) come closer than `gap` to box b (arrays
    broadcast: candidates down, boxes across)."""
    return ((x - w / 2 < b[2] + gap) & (b[0] < x + w / 2 + gap)
            & (y - h / 2 < b[3] + gap) & (b[1] < y + h / 2 + gap))


def _crosses(px, py, qx, qy, seg) -> np.ndarray:
    """Which segments (px, py)-(qx, qy) (arrays) properly cross the segment `seg`."""
    (rx, ry), (sx, sy) = seg

    def orient(ax, ay, bx, by, cx, cy):
        return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    return ((orient(px, py, qx, qy, rx, ry) * orient(px, py, qx, qy, sx, sy) < 0)
            & (orient(rx, ry, sx, sy, px, py) * orient(rx, ry, sx, sy, qx, qy) < 0))


def _led_out(lab: Label, board: _Board, land) -> tuple[Spot, float] | None:
    """The best free spot around the anchor (near, off the land if it can be) whose line
    to the anchor crosses no label and no other line, and its score. Every candidate on
    rings around the anchor is tested at once."""
    w, h = lab.w + 2 * LEADER_PAD, lab.h + 2 * LEADER_PAD
    radii = np.arange(math.hypot(w, h) / 2 + 10, 0.75 * max(board.width, board.height), RING)
    angles = 2 * np.pi * np.arange(ANGLES) / ANGLES
    r = np.repeat(radii, ANGLES)
    x = lab.x + r * np.tile(np.cos(angles), len(radii))
    y = lab.y + r * np.tile(np.sin(angles), len(radii))
    keep = (x - w / 2 >= 0) & (y - h / 2 >= 0) & (x + w / 2 <= board.width) \
        & (y + h / 2 <= board.height)
    r, x, y = r[keep], x[keep], y[keep]

    # Every obstacle at once (candidates x obstacles): one array operation per kind
    # instead of one per obstacle, the difference between ~0.3 s and a few ms per region.
    if board.boxes:
        b = np.array(board.boxes, dtype=float).T[:, None, :]
        bad = _covers(x[:, None], y[:, None], w, h, b, GAP).any(axis=1)  # apart from labels
        bad |= _hits(lab.x, lab.y, x[:, None], y[:, None], b).any(axis=1)  # its line too
        r, x, y = r[~bad], x[~bad], y[~bad]
    marks = [b for _, b in board.anchors] + board.dots        # no anchor, not even its own
    if marks:
        bad = _covers(x[:, None], y[:, None], w, h,
                      np.array(marks, dtype=float).T[:, None, :]).any(axis=1)
        r, x, y = r[~bad], x[~bad], y[~bad]
    if board.segments:                                      # no line crosses it or its line
        s = np.array([(*p, *q) for p, q in board.segments], dtype=float).T[:, None, :]
        sx0, sy0, sx1, sy1 = s
        px, py = x[:, None], y[:, None]
        x0, y0, x1, y1 = px - w / 2, py - h / 2, px + w / 2, py + h / 2
        bad = ((np.minimum(sx0, sx1) >= x0) & (np.maximum(sx0, sx1) <= x1)
               & (np.minimum(sy0, sy1) >= y0) & (np.maximum(sy0, sy1) <= y1))
        seg = ((sx0, sy0), (sx1, sy1))
        for edge in ((x0, y0, x1, y0), (x1, y0, x1, y1), (x1, y1, x0, y1), (x0, y1, x0, y0)):
            bad |= _crosses(*edge, seg)
        bad = (bad | _crosses(lab.x, lab.y, px, py, seg)).any(axis=1)
        r, x, y = r[~bad], x[~bad], y[~bad]
    if not len(r):
        return None
    score = r.copy()
    if land is not None:
        # Off the land if it can be, and by a line that crosses as little of it as it can.
        score += LAND_COST * _share_inside(land, x, y, ((0, 0, w, h),))
        t = np.linspace(0.1, 0.9, 9)
        lx = lab.x + (x[:, None] - lab.x) * t[None, :]
        ly = lab.y + (y[:, None] - lab.y) * t[None, :]
        score += LINE_LAND_COST * r * contains_xy(land, lx, ly).mean(axis=1)
    i = int(np.argmin(score))
    return Spot(lab.key, float(x[i]), float(y[i]), w, h, leader=True), float(score[i])
