"""The period picker /kpi and /region share: it writes the period into the URL, so a link
reproduces the view and back / forward step through periods."""
from __future__ import annotations

from urllib.parse import urlencode

from dash import Input, Output, State, no_update
from dash import ctx as dash_ctx

from callbacks.page_common import push, state_of
from callbacks.router import parse_query
from dashboard.views import url_state


def register(app) -> None:
    @app.callback(Output("url", "search", allow_duplicate=True),
                  Input("period-choice", "value"), Input("period-range", "start_date"),
                  Input("period-range", "end_date"), State("url", "search"),
                  prevent_initial_call=True)
    def choose_period(period, start, end, search):
        state = state_of(search) or url_state.PageState()
        if dash_ctx.triggered_id == "period-range" or period == "custom":
            if not (start and end):
                return no_update
            # Redrawing the page fires this too; an unchanged range must keep the page.
            if (state.period, str(state.start), str(state.end)) == ("custom", start[:10], end[:10]):
                return no_update
            q = parse_query(search)
            q.update({"period": "custom", "from": start[:10], "to": end[:10]})
            q.pop("page", None)
            return push(search, "?" + urlencode(q))
        if period == state.period:
            return no_update
        return push(search, url_state.encode(state, period=period, start=None, end=None, page=1))

