"""The leaders' and staff pages' figures (layouts/charts.py) are built as plain dicts,
without plotly's validation: each must be exactly what plotly's validated Figure writes
for it, or the browser would draw something else (a colour scale plotly.js does not know
by name, a property spelled wrong)."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from layouts import charts

SERIES = {"x": ["11-01", "11-02", "11-03"], "intake": [3, 5, 8], "closed": [1, 2, 9]}
ROWS = [{"name": f"区{i}", "code": f"32{i:04d}", "score": None if i == 3 else i * 1.5,
         "score_text": str(i)} for i in range(8)]
FEATURES = [
    {"id": "320100", "properties": {"name": "南京"}, "geometry": {
        "type": "Polygon", "coordinates": [[[118, 32], [119, 32], [119, 33], [118, 32]]]}},
    {"id": "320200", "properties": {"name": "无锡"}, "geometry": {
        "type": "MultiPolygon",
        "coordinates": [[[[120, 31], [121, 31], [121, 32], [120, 31]]]]}},
]
CASES = [
    ("trend", (SERIES, "趋势", ("受理", "办结"), "历史数据补齐中")),
    ("empty", ("标题", "无数据")),
    ("bars", ({"城市管理": 3, "": 5, "治安": 1}, "标题", "未办结", "无数据")),
    ("bars", ({}, "标题", "未办结", "无数据")),
    ("child_bars", (ROWS, "score", True, "得分")),
    ("child_bars", (ROWS, "score", False, "得分")),
    ("region_map", (FEATURES, {"320100": 1.0, "320200": None}, {"320100": "1"}, True, "地图")),
    ("region_map", (FEATURES, {"320100": 2.0, "320200": 3.0}, {}, False, "地图")),
    ("region_map", (FEATURES, {}, {}, True, "地图")),
]


@pytest.mark.parametrize("name,args", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_a_figure_is_the_json_plotly_would_validate_it_into(name, args):
    fig = getattr(charts, name)(*args)
    assert isinstance(fig, dict) and fig["layout"]["template"]
    sent = json.loads(pio.to_json(fig, validate=False))
    validated = json.loads(pio.to_json(go.Figure(fig)))
    assert sent == validated
