"""The wall's route and callbacks: ask WallService for the shared view models and turn
them into components. The interval is disabled while its callback runs (`running`), so a
slow tick never overlaps the next one from the same screen."""
from __future__ import annotations

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from dash import ClientsideFunction, Input, Output, Patch, State, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate
from flask import g

from callbacks.page import Page
from callbacks.router import parse_query
from dashboard.cache.bounded import Bounded
from dashboard.domain.colours import NO_DATA, colours
from dashboard.domain.language import language
from dashboard.domain.metrics import WALL_MAP
from dashboard.domain.text import t
from dashboard.domain.walls import WallAccess
from dashboard.views.wall.model import newest_sources
from dashboard.views.wall.pace import resync_ms
from dashboard.views.wall.service import WATCH_MAX
from layouts import wall as view
from layouts import wall_charts as charts
from layouts import wall_parts as parts
from layouts.errors import forbidden
from layouts.wall_panels import PANELS, PanelData, digest

log = logging.getLogger(__name__)
# Every panel says when its data is from: the declared panels, the map and the KPI strip.
PANELS_WITH_TIME = (*[p.key for p in PANELS], "map", "kpis")


def _hhmmss(iso: str | None, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%H:%M:%S") if iso else "—"


def _map_points(tree, region_code: str) -> list[dict]:
    return [{"code": c.code, "lon": c.lon, "lat": c.lat} for c in tree.children(region_code)
            if c.lon is not None]


def _outline(tree, region_code: str) -> dict | None:
    """The region's own boundary, or the nearest ancestor's, drawn around its children."""
    for r in [tree.get(region_code), *reversed(tree.ancestors(region_code))]:
        if r is None:
            continue
        geometry = tree.boundary(r.code)
        if geometry:
            return geometry
    return None


def content(service, cfg: dict, shapes: dict | None = None,
            screen_marks: dict | None = None, models: tuple | None = None) -> dict:
    """Every panel's children/figure for one region, from the shared view models. `shapes`
    is the app's cache of what depends on a region's shapes only (label_layout). A panel
    whose mark equals the one the screen says it shows (`screen_marks`, Panel.mark) is
    no_update: most panels of a township's wall do not change from one tick to the next,
    and building the components was most of a province's refresh CPU (the ranking table
    alone 14%). Their times are always sent: the data was checked at that time.
    `models`: the (live, period) views when the caller has them already."""
    tree = service.ctx.tree.get()
    lang, region = cfg["lang"], cfg["region"]
    zone = ZoneInfo(cfg["tz"])
    live, period = models or (service.live(region), service.period(region))
    screen_marks = screen_marks if isinstance(screen_marks, dict) else {}
    s, ps = live.get("sections", {}), period.get("sections", {})
    k = s.get("kpis")
    values, subs = parts.kpi_texts(k, lang, cfg["target"])
    metric = WALL_MAP[cfg["metric"]]
    rows = (s.get("children") or {}).get("rows", [])
    node = tree.get(region)
    data = PanelData(live=s, period=ps, rows=rows, lang=lang, target=cfg["target"],
                     privacy=cfg["privacy"])
    # Each badge follows the newest observation of its source, in whichever view.
    badges = parts.freshness_badges(newest_sources(live, period), lang, zone)
    _fills, ranges = colours(metric, charts.map_values(rows, metric))
    marks = {**{p.key: _panel_mark(p, data, period, region, shapes) for p in PANELS},
             "legend": digest(cfg["metric"], ranges), "fresh": digest(badges)}
    out = {
        "heading": f"{node.name} · {t('wall.title', lang)}",
        "kpis": values, "kpi_subs": subs,
        "kpi_data": {"values": values, "subs": subs, "as_of": (k or {}).get("as_of")},
        # The legend and the badges, like the panels, only when the screen's differ: they
        # change with the counts' bins and a source's state, not with every tick.
        "fresh": _unless_shown(screen_marks, marks, "fresh", lambda: parts.freshness(badges)),
        "legend": _unless_shown(screen_marks, marks, "legend",
                                lambda: parts.legend(cfg["metric"], ranges)),
        "marks": marks,
        "rows": rows,
        "as_of": {**{p.key: p.as_of(data) for p in PANELS},
                  "map": (s.get("children") or {}).get("as_of"), "kpis": (k or {}).get("as_of")},
    }
    # The map's rows as a local: a lambda reading them from `out`, which holds it, was a
    # reference cycle, so that every answer and frame (its panels included) waited for
    # the garbage collector instead of being freed at once: ~25k objects a worker every
    # 10 s at a province's load (docs/benchmarks.md, "Garbage collection").
    map_rows = out["map_rows"] = [{**r, "name": parts.short_name(r["name"])} for r in rows]
    out["map"] = lambda: charts.map_figure(
        tree.boundary_features(region), _map_points(tree, region), map_rows, metric,
        _outline(tree, region), label_layout(service, {} if shapes is None else shapes,
                                             region, metric, map_rows, wait=True), lang)
    out["panels"] = {p.key: _unless_shown(screen_marks, marks, p.key, lambda p=p: p.draw(data))
                     for p in PANELS}
    out["asof_text"] = {p: _hhmmss(at, zone) for p, at in out["as_of"].items()}
    return out


def _panel_mark(panel, data: PanelData, period: dict, region: str, shapes: dict | None) -> str:
    """Panel.mark, kept for a panel drawn from the period view alone while the worker
    holds the same period model (it changes with the period board, every 5 minutes):
    the ranking's digest at every frame of every wall was 7% of a province's web
    workers."""
    if panel.view != "period" or shapes is None:
        return panel.mark(data)
    key = ("mark", region, panel.key, data.lang, data.target)
    hit = shapes.get(key)
    if hit is not None and hit[0] is period:
        return hit[1]
    mark = panel.mark(data)
    shapes[key] = (period, mark)
    return mark


class _Everything(dict):
    """Marks that match whatever is drawn: nothing is drawn against them."""


SHOWN_ALL = _Everything()


def _unless_shown(screen_marks: dict, marks: dict, key: str, draw):
    return no_update if screen_marks is SHOWN_ALL or screen_marks.get(key) == marks[key] \
        else draw()


NO_LABELS = {"range": None, "spots": {}}
LABELS_KEEP = 7 * 86400   # s: a layout depends on the shapes and names only


def label_layout(service, shapes: dict, region: str, metric, rows: list[dict],
                 wait: bool = False) -> dict:
    """Where the map's labels go for this region: placed once for every worker (tens to
    hundreds of ms, 1,345 of them when a province's walls start) and kept in Redis and in
    this app's `shapes`; placed again only when the values need a wider label (a count
    gaining a digit). It depends on the metric only through that width. A tick never
    waits for it (`wait=False`): until it is placed the region's previous layout serves
    (none: no labels), and a later tick's patch brings the new one; a page being drawn
    waits (`wait=True`).

    A page drawn before the region's first board has no children's rows: nothing is
    placed for it. Placed, that empty layout served the region for as long as it was
    kept (a week), as the key holds the value's width only: a demo's wall opened in its
    first seconds showed a map without a name. The key holds the number of rows too, so
    that a layout placed for other rows (an empty one kept by an older build) is not
    taken."""
    if not rows:
        return shapes.get(("labels-last", region), NO_LABELS)
    sample = f"{charts.value_sample(rows, metric)}/{len(rows)}"
    key = ("labels", region, sample)
    layout = shapes.get(key)
    if layout is not None:
        return layout
    tree = service.ctx.tree.get()

    def place(_last=None):
        shapes_in = (tree.boundary_features(region), _map_points(tree, region), rows,
                     metric, _outline(tree, region))
        kept = service.ctx.labels       # the database's copy (None: not kept)
        mark = charts.layout_fingerprint(*shapes_in)
        try:
            layout = kept.get(region, sample, mark) if kept is not None else None
        except Exception as exc:  # noqa: BLE001 - the database down: place it here
            log.info("stored labels of %s unavailable: %s", region, exc)
            kept = layout = None
        if layout is None:
            # Tens to hundreds of ms of CPU a region: 1,345 of them held a fresh
            # province's workers for minutes (docs/benchmarks.md), not on the loop now.
            layout = service.ctx.compute(charts.map_label_layout, *shapes_in)
            if kept is not None:
                try:
                    kept.put(region, sample, mark, layout)
                except Exception as exc:  # noqa: BLE001 - placed again next time
                    log.info("labels of %s not stored: %s", region, exc)
        return layout
    views = service.views
    # Kept as long as the region's other views (GRIDWATCH_VIEW_KEEP_SECONDS), at most a week.
    keep = LABELS_KEEP if views is None else min(LABELS_KEEP,
                                                 service.settings.view_keep_seconds)
    layout = place() if views is None else views.get(
        "wall-labels", region, sample, ttl=keep, build=place, keep_seconds=keep,
        lock_seconds=60, wait=wait)
    if not layout:    # not placed yet (None), or Redis busy with nothing placed ({})
        return shapes.get(("labels-last", region), NO_LABELS)
    shapes[key] = shapes[("labels-last", region)] = layout
    return layout


def access_of(service) -> WallAccess:
    """What this request may show: the wall device's region and privacy, or the
    logged-in account's regions (dashboard/app/wall_gate.py). The app's gate refuses a
    request without one before any callback runs; here it is checked again, so that no
    callback ever draws a wall for nobody."""
    access = service.ctx.wall_access()
    if access is None or not access.allowed:
        raise NotAllowed()
    return access


class NotAllowed(PreventUpdate):
    pass


def render(service, query: dict, shapes: dict | None = None):
    """The wall page; when even the region tree cannot be read (the database is down as a
    worker starts), a dark 'reconnecting' screen that retries by itself instead of an
    error page. An account that sees no region gets the page that says so."""
    lang = language(query.get("lang"), service.settings.lang)
    try:
        return _render(service, query, shapes)
    except NotAllowed:
        return forbidden(lang)
    except Exception as exc:  # noqa: BLE001 - a wall never shows an error page
        log.warning("wall cannot render yet: %s", exc)
        return view.waiting(lang)


def _render(service, query: dict, shapes: dict | None = None):
    cfg, _notices = service.config(query, access_of(service))
    tree = service.ctx.tree.get()
    c = content(service, cfg, shapes)
    c["ticker"], from_id = service.initial_ticker(cfg["region"], cfg["privacy"], cfg["lang"])
    c["ticker"] = parts.ticker_rows(c["ticker"])
    cfg = {**cfg, "from_id": from_id, "rotation": service.rotation(cfg["region"])
           if cfg["rotate"] else []}
    c["map"] = c["map"]()
    c["marks"]["map"] = map_mark(service, cfg, c["map_rows"], {} if shapes is None else shapes)
    return view.layout(cfg, [{"code": r.code, "name": r.name}
                             for r in tree.ancestors(cfg["region"])], c)


OUTPUTS_MAX = 64
# Label layouts and trace positions per (region, metric): a province's walls watch up to
# WATCH_MAX regions, and a metric or a count gaining a digit adds a layout.
SHAPES_MAX = 6 * WATCH_MAX        # ... and the period panels' marks (_panel_mark)


def new_shapes() -> Bounded:
    """This app's map trace positions and label layouts (by region and metric): the page,
    its callbacks and the frames share them; two apps in one process (tests) never do."""
    return Bounded(SHAPES_MAX)


def page(service, shapes: Bounded | None = None) -> Page:
    """The wall is what a command center opens, at / and /wall; its warm-up (the live view
    of every watched region at each tick) is the service's own."""
    shapes = new_shapes() if shapes is None else shapes
    return Page(path=r"/|/wall/?", render=lambda _match, query: render(service, query, shapes),
                register=lambda app: register(app, service, shapes), warmups=(service.warmup,))


def map_mark(service, cfg: dict, rows: list[dict], shapes: dict) -> str:
    """What map_patch would draw from: the values and the label layout. Most of a
    province's maps do not change from one tick to the next (a township's communities
    keep their counts for minutes)."""
    metric = WALL_MAP[cfg["metric"]]
    labels = label_layout(service, shapes, cfg["region"], metric, rows)
    return digest(cfg["metric"], cfg.get("lang", "zh"), [r["code"] for r in rows],
                  charts.map_values(rows, metric), labels)


def map_patch(service, cfg: dict, rows: list[dict], shapes: dict) -> Patch:
    """A Patch of the map's fill colours and labels for the current rows. `shapes` keeps
    each region's trace positions and label layout (they depend on its shapes and names
    only) for this app. The whole label layer is sent (a few dozen numbers): the figure on
    the screen may have been drawn from an older layout."""
    tree = service.ctx.tree.get()
    region, metric = cfg["region"], WALL_MAP[cfg["metric"]]
    features = tree.boundary_features(region)
    labels = label_layout(service, shapes, region, metric, rows)
    meta = charts.map_meta(features, _map_points(tree, region), rows, _outline(tree, region))
    fills, _ = colours(metric, charts.map_values(rows, metric))
    patch = Patch()
    polygons = {f["id"] for f in features.get("features", [])}
    by_code = dict(zip([r["code"] for r in rows], fills))
    for i, code in zip(meta["fills"], [r["code"] for r in rows if r["code"] in polygons]):
        patch["data"][i]["fillcolor"] = by_code[code]
    if "dots" in meta:
        located = {p["code"] for p in _map_points(tree, region)}
        patch["data"][meta["dots"]]["marker"]["color"] = [
            by_code.get(p["code"], NO_DATA) for p in _map_points(tree, region)
            if p["code"] not in polygons and p["code"] in located]
    trace, notes = charts.map_label_layer(labels, rows, metric, fills, cfg.get("lang", "zh"))
    for prop in ("x", "y", "text"):
        patch["data"][meta["labels"]][prop] = trace[prop]
    patch["data"][meta["labels"]]["textfont"]["color"] = trace["textfont"]["color"]
    patch["layout"]["annotations"] = notes
    if labels["range"]:
        patch["layout"]["xaxis"]["range"], patch["layout"]["yaxis"]["range"] = labels["range"]
        patch["layout"]["xaxis"]["autorange"] = patch["layout"]["yaxis"]["autorange"] = False
    return patch


# What the refresh callback draws, in order (then the interval it tells the screen); a
# frame pushed over the live feed carries the same properties (`frame`).
DRAWN = [("wall-kpi-data", "data"), ("wall-fresh", "children"), ("wall-map", "figure"),
         ("wall-legend", "children"), ("wall-heading", "children"),
         ("wall-crumbs", "children"), *[(f"wall-{p.key}", p.prop) for p in PANELS],
         *[(f"wall-asof-{p}", "children") for p in PANELS_WITH_TIME], ("wall-marks", "data")]


def draw(service, cfg: dict, region_changed: bool, screen_marks: dict, models: tuple,
         shapes: dict) -> tuple:
    """The values of DRAWN, in order, for a screen showing `screen_marks` (no_update
    for what it shows already)."""
    c = content(service, cfg, shapes, screen_marks, models)
    if region_changed:
        fig_map = c["map"]()
        c["marks"]["map"] = map_mark(service, cfg, c["map_rows"], shapes)
    else:
        # Colours and labels only, without rebuilding the polygons: this runs for every
        # viewer on every tick.
        c["marks"]["map"] = map_mark(service, cfg, c["map_rows"], shapes)
        fig_map = _unless_shown(screen_marks, c["marks"], "map",
                                lambda: map_patch(service, cfg, c["map_rows"], shapes))
    tree = service.ctx.tree.get()
    crumbs = view.crumb_links([{"code": r.code, "name": r.name}
                               for r in tree.ancestors(cfg["region"])], cfg) \
        if region_changed else no_update
    return (c["kpi_data"], c["fresh"], fig_map, c["legend"], c["heading"], crumbs,
            *[c["panels"][p.key] for p in PANELS],
            *[c["asof_text"][p] for p in PANELS_WITH_TIME], c["marks"])


def setting_key(cfg: dict) -> tuple:
    """What a wall's drawing depends on besides its models: every screen with the same
    key gets the same answer (the refresh's memo) and the same frame (the frames' groups,
    dashboard/app/wall_frames.py)."""
    return (cfg["region"], cfg["metric"], cfg["lang"], bool(cfg["privacy"]), cfg["target"])


def frame(service, cfg: dict, shown: dict | None, shapes: dict) -> dict:
    """One tick's changes for every screen of `cfg` whose panels show `shown` (the marks
    of the frame before), pushed over the live feed (dashboard/app/wall_frames.py).
    `drawn` names the marks the frame draws: a screen whose other marks differ from the
    frame's applies it and asks for a refresh. With `shown` None (the setting's first
    frame in this worker) nothing is drawn: its screens were drawn by their page or a
    refresh, and one that shows other marks asks for a refresh (drawing every panel of
    a province's 1,345 walls in one loop took a minute)."""
    models = service.live(cfg["region"]), service.period(cfg["region"])
    out = draw(service, cfg, False, SHOWN_ALL if shown is None else shown, models, shapes)
    shown = out[-1] if shown is None else shown
    props: dict[str, dict] = {}
    for (cid, prop), value in zip(DRAWN, out):
        if value is not no_update and cid != "wall-marks":
            props.setdefault(cid, {})[prop] = value
    marks = out[-1]
    return {"region": cfg["region"], "marks": marks, "props": props,
            "drawn": [k for k, v in marks.items() if shown.get(k) != v]}


def register(app, service, shapes: dict | None = None) -> None:
    # This app's memo of a tick's outputs, and of the map's trace positions and label
    # layouts (shared with the page's render): two apps in one process (tests) never
    # share them.
    memo = Bounded(OUTPUTS_MAX)
    shapes = {} if shapes is None else shapes
    outputs = [*[Output(cid, prop) for cid, prop in DRAWN], Output("wall-tick", "interval")]

    @app.callback(*outputs, Input("wall-tick", "n_intervals"), Input("wall-region", "data"),
                  State("wall-config", "data"), State("wall-marks", "data"),
                  State("wall-push", "data"),
                  running=[(Output("wall-tick", "disabled"), True, False)],
                  prevent_initial_call=True)
    def refresh(_n, region, stored, screen_marks, pushed):
        # Region and config come back from the browser: re-derived and checked on the
        # server against the device's (or account's) regions (OutOfScope for a region
        # outside them answers 400).
        cfg = service.refresh_config(region, stored, access_of(service))
        region_changed = dash_ctx.triggered_id == "wall-region"
        # Every screen with the same settings gets the same components in a tick: build
        # them once per worker and tick, not once per screen.
        # The screen's marks are only compared with the server's own (a forged one costs
        # its sender a full answer or a panel left as it is, nobody else anything).
        screen_marks = screen_marks if isinstance(screen_marks, dict) and not region_changed \
            else {}
        # From the request's arrival (dashboard/app/request_guard.py): its wait for a
        # turn is what the screen waited too.
        started = g.get("gridwatch_arrived") or time.monotonic()
        models = service.live(cfg["region"]), service.period(cfg["region"])
        # Keyed by the models' own times, not the clock's tick: the builder publishes a
        # little after the tick starts, and an answer drawn before that must not be
        # handed to every screen of the region for the rest of the tick.
        key = (*setting_key(cfg), models[0].get("computed_at"), models[1].get("computed_at"),
               region_changed,
               tuple(sorted((k, v) for k, v in screen_marks.items() if isinstance(v, str))))
        out = memo.get(key)
        if out is None:
            out = memo[key] = draw(service, cfg, region_changed, screen_marks, models,
                                        shapes)
        service.pace.observe(time.monotonic() - started)
        # Past what this worker keeps up with, screens are told to refresh less often
        # (dashboard/views/wall/pace.py): late answers for all of them, never none. A
        # screen whose live feed brings each tick's frame refreshes only to resynchronise.
        interval = service.pace.interval_ms()
        if pushed is True and service.settings.wall_resync_seconds > 0:
            interval = max(interval, resync_ms(service.settings.wall_resync_seconds,
                                               cfg["region"], time.time()))
        return (*out, interval)

    @app.callback(Output("page", "children", allow_duplicate=True),
                  Input("wall-retry", "n_intervals"), State("url", "search"),
                  prevent_initial_call=True)
    def retry(_n, search):
        try:
            return _render(service, parse_query(search), shapes)
        except NotAllowed:
            raise
        except Exception:  # noqa: BLE001 - still down: keep waiting
            return no_update

    @app.callback(Output("wall-region", "data"), Input("wall-rotate", "n_intervals"),
                  State("wall-region", "data"), State("wall-config", "data"),
                  prevent_initial_call=True)
    def rotate(_n, current, stored):
        # The order is the server's, from the wall's own (checked) region, never the
        # browser's copy of it.
        base = service.refresh_config(None, stored, access_of(service))["region"]
        order = service.rotation(base)
        i = order.index(current) if current in order else -1
        return order[(i + 1) % len(order)]

    app.clientside_callback(ClientsideFunction("gwWall", "animateKpis"),
                            Output("wall-kpi-data", "id"), Input("wall-kpi-data", "data"))
    app.clientside_callback(ClientsideFunction("gwWall", "followInterval"),
                            Output("wall-tick", "id"), Input("wall-tick", "interval"))
    app.clientside_callback(ClientsideFunction("gwWall", "followMarks"),
                            Output("wall-marks", "id"), Input("wall-marks", "data"))
    app.clientside_callback(ClientsideFunction("gwWall", "followRegion"),
                            Output("wall-region", "id"), Input("wall-region", "data"),
                            State("wall-config", "data"))
