"""Where the wall's labels go, without a browser: the placement (layouts/label_placement.py)
on made-up shapes, the map's label layout on Jiangsu's real boundaries (the province, each
of its 13 cities, and a county's townships drawn as dots), checked the way plotly will
draw it on both canvas profiles; the Patch of a tick carrying the same layout; and the
满意率 chart's names. tests/test_wall_labels_browser.py checks the drawn boxes."""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import plotly.graph_objects as go
import pytest
from shapely.geometry import box as shapely_box
from shapely.geometry import shape

from callbacks import wall as wall_page
from dashboard.domain.metrics import WALL_MAP
from data_sources.region_tree import generate_lower_levels
from data_sources.regions import RegionTree, read_region_file, shipped_region_file
from layouts import label_placement as lp
from layouts import wall_charts as charts
from layouts.wall_parts import short_name

ON_TIME, INTAKE = WALL_MAP["on_time"], WALL_MAP["intake"]


# -- the placement on made-up shapes ------------------------------------------------------
def _square(x: float, y: float, side: float):
    return shapely_box(x - side / 2, y - side / 2, x + side / 2, y + side / 2)


def _boxes_apart(spots) -> list[tuple[str, str]]:
    boxes = [(s.key, s.box) for s in spots.values()]
    return [(a, b) for i, (a, p) in enumerate(boxes) for b, q in boxes[i + 1:]
            if lp._overlap(p, q, lp.GAP - 0.01)]


def test_a_label_that_fits_stays_at_its_anchor():
    area = _square(200, 150, 200)
    spots, failed = lp.place([lp.Label("a", 200, 150, 60, 50, area)], 400, 300)
    assert failed == [] and spots["a"].x == 200 and spots["a"].y == 150
    assert not spots["a"].leader


def test_small_areas_in_a_cluster_are_led_out_apart_without_crossing_lines():
    big = _square(200, 150, 160)
    smalls = [(f"s{i}", 200 + dx, 150 + dy) for i, (dx, dy) in
              enumerate([(-12, -12), (12, -12), (-12, 12), (12, 12), (0, 0)])]
    labels = [lp.Label("big", 200, 150, 60, 50, big.difference(_square(200, 150, 40)))]
    labels += [lp.Label(k, x, y, 54, 50, _square(x, y, 10)) for k, x, y in smalls]
    spots, failed = lp.place(labels, 600, 400, land=big)
    assert failed == []
    assert _boxes_apart(spots) == []
    assert all(spots[k].leader for k, _, _ in smalls) and not spots["big"].leader
    for s in spots.values():
        x0, y0, x1, y1 = s.box
        assert x0 >= 0 and y0 >= 0 and x1 <= 600 and y1 <= 400
    lines = [((lab.x, lab.y), (spots[lab.key].x, spots[lab.key].y)) for lab in labels
             if spots[lab.key].leader]
    assert not any(lp._cross(a, b) for i, a in enumerate(lines) for b in lines[i + 1:])
    for (start, end), lab in zip(lines, [lab for lab in labels if spots[lab.key].leader]):
        others = [s.box for k, s in spots.items() if k != lab.key]
        assert not any(lp._segment_hits(*start, *end, b) for b in others), lab.key
    # Off the land where there is room: mostly beside the big square, not on it.
    for k, _, _ in smalls:
        b = shapely_box(*spots[k].box)
        assert big.intersection(b).area < 0.5 * b.area, k


def test_labels_beside_dots_cover_no_dot():
    dots = [(100 + 30 * i, 100 + (i % 2) * 20) for i in range(6)]
    labels = [lp.Label(str(i), x, y, 40, 50) for i, (x, y) in enumerate(dots)]
    spots, failed = lp.place(labels, 400, 300, dots=tuple(dots))
    assert failed == [] and _boxes_apart(spots) == []
    r = lp.DOT_RADIUS
    for s in spots.values():
        assert not any(lp._overlap(s.box, (x - r, y - r, x + r, y + r), 0) for x, y in dots)


def test_a_label_with_no_room_anywhere_is_reported_not_stacked():
    labels = [lp.Label(str(i), 50, 50, 80, 50, _square(50, 50, 100)) for i in range(4)]
    spots, failed = lp.place(labels, 100, 100)
    assert len(spots) + len(failed) == 4 and failed
    assert _boxes_apart(spots) == []


# -- the map's layout on Jiangsu's real shapes ------------------------------------------
@pytest.fixture(scope="module")
def jiangsu():
    """The region tree of the shipped Jiangsu file, and one county's generated townships
    (which have no boundary: dots)."""
    doc = read_region_file(shipped_region_file("320000"))
    regions = doc["regions"]
    county = next(r for r in regions if r["code"] == "320506")
    everything = regions + [r for r in generate_lower_levels([county]) if r["level"] == 3]
    rows = {r["code"]: (r.get("parent"), r["level"], r["name"], r.get("population", 0),
                        r.get("lon"), r.get("lat")) for r in everything}
    bounds = {r["code"]: json.dumps(r["boundary"]) for r in regions if r.get("boundary")}
    return RegionTree("320000", rows, bounds)


CITIES = ["320100", "320200", "320300", "320400", "320500", "320600", "320700", "320800",
          "320900", "321000", "321100", "321200", "321300"]


def _map_input(tree, region: str, value=88.8, key: str = "on_time"):
    points = wall_page._map_points(tree, region)
    rows = [{"code": c.code, "name": short_name(c.name), key: value}
            for c in tree.children(region)]
    return tree.boundary_features(region), points, rows, wall_page._outline(tree, region)


def _drawn_boxes(layout: dict, rows: list[dict], metric, aspect: float, plot: tuple):
    """Each label's box in px of a plot (w, h), as plotly fits the layout's ranges into it
    (scaleanchor: one px per unit scale on both axes, the range widened to fill)."""
    (x0, x1), (y0, y1) = layout["range"]
    w, h = plot
    scale = min(w / (x1 - x0), h / ((y1 - y0) * aspect))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    sample = charts.value_sample(rows, metric)
    names = {r["code"]: r["name"] for r in rows}
    out = {}
    for code, spot in layout["spots"].items():
        bw, bh = charts.label_size(names[code], sample)
        x = w / 2 + (spot["x"] - cx) * scale
        y = h / 2 - (spot["y"] - cy) * scale * aspect
        if spot["leader"]:
            bw, bh = bw + 2 * lp.LEADER_PAD, bh + 2 * lp.LEADER_PAD
        else:
            y += charts.TEXT_DROP
        out[code] = (x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2)
    return out, scale


@pytest.mark.parametrize("region", ["320000", *CITIES, "320506"])
def test_every_child_is_labelled_and_no_two_labels_touch_on_either_profile(jiangsu, region):
    features, points, rows, outline = _map_input(jiangsu, region)
    started = time.perf_counter()
    layout = charts.map_label_layout(features, points, rows, ON_TIME, outline)
    took = time.perf_counter() - started
    if region == "320506":
        # 43 townships as dots: as many as fit (more than half), the rest left to the
        # ranking, as labels of areas too small to hold one were before.
        assert len(layout["spots"]) > len(rows) / 2
    else:
        assert set(layout["spots"]) == {r["code"] for r in rows}     # nobody dropped
    aspect = charts._aspect(points)
    for plot in charts.MAP_PLOTS:
        boxes, _ = _drawn_boxes(layout, rows, ON_TIME, aspect, plot)
        codes = sorted(boxes)
        touching = [(a, b) for i, a in enumerate(codes) for b in codes[i + 1:]
                    if lp._overlap(boxes[a], boxes[b], 0)]
        assert touching == [], (plot, touching)
        outside = [c for c, (bx0, by0, bx1, by1) in boxes.items()
                   if bx0 < 0 or by0 < 0 or bx1 > plot[0] or by1 > plot[1]]
        assert outside == [], (plot, outside)
    assert took < 5, f"placing {region}'s labels took {took:.2f} s"


@pytest.mark.parametrize("region", ["320000", "320100", "320500"])
def test_labels_left_in_their_area_have_their_text_inside_it(jiangsu, region):
    features, points, rows, outline = _map_input(jiangsu, region)
    layout = charts.map_label_layout(features, points, rows, ON_TIME, outline)
    aspect = charts._aspect(points)
    polygons = {f["id"]: shape(f["geometry"]) for f in features["features"]}
    sample = charts.value_sample(rows, ON_TIME)
    names = {r["code"]: r["name"] for r in rows}
    boxes, scale = _drawn_boxes(layout, rows, ON_TIME, aspect, charts.MAP_PLOTS[0])
    (x0, x1), (y0, y1) = layout["range"]
    w, h = charts.MAP_PLOTS[0]
    for code, spot in layout["spots"].items():
        if spot["leader"]:
            continue
        # Back to degrees: the name's line must lie in the child's own polygon.
        bx0, by0, bx1, by1 = boxes[code]
        mid_x = (bx0 + bx1) / 2
        name_w = charts.text_width(names[code])
        top = by0 + 0.225 * charts.LABEL_SIZE
        lon = lambda px: (x0 + x1) / 2 + (px - w / 2) / scale  # noqa: E731
        lat = lambda py: (y0 + y1) / 2 - (py - h / 2) / scale / aspect  # noqa: E731
        line = shapely_box(lon(mid_x - name_w / 2), lat(top + charts.LABEL_SIZE),
                           lon(mid_x + name_w / 2), lat(top))
        inside = polygons[code].intersection(line).area / line.area
        assert inside >= 0.9, (code, names[code], inside, sample)


def test_province_labels_are_led_out_only_where_they_do_not_fit(jiangsu):
    features, points, rows, outline = _map_input(jiangsu, "320000")
    layout = charts.map_label_layout(features, points, rows, ON_TIME, outline)
    led = {c for c, s in layout["spots"].items() if s["leader"]}
    assert led and len(led) <= 6
    assert {"320900", "320300", "320700"}.isdisjoint(led)   # 盐城, 徐州, 连云港: room enough


def test_township_dots_get_white_labels_beside_them(jiangsu):
    features, points, rows, outline = _map_input(jiangsu, "320506")
    assert features["features"] == [] and len(points) >= 5
    fig = charts.map_figure(features, points, rows, ON_TIME, outline)
    text = fig.data[fig.layout.meta["labels"]]
    assert set(text.textfont.color) <= {charts.INK}
    assert len(rows) / 2 < len(text.text) + len(fig.layout.annotations) <= len(rows)


# -- the figure and the tick's Patch ----------------------------------------------------
def _service(tree, computed: list | None = None):
    """A wall service's part that places labels; `computed` collects what it ran through
    `ctx.compute` (off a gevent worker's loop in the app)."""
    def compute(fn, *args):
        if computed is not None:
            computed.append(fn.__name__)
        return fn(*args)
    return SimpleNamespace(ctx=SimpleNamespace(tree=SimpleNamespace(get=lambda: tree),
                                               labels=None, compute=compute),
                           views=None)   # no shared cache: placed in-process


def _patched(fig: dict, patch) -> dict:
    """Apply a Dash Patch's assignments to a plotly JSON figure."""
    fig = json.loads(json.dumps(fig))
    for op in patch.to_plotly_json()["operations"]:
        assert op["operation"] == "Assign"
        target = fig
        for key in op["location"][:-1]:
            target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
        target[op["location"][-1]] = op["params"]["value"]
    return fig


def _label_layer(fig: dict) -> tuple:
    t = fig["data"][fig["layout"]["meta"]["labels"]]
    notes = [(n["x"], n["y"], n["ax"], n["ay"], n["text"]) for n in
             fig["layout"].get("annotations", [])]
    return list(t["x"]), list(t["y"]), list(t["text"]), notes


def test_a_tick_patches_the_labels_where_the_figure_drew_them(jiangsu, monkeypatch):
    calls = []
    real = charts.map_label_layout
    monkeypatch.setattr(charts, "map_label_layout",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    shapes: dict = {}
    features, points, rows, outline = _map_input(jiangsu, "320100", 90.0)
    cfg = {"region": "320100", "metric": "on_time"}
    fig = charts.map_figure(features, points, rows, ON_TIME, outline,
                            wall_page.label_layout(_service(jiangsu), shapes, "320100", ON_TIME,
                                                   rows))
    fig = json.loads(fig.to_json())
    later = [{**r, "on_time": 100.0 if i % 2 else None} for i, r in enumerate(rows)]
    ticked = _patched(fig, wall_page.map_patch(_service(jiangsu), cfg, later, shapes))
    before, after = _label_layer(fig), _label_layer(ticked)
    assert before[:2] == after[:2]                                    # same places
    assert [n[:4] for n in before[3]] == [n[:4] for n in after[3]]
    assert before[2] != after[2] and any("100%" in t for t in after[2] + [n[4] for n in
                                                                          after[3]])
    assert ticked["layout"]["xaxis"]["range"] == fig["layout"]["xaxis"]["range"]
    computed: list = []
    for _ in range(5):                                                # ticks reuse it
        wall_page.map_patch(_service(jiangsu, computed), cfg, later, shapes)
    assert len(calls) == 1 and computed == []
    # Placed through the app's `compute` (a native thread in a gevent worker), once.
    features, points, rows, outline = _map_input(jiangsu, "320500", 90.0)
    wall_page.label_layout(_service(jiangsu, computed), shapes, "320500", ON_TIME, rows)
    wall_page.label_layout(_service(jiangsu, computed), shapes, "320500", ON_TIME, rows)
    assert computed == ["<lambda>"] and len(calls) == 2


def test_a_count_gaining_a_digit_is_placed_again_and_the_patch_carries_it(jiangsu):
    shapes: dict = {}
    features, points, rows, outline = _map_input(jiangsu, "320000", 900, "intake")
    cfg = {"region": "320000", "metric": "intake"}
    first = wall_page.map_patch(_service(jiangsu), cfg, rows, shapes)
    bigger = [{**r, "intake": 1_234_567} for r in rows]
    second = wall_page.map_patch(_service(jiangsu), cfg, bigger, shapes)
    layouts = [v for k, v in shapes.items() if k[0] == "labels"]
    assert len(layouts) == 2                   # "9,999" and "9,999,999" wide labels
    fig = json.loads(charts.map_figure(features, points, rows, INTAKE, outline).to_json())
    assert _label_layer(_patched(fig, first))[2] == _label_layer(fig)[2]
    assert "1,234,567" in json.dumps(_label_layer(_patched(fig, second)))


def test_rates_of_exactly_100_are_no_wider_than_99_9():
    assert charts.value_text(100.0, ON_TIME) == "100%"
    assert charts.value_text(99.94, ON_TIME) == "99.9%"
    assert charts.value_text(None, ON_TIME) == "无数据"
    assert charts.value_text(12345, INTAKE) == "12,345"
    assert charts.text_width("100%") <= charts.text_width(charts.value_sample([], ON_TIME))


# -- the 满意率 chart's names ---------------------------------------------------------
def _tick_boxes(names: list[str], width: float) -> list[tuple]:
    rows = charts.tick_rows(names)
    step = width / len(names)
    out = []
    for i, n in enumerate(names):
        w = charts.text_width(n)
        x, y = (i + 0.5) * step, (i % rows) * charts.TICK_ROW
        out.append((x - w / 2, y, x + w / 2, y + 26))
    return out


def test_satisfaction_names_that_do_not_fit_side_by_side_are_staggered(jiangsu):
    names = [short_name(c.name) for c in jiangsu.children("320000")]
    assert "连云港" in names and len(names) == 13
    assert charts.tick_rows(names) == 2
    assert charts.tick_rows(["南京", "苏州", "无锡"]) == 1
    for width in charts.SAT_PLOT_WIDTHS:
        boxes = _tick_boxes(names, width)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                apart_down = b[1] >= a[3] or a[1] >= b[3]
                apart_across = b[0] - a[2] >= charts.TICK_GAP or a[0] - b[2] >= charts.TICK_GAP
                assert apart_down or apart_across, (width, a, b)
    rows = [{"code": c.code, "name": n, "satisfaction": 97.0}
            for c, n in zip(jiangsu.children("320000"), names)]
    fig = go.Figure(charts.satisfaction_figure(rows, {}, 97.0, 30))
    assert list(fig.layout.xaxis.tickvals) == names[0::2]
    assert list(fig.layout.xaxis2.tickvals) == names[1::2]
    assert fig.layout.xaxis2.ticklabelstandoff == charts.TICK_ROW
    assert fig.layout.xaxis2.overlaying == "x" and fig.layout.xaxis2.matches == "x"
    assert fig.layout.margin.b == 40 + charts.TICK_ROW


def test_satisfaction_names_that_fit_stay_on_one_row():
    rows = [{"code": str(i), "name": n, "satisfaction": 97.0}
            for i, n in enumerate(["南京", "苏州", "无锡", "常州"])]
    fig = go.Figure(charts.satisfaction_figure(rows, {}, 97.0, 30))
    assert "xaxis2" not in fig.layout.to_plotly_json() and fig.layout.margin.b == 40
    assert list(fig.layout.xaxis.tickvals) == ["南京", "苏州", "无锡", "常州"]


def test_a_label_is_placed_wide_enough_for_no_data_in_either_language():
    """One layout serves both languages: a label's box holds the no-data word of either,
    so an English wall's no-data label does not run into its neighbour."""
    from dashboard.domain.metrics import WALL_MAP
    from dashboard.domain.text import LANGS
    width, _ = charts.label_size("鼓楼", "9.9%")
    ink = charts.label_ink("鼓楼", "9.9%")
    for lang in LANGS:
        word = charts.value_text(None, WALL_MAP["on_time"], lang)
        assert width >= charts.text_width(word) and ink[1][2] >= charts.text_width(word)


def test_labels_are_placed_once_for_every_worker_and_a_tick_never_waits(
        jiangsu, monkeypatch, redis_url, key_prefix, redis_client):
    """A province's 1,345 walls starting at once must not place 1,345 layouts in each
    worker's request path: a tick gets the region's previous layout (none: no labels)
    while the placing runs in the background, once across workers (Redis)."""
    from flask import Flask
    from flask_caching import Cache

    from dashboard.cache.shared_views import SharedViews

    def service():
        app = Flask(__name__)
        cache = Cache(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url,
                                   "CACHE_KEY_PREFIX": key_prefix + "cache:"})
        views = SharedViews(cache, lambda: redis_client, key_prefix, wait_seconds=5)
        return SimpleNamespace(ctx=SimpleNamespace(tree=SimpleNamespace(get=lambda: jiangsu),
                                                   labels=None, compute=lambda fn, *a: fn(*a)),
                               views=views, settings=SimpleNamespace(view_keep_seconds=600))
    calls = []
    real = charts.map_label_layout
    monkeypatch.setattr(charts, "map_label_layout",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    first, second = service(), service()            # two workers
    features, points, rows, outline = _map_input(jiangsu, "320500", 90.0)
    shapes: dict = {}
    assert wall_page.label_layout(first, shapes, "320500", ON_TIME, rows) \
        is wall_page.NO_LABELS
    deadline = time.monotonic() + 30
    while (placed := wall_page.label_layout(first, shapes, "320500", ON_TIME, rows)) \
            is wall_page.NO_LABELS and time.monotonic() < deadline:
        time.sleep(0.05)
    expected = real(features, points, rows, ON_TIME, outline)
    assert json.loads(json.dumps(placed)) == json.loads(json.dumps(expected))
    assert placed["spots"] and len(calls) == 1
    # The other worker, and a drawing that waits, get it from Redis without placing it.
    assert wall_page.label_layout(second, {}, "320500", ON_TIME, rows, wait=True) == placed
    assert len(calls) == 1
    # A count that needs wider labels: the tick serves the previous layout meanwhile.
    wider = [{**r, "on_time": None, "intake": 123_456} for r in rows]
    assert wall_page.label_layout(first, shapes, "320500", WALL_MAP["intake"], wider) \
        is placed


@pytest.mark.parametrize("region", ["320000", "320500", "320505", "320505001"])
def test_map_meta_names_the_traces_a_tick_patches_without_drawing_the_map(jiangsu, region):
    """A tick patches the map's traces by index; the indices come from map_meta (cheap),
    and they must be the traces map_figure draws: polygons, dots, labels, live, urgent."""
    features, points, rows, outline = _map_input(jiangsu, region)
    meta = charts.map_meta(features, points, rows, outline)
    data = charts.map_figure(features, points, rows, ON_TIME, outline, wall_page.NO_LABELS).data
    assert [i for i, tr in enumerate(data) if tr.fill == "toself"] == meta["fills"]
    assert [data[i].name for i in meta["fills"]] == \
        [r["code"] for r in rows if r["code"] in {f["id"] for f in features["features"]}]
    if "dots" in meta:
        assert data[meta["dots"]].mode == "markers" and data[meta["dots"]].marker.size == 26
    assert data[meta["labels"]].mode == "text"
    assert data[meta["live"]].marker.size == 9 and len(data[meta["live"]].x) == 0
    assert data[meta["urgent"]].marker.symbol == "star" and meta["urgent"] == len(data) - 1


def test_placed_labels_are_kept_in_the_database_across_restarts(jiangsu, monkeypatch,
                                                                 database_url):
    """Placed once per installation (gw_region_label), not once per worker and restart;
    placed again when what they were placed from changes (a renamed child)."""
    from data_sources.database import CaseDatabase
    from data_sources.label_store import SqlLabelStore

    db = CaseDatabase(database_url)
    db.init_schema()
    store = SqlLabelStore(db.engine)
    calls = []
    real = charts.map_label_layout
    monkeypatch.setattr(charts, "map_label_layout",
                        lambda *a, **k: calls.append(a) or real(*a, **k))

    def worker():          # a fresh worker: no shapes, no shared cache, the same database
        service = _service(jiangsu)
        service.ctx.labels = store
        return service
    features, points, rows, outline = _map_input(jiangsu, "320500", 90.0)
    placed = wall_page.label_layout(worker(), {}, "320500", ON_TIME, rows, wait=True)
    again = wall_page.label_layout(worker(), {}, "320500", ON_TIME, rows, wait=True)
    assert len(calls) == 1 and again["spots"]
    assert json.loads(json.dumps(again)) == json.loads(json.dumps(placed))
    renamed = [{**r, "name": r["name"] + "新区"} if i == 0 else r for i, r in enumerate(rows)]
    wall_page.label_layout(worker(), {}, "320500", ON_TIME, renamed, wait=True)
    assert len(calls) == 2
    db.close()


def test_a_page_drawn_before_the_first_board_does_not_keep_the_map_unnamed(jiangsu):
    """A wall opened before its region's first board draws the map without children's
    rows. No layout is placed for them, so the next drawing, with the rows, places and
    names every child (a demo's wall opened in its first seconds had no name for a
    week: the empty layout was kept under the same key)."""
    shapes: dict = {}
    service = _service(jiangsu)
    empty = wall_page.label_layout(service, shapes, "320000", ON_TIME, [])
    assert empty["spots"] == {}
    _features, _points, rows, _outline = _map_input(jiangsu, "320000")
    layout = wall_page.label_layout(service, shapes, "320000", ON_TIME, rows)
    assert len(layout["spots"]) == len(rows) == 13
