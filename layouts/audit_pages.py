"""/audit: the trail's filter, its rows a page at a time, the chain's verification and
the export, in layouts/plain_page.py's frame."""
from __future__ import annotations

from markupsafe import Markup

from dashboard.domain.audit import Action, Result
from dashboard.domain.text import t
from dashboard.views.audit_trail import AuditQuery, headers
from layouts.plain_page import card, document, filter_input, filter_select, hidden, notice


def filter_form(q: AuditQuery, lang: str) -> Markup:
    actions = [(a.value, a.label(lang)) for a in Action]
    results = [(r.value, r.label(lang)) for r in Result]
    return Markup('<form method="get" action="/audit" class="gw-filters gw-audit-filters" '
                  'id="audit-filter">{lang}{fields}<div class="gw-filter gw-filter-buttons">'
                  '<button type="submit" class="gw-button" id="filter-submit">{go}</button>'
                  '<a href="{clear}" id="filter-clear">{cl}</a></div></form>').format(
        lang=hidden({"lang": "en"}) if lang == "en" else "",
        # Times are typed as text: a datetime-local field shows the browser's own locale
        # (mm/dd/yyyy), not the page's language.
        fields=(filter_input("from", t("audit.filter.from", lang), q.start, "YYYY-MM-DD HH:MM")
                + filter_input("to", t("audit.filter.to", lang), q.end, "YYYY-MM-DD HH:MM")
                + filter_input("actor", t("audit.filter.actor", lang), q.actor)
                + filter_select("action", t("audit.filter.action", lang), actions, q.action,
                                t("audit.filter.any", lang))
                + filter_select("result", t("audit.filter.result", lang), results, q.result,
                                t("audit.filter.any", lang))),
        go=t("audit.filter.submit", lang), clear="/audit" + ("?lang=en" if lang == "en" else ""),
        cl=t("audit.filter.clear", lang))


def table(rows: list[dict], lang: str) -> Markup:
    cols = headers(lang)
    if not rows:
        return Markup('<p class="gw-note" id="audit-empty">{e}</p>').format(e=t("audit.empty", lang))
    head = Markup("").join(Markup("<th>{h}</th>").format(h=h) for _, h in cols)
    body = Markup("").join(
        Markup('<tr data-id="{id}"{cls}>{cells}</tr>').format(
            id=r["id"], cls=Markup(' class="gw-row-denied"') if r["_result"] != "ok" else "",
            cells=Markup("").join(Markup('<td class="gw-audit-{k}">{v}</td>').format(k=k, v=r[k])
                                  for k, _ in cols))
        for r in rows)
    return Markup('<table class="gw-kpi-table gw-audit-table" id="audit-table"><thead><tr>{h}'
                  "</tr></thead><tbody>{b}</tbody></table>").format(h=head, b=body)


def pager(links: dict[str, str | None], lang: str) -> Markup:
    """`links`: newest / newer / older → href (None: no such page)."""
    parts = []
    for key in ("newest", "newer", "older"):
        href = links.get(key)
        parts.append(Markup('<a href="{h}" id="page-{k}">{l}</a>').format(
            h=href, k=key, l=t(f"audit.{key}", lang)) if href else
            Markup('<span class="gw-muted" id="page-{k}">{l}</span>').format(
            k=key, l=t(f"audit.{key}", lang)))
    return Markup('<nav class="gw-pager" id="audit-pager">{p}</nav>').format(
        p=Markup("").join(parts))


def chain(status: dict | None, csrf: str, lang: str) -> Markup:
    """`status`: intact, rows, first, last, broken_id, reason, started, checked, complete
    (None: not verified yet)."""
    if status is None:
        text = Markup("")
    elif status["intact"]:
        line = (t("audit.chain.intact", lang, rows=f"{status['rows']:,}", first=status["first"],
                  last=status["last"]) if status["rows"] else t("audit.chain.empty", lang))
        text = Markup('<p class="gw-chain-ok" id="chain-state" data-intact="true">{l}</p>').format(l=line)
        if not status["complete"]:
            text += Markup('<p class="gw-warn" id="chain-partial">{p}</p>').format(
                p=t("audit.chain.partial", lang))
    else:
        text = Markup('<p class="gw-chain-broken" id="chain-state" data-intact="false">{l} '
                      '<code>{r}</code></p>').format(
            l=t("audit.chain.broken", lang, id=status["broken_id"]), r=status["reason"])
    if status is not None:
        text += Markup('<p class="gw-note" id="chain-when">{w}</p>').format(
            w=t("audit.chain.when", lang, started=status["started"], checked=status["checked"]))
    text += Markup('<p class="gw-note">{h}</p>').format(h=t("audit.chain.how", lang))
    text += Markup('<form method="post" action="/audit/verify{q}" class="gw-admin-form">{h}'
                   '<button type="submit" class="gw-button" id="chain-restart">{b}</button>'
                   "</form>").format(q="?lang=en" if lang == "en" else "",
                                     h=hidden({"csrf": csrf}), b=t("audit.chain.restart", lang))
    return text


def audit_page(lang: str, user: dict, q: AuditQuery, rows: list[dict], links: dict,
               export_href: str, chain_status: dict | None, csrf: str, tz: str,
               errors: list[str]) -> str:
    trail = (filter_form(q, lang)
             + Markup('<div class="gw-export"><a class="gw-button" href="{h}" id="audit-export" '
                      'download>{e}</a><span class="gw-note">{tz}</span></div>').format(
                 h=export_href, e=t("audit.export", lang), tz=t("audit.times", lang, tz=tz))
             + table(rows, lang) + pager(links, lang))
    body = (Markup("").join(notice(t(e, lang), "error") for e in errors)
            + card(t("audit.chain.title", lang), chain(chain_status, csrf, lang), "audit-chain")
            + card(t("audit.title", lang), trail, "audit-trail"))
    return document("audit", t("audit.title", lang), body, lang, user,
                    q.href("/audit", "zh" if lang == "en" else "en"))
