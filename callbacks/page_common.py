"""Helpers the page callbacks share: the reader's language, the bad-input page, the page
state of the current URL and a history-friendly URL update."""
from __future__ import annotations

from dash import no_update

from callbacks.router import parse_query
from dashboard.domain.accounts import Permission
from dashboard.domain.language import language
from dashboard.domain.sessions import roots_in, work_pages
from dashboard.domain.text import t
from dashboard.views import url_state
from dashboard.views.url_state import BadInput
from layouts.errors import error_page


def lang_of(query: dict, default: str = "zh") -> str:
    return language(query.get("lang"), default)


def bad_input_page(exc: BadInput, lang: str, back: str):
    return error_page(t("error.cannot_show", lang), exc.message(lang),
                      back + ("?lang=en" if lang == "en" else ""), t("error.back", lang), exc.code)


def state_of(search: str | None) -> url_state.PageState | None:
    """The page's current state, or None when the URL is already an error."""
    try:
        return url_state.parse(parse_query(search))
    except BadInput:
        return None


def push(search: str | None, new: str):
    """Only a real change goes into the history, so re-rendered controls add no entries."""
    return no_update if (search or "") == new else new


def roots_of(ctx) -> tuple[str, ...]:
    """The regions the viewer's account may see, known to this installation, the first
    where its pages open; none without a viewer (every region then reads as unknown)."""
    account = ctx.viewer()
    if account is None:
        return ()
    tree = ctx.tree.get()
    return roots_in(account, lambda code: tree.get(code) is not None)


def user_of(ctx, lang: str, current: str | None = None, href=None) -> dict | None:
    """What the pages' user menu shows (layouts/page_parts.user_menu): name, role, and
    the account's regions with where switching to each leads (`href(code)`), the one
    `current` lies in marked."""
    account = ctx.viewer()
    if account is None:
        return None
    tree = ctx.tree.get()
    regions = []
    for code in roots_of(ctx):
        here = current is not None and tree.contains(code, current)
        regions.append({"code": code, "name": tree.get(code).name, "current": here,
                        "href": href(code) if href else f"/region/{code}"})
    return {"name": account.display_name, "role": account.role.label(lang), "regions": regions,
            "kpi": account.can(Permission.VIEW_KPI), "work": work_pages(account)}


def record(ctx, action, target: str, scope: str | None = None, result=None, **detail) -> None:
    """Write what the viewer did to the audit trail (an export, an unmasking), when the
    app records; `result` (audit.Result) is ok unless said."""
    if ctx.record is not None:
        if result is None:
            ctx.record(action, target, scope, detail)
        else:
            ctx.record(action, target, scope, detail, result=result)
