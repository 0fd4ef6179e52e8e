"""URL → page. The path picks the page, the query string carries its state (period,
metric, filters), so a link reproduces a view and browser back/forward work.

Each page module declares a `Page` (callbacks/page.py): a regex on the path and
render(match, query) → components. A page that raises shows the error page, never a
traceback.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs

from dash import Input, Output, html

from callbacks.page import Page
from dashboard.domain.language import language
from layouts.errors import forbidden, not_found, page_failed

log = logging.getLogger(__name__)


def parse_query(search: str | None) -> dict[str, str]:
    """?a=1&b=2 → {"a": "1", "b": "2"}; the last value wins for repeated keys."""
    parsed = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in parsed.items()}


def resolve(pages: list[Page], ctx, path: str, query: dict[str, str]):
    lang = language(query.get("lang"), ctx.settings.lang)
    for page in pages:
        m = re.fullmatch(page.path, path or "/")
        if m is None:
            continue
        if not page.public:
            # The app refuses a callback of a non-public page without a session (auth.py);
            # the role is checked here, for every page the same way.
            account = ctx.viewer()
            if account is None or (page.permission is not None
                                   and not account.can(page.permission)):
                return forbidden(lang)
        try:
            return page.render(m, query)
        except Exception:  # noqa: BLE001 - a page must degrade to a message, not a 500
            log.exception("page %s failed", path)
            return page_failed(lang)
    return not_found(path, lang)


def register(app, ctx, pages: list[Page]) -> None:
    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def route(pathname, search):
        return resolve(pages, ctx, pathname or "/", parse_query(search))


def shell() -> html.Div:
    from dash import dcc
    return html.Div([dcc.Location(id="url", refresh="callback-nav"), html.Div(id="page")])
