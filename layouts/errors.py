"""The page shown for bad input (unknown region, malformed date, missing case): a clear
message in the reader's language and a way back, never a traceback."""
from __future__ import annotations

from dash import dcc, html


def error_page(title: str, message: str, back_href: str = "/", back_label: str = "返回首页",
               code: str = "bad-input") -> html.Div:
    return html.Div(className="gw-error-page", id="error-page", **{"data-error": code}, children=[
        html.H1(title, className="gw-error-title"),
        html.P(message, className="gw-error-message"),
        dcc.Link(back_label, href=back_href, className="gw-error-back", id="error-back"),
    ])


def not_found(path: str, lang: str = "zh") -> html.Div:
    if lang == "en":
        return error_page("Page not found", f"There is no page at {path}.", "/?lang=en",
                          "Back to the start page", "not-found")
    return error_page("页面不存在", f"没有地址为 {path} 的页面。", "/", "返回首页", "not-found")
