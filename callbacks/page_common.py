"""Helpers the page callbacks share: the reader's language, the bad-input page, the page
state of the current URL and a history-friendly URL update."""
from __future__ import annotations

from dash import no_update

from callbacks.router import parse_query
from dashboard.domain.language import language
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
