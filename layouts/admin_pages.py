"""/admin's pages: the account list with the form that adds one, an account's page with
its forms (regions, disable / enable, reset), and the page that shows a one-time password.

Plain HTML forms (layouts/plain_page.py's frame), each carrying the session's CSRF token.
"""
from __future__ import annotations

from markupsafe import Markup

from dashboard.domain.accounts import Role
from dashboard.domain.text import t
from dashboard.views.account_admin import AccountRow, PickerRegion
from layouts.plain_page import card, document, hidden, notice, suffix


def post_form(action: str, csrf: str, body: Markup, submit: str, button_id: str,
          danger: bool = False) -> Markup:
    return Markup('<form method="post" action="{a}" class="gw-admin-form">{h}{body}'
                  '<button type="submit" class="gw-button{d}" id="{b}">{s}</button></form>').format(
        a=action, h=hidden({"csrf": csrf}), body=body, s=submit, b=button_id,
        d=" gw-button-danger" if danger else "")


def _row(r: AccountRow, lang: str) -> Markup:
    state = t("admin.state.disabled" if r.disabled else "admin.state.enabled", lang)
    password = t("auth.account.sep", lang).join(
        [t("admin.days", lang, days=r.password_days)]
        + ([t("admin.expired", lang)] if r.password_expired else [])
        + ([t("admin.must_change", lang)] if r.must_change else []))
    manage = (Markup('<a href="/admin/accounts/{u}{q}" id="manage-{u}">{m}</a>').format(
        u=r.username, q=suffix(lang), m=t("admin.manage", lang)) if r.manageable
        else Markup('<span class="gw-muted">{s}</span>').format(s=t("admin.shell_only", lang)))
    regions = Markup("<br>").join(r.regions) if r.regions else t("admin.none", lang)
    return Markup(
        '<tr data-username="{u}"{cls}><td>{u}</td><td>{n}</td><td>{role}</td><td>{regions}</td>'
        '<td>{state}</td><td>{pw}</td><td>{totp}</td><td>{manage}</td></tr>').format(
        u=r.username, cls=Markup(' class="gw-row-disabled"') if r.disabled else "",
        n=r.name, role=r.role, regions=regions, state=state, pw=password,
        totp=t("admin.yes" if r.totp else "admin.no", lang), manage=manage)


def account_table(rows: list[AccountRow], lang: str) -> Markup:
    heads = Markup("").join(Markup("<th>{h}</th>").format(h=t(f"admin.col.{c}", lang)) for c in
                            ("username", "name", "role", "regions", "state", "password", "totp"))
    return Markup('<table class="gw-kpi-table gw-admin-table" id="account-table"><thead><tr>'
                  "{heads}<th></th></tr></thead><tbody>{rows}</tbody></table>").format(
        heads=heads, rows=Markup("").join(_row(r, lang) for r in rows))


def region_picker(root: PickerRegion | None, checked: set[str], more: str, lang: str) -> Markup:
    """Checkboxes of the tree down to the counties (a city's counties folded under it),
    and a field for the codes below; no tree: the field only."""
    def box(r: PickerRegion) -> Markup:
        return Markup('<label class="gw-pick"><input type="checkbox" name="region" value="{c}"'
                      '{on}> {n} <span class="gw-muted">{c}</span></label>').format(
            c=r.code, n=r.name, on=Markup(" checked") if r.code in checked else "")

    def node(r: PickerRegion) -> Markup:
        if not r.children:
            return box(r)
        inside = Markup("").join(node(c) for c in r.children)
        opened = r.depth == 0 or any(c.code in checked for c in r.children)
        return Markup('<details class="gw-pick-group"{o}><summary>{box}</summary>'
                      '<div class="gw-pick-children">{inside}</div></details>').format(
            o=Markup(" open") if opened else "", box=box(r), inside=inside)

    tree = (Markup('<div class="gw-picker" id="region-picker">{n}</div>').format(n=node(root))
            if root is not None else notice(t("admin.regions.shape_only", lang)))
    return Markup('<fieldset class="gw-fieldset"><legend>{legend}</legend>{tree}'
                  '<label for="more-regions">{ml}</label>'
                  '<input id="more-regions" name="more_regions" type="text" value="{more}" '
                  'maxlength="2000" autocomplete="off"></fieldset>').format(
        legend=t("admin.regions.pick", lang), tree=tree, ml=t("admin.regions.more", lang),
        more=more)


def add_form(lang: str, csrf: str, roles: list[Role], root: PickerRegion | None,
             values: dict) -> Markup:
    """`values`: what was typed (username, name, role, regions, more) to show again."""
    options = Markup("").join(
        Markup('<option value="{v}"{s}>{label}</option>').format(
            v=r.value, label=r.label(lang), s=Markup(" selected") if values.get("role") == r.value else "")
        for r in roles)
    fields = Markup(
        '<div class="gw-admin-fields">'
        '<label for="new-username">{ul}</label><input id="new-username" name="username" '
        'type="text" value="{u}" maxlength="64" required autocomplete="off">'
        '<label for="new-name">{nl}</label><input id="new-name" name="name" type="text" '
        'value="{n}" maxlength="64" autocomplete="off">'
        '<label for="new-role">{rl}</label><select id="new-role" name="role">{options}</select>'
        "</div>{picker}").format(
        ul=t("admin.add.username", lang), u=values.get("username", ""),
        nl=t("admin.add.name", lang), n=values.get("name", ""), rl=t("admin.add.role", lang),
        options=options,
        picker=region_picker(root, set(values.get("regions", ())), values.get("more", ""), lang))
    return post_form("/admin/accounts" + suffix(lang), csrf, fields, t("admin.add.submit", lang),
                 "add-submit")


def accounts_page(lang: str, user: dict, rows: list[AccountRow], form: Markup,
                  walls: Markup | None, info: str | None = None,
                  errors: list[str] | None = None) -> str:
    """The list, the add form, and the wall devices' section (`walls`, layouts/
    admin_walls.py; None for an account that may not manage them: no section at all)."""
    body = (notice(info) + Markup("").join(notice(e, "error") for e in errors or [])
            + card(t("admin.accounts", lang), account_table(rows, lang), "accounts")
            + card(t("admin.add.title", lang), form, "add-account")
            + (card(t("admin.walls.title", lang), walls, "admin-walls") if walls is not None
               else Markup("")))
    return document("admin", t("admin.title", lang), body, lang, user,
                    "/admin" + ("" if lang == "en" else "?lang=en"))


def account_page(lang: str, user: dict, row: AccountRow, csrf: str, root: PickerRegion | None,
                 checked: set[str], more: str, is_self: bool, info: str | None = None,
                 errors: list[str] | None = None) -> str:
    q = suffix(lang)
    base = f"/admin/accounts/{row.username}"
    facts = Markup(
        '<dl class="gw-fields" id="account-facts"><dt>{ul}</dt><dd>{u}</dd><dt>{nl}</dt><dd>{n}</dd>'
        '<dt>{rl}</dt><dd id="account-role">{r}</dd><dt>{gl}</dt><dd id="account-regions">{g}</dd>'
        '<dt>{sl}</dt><dd id="account-state">{s}</dd></dl>').format(
        ul=t("admin.col.username", lang), u=row.username, nl=t("admin.col.name", lang), n=row.name,
        rl=t("admin.col.role", lang), r=row.role, gl=t("admin.col.regions", lang),
        g=Markup("<br>").join(row.regions) if row.regions else t("admin.none", lang),
        sl=t("admin.col.state", lang),
        s=t("admin.state.disabled" if row.disabled else "admin.state.enabled", lang))
    cards = card(t("admin.account.title", lang, username=row.username), facts, "account-card")
    if not row.manageable:
        cards += notice(t("admin.auditor_note", lang))
    else:
        cards += card(t("admin.regions.title", lang), post_form(
            f"{base}/regions{q}", csrf, region_picker(root, checked, more, lang),
            t("admin.regions.submit", lang), "regions-submit"), "regions-card")
        if row.disabled:
            toggle = post_form(f"{base}/enable{q}", csrf, Markup(""), t("admin.enable", lang),
                           "enable-submit")
        elif is_self:
            toggle = Markup('<p class="gw-note">{n}</p>').format(n=t("admin.self_note", lang))
        else:
            toggle = post_form(f"{base}/disable{q}", csrf, Markup('<p class="gw-note">{n}</p>').format(
                n=t("admin.disable.note", lang)), t("admin.disable", lang), "disable-submit", True)
        cards += card(t("admin.state.title", lang), toggle, "state-card")
        cards += card(t("admin.reset.title", lang), post_form(
            f"{base}/reset{q}", csrf, Markup('<p class="gw-note">{n}</p>').format(
                n=t("admin.reset.note", lang)), t("admin.reset.submit", lang), "reset-submit",
            True), "reset-card")
    back = Markup('<p><a href="/admin{q}" id="to-admin">{b}</a></p>').format(
        q=q, b=t("admin.back", lang))
    body = (notice(info) + Markup("").join(notice(e, "error") for e in errors or []) + back
            + cards)
    return document("admin", t("admin.title", lang), body, lang, user,
                    base + ("" if lang == "en" else "?lang=en"))


def password_shown(lang: str, user: dict, message: str, username: str, password: str) -> str:
    """The one-time password, once: this answer is never cached (no-store)."""
    body = card(message, Markup(
        '<p>{once}</p><p class="gw-one-time"><code id="one-time-password">{pw}</code></p>'
        '<p class="gw-links"><a href="/admin/accounts/{u}{q}" id="to-account">{a}</a>'
        '<a href="/admin{q}" id="to-admin">{b}</a></p>').format(
        once=t("admin.password.once", lang), pw=password, u=username, q=suffix(lang),
        a=t("admin.manage", lang), b=t("admin.back", lang)), "password-card")
    return document("admin", t("admin.title", lang), body, lang, user,
                    "/admin" + ("" if lang == "en" else "?lang=en"))
