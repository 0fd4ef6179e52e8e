"""The login's pages: /login, /login/totp, /password, /totp/enrol, /logout and /account.

Server-rendered forms (layouts/auth_pages.py), POSTed back here. Each step ends in a
redirect (POST → redirect → GET), and each step that changes what a session may do gives
it a new id (auth.Auth.advance). Every POST passed the origin check first (auth_gate.py).
"""
from __future__ import annotations

import logging
import math
from urllib.parse import urlencode

from flask import Blueprint, Response, make_response, redirect, request
from werkzeug.exceptions import HTTPException

from dashboard.app.auth import COOKIE, Auth, Current, actor_of, address
from dashboard.domain import second_factor
from dashboard.domain.accounts import MAX_AGE_DAYS, Permission
from dashboard.domain.audit import Action, AuditEntry
from dashboard.domain.language import language
from dashboard.domain.sessions import Stage, landing, safe_next, totp_required, work_pages
from dashboard.domain.text import t
from data_sources.account_store import WeakPassword
from layouts import auth_pages

log = logging.getLogger(__name__)

STAGE_PATHS = {Stage.TOTP: "/login/totp", Stage.PASSWORD: "/password", Stage.ENROL: "/totp/enrol"}
MAX_FIELD = 256      # a longer username, password or code is refused before any hashing


def _lang() -> str:
    return language(request.args.get("lang"), "zh")


def _q(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def _html(text: str, status: int = 200) -> Response:
    resp = make_response(text, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    # Never cached: these pages carry a session's state (an enrolment secret, a name).
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _field(name: str) -> str:
    value = request.form.get(name, "")
    return value if len(value) <= MAX_FIELD else ""


def with_query(path: str, **params) -> str:
    """`path` with the given parameters added (None ones left out)."""
    q = urlencode({k: v for k, v in params.items() if v})
    return path + (("&" if "?" in path else "?") + q if q else "")


def where_next(cur: Current, lang: str, next_path: str | None = None) -> str:
    """Where a session goes after a step: its next step's page, or (logged in) the page
    it asked for, or the account's landing page."""
    en = "en" if lang == "en" else None
    if cur.session.stage != Stage.OK:
        # Only the second factor carries on to the page asked for; after a forced change
        # or an enrolment the landing page is as good.
        carry = next_path if cur.session.stage == Stage.TOTP else None
        return with_query(STAGE_PATHS[cur.session.stage], lang=en, next=carry)
    target = next_path or landing(cur.account)
    return with_query(target, lang=en if "lang=" not in target else None)


def set_cookie(resp: Response, auth: Auth, cur: Current) -> Response:
    # A session cookie (no Max-Age): the server decides when the session ends.
    resp.set_cookie(COOKIE, cur.session_id, httponly=True, samesite="Strict",
                    secure=auth.settings.secure_cookies, path="/")
    return resp


def answer_outages(bp: Blueprint, what: str) -> None:
    """Redis or the database down while `bp` answers: a page that says so (503), never a
    traceback; HTTP errors pass through."""
    @bp.errorhandler(Exception)
    def unavailable(exc):
        if isinstance(exc, HTTPException):
            return exc
        log.warning("%s unavailable: %s: %s", what, type(exc).__name__, str(exc)[:200])
        return _html(auth_pages.unavailable(_lang()), 503)


def blueprint(auth: Auth, region_name) -> Blueprint:
    """`region_name(code)`: a region's name for the account page (the code if unknown)."""
    bp = Blueprint("gridwatch_auth", __name__)
    answer_outages(bp, "login")

    @bp.get("/login")
    def login_form():
        lang = _lang()
        cur = auth.current()
        next_path = safe_next(request.args.get("next"))
        if cur is not None and cur.complete:
            return redirect(where_next(cur, lang, next_path))
        info = {"ended": t("auth.login.ended", lang),
                "out": t("auth.login.logged_out", lang)}.get(request.args.get("m", ""))
        return _html(auth_pages.login(lang, info=info, next_path=next_path))

    @bp.post("/login")
    def login_post():
        lang = _lang()
        username, password = _field("username"), _field("password")
        next_path = safe_next(request.form.get("next"))
        addr = address()
        locked = auth.locked_until(username, addr)
        if locked is not None:
            return _locked(lang, username, next_path, locked)
        account = auth.accounts.authenticate(username, password) if username else None
        if account is None:
            until = auth.failed(username, addr, auth.accounts.get(username) if username else None,
                                "password")
            if until is not None:
                return _locked(lang, username, next_path, until)
            return _html(auth_pages.login(lang, username, t("auth.login.failed", lang),
                                          next_path=next_path), 401)
        cur = auth.start(account, second_factor=False, replaces=request.cookies.get(COOKIE))
        if cur.session.stage != Stage.TOTP:
            auth.succeeded(account, addr, second_factor=False)
        return set_cookie(redirect(where_next(cur, lang, next_path)), auth, cur)

    def _locked(lang, username, next_path, until):
        minutes = max(1, math.ceil((until - auth.clock().timestamp()) / 60))
        return _html(auth_pages.login(lang, username, t("auth.login.locked", lang, minutes=minutes),
                                      next_path=next_path), 429)

    def _at(lang: str, *stages: Stage):
        """(the request's session, None) when it is at one of `stages`; (None, a redirect
        to where it belongs) otherwise."""
        cur = auth.current()
        if cur is not None and cur.session.stage in stages:
            return cur, None
        return None, redirect(where_next(cur, lang) if cur else "/login" + _q(lang))

    def _done(cur: Current, lang: str, message: str) -> Response:
        """After a change the person asked for: their account page says it was done."""
        target = where_next(cur, lang)
        if cur.session.stage == Stage.OK and target.startswith("/account"):
            target = with_query("/account", m=message, lang="en" if lang == "en" else None)
        return set_cookie(redirect(target), auth, cur)

    @bp.route("/login/totp", methods=["GET", "POST"])
    def login_totp():
        lang = _lang()
        cur, elsewhere = _at(lang, Stage.TOTP)
        if cur is None:
            return elsewhere
        next_path = safe_next(request.values.get("next"))
        if request.method == "GET":
            return _html(auth_pages.totp(lang, next_path=next_path))
        addr = address()
        if auth.locked_until(cur.account.username, addr) is not None:
            auth.end(cur.session_id)
            return _locked(lang, cur.account.username, next_path,
                           auth.locked_until(cur.account.username, addr))
        secret = auth.accounts.totp_secret(cur.account.id)
        step = second_factor.matching_step(secret or "", _field("code"), auth.clock()) \
            if secret else None
        if step is None or not auth.limits.claim_totp_step(cur.account.id, step):
            until = auth.failed(cur.account.username, addr, cur.account, "second_factor")
            if until is not None:
                auth.end(cur.session_id)
                return _locked(lang, cur.account.username, next_path, until)
            return _html(auth_pages.totp(lang, t("auth.totp.failed", lang), next_path), 401)
        cur = auth.advance(cur, second_factor=True)
        auth.succeeded(cur.account, addr, second_factor=True)
        return set_cookie(redirect(where_next(cur, lang, next_path)), auth, cur)

    @bp.route("/password", methods=["GET", "POST"])
    def change_password():
        lang = _lang()
        cur, elsewhere = _at(lang, Stage.PASSWORD, Stage.OK)
        if cur is None:
            return elsewhere
        reason = None
        if cur.session.stage == Stage.PASSWORD:
            reason = (t("auth.password.forced", lang) if cur.account.must_change_password
                      else t("auth.password.expired", lang, days=MAX_AGE_DAYS))
        if request.method == "GET":
            return _html(auth_pages.password(lang, reason))
        new, repeat = _field("new"), _field("repeat")
        addr = address()
        if auth.locked_until(cur.account.username, addr) is not None:
            auth.end(cur.session_id)
            return redirect("/login" + _q(lang))
        if auth.accounts.authenticate(cur.account.username, _field("current")) is None:
            # A wrong current password is a password guess like any other.
            if auth.failed(cur.account.username, addr, cur.account, "current_password"):
                auth.end(cur.session_id)
                return redirect("/login" + _q(lang))
            return _html(auth_pages.password(lang, reason, [t("auth.password.wrong_current", lang)]),
                         401)
        if new != repeat:
            return _html(auth_pages.password(lang, reason, [t("auth.password.mismatch", lang)]), 400)
        try:
            account = auth.accounts.change_password(cur.account.username, new,
                                                    by=actor_of(cur.account, addr))
        except WeakPassword as exc:
            return _html(auth_pages.password(lang, reason, [p.label(lang) for p in exc.problems]),
                         400)
        # Every other session of the account ends (their password stamp is now old); this
        # one goes on under a new id.
        return _done(auth.advance(cur, account), lang, "password")

    @bp.route("/totp/enrol", methods=["GET", "POST"])
    def enrol():
        lang = _lang()
        cur, elsewhere = _at(lang, Stage.ENROL, Stage.OK)
        if cur is None:
            return elsewhere
        if cur.account.has_totp:
            return redirect("/account" + _q(lang))
        required = totp_required(cur.account.role)
        if cur.session.pending_secret is None:
            cur = auth.keep(cur, pending_secret=second_factor.new_secret())
        secret = cur.session.pending_secret
        uri = second_factor.provisioning_uri(secret, cur.account.username)

        def page(error=None, status=200):
            return _html(auth_pages.enrol(lang, second_factor.grouped(secret), uri, required,
                                          error), status)
        if request.method == "GET":
            return page()
        step = second_factor.matching_step(secret, _field("code"), auth.clock())
        if step is None:
            return page(t("auth.totp.failed", lang), 401)
        account = auth.accounts.set_totp_secret(cur.account.username, secret,
                                                by=actor_of(cur.account, address()))
        auth.limits.claim_totp_step(account.id, step)
        return _done(auth.advance(cur, account, second_factor=True, pending_secret=None),
                     lang, "totp")

    @bp.post("/logout")
    def logout():
        lang = _lang()
        cur = auth.current()
        if cur is not None:
            auth.accounts.audit.append(AuditEntry(actor_of(cur.account, address()),
                                                  Action.LOGOUT, target=cur.account.username))
            auth.end(cur.session_id)
        resp = redirect(with_query("/login", m="out", lang="en" if lang == "en" else None))
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict",
                           secure=auth.settings.secure_cookies)
        return resp

    @bp.get("/account")
    def account_page():
        lang = _lang()
        cur = auth.current()
        if cur is None or not cur.complete:
            return redirect(with_query("/login", next="/account") if cur is None
                            else where_next(cur, lang))
        auth.touch(cur)
        a = cur.account
        on_off = t("auth.account.totp_on" if a.has_totp else "auth.account.totp_off", lang)
        regions = t("auth.account.sep", lang).join(region_name(c) for c in a.regions)
        facts = {"username": a.username, "name": a.display_name, "role": a.role.label(lang),
                 "regions": regions or t("auth.account.none", lang), "totp": on_off}
        q = _q(lang)
        pages = []
        if a.can(Permission.VIEW_KPI):
            pages.append(("auth.account.page.kpi", "/kpi" + q))
        if a.can(Permission.VIEW_REGION) and a.regions:
            pages.append(("auth.account.page.region", f"/region/{a.regions[0]}{q}"))
            pages.append(("auth.account.page.status", "/status" + q))
        pages += [(key, path + q) for key, path in work_pages(a)]
        pages.append(("auth.account.page.wall", "/wall" + q))
        note = {"admin": t("auth.account.admin_note", lang),
                "auditor": t("auth.account.auditor_note", lang)}.get(a.role.value)
        info = {"password": t("auth.password.changed", lang),
                "totp": t("auth.enrol.done", lang)}.get(request.args.get("m", ""))
        return _html(auth_pages.account(lang, facts, pages, note, can_enrol=not a.has_totp,
                                        info=info))

    return bp
