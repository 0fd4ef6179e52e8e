"""The login, second-factor, password and account pages: plain HTML forms the server
renders, so that logging in works before (and without) the Dash app's scripts.

They use the served font and the pages' stylesheet (assets/00-fonts.css, assets/pages.css,
`.gw-auth`), load nothing from elsewhere, and every word comes from the text catalogue.
Everything that is not the catalogue's is escaped (markupsafe).
"""
from __future__ import annotations

import segno
from markupsafe import Markup

from dashboard.domain.text import t


def _lang_suffix(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def document(name: str, title: str, body: Markup, lang: str) -> str:
    html_lang = "en" if lang == "en" else "zh-CN"
    return str(Markup(
        '<!DOCTYPE html><html lang="{hl}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} · {app}</title>"
        '<link rel="stylesheet" href="/assets/00-fonts.css">'
        '<link rel="stylesheet" href="/assets/pages.css">'
        '</head><body class="gw-auth-body"><main class="gw-auth" id="auth-page" data-page="{name}">'
        '<p class="gw-auth-app">{app}</p><h1>{title}</h1>{body}</main></body></html>'
    ).format(hl=html_lang, title=title, app=t("common.app_title", lang), name=name, body=body))


def _notice(text: str | None, kind: str = "error") -> Markup:
    if not text:
        return Markup("")
    return Markup('<p class="gw-auth-{k}" id="auth-{k}" role="alert">{text}</p>').format(
        k=kind, text=text)


def _field(name: str, label: str, kind: str = "password", value: str = "",
           autocomplete: str = "off", extra: str = "") -> Markup:
    return Markup('<label for="{n}">{label}</label><input id="{n}" name="{n}" type="{kind}" '
                  'value="{value}" autocomplete="{ac}" required{extra}>').format(
        n=name, label=label, kind=kind, value=value, ac=autocomplete, extra=Markup(extra))


def _form(action: str, fields: Markup, submit: str, hidden: dict | None = None) -> Markup:
    hidden_inputs = Markup("").join(
        Markup('<input type="hidden" name="{k}" value="{v}">').format(k=k, v=v)
        for k, v in (hidden or {}).items() if v)
    return Markup('<form method="post" action="{action}" class="gw-auth-form">{hidden}{fields}'
                  '<button type="submit" class="gw-button" id="auth-submit">{submit}</button>'
                  '</form>').format(action=action, hidden=hidden_inputs, fields=fields,
                                    submit=submit)


def _lang_link(path: str, lang: str) -> Markup:
    other = "zh" if lang == "en" else "en"
    href = path if other == "zh" else f"{path}?lang=en"
    return Markup('<p class="gw-auth-links"><a href="{href}" id="lang-switch">{name}</a></p>').format(
        href=href, name=t("page.lang_name", other))


def login(lang: str, username: str = "", error: str | None = None, info: str | None = None,
          next_path: str | None = None) -> str:
    fields = (_field("username", t("auth.login.username", lang), "text", username, "username",
                     ' autofocus maxlength="64"')
              + _field("password", t("auth.login.password", lang), "password", "",
                       "current-password", ' maxlength="256"'))
    wall = Markup('<p class="gw-auth-links">{note} <a href="/wall{q}" id="to-wall">{link}</a></p>').format(
        note=t("auth.login.wall_note", lang), q=_lang_suffix(lang),
        link=t("auth.login.to_wall", lang))
    body = (_notice(info, "info") + _notice(error)
            + _form("/login" + _lang_suffix(lang), fields, t("auth.login.submit", lang),
                    {"next": next_path})
            + wall + _lang_link("/login", lang))
    return document("login", t("auth.login.title", lang), body, lang)


def totp(lang: str, error: str | None = None, next_path: str | None = None) -> str:
    fields = _field("code", t("auth.totp.code", lang), "text", "", "one-time-code",
                    ' inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" autofocus')
    body = (Markup("<p>{p}</p>").format(p=t("auth.totp.prompt", lang)) + _notice(error)
            + _form("/login/totp" + _lang_suffix(lang), fields, t("auth.totp.submit", lang),
                    {"next": next_path}))
    return document("totp", t("auth.totp.title", lang), body, lang)


def password(lang: str, reason: str | None = None, errors: list[str] | None = None,
             info: str | None = None) -> str:
    fields = (_field("current", t("auth.password.current", lang), autocomplete="current-password",
                     extra=' maxlength="256"')
              + _field("new", t("auth.password.new", lang), autocomplete="new-password",
                       extra=' maxlength="256"')
              + _field("repeat", t("auth.password.repeat", lang), autocomplete="new-password",
                       extra=' maxlength="256"'))
    problems = Markup("").join(_notice(e) for e in errors or [])
    body = (_notice(info, "info") + _notice(reason, "info") + problems
            + Markup('<p class="gw-auth-rules">{r}</p>').format(r=t("auth.password.rules", lang))
            + _form("/password" + _lang_suffix(lang), fields, t("auth.password.submit", lang)))
    return document("password", t("auth.password.title", lang), body, lang)


def enrol(lang: str, secret_grouped: str, uri: str, required: bool,
          error: str | None = None) -> str:
    # Drawn here, inline: no QR service (the network may be isolated, and the secret must
    # not leave the server). segno is pure Python.
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=5, title=t("auth.enrol.title", lang)))
    fields = _field("code", t("auth.totp.code", lang), "text", "", "one-time-code",
                    ' inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7"')
    body = (Markup("<p>{why}</p><p>{steps}</p>").format(
                why=t("auth.enrol.required" if required else "auth.enrol.optional", lang),
                steps=t("auth.enrol.steps", lang))
            + Markup('<div class="gw-auth-qr" id="totp-qr">{qr}</div>').format(qr=qr)
            + Markup('<dl class="gw-auth-facts"><dt>{sl}</dt><dd><code id="totp-secret">{s}</code></dd>'
                     '<dt>{ul}</dt><dd><code id="totp-uri">{u}</code></dd></dl>').format(
                sl=t("auth.enrol.secret", lang), s=secret_grouped,
                ul=t("auth.enrol.uri", lang), u=uri)
            + _notice(error)
            + _form("/totp/enrol" + _lang_suffix(lang), fields, t("auth.enrol.submit", lang)))
    return document("enrol", t("auth.enrol.title", lang), body, lang)


def account(lang: str, facts: dict, pages: list[tuple[str, str]], note: str | None,
            can_enrol: bool, info: str | None = None) -> str:
    """`facts`: username, name, role, regions (text), totp (on/off); `pages`: (catalogue
    key, href) of the pages the account may open."""
    q = _lang_suffix(lang)
    rows = Markup("").join(
        Markup("<dt>{k}</dt><dd id=\"account-{key}\">{v}</dd>").format(
            k=t(f"auth.account.{key}", lang), key=key, v=facts[key])
        for key in ("username", "name", "role", "regions", "totp"))
    links = Markup("").join(
        Markup('<li><a href="{h}">{label}</a></li>').format(h=href, label=t(key, lang))
        for key, href in pages)
    actions = Markup('<a href="/password{q}" id="to-password">{cp}</a>').format(
        q=q, cp=t("auth.account.change_password", lang))
    if can_enrol:
        actions += Markup(' <a href="/totp/enrol{q}" id="to-enrol">{e}</a>').format(
            q=q, e=t("auth.account.enrol", lang))
    logout = Markup('<form method="post" action="/logout{q}" class="gw-logout">'
                    '<button type="submit" class="gw-button" id="logout">{l}</button></form>'
                    ).format(q=q, l=t("page.user.logout", lang))
    body = (_notice(info, "info")
            + Markup('<dl class="gw-auth-facts">{rows}</dl>').format(rows=rows)
            + (Markup('<p class="gw-auth-note" id="account-note">{n}</p>').format(n=note)
               if note else Markup(""))
            + (Markup('<h2>{h}</h2><ul id="account-pages">{links}</ul>').format(
                h=t("auth.account.pages", lang), links=links) if pages else Markup(""))
            + Markup('<p class="gw-auth-links">{a}</p>').format(a=actions) + logout)
    return document("account", t("auth.account.title", lang), body, lang)


def unavailable(lang: str) -> str:
    return document("unavailable", t("auth.login.title", lang),
                    _notice(t("auth.login.unavailable", lang)), lang)
