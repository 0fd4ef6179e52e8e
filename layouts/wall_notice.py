"""What a wall device sees when it may show nothing now: a calm full-screen "已停用" page
the server renders itself (no Dash, no script), in the served font and the wall's colours,
saying why in words and whom to call, with the device's name when it is known.

It reloads itself every few minutes, so a screen whose cause went away (its address let
in again) comes back without anyone touching it.
"""
from __future__ import annotations

from markupsafe import Markup

from dashboard.domain.text import t
from dashboard.domain.walls import Refusal

RELOAD_SECONDS = 300
RETRY_SECONDS = 10


def disabled(lang: str, refusal: Refusal | str, name: str | None = None) -> str:
    reason = Refusal(refusal) if refusal in set(Refusal) else Refusal.UNKNOWN
    device = Markup('<p class="gw-w-notice-name" id="wall-disabled-name">{text}</p>').format(
        text=t("wall.disabled.device", lang, name=name)) if name else Markup("")
    body = Markup('<h1>{title}</h1><p>{why}</p>{device}<p>{call}</p>').format(
        title=t("wall.disabled.title", lang), why=t(f"wall.disabled.{reason.value}", lang),
        device=device, call=t("wall.disabled.call", lang))
    return _document(lang, "wall-disabled", reason.value, t("wall.disabled.title", lang),
                     body, RELOAD_SECONDS)


def connecting(lang: str) -> str:
    """The wall's URL opened while its token cannot be checked (the database is down):
    the page tries again by itself."""
    body = Markup('<p>{text}</p>').format(text=t("wall.connecting", lang))
    return _document(lang, "wall-connecting", "connecting", t("wall.title", lang), body,
                     RETRY_SECONDS)


def _document(lang: str, page_id: str, reason: str, title: str, body: Markup,
              reload_seconds: int) -> str:
    html_lang = "en" if lang == "en" else "zh-CN"
    return str(Markup(
        '<!DOCTYPE html><html lang="{hl}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        '<meta http-equiv="refresh" content="{reload}">'
        '<title>{title} · {app}</title>'
        '<link rel="stylesheet" href="/assets/00-fonts.css">'
        '<link rel="stylesheet" href="/assets/wall.css">'
        '</head><body><div class="gw-wall gw-w-notice" id="{page_id}" lang="{hl}" '
        'data-reason="{reason}"><div class="gw-w-notice-box">{body}</div></div></body></html>'
    ).format(hl=html_lang, reload=reload_seconds, title=title, app=t("common.app_title", lang),
             page_id=page_id, reason=reason, body=body))
