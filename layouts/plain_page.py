"""The frame of the server-rendered work pages (/admin, /audit): the pages' header, user
menu and look (assets/pages.css `.gw-page`), as plain HTML, no Dash scripts. And the calm
403 page a role that may not open one of them gets.

Every word comes from the text catalogue; everything else is escaped (markupsafe).
"""
from __future__ import annotations

from markupsafe import Markup

from dashboard.domain.text import t


def suffix(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def user_menu(user: dict, lang: str) -> Markup:
    """`user`: name, role, and `links`: (catalogue key, href, id) of the work pages the
    account may open. Logout is a form POST, as on every page."""
    q = suffix(lang)
    links = Markup("").join(
        Markup('<a href="{h}" id="{i}">{label}</a>').format(h=href, i=ident, label=t(key, lang))
        for key, href, ident in user.get("links", ()))
    return Markup(
        '<div class="gw-user" id="user-menu"><span id="user-name">{who}</span>{links}'
        '<a href="/account{q}" id="user-account">{account}</a>'
        '<form action="/logout{q}" method="post" class="gw-logout">'
        '<button type="submit" id="logout" class="gw-button">{logout}</button></form></div>'
    ).format(who=t("page.user.who", lang, name=user["name"], role=user["role"]), links=links,
             q=q, account=t("page.user.account", lang), logout=t("page.user.logout", lang))


def document(name: str, title: str, body: Markup, lang: str, user: dict | None,
             lang_href: str) -> str:
    """A whole page: `lang_href` is this page in the other language."""
    other = "zh" if lang == "en" else "en"
    return str(Markup(
        '<!DOCTYPE html><html lang="{hl}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} · {app}</title>"
        '<link rel="stylesheet" href="/assets/00-fonts.css">'
        '<link rel="stylesheet" href="/assets/pages.css"></head>'
        '<body><div class="gw-page gw-work-page" id="{name}-page" lang="{hl}">'
        '<header class="gw-page-header"><h1>{title}</h1>'
        '<nav class="gw-page-nav"><a href="{lh}" id="lang-switch">{ln}</a></nav>{menu}</header>'
        "{body}</div></body></html>"
    ).format(hl="en" if lang == "en" else "zh-CN", title=title, app=t("common.app_title", lang),
             name=name, lh=lang_href, ln=t("page.lang_name", other),
             menu=user_menu(user, lang) if user else Markup(""), body=body))


def forbidden(lang: str) -> str:
    """What a role that may not open the page gets: that, and where to go instead."""
    body = Markup(
        '<div class="gw-error-page" id="error-page" data-error="forbidden">'
        '<h1 class="gw-error-title">{title}</h1><p class="gw-error-message">{message}</p>'
        '<a class="gw-error-back" id="error-back" href="/account{q}">{back}</a></div>'
    ).format(title=t("error.forbidden.title", lang), message=t("error.forbidden.message", lang),
             q=suffix(lang), back=t("error.to_account", lang))
    return str(Markup(
        '<!DOCTYPE html><html lang="{hl}"><head><meta charset="utf-8">'
        "<title>{title} · {app}</title>"
        '<link rel="stylesheet" href="/assets/00-fonts.css">'
        '<link rel="stylesheet" href="/assets/pages.css"></head>'
        '<body class="gw-auth-body">{body}</body></html>'
    ).format(hl="en" if lang == "en" else "zh-CN", title=t("error.forbidden.title", lang),
             app=t("common.app_title", lang), body=body))


def notice(text: str | None, kind: str = "info") -> Markup:
    """A line above the page's cards: `kind` info or error."""
    if not text:
        return Markup("")
    return Markup('<p class="gw-notice gw-notice-{k}" id="notice-{k}" role="{r}">{text}</p>').format(
        k=kind, r="alert" if kind == "error" else "status", text=text)


def filter_select(name: str, label: str, options: list[tuple[str, str]], chosen: str,
                  any_label: str) -> Markup:
    """One select of a GET filter form (`options`: value, label; "" is `any_label`)."""
    opts = Markup('<option value="">{any}</option>').format(any=any_label)
    opts += Markup("").join(Markup('<option value="{v}"{s}>{label}</option>').format(
        v=v, label=label_, s=Markup(" selected") if v == chosen else "") for v, label_ in options)
    return Markup('<div class="gw-filter"><label for="f-{n}">{label}</label>'
                  '<select id="f-{n}" name="{n}">{opts}</select></div>').format(
        n=name, label=label, opts=opts)


def filter_input(name: str, label: str, value: str, placeholder: str = "",
                 maxlength: int = 80) -> Markup:
    """One text field of a GET filter form."""
    return Markup('<div class="gw-filter"><label for="f-{n}">{label}</label>'
                  '<input id="f-{n}" name="{n}" type="text" value="{v}" maxlength="{m}" '
                  'placeholder="{p}" autocomplete="off"></div>').format(
        n=name, label=label, v=value, p=placeholder, m=maxlength)


def hidden(fields: dict) -> Markup:
    return Markup("").join(Markup('<input type="hidden" name="{k}" value="{v}">').format(k=k, v=v)
                           for k, v in fields.items())


def card(title: str, body: Markup, card_id: str, wide: bool = True) -> Markup:
    return Markup('<section class="gw-card{w}" id="{i}"><h2>{title}</h2>{body}</section>').format(
        w=" gw-card-wide" if wide else "", i=card_id, title=title, body=body)
