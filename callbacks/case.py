"""/case/<id>: render the case page from its view model."""
from __future__ import annotations

from datetime import datetime, timezone

from callbacks.page import Page
from callbacks.page_common import bad_input_page, lang_of, roots_of, user_of
from dashboard.domain.accounts import Permission
from dashboard.views import case as case_view
from dashboard.views import url_state
from dashboard.views.url_state import BadInput
from layouts import case as case_layout


def render(ctx, match, query: dict):
    lang = lang_of(query, ctx.settings.lang)
    try:
        roots = roots_of(ctx)
        model = case_view.build(ctx.cases, ctx.tree.get(), roots,
                                match["case_id"], lang, ctx.settings.timezone,
                                datetime.now(timezone.utc))
    except BadInput as exc:
        return bad_input_page(exc, lang, f"/region/{roots[0] if roots else ctx.root_code}")
    return case_layout.layout(model, url_state.PageState(lang=lang),
                              user_of(ctx, lang, model.grid_code))


def page(ctx) -> Page:
    return Page(path=r"/case/(?P<case_id>[^/]*)",
                render=lambda match, query: render(ctx, match, query),
                permission=Permission.VIEW_CASE)
