"""The page shown for bad input (unknown region, malformed date, missing case): a clear
message in the reader's language and a way back, never a traceback."""
from __future__ import annotations

from dash import dcc, html

from dashboard.domain.text import t


def error_page(title: str, message: str, back_href: str, back_label: str,
               code: str = "bad-input") -> html.Div:
    return html.Div(className="gw-error-page", id="error-page", **{"data-error": code}, children=[
        html.H1(title, className="gw-error-title"),
        html.P(message, className="gw-error-message"),
        dcc.Link(back_label, href=back_href, className="gw-error-back", id="error-back"),
    ])


def home(lang: str) -> str:
    """The start page, in the reader's language."""
    return "/?lang=en" if lang == "en" else "/"


def not_found(path: str, lang: str = "zh") -> html.Div:
    return error_page(t("error.not_found.title", lang),
                      t("error.not_found.message", lang, path=path),
                      home(lang), t("error.back_home", lang), "not-found")


def page_failed(lang: str = "zh") -> html.Div:
    """A page that raised: the reader learns that the data did not come, not why."""
    return error_page(t("error.page_failed.title", lang), t("error.page_failed.message", lang),
                      home(lang), t("error.back_home", lang), "page-failed")


def forbidden(lang: str = "zh") -> html.Div:
    """A page the reader's role may not open: what they may do instead is on /account."""
    return error_page(t("error.forbidden.title", lang), t("error.forbidden.message", lang),
                      "/account" + ("?lang=en" if lang == "en" else ""),
                      t("error.to_account", lang), "forbidden")
