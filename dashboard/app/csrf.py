"""A per-session token in the forms of /admin and /audit: a POST without it is refused.

The Origin check (auth_gate.py) and the SameSite=Strict cookie already stop another site's
page from posting with a session. The token is a second, independent lock for the forms
that change accounts: it lives in the session's record in Redis, so it is the same for
every worker, ends with the session, and is never in a cookie a script could read.
"""
from __future__ import annotations

import hmac
import secrets

from flask import g, request

from dashboard.app.auth import Auth, Current

FIELD = "csrf"


def token(auth: Auth, cur: Current) -> str:
    """The session's token, made the first time one of its forms is drawn. Made once per
    request: a page drawing several forms (/admin: accounts and wall devices) holds the
    session as it was read, and a second token would replace the first one's."""
    if cur.session.csrf:
        return cur.session.csrf
    if "gridwatch_csrf" not in g:
        g.gridwatch_csrf = auth.keep(cur, csrf=secrets.token_urlsafe(32)).session.csrf
    return g.gridwatch_csrf


def posted_ok(cur: Current) -> bool:
    """Whether the request's form carries the session's token."""
    sent = request.form.get(FIELD, "")
    expected = cur.session.csrf or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())
