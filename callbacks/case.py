"""/case/<id>: render the case page from its view model (personal information masked), and
the one callback that shows a case's personal information in full, audited."""
from __future__ import annotations

from datetime import datetime, timezone

from dash import Input, Output, State

from callbacks.page import Page
from callbacks.page_common import bad_input_page, lang_of, record, roots_of, user_of
from callbacks.router import parse_query
from dashboard.domain.accounts import NotPermitted, Permission
from dashboard.domain.audit import Action, Result
from dashboard.views import case as case_view
from dashboard.views import url_state
from dashboard.views.url_state import BadInput
from layouts import case as case_layout

CASE_PATH = "/case/"


def render(ctx, match, query: dict):
    lang = lang_of(query, ctx.settings.lang)
    try:
        roots = roots_of(ctx)
        model = case_view.build(ctx.cases, ctx.tree.get(), roots,
                                match["case_id"], lang, ctx.settings.timezone,
                                datetime.now(timezone.utc))
    except BadInput as exc:
        return bad_input_page(exc, lang, f"/region/{roots[0] if roots else ctx.root_code}")
    # Who looked at which case (等保 安全审计): only cases shown; an unknown or foreign id
    # shows nothing and is not written, or a script could fill the trail cheaply.
    record(ctx, Action.CASE_VIEWED, f"case:{model.id}", ",".join(roots), case_no=model.case_no)
    return case_layout.layout(model, url_state.PageState(lang=lang),
                              user_of(ctx, lang, model.grid_code),
                              can_unmask=may_unmask(ctx))


def may_unmask(ctx) -> bool:
    """Whether the viewer may see personal information in full: the role's permission,
    and an audit trail to write it to (without one, nobody does)."""
    viewer = ctx.viewer()
    return ctx.record is not None and viewer is not None \
        and viewer.can(Permission.UNMASK_PERSONAL)


def unmask(ctx, pathname, search):
    """The personal panel in clear for the case of the page's path. The case comes from
    the browser, its scope from the session: a case outside the viewer's regions is an
    unknown case. Refused (NotPermitted: 403) and audited as refused for a role without
    `unmask_personal`; audited before the clear values leave, in this request."""
    viewer = ctx.viewer()
    scope = ",".join(viewer.regions) if viewer is not None else None
    path = str(pathname or "")
    asked = path[len(CASE_PATH):][:40] if path.startswith(CASE_PATH) else path[:40]
    try:
        target = f"case:{case_view.parse_case_id(asked)}"
    except BadInput:
        # Not a case number: the detail says what was sent, as ascii() writes it (a NUL
        # or a lone surrogate cannot be stored as text).
        target = "case:?"
    if not may_unmask(ctx):
        record(ctx, Action.UNMASK, target, scope, result=Result.DENIED,
               reason="permission", asked=ascii(asked))
        raise NotPermitted("not permitted: unmask_personal")
    lang = lang_of(parse_query(search), ctx.settings.lang)
    try:
        if not path.startswith(CASE_PATH):
            raise BadInput("unknown-case", case_id=asked)
        found = case_view.find(ctx.cases, ctx.tree.get(), roots_of(ctx), asked)
    except BadInput:
        record(ctx, Action.UNMASK, target, scope, result=Result.DENIED,
               reason="unknown case", asked=ascii(asked))
        raise
    case = found["case"]
    record(ctx, Action.UNMASK, f"case:{case['id']}", scope, case_no=case["case_no"])
    return case_layout.personal_body(case_view.personal_view(case, lang, clear=True),
                                     url_state.PageState(lang=lang))


def register(app, ctx) -> None:
    @app.callback(Output("case-personal", "children"), Input("case-unmask", "n_clicks"),
                  State("url", "pathname"), State("url", "search"), prevent_initial_call=True)
    def show_in_full(_n, pathname, search):
        return unmask(ctx, pathname, search)


def page(ctx) -> Page:
    return Page(path=r"/case/(?P<case_id>[^/]*)",
                render=lambda match, query: render(ctx, match, query),
                permission=Permission.VIEW_CASE,
                register=lambda app: register(app, ctx))
