"""Callbacks of the status page: ask for the shared view model, render it."""
from __future__ import annotations

from dash import Input, Output

from layouts import status as view


def register(app, get_status) -> None:
    @app.callback(
        Output("status-region", "children"), Output("status-clock", "children"),
        Output("status-kpis", "children"), Output("status-sources", "children"),
        Output("status-events", "children"),
        Input("status-tick", "n_intervals"),
    )
    def refresh(_n):
        model = get_status()
        return (model["region"]["name"], f"数据时间 {model['computed_at']}",
                view.kpi_cards(model["kpis"]), view.source_rows(model["health"]),
                view.event_rows(model["events"]))
