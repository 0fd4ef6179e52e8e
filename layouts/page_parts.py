"""Pieces every leaders' / staff page shows: the frame, the period picker, the breadcrumb.
Links carry the page's query string, so the period and language survive navigation."""
from __future__ import annotations

from dash import dcc, html

from dashboard.domain.text import t
from dashboard.views.url_state import PERIODS, PageState, encode


def frame(page_class: str, title: str, state: PageState, nav: list, body: list,
          user: dict | None = None) -> html.Div:
    # The switch names the other language in that language.
    other = "zh" if state.lang == "en" else "en"
    href = "?" + _without_lang(state) if other == "zh" else encode(state, lang="en")
    lang_link = dcc.Link(t("page.lang_name", other), href=href, id="lang-switch")
    return html.Div(className=f"gw-page {page_class}", lang="en" if state.lang == "en" else "zh-CN",
                    children=[
        html.Header(className="gw-page-header", children=[
            html.H1(title), html.Nav(className="gw-page-nav", children=[*nav, lang_link]),
            *([user_menu(user, state.lang)] if user else [])]),
        *body,
    ])


def user_menu(user: dict, lang: str) -> html.Div:
    """Who is logged in, the regions they may switch between (when more than one), their
    account page and the logout button. `user`: callbacks/page_common.user_of. Logout is
    a form POST (a link would let any page log the reader out)."""
    regions = user.get("regions") or []
    switch = [html.Span(className="gw-user-regions", id="region-switch", children=[
        html.Span(t("page.user.regions", lang)),
        *[html.Span(r["name"], className="gw-crumb-current") if r["current"] else
          html.A(r["name"], href=r["href"], id={"type": "region-switch", "code": r["code"]})
          for r in regions]])] if len(regions) > 1 else []
    suffix = "?lang=en" if lang == "en" else ""
    return html.Div(className="gw-user", id="user-menu", children=[
        html.Span(t("page.user.who", lang, name=user["name"], role=user["role"]), id="user-name"),
        *switch,
        # The work pages (/admin, /audit) of a role that may open them.
        *[html.A(t(key, lang), href=path + suffix, id=f"to-{path.strip('/')}-page")
          for key, path in user.get("work", ())],
        html.A(t("page.user.account", lang), href="/account" + suffix, id="user-account"),
        html.Form(action="/logout" + suffix, method="post", className="gw-logout",
                  children=[html.Button(t("page.user.logout", lang), type="submit",
                                        id="logout", className="gw-button")]),
    ])


def _without_lang(state: PageState) -> str:
    return encode(state, lang="zh").lstrip("?")


def period_picker(state: PageState) -> html.Div:
    return html.Div(className="gw-period", children=[
        dcc.RadioItems(id="period-choice", className="gw-period-choice", inline=True,
                       value=state.period,
                       options=[{"label": state.t(f"page.period.{key}"), "value": key}
                                for key in PERIODS]),
        # Weeks start on Monday in China; month and weekday names follow the page's
        # language (assets/pages.js gives the picker its locale).
        dcc.DatePickerRange(id="period-range", display_format="YYYY-MM-DD",
                            month_format=state.t("page.month_format"), first_day_of_week=1,
                            start_date=state.start.isoformat() if state.start else None,
                            end_date=state.end.isoformat() if state.end else None,
                            start_date_placeholder_text=state.t("page.start_date"),
                            end_date_placeholder_text=state.t("page.end_date"),
                            minimum_nights=0, clearable=False),
    ])


def toolbar(model, state: PageState) -> html.Div:
    """Period picker, the period it shows and when its figures were computed (they are
    shared between viewers for a minute: dashboard/cache/page_memo.py). `model`: a
    KpiView or RegionView."""
    at = model.as_of
    return html.Div(className="gw-toolbar", children=[
        period_picker(state),
        html.Span(model.period_label, className="gw-period-label", id="period-label"),
        html.Span(state.t("page.as_of", t=at["text"]),
                  className="gw-as-of", id="as-of", **{"data-as-of": at["iso"]})])


def breadcrumb(items: list[dict], state: PageState, href=None) -> html.Nav:
    """Links to every ancestor; `href(code)` where they lead (default: /region/<code>)."""
    search = encode(state, page=1, region=None)
    href = href or (lambda code: f"/region/{code}{search}")
    parts = []
    for i, item in enumerate(items):
        if i:
            parts.append(html.Span(className="gw-crumb-sep", **{"aria-hidden": "true"}))
        if i == len(items) - 1:
            parts.append(html.Span(item["name"], className="gw-crumb-current"))
        else:
            parts.append(dcc.Link(item["name"], href=href(item["code"]),
                                  className="gw-crumb", id={"type": "crumb", "code": item["code"]}))
    return html.Nav(parts, className="gw-breadcrumb", id="breadcrumb")


def panel(title: str, *children, panel_id: str | None = None, wide: bool = False) -> html.Section:
    kw = {"id": panel_id} if panel_id else {}
    return html.Section(className="gw-card" + (" gw-card-wide" if wide else ""), **kw,
                        children=[html.H2(title), *children])
