"""The 24-hour chart draws the unfinished current hour apart, scaled to a full hour and
marked, instead of a line that collapses every hour (issue 11 item 13)."""
from __future__ import annotations

import plotly.graph_objects as go

from layouts.wall_charts import hourly_figure


def _hourly_model(now_hour: int, now_minute: int | None) -> dict:
    today = [40] * 24
    today[now_hour] = 20          # 20 cases in the first minutes of the hour
    h = {"now_hour": now_hour, "today_intake": today, "today_closed": [30] * 24,
         "yesterday_intake": [40] * 24, "yesterday_closed": [30] * 24}
    if now_minute is not None:
        h["now_minute"] = now_minute
    return h


def _trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_the_current_hour_is_not_drawn_as_a_finished_hour():
    fig = go.Figure(hourly_figure(_hourly_model(10, 30), "zh"))
    solid = _trace(fig, "今日受理")
    assert solid.y[9] == 40 and solid.y[10] is None   # the solid line ends at the last full hour
    partial = [t for t in fig.data if t.line.dash == "dot" and t.marker.symbol == "circle-open"]
    assert len(partial) == 2                           # intake and closures
    intake = next(t for t in partial if list(t.customdata) == [40, 20])
    assert list(intake.x) == [9, 10] and list(intake.y) == [40, 40.0]   # 20 in 30 min → 40/h
    assert "折算" in fig.layout.annotations[0].text


def test_the_first_minutes_of_an_hour_are_not_scaled():
    fig = go.Figure(hourly_figure(_hourly_model(10, 4), "zh"))
    assert _trace(fig, "今日受理").y[10] is None
    assert not [t for t in fig.data if t.marker.symbol == "circle-open"]
    assert not fig.layout.annotations


def test_midnight_has_no_previous_hour_to_join():
    fig = go.Figure(hourly_figure(_hourly_model(0, 45), "zh"))
    intake = next(t for t in fig.data if t.marker.symbol == "circle-open"
                  and list(t.customdata) == [20])
    assert list(intake.x) == [0] and abs(intake.y[0] - 20 * 60 / 45) < 1e-9


def test_a_model_without_the_minute_draws_the_hour_as_before():
    fig = go.Figure(hourly_figure(_hourly_model(10, None), "zh"))   # a model cached by an older build
    assert _trace(fig, "今日受理").y[9] == 40
    assert not [t for t in fig.data if t.marker.symbol == "circle-open"]


def test_the_panel_says_how_many_minutes_the_hour_has_run():
    from layouts.wall_panels import PanelData, _hourly
    for lang, words in (("zh", "本小时按30分钟折算"), ("en", "hour scaled from 30 min")):
        fig = go.Figure(_hourly(PanelData(live={"hourly": _hourly_model(10, 30)}, period={},
                                          rows=[], lang=lang, target=90.0, privacy=False)))
        assert words in fig.layout.annotations[0].text


def test_the_panels_figures_are_plotly_figures_as_sent_without_building_one():
    """Built as plain JSON (1 ms instead of 10-20 ms per screen and tick): plotly's
    validation accepts every property, and a go.Figure of it writes the same JSON."""
    import json

    import plotly

    from layouts.wall_charts import satisfaction_figure

    def as_json(fig):
        return json.loads(json.dumps(fig, cls=plotly.utils.PlotlyJSONEncoder))
    rows = [{"code": f"c{i}", "name": n, "satisfaction": 96.0 + i, "rated": 10 * i}
            for i, n in enumerate(["南京经济技术开发区", "苏州", "无锡", "常州", "镇江"])]
    figures = [hourly_figure(_hourly_model(10, m), lang) for m in (None, 4, 30)
               for lang in ("zh", "en")]
    figures += [satisfaction_figure(rows, {"c1": {"satisfaction": 99.0, "rated": 50}}, 97.0,
                                    30, lang) for lang in ("zh", "en")]
    for fig in figures:
        assert as_json(go.Figure(fig).to_plotly_json()) == as_json(fig)
