"""What /admin and /audit share: who may open them, the menu they show, their answers.

A request without a session goes to the login (and back here after it), one at an
unfinished step to that step; an account whose role lacks the page's permission gets
the 403 page and nothing else. Page loads and form posts are the person's activity.
"""
from __future__ import annotations

import functools
import logging

from flask import Response, redirect, request

from dashboard.app import csrf
from dashboard.app.auth import Auth, Current, address
from dashboard.app.auth_routes import _html, _lang, where_next, with_query
from dashboard.domain.accounts import Account, Permission
from dashboard.domain.sessions import work_pages
from layouts.plain_page import forbidden

log = logging.getLogger(__name__)


def work_links(account: Account, lang: str) -> list[tuple[str, str, str]]:
    """(catalogue key, href, element id) of the work pages the account may open."""
    q = "?lang=en" if lang == "en" else ""
    return [(key, path + q, f"to-{path.strip('/')}-page") for key, path in work_pages(account)]


def user_of(account: Account, lang: str) -> dict:
    return {"name": account.display_name, "role": account.role.label(lang),
            "links": work_links(account, lang)}


def open_as(auth: Auth, permission: Permission, lang: str) -> tuple[Current | None, Response | None]:
    """(the request's session, None) when its account may do `permission`; else (None,
    the answer: the login, the session's next step, or 403)."""
    cur = auth.current()
    if cur is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else request.path
        return None, redirect(with_query("/login", next=target,
                                         lang="en" if lang == "en" else None))
    if not cur.complete:
        return None, redirect(where_next(cur, lang))
    auth.touch(cur)
    if not cur.account.can(permission):
        return None, _html(forbidden(lang), 403)
    return cur, None


def page(auth: Auth, permission: Permission):
    """A route of a work page: the view is called as view(session, lang, ...) once the
    request's account may do `permission` (open_as answers otherwise)."""
    def wrap(view):
        @functools.wraps(view)
        def run(*args, **kwargs):
            lang = _lang()
            cur, refused = open_as(auth, permission, lang)
            if refused is not None:
                return refused
            return view(cur, lang, *args, **kwargs)
        return run
    return wrap


def form(auth: Auth, permission: Permission, refuse):
    """A work page's form post: like `page`, and its form must carry the session's CSRF
    token; without it `refuse(session, lang)` answers and the view is not called."""
    def wrap(view):
        @functools.wraps(view)
        def run(cur, lang, *args, **kwargs):
            if not csrf.posted_ok(cur):
                log.info("refused %s from %s: no CSRF token", request.path, address())
                return refuse(cur, lang)
            return view(cur, lang, *args, **kwargs)
        return page(auth, permission)(run)
    return wrap


# A work page's answer: never cached (it names accounts, shows passwords or rows).
html = _html
