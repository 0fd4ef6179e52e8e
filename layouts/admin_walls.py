"""/admin's wall devices: their section on /admin (the devices and the form that enrols
one), a device's page (replace its token, revoke it), the revoke's confirmation, and the
page that shows a wall URL with its token once.

Plain HTML forms, each carrying the session's CSRF token (layouts/admin_pages.post_form).
Nothing here is given a token except `url_shown`, whose answer is never cached.
"""
from __future__ import annotations

from markupsafe import Markup

from dashboard.domain.text import t
from dashboard.domain.walls import DEFAULT_OVERLAP_HOURS, NAME_MAX, DeviceState
from dashboard.views.wall_admin import TEXT_MAX, WallFilter, WallPage, WallRow
from layouts.admin_pages import post_form
from layouts.plain_page import card, document, filter_input, filter_select, hidden, notice, suffix

STATES = {DeviceState.ACTIVE: "admin.walls.state.active",
          DeviceState.REVOKED: "admin.walls.state.revoked",
          DeviceState.ROTATING: "admin.walls.state.rotating"}
COLUMNS = ("admin.walls.col.id", "admin.walls.col.name", "admin.walls.col.region",
           "admin.walls.col.privacy", "admin.walls.col.allow", "admin.walls.col.created",
           "admin.walls.col.state", "admin.walls.col.seen")


def _state(r: WallRow, lang: str) -> Markup:
    word = t(STATES[r.state], lang)
    if r.since is None:
        return Markup("{w}").format(w=word)
    when = t("admin.walls.until" if r.state is DeviceState.ROTATING else "admin.walls.since",
             lang, at=r.since)
    return Markup('{w}<br><span class="gw-muted">{when}</span>').format(w=word, when=when)


def _seen(r: WallRow, lang: str) -> str:
    if r.seen is None:
        return t("admin.walls.never", lang)
    return t("admin.walls.seen", lang, at=r.seen, address=r.address or "?")


def _cells(r: WallRow, lang: str) -> list:
    return [r.id, r.name, r.region, t("admin.walls.on" if r.privacy else "admin.walls.off", lang),
            Markup("<br>").join(r.allow) if r.allow else t("admin.walls.any", lang), r.created,
            _state(r, lang), _seen(r, lang)]


def _row(r: WallRow, lang: str) -> Markup:
    cells = Markup("").join(Markup("<td>{c}</td>").format(c=c) for c in _cells(r, lang))
    manage = Markup('<a href="/admin/walls/{i}{q}" id="wall-manage-{i}">{m}</a>').format(
        i=r.id, q=suffix(lang), m=t("admin.manage", lang))
    return Markup('<tr data-wall="{i}" data-state="{s}"{cls}>{cells}<td>{m}</td></tr>').format(
        i=r.id, s=r.state.value, cells=cells, m=manage,
        cls=Markup(' class="gw-row-disabled"') if r.state is DeviceState.REVOKED else "")


def _table(rows: list[WallRow], lang: str, table_id: str) -> Markup:
    heads = Markup("").join(Markup("<th>{h}</th>").format(h=t(k, lang)) for k in COLUMNS)
    return Markup('<table class="gw-kpi-table gw-admin-table gw-wall-table" id="{i}"><thead>'
                  "<tr>{heads}<th></th></tr></thead><tbody>{rows}</tbody></table>").format(
        i=table_id, heads=heads, rows=Markup("").join(_row(r, lang) for r in rows))


def device_list(rows: list[WallRow], lang: str, tz: str) -> Markup:
    """The devices in use (and those in a rotation's overlap), then the revoked ones folded."""
    live = [r for r in rows if r.state is not DeviceState.REVOKED]
    gone = [r for r in rows if r.state is DeviceState.REVOKED]
    out = (_table(live, lang, "wall-table") if live else
           Markup('<p class="gw-note" id="wall-empty">{e}</p>').format(
               e=t("admin.walls.empty", lang)))
    if gone:
        out += Markup('<details class="gw-pick-group" id="wall-revoked"><summary>{s}</summary>'
                      "{table}</details>").format(
            s=t("admin.walls.revoked_group", lang, n=len(gone)),
            table=_table(gone, lang, "wall-revoked-table"))
    return out + Markup('<p class="gw-note">{n}</p>').format(n=t("admin.walls.times", lang, tz=tz))


def add_form(lang: str, csrf: str, choices: list[tuple[str, str, int]], values: dict) -> Markup:
    """`choices`: (code, name, depth) to pick the region from; `values`: what was typed
    (name, region, code, privacy, allow) to show again."""
    picked = values.get("region", "")
    options = Markup('<option value="">{p}</option>').format(p=t("admin.walls.add.pick", lang))
    options += Markup("").join(
        Markup('<option value="{c}"{s}>{pad}{n} {c}</option>').format(
            c=code, n=name, pad=Markup("&#160;" * (4 * depth)),
            s=Markup(" selected") if code == picked else "")
        for code, name, depth in choices)
    fields = Markup(
        '<div class="gw-admin-fields">'
        '<label for="wall-name">{nl}</label><input id="wall-name" name="name" type="text" '
        'value="{n}" maxlength="{nmax}" required autocomplete="off">'
        '<label for="wall-region">{rl}</label><select id="wall-region" name="region">{options}'
        "</select>"
        '<label for="wall-code">{cl}</label><input id="wall-code" name="code" type="text" '
        'value="{c}" maxlength="20" autocomplete="off">'
        '<label for="wall-allow">{al}</label><input id="wall-allow" name="allow" type="text" '
        'value="{a}" maxlength="2000" autocomplete="off">'
        '<label for="wall-privacy">{pl}</label><input id="wall-privacy" name="privacy" '
        'type="checkbox" value="1"{p}></div>').format(
        nl=t("admin.walls.add.name", lang), n=values.get("name", ""), nmax=NAME_MAX,
        rl=t("admin.walls.add.region", lang), options=options,
        cl=t("admin.walls.add.code", lang), c=values.get("code", ""),
        al=t("admin.walls.add.allow", lang), a=values.get("allow", ""),
        pl=t("admin.walls.add.privacy", lang),
        p=Markup(" checked") if values.get("privacy") else "")
    return post_form("/admin/walls" + suffix(lang), csrf, fields, t("admin.walls.add.submit", lang),
                     "wall-add-submit")


def filter_form(f: WallFilter, lang: str) -> Markup:
    """The list's filter: a GET form back to /admin (a new filter starts at page 1)."""
    states = [(s.value, t(STATES[s], lang)) for s in STATES]
    return Markup('<form method="get" action="/admin#admin-walls" class="gw-filters" '
                  'id="wall-filter">{lang}{fields}<div class="gw-filter gw-filter-buttons">'
                  '<button type="submit" class="gw-button" id="wall-filter-submit">{go}</button>'
                  '<a href="{clear}" id="wall-filter-clear">{cl}</a></div></form>').format(
        lang=hidden({"lang": "en"}) if lang == "en" else "",
        fields=filter_input("walls_q", t("admin.walls.filter.text", lang), f.text,
                            maxlength=TEXT_MAX)
        + filter_select("walls_state", t("admin.walls.filter.state", lang), states, f.state,
                        t("admin.walls.filter.any", lang)),
        go=t("admin.walls.filter.submit", lang), clear=WallFilter().href(lang),
        cl=t("admin.walls.filter.clear", lang))


def pager(page: WallPage, lang: str) -> Markup:
    """Where the page is among the filtered devices, and the pages before and after."""
    f = page.filter

    def link(key: str, label: str, to: int, shown: bool) -> Markup:
        if shown:
            return Markup('<a href="{h}" id="wall-page-{k}">{l}</a>').format(
                h=f.href(lang, page=to), k=key, l=label)
        return Markup('<span class="gw-muted" id="wall-page-{k}">{l}</span>').format(
            k=key, l=label)
    where = Markup('<span id="wall-page-at">{w}</span>').format(w=t(
        "admin.walls.pages", lang, total=page.total, page=f.page, pages=page.pages))
    return Markup('<nav class="gw-pager" id="wall-pager">{p}{w}{n}</nav>').format(
        p=link("prev", t("admin.walls.prev", lang), f.page - 1, f.page > 1), w=where,
        n=link("next", t("admin.walls.next", lang), f.page + 1, f.page < page.pages))


def section(lang: str, page: WallPage, tz: str, form: Markup) -> Markup:
    """The body of /admin's `admin-walls` card: the filter, one page of the devices and
    where it is, then the form that enrols one."""
    f = page.filter
    if page.rows or not (f.text or f.state):
        listing = device_list(page.rows, lang, tz)
    else:
        listing = Markup('<p class="gw-note" id="wall-none">{n}</p>').format(
            n=t("admin.walls.filter.none", lang))
    return filter_form(f, lang) + listing + pager(page, lang) + Markup(
        '<h3 id="wall-add-title">{h}</h3>{f}').format(h=t("admin.walls.add.title", lang), f=form)


def _page(lang: str, user: dict, body: Markup, path: str, info: str | None = None,
          errors: list[str] | None = None) -> str:
    back = Markup('<p><a href="/admin{q}#admin-walls" id="to-admin">{b}</a></p>').format(
        q=suffix(lang), b=t("admin.back", lang))
    top = notice(info) + Markup("").join(notice(e, "error") for e in errors or [])
    return document("admin", t("admin.title", lang), top + back + body, lang, user,
                    path + ("" if lang == "en" else "?lang=en"))


def walls_page(lang: str, user: dict, section_body: Markup, errors: list[str]) -> str:
    """The section alone, with what was wrong in the add form (the answer to it)."""
    return _page(lang, user, card(t("admin.walls.title", lang), section_body, "admin-walls"),
                 "/admin", errors=errors)


def facts(r: WallRow, lang: str) -> Markup:
    pairs = Markup("").join(Markup("<dt>{k}</dt><dd>{v}</dd>").format(k=t(k, lang), v=v)
                            for k, v in zip(COLUMNS, _cells(r, lang)))
    return Markup('<dl class="gw-fields" id="wall-facts">{p}</dl>').format(p=pairs)


def device_page(lang: str, user: dict, r: WallRow, csrf: str, info: str | None = None,
                errors: list[str] | None = None, hours: str = "") -> str:
    q = suffix(lang)
    base = f"/admin/walls/{r.id}"
    cards = card(t("admin.walls.device", lang, name=r.name), facts(r, lang), "wall-card")
    if r.state is not DeviceState.REVOKED:
        rotate = Markup(
            '<p class="gw-note">{note}</p><div class="gw-admin-fields">'
            '<label for="overlap-hours">{hl}</label><input id="overlap-hours" name="hours" '
            'type="text" inputmode="decimal" value="{h}" maxlength="10" autocomplete="off">'
            "</div>").format(note=t("admin.walls.rotate.note", lang),
                             hl=t("admin.walls.rotate.hours", lang),
                             h=hours or f"{DEFAULT_OVERLAP_HOURS:g}")
        cards += card(t("admin.walls.rotate.title", lang), post_form(
            f"{base}/rotate{q}", csrf, rotate, t("admin.walls.rotate.submit", lang),
            "wall-rotate-submit"), "wall-rotate-card")
        cards += card(t("admin.walls.revoke.title", lang), Markup(
            '<p class="gw-note">{n}</p><p><a class="gw-button gw-button-danger" '
            'href="{base}/revoke{q}" id="wall-revoke-open">{o}</a></p>').format(
            n=t("admin.walls.revoke.note", lang), base=base, q=q,
            o=t("admin.walls.revoke.open", lang)), "wall-revoke-card")
    return _page(lang, user, cards, base, info, errors)


def revoke_page(lang: str, user: dict, r: WallRow, csrf: str) -> str:
    """The confirmation: nothing is revoked until its form is sent."""
    q = suffix(lang)
    body = Markup('<p class="gw-note">{n}</p>').format(n=t("admin.walls.revoke.note", lang))
    body += Markup('<input type="hidden" name="confirm" value="yes">')
    form = post_form(f"/admin/walls/{r.id}/revoke{q}", csrf, body,
                     t("admin.walls.revoke.submit", lang), "wall-revoke-submit", True)
    cancel = Markup('<p><a href="/admin/walls/{i}{q}" id="wall-revoke-cancel">{c}</a></p>').format(
        i=r.id, q=q, c=t("admin.walls.revoke.cancel", lang))
    return _page(lang, user, card(t("admin.walls.revoke.confirm", lang, name=r.name),
                                  facts(r, lang) + form + cancel, "wall-revoke-confirm"),
                 f"/admin/walls/{r.id}/revoke")


def url_shown(lang: str, user: dict, message: str, device_id: int, url: str) -> str:
    """The wall URL with its token, once: this answer is never cached (no-store)."""
    q = suffix(lang)
    body = card(message, Markup(
        '<p>{once}</p><p class="gw-one-time gw-wall-url"><code id="wall-url">{url}</code></p>'
        '<p class="gw-links"><a href="/admin/walls/{i}{q}" id="to-wall">{a}</a>'
        '<a href="/admin{q}#admin-walls" id="to-admin">{b}</a></p>').format(
        once=t("admin.walls.url.once", lang), url=url, i=device_id, q=q,
        a=t("admin.manage", lang), b=t("admin.back", lang)), "wall-url-card")
    return document("admin", t("admin.title", lang), body, lang, user,
                    "/admin" + ("" if lang == "en" else "?lang=en"))
