"""/admin: accounts on the web, for the 系统管理员 (`manage_accounts`).

The same rules and store calls as `gridwatch users …` (cli_accounts.py): the roles an
admin may manage (`can_manage`: never an auditor), a leader or staff account needs a
region, each code inside the installation's region tree (`check_regions`), and every
change audited in its own transaction by the AccountStore, here with the admin as the
actor and the request's address. A refused attempt to manage a role the admin may not is
audited too (result `denied`). Every form carries the session's CSRF token (csrf.py)
besides the Origin check every POST passes (auth_gate.py).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, redirect, request

from dashboard.app import csrf
from dashboard.app.auth import Auth, Current, actor_of, address
from dashboard.app.auth_routes import answer_outages, with_query
from dashboard.app.work_pages import form, html, page, user_of
from dashboard.domain.accounts import (
    Account,
    Permission,
    Role,
    can_manage,
    manageable_roles,
    needs_region,
)
from dashboard.domain.audit import Action, AuditEntry, Result
from dashboard.domain.text import t
from dashboard.views import account_admin
from dashboard.views.account_admin import account_rows, in_picker, picker, split_codes
from data_sources.account_store import AccountError, UnknownAccount, UsernameTaken
from layouts import admin_pages

MAX_FIELD = 2000


def blueprint(auth: Auth, region_tree, walls_section=lambda cur, lang: None) -> Blueprint:
    """`region_tree()`: the installation's RegionTree, None when it is not imported.
    `walls_section(cur, lang)`: the wall devices' section of /admin (Markup; admin_walls.py),
    None for an account that may not manage them (no section is drawn)."""
    bp = Blueprint("gridwatch_admin", __name__)
    answer_outages(bp, "/admin")

    def now() -> datetime:
        return auth.clock().astimezone(timezone.utc)

    def list_page(cur: Current, lang: str, status: int = 200, info=None, errors=None,
                  values=None):
        tree = region_tree()
        rows = account_rows(auth.accounts.list_accounts(), cur.account, tree, lang, now())
        form = admin_pages.add_form(lang, csrf.token(auth, cur), manageable_roles(cur.account.role),
                                    picker(tree), values or {})
        return html(admin_pages.accounts_page(lang, user_of(cur.account, lang), rows, form,
                                              walls_section(cur, lang), info, errors), status)

    def account_page(cur: Current, target: Account, lang: str, status: int = 200, info=None,
                     errors=None):
        tree = region_tree()
        root = picker(tree)
        offered = in_picker(root)
        row = account_rows([target], cur.account, tree, lang, now())[0]
        checked = {c for c in target.regions if c in offered}
        more = " ".join(c for c in target.regions if c not in offered)
        return html(admin_pages.account_page(
            lang, user_of(cur.account, lang), row, csrf.token(auth, cur), root, checked, more,
            target.id == cur.account.id, info, errors), status)

    def posted_regions() -> list[str]:
        picked = [c[:20] for c in request.form.getlist("region")[:500]]
        typed = split_codes(request.form.get("more_regions", "")[:MAX_FIELD])
        return sorted(set(picked) | set(typed))

    def region_errors(role: Role, codes: list[str], lang: str) -> list[str]:
        return account_admin.region_errors(codes, region_tree(), lang, needs_region(role))

    def denied(cur: Current, action: Action, target: str, role: str) -> None:
        auth.accounts.audit.append(AuditEntry(
            actor_of(cur.account, address()), action, Result.DENIED, target=target[:64],
            detail={"role": role[:16], "reason": "role not manageable"}))

    @bp.get("/admin")
    @page(auth, Permission.MANAGE_ACCOUNTS)
    def accounts(cur, lang):
        return list_page(cur, lang)

    def no_token(cur: Current, lang: str):
        return list_page(cur, lang, 403, errors=[t("admin.error.csrf", lang)])

    @bp.post("/admin/accounts")
    @form(auth, Permission.MANAGE_ACCOUNTS, no_token)
    def create(cur, lang):
        username = request.form.get("username", "")[:80]
        name = request.form.get("name", "")[:64]
        role_value = request.form.get("role", "")[:16]
        codes = posted_regions()
        values = {"username": username, "name": name, "role": role_value, "regions": codes,
                  "more": request.form.get("more_regions", "")[:MAX_FIELD]}
        try:
            role = Role(role_value)
        except ValueError:
            role = None
        if role is None or not can_manage(cur.account.role, role):
            denied(cur, Action.ACCOUNT_CREATED, username or "-", role_value)
            return list_page(cur, lang, 403, errors=[t("admin.error.role", lang)], values=values)
        errors = region_errors(role, codes, lang)
        if errors:
            return list_page(cur, lang, 400, errors=errors, values=values)
        try:
            created, password = auth.accounts.create(username, role, codes, name or None,
                                                     by=actor_of(cur.account, address()))
        except UsernameTaken:
            return list_page(cur, lang, 400, values=values, errors=[
                t("admin.error.taken", lang, username=username.strip().lower())])
        except AccountError as exc:
            return list_page(cur, lang, 400, errors=[str(exc)], values=values)
        except ValueError:      # normalize_username: not a username
            return list_page(cur, lang, 400, errors=[t("admin.error.username", lang)],
                             values=values)
        return html(admin_pages.password_shown(
            lang, user_of(cur.account, lang),
            t("admin.password.created", lang, username=created.username,
              role=created.role.label(lang)), created.username, password))

    def target_of(cur: Current, username: str, lang: str, action: Action | None = None):
        """(the account, None) when it exists and the admin may manage it; else (None,
        the answer). A refused change (`action`) is audited."""
        target = auth.accounts.get(username)
        if target is None:
            return None, list_page(cur, lang, 404, errors=[
                t("admin.error.unknown", lang, username=username[:64])])
        if not can_manage(cur.account.role, target.role):
            if action is not None:
                denied(cur, action, target.username, target.role.value)
            return None, list_page(cur, lang, 403, errors=[t("admin.error.role", lang)])
        return target, None

    @bp.get("/admin/accounts/<username>")
    @page(auth, Permission.MANAGE_ACCOUNTS)
    def account(cur, lang, username):
        target = auth.accounts.get(username)
        if target is None:
            return list_page(cur, lang, 404, errors=[
                t("admin.error.unknown", lang, username=username[:64])])
        # An auditor's account is shown (no forms): the list names it too.
        info = {"disabled": "admin.done.disabled", "enabled": "admin.done.enabled",
                "regions": "admin.done.regions"}.get(request.args.get("m", ""))
        return account_page(cur, target, lang, info=t(info, lang) if info else None)

    def back_to(target: Account, lang: str, message: str):
        return redirect(with_query(f"/admin/accounts/{target.username}", m=message,
                                   lang="en" if lang == "en" else None))

    @bp.post("/admin/accounts/<username>/<change>")
    @form(auth, Permission.MANAGE_ACCOUNTS, no_token)
    def change(cur, lang, username, change):
        actions = {"disable": Action.ACCOUNT_DISABLED, "enable": Action.ACCOUNT_ENABLED,
                   "reset": Action.PASSWORD_RESET, "regions": Action.REGIONS_CHANGED}
        if change not in actions:
            abort(404)
        target, refused = target_of(cur, username, lang, actions[change])
        if refused is not None:
            return refused
        by = actor_of(cur.account, address())
        try:
            if change == "reset":
                password = auth.accounts.reset_password(target.username, by=by)
                return html(admin_pages.password_shown(
                    lang, user_of(cur.account, lang),
                    t("admin.password.reset", lang, username=target.username),
                    target.username, password))
            if change == "regions":
                codes = posted_regions()
                errors = region_errors(target.role, codes, lang)
                if errors:
                    return account_page(cur, target, lang, 400, errors=errors)
                auth.accounts.bind_regions(target.username, codes, by=by)
                return back_to(target, lang, "regions")
            if change == "disable" and target.id == cur.account.id:
                return account_page(cur, target, lang, 400, errors=[t("admin.self_note", lang)])
            auth.accounts.set_disabled(target.username, change == "disable", by=by)
            return back_to(target, lang, "disabled" if change == "disable" else "enabled")
        except UnknownAccount:
            return list_page(cur, lang, 404, errors=[
                t("admin.error.unknown", lang, username=username[:64])])

    return bp
