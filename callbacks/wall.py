"""The wall's route and callbacks: ask WallService for the shared view models and turn
them into components. The interval is disabled while its callback runs (`running`), so a
slow tick never overlaps the next one from the same screen."""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from dash import ClientsideFunction, Input, Output, Patch, State, no_update
from dash import ctx as dash_ctx

from callbacks.router import parse_query
from dashboard.domain.colours import NO_DATA, colours
from dashboard.domain.language import language
from dashboard.domain.metrics import WALL_MAP
from dashboard.domain.wall_text import t
from dashboard.views.wall.model import newest_sources
from layouts import wall as view
from layouts import wall_charts as charts

log = logging.getLogger(__name__)
PANELS_WITH_TIME = ("dispatch", "funnel", "mix", "map", "ranking", "overdue", "hourly", "sat")


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


def content(service, cfg: dict) -> dict:
    """Every panel's children/figure for one region, from the shared view models."""
    tree = service.ctx.tree.get()
    lang, region = cfg["lang"], cfg["region"]
    zone = ZoneInfo(cfg["tz"])
    live, period = service.live(region), service.period(region)
    s, ps = live.get("sections", {}), period.get("sections", {})
    k = s.get("kpis")
    values, subs = view.kpi_texts(k, lang, cfg["target"])
    metric = WALL_MAP[cfg["metric"]]
    rows = (s.get("children") or {}).get("rows", [])
    waiting = t(lang, "waiting")
    node = tree.get(region)
    # Each badge follows the newest observation of its source, in whichever view.
    sources = newest_sources(live, period)
    month_by_code = {r["code"]: r for r in (ps.get("ranking") or {}).get("rows", [])}
    out = {
        "heading": f"{node.name} · {t(lang, 'title')}",
        "kpis": values, "kpi_subs": subs,
        "kpi_data": {"values": values, "subs": subs, "as_of": (k or {}).get("as_of")},
        "fresh": view.freshness(sources, lang, zone),
        "dispatch": view.dispatch_bars(s.get("dispatch"), lang),
        "funnel": view.funnel_bars(ps.get("funnel"), lang),
        "mix": view.mix_lists(s.get("mix"), lang),
        "hourly": charts.hourly_figure(s["hourly"], tuple(t(lang, f"h.{n}") for n in (
            "y_in", "y_out", "t_in", "t_out"))) if s.get("hourly") else charts.placeholder(waiting),
        "ranking": view.ranking_table(ps.get("ranking"), rows, lang, cfg["target"]),
        "overdue": view.overdue_list(s.get("overdue"), lang, cfg["privacy"]),
        "sat": charts.satisfaction_figure(
            [{**r, "name": view.short_name(r["name"])} for r in rows], month_by_code,
            cfg["target"], (ps.get("ranking") or {}).get("min_sample", 30))
        if rows else charts.placeholder(waiting),
        "legend": view.legend(cfg["metric"], charts.map_values(rows, metric), lang),
        "rows": rows,
        "as_of": {
            "dispatch": (s.get("dispatch") or {}).get("as_of"),
            "funnel": (ps.get("funnel") or {}).get("as_of"),
            "mix": (s.get("mix") or {}).get("as_of"), "map": (s.get("children") or {}).get("as_of"),
            "ranking": (ps.get("ranking") or {}).get("as_of"),
            "overdue": (s.get("overdue") or {}).get("as_of"),
            "hourly": (s.get("hourly") or {}).get("as_of"),
            "sat": (s.get("children") or {}).get("as_of")},
    }
    out["map_rows"] = [{**r, "name": view.short_name(r["name"])} for r in rows]
    out["map"] = lambda: charts.map_figure(tree.boundary_features(region),
                                           _map_points(tree, region), out["map_rows"], metric,
                                           _outline(tree, region))
    out["asof_text"] = {p: _hhmmss(out["as_of"][p], zone) for p in PANELS_WITH_TIME}
    return out


def render(service, query: dict):
    """The wall page; when even the region tree cannot be read (the database is down as a
    worker starts), a dark 'reconnecting' screen that retries by itself instead of an
    error page."""
    try:
        return _render(service, query)
    except Exception as exc:  # noqa: BLE001 - a wall never shows an error page
        log.warning("wall cannot render yet: %s", exc)
        return view.waiting(language(query.get("lang"), service.settings.lang) == "en")


def _render(service, query: dict):
    cfg, _notices = service.config(query)
    tree = service.ctx.tree.get()
    c = content(service, cfg)
    c["ticker"], from_id = service.initial_ticker(cfg["region"], cfg["privacy"], cfg["lang"])
    c["ticker"] = view.ticker_rows(c["ticker"])
    cfg = {**cfg, "from_id": from_id, "rotation": service.rotation(cfg["region"])
           if cfg["rotate"] else []}
    c["map"] = c["map"]()
    return view.layout(cfg, [{"code": r.code, "name": r.name}
                             for r in tree.ancestors(cfg["region"])], c)


_META: dict[tuple[str, str], tuple] = {}
_OUTPUTS: dict[tuple, tuple] = {}
_OUTPUTS_MAX = 64


def map_patch(service, cfg: dict, rows: list[dict]) -> Patch:
    """A Patch of the map's fill colours and labels for the current rows."""
    tree = service.ctx.tree.get()
    region, metric = cfg["region"], WALL_MAP[cfg["metric"]]
    features = tree.boundary_features(region)
    cached = _META.get((region, metric.key))
    if cached is None:  # trace positions depend on the region's shapes only: once per process
        meta = charts.map_figure(features, _map_points(tree, region), rows, metric,
                                 _outline(tree, region)).layout.meta
        cached = _META[(region, metric.key)] = (meta, charts.small_children(
            {f["id"]: f for f in features.get("features", [])}))
    meta, small = cached
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
    patch["data"][meta["labels"]]["text"] = charts.map_labels(rows, metric, small)
    patch["data"][meta["labels"]]["textfont"]["color"] = charts.label_colours(fills)
    return patch


def register(app, service) -> None:
    outputs = [
        Output("wall-kpi-data", "data"), Output("wall-fresh", "children"),
        Output("wall-dispatch", "children"), Output("wall-funnel", "children"),
        Output("wall-mix", "children"), Output("wall-hourly", "figure"),
        Output("wall-map", "figure"), Output("wall-legend", "children"),
        Output("wall-ranking", "children"), Output("wall-overdue", "children"),
        Output("wall-sat", "figure"), Output("wall-heading", "children"),
        Output("wall-crumbs", "children"),
        *[Output(f"wall-asof-{p}", "children") for p in PANELS_WITH_TIME],
    ]

    @app.callback(*outputs, Input("wall-tick", "n_intervals"), Input("wall-region", "data"),
                  State("wall-config", "data"),
                  running=[(Output("wall-tick", "disabled"), True, False)],
                  prevent_initial_call=True)
    def refresh(_n, region, stored):
        # Region and config come back from the browser: re-derived and checked on the
        # server (OutOfScope for a region outside the root answers 400).
        cfg = service.refresh_config(region, stored)
        region_changed = dash_ctx.triggered_id == "wall-region"
        # Every screen with the same settings gets the same components in a tick: build
        # them once per worker and tick, not once per screen.
        key = (cfg["region"], cfg["metric"], cfg["lang"], cfg["privacy"], cfg["target"],
               service.tick(), region_changed)
        out = _OUTPUTS.get(key)
        if out is None:
            out = _OUTPUTS[key] = _outputs(service, cfg, region_changed)
            while len(_OUTPUTS) > _OUTPUTS_MAX:
                _OUTPUTS.pop(next(iter(_OUTPUTS)))
        return out

    def _outputs(service, cfg, region_changed):
        c = content(service, cfg)
        if region_changed:
            fig_map = c["map"]()
        else:
            # Colours and labels only, without rebuilding the polygons: this runs for every
            # viewer on every tick.
            fig_map = map_patch(service, cfg, c["map_rows"])
        tree = service.ctx.tree.get()
        crumbs = view.crumb_links([{"code": r.code, "name": r.name}
                                   for r in tree.ancestors(cfg["region"])], cfg) \
            if region_changed else no_update
        return (c["kpi_data"], c["fresh"], c["dispatch"], c["funnel"], c["mix"], c["hourly"],
                fig_map, c["legend"], c["ranking"], c["overdue"], c["sat"], c["heading"], crumbs,
                *[c["asof_text"][p] for p in PANELS_WITH_TIME])

    @app.callback(Output("page", "children", allow_duplicate=True),
                  Input("wall-retry", "n_intervals"), State("url", "search"),
                  prevent_initial_call=True)
    def retry(_n, search):
        try:
            return _render(service, parse_query(search))
        except Exception:  # noqa: BLE001 - still down: keep waiting
            return no_update

    @app.callback(Output("wall-region", "data"), Input("wall-rotate", "n_intervals"),
                  State("wall-region", "data"), State("wall-config", "data"),
                  prevent_initial_call=True)
    def rotate(_n, current, stored):
        # The order is the server's, from the wall's own (checked) region, never the
        # browser's copy of it.
        base = service.refresh_config(None, stored)["region"]
        order = service.rotation(base)
        i = order.index(current) if current in order else -1
        return order[(i + 1) % len(order)]

    app.clientside_callback(ClientsideFunction("gwWall", "animateKpis"),
                            Output("wall-kpi-data", "id"), Input("wall-kpi-data", "data"))
    app.clientside_callback(ClientsideFunction("gwWall", "followRegion"),
                            Output("wall-region", "id"), Input("wall-region", "data"),
                            State("wall-config", "data"))
