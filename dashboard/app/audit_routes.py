"""/audit: the audit trail on the web, for the 审计管理员 (`read_audit`) only.

The rows newest first, a page at a time by id (keyset: `before` / `after` an id, never
OFFSET), filtered by time, actor, action and result; the chain's verification, resumed
from where it stopped at each visit (data_sources/audit_chain_check.py); and the CSV of
the filtered rows, streamed, pinned to the rows that existed when the page was drawn
(`upto`), and itself audited as `export`.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Response, redirect, request, stream_with_context

from dashboard.app import csrf
from dashboard.app.auth import Auth, Current, actor_of, address
from dashboard.app.auth_routes import _lang, answer_outages
from dashboard.app.work_pages import form, html, page, user_of
from dashboard.domain.accounts import Permission
from dashboard.domain.audit import Action, AuditEntry
from dashboard.views import audit_trail
from dashboard.views.audit_trail import PAGE_ROWS, AuditQuery
from dashboard.views.export import csv_chunks
from data_sources.audit_chain_check import ChainCheck, ChainChecks
from layouts import audit_pages


def blueprint(auth: Auth, checks: ChainChecks, tz: str) -> Blueprint:
    bp = Blueprint("gridwatch_audit", __name__)
    answer_outages(bp, "/audit")
    zone = ZoneInfo(tz)

    def local(at) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    def chain_status(check: ChainCheck) -> dict:
        v = check.verdict
        return {"intact": v.intact, "rows": v.rows, "first": v.first_id, "last": v.last_id,
                "broken_id": v.broken_id, "reason": v.reason, "complete": check.complete,
                "started": local(check.started), "checked": local(check.checked)}

    def page_of(q: AuditQuery) -> tuple[list, dict]:
        """The page's rows and its pager's links. A page asked `after` an id that has
        fewer newer rows than a page is the newest page."""
        store = auth.accounts.audit
        filters = q.filters(tz)
        rows = store.page(before_id=q.before, after_id=q.after, limit=PAGE_ROWS, **filters)
        if q.after is not None and len(rows) < PAGE_ROWS:
            q = AuditQuery(q.start, q.end, q.actor, q.action, q.result)
            rows = store.page(limit=PAGE_ROWS, **filters)
        lang = _lang()
        first_page = q.before is None and q.after is None
        newer = bool(rows) and not first_page and bool(
            store.page(after_id=rows[0].id, limit=1, **filters))
        older = bool(rows) and bool(store.page(before_id=rows[-1].id, limit=1, **filters))
        links = {"newest": None if first_page else q.href("/audit", lang, before=None, after=None),
                 "newer": q.href("/audit", lang, before=None, after=rows[0].id) if newer else None,
                 "older": q.href("/audit", lang, after=None, before=rows[-1].id) if older else None}
        return rows, links

    def show(cur: Current, lang: str, status: int = 200, refusal: str | None = None):
        q, errors = audit_trail.parse(request.args)
        rows, links = page_of(q)
        # The export covers the filter's rows up to the newest that exists now, whichever
        # page is shown: the table's rows for that filter, and nothing appended later.
        upto = auth.accounts.audit.newest_id() or 0
        export = q.href("/audit/export", lang, before=None, after=None, upto=upto)
        shown = [{**audit_trail.cells(r, lang, tz), "_result": r.result} for r in rows]
        check = checks.last() if refusal else checks.advance(auth.clock())
        return html(audit_pages.audit_page(
            lang, user_of(cur.account, lang), q, shown, links, export,
            chain_status(check) if check else None, csrf.token(auth, cur), tz,
            [refusal, *errors] if refusal else errors), status)

    @bp.get("/audit")
    @page(auth, Permission.READ_AUDIT)
    def trail(cur, lang):
        return show(cur, lang)

    @bp.post("/audit/verify")
    @form(auth, Permission.READ_AUDIT, lambda cur, lang: show(cur, lang, 403, "admin.error.csrf"))
    def verify(cur, lang):
        """A new pass from the anchor: the rows checked before are checked again."""
        checks.advance(auth.clock(), restart=True)
        return redirect("/audit" + ("?lang=en" if lang == "en" else ""))

    @bp.get("/audit/export")
    @page(auth, Permission.READ_AUDIT)
    def export(cur, lang):
        q, _errors = audit_trail.parse(request.args)
        upto_text = request.args.get("upto", "")
        upto = int(upto_text) if upto_text.isascii() and upto_text.isdigit() \
            and len(upto_text) < 19 else (auth.accounts.audit.newest_id() or 0)
        filters = {**q.filters(tz), "upto_id": upto}
        store = auth.accounts.audit
        count = store.count_where(**filters)
        name = f"audit-{upto}.csv"
        record(cur, name, q, upto, count)
        cols = audit_trail.headers(lang)
        rows = (audit_trail.cells(r, lang, tz) for r in store.rows(**filters))
        resp = Response(stream_with_context(csv_chunks(cols, rows)),
                        mimetype="text/csv", headers={
                            "Content-Disposition": f'attachment; filename="{name}"',
                            "Cache-Control": "no-store"})
        resp.charset = "utf-8"
        return resp

    def record(cur: Current, name: str, q: AuditQuery, upto: int, count: int) -> None:
        auth.accounts.audit.append(AuditEntry(
            actor_of(cur.account, address()), Action.EXPORT, target=name,
            detail={"file": name, "rows": count, "upto_id": upto,
                    "filter": q.params(before=None, after=None)}))

    return bp
