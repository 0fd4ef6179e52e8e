"""Callbacks of the status page: ask for the shared view model, render it in the reader's
language (`?lang=`)."""
from __future__ import annotations

from dash import Input, Output, State

from callbacks.router import parse_query
from dashboard.domain.language import language
from dashboard.domain.text import t
from layouts import status as view


def register(app, get_status, default_lang: str = "zh") -> None:
    @app.callback(
        Output("status-region", "children"), Output("status-clock", "children"),
        Output("status-kpis", "children"), Output("status-sources", "children"),
        Output("status-events", "children"),
        Input("status-tick", "n_intervals"), State("url", "search"),
    )
    def refresh(_n, search):
        model = get_status()
        lang = language(parse_query(search).get("lang"), default_lang)
        return (model["region"]["name"], t("page.as_of", lang, t=model["computed_at"]),
                view.kpi_cards(model["kpis"], lang), view.source_rows(model["health"], lang),
                view.event_rows(model["events"], lang))
