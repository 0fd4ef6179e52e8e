"""/admin's wall devices, for accounts that may manage them (`manage_walls`: the 系统管理员).

The same checks and store calls as `gridwatch walls …` (cli_walls.py): the region inside
the installation's tree (`check_regions`), then WallDeviceStore.add / revoke / rotate,
which check the name, the networks and the overlap (dashboard/domain/walls.py) and audit
each change in its own transaction, here with the admin as the actor and the request's
address. A wall URL (with its token) is shown once, on the answer to the form that made
it (no-store), based on GRIDWATCH_PUBLIC_URL as the shell's `--base-url`, else on the
address the admin's request came to. Every form carries the session's CSRF token besides
the Origin check every POST passes (auth_gate.py). The section on /admin is drawn by
`section`, which admin_routes.py calls.
"""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, redirect, request
from markupsafe import Markup

from dashboard.app import csrf
from dashboard.app.auth import Auth, Current, actor_of, address
from dashboard.app.auth_routes import answer_outages, with_query
from dashboard.app.work_pages import form, html, page, user_of
from dashboard.domain.accounts import Permission
from dashboard.domain.text import t
from dashboard.domain.walls import wall_url
from dashboard.views.account_admin import picker, region_errors, split_codes
from dashboard.views.wall_admin import (
    PAGE_ROWS,
    WallFilter,
    WallPage,
    WallRow,
    region_choices,
    wall_rows,
)
from data_sources.wall_device_store import WallDeviceError
from layouts import admin_walls

MAX_FIELD = 2000
# What a refused change says, by WallDeviceError.reason (the shell prints its message).
ERRORS = {"name": "admin.walls.error.name", "region": "admin.error.malformed",
          "allow": "admin.walls.error.allow", "overlap": "admin.walls.error.overlap",
          "unknown": "admin.walls.error.unknown", "revoked": "admin.walls.error.revoked"}


class AdminWalls:
    def __init__(self, auth: Auth, store, region_tree, tz: str, public_url: str | None):
        """`store()`: the WallDeviceStore (the wall gate's); `region_tree()`: the
        installation's RegionTree, None when it is not imported."""
        self.auth = auth
        self.store = store
        self.region_tree = region_tree
        self.tz = tz
        self.public_url = public_url

    def _page(self, lang: str, f: WallFilter | None = None) -> WallPage:
        """The page of devices the query string asks for (past the last page: the last)."""
        f, now = f or WallFilter.parse(request.args), self.auth.clock()
        devices, counts = self.store().device_page(now, f.text, f.state,
                                                   (f.page - 1) * PAGE_ROWS, PAGE_ROWS)
        page = WallPage(wall_rows(devices, self.region_tree(), lang, now, self.tz), counts, f)
        if f.page > page.pages:
            return self._page(lang, replace(f, page=page.pages))
        return page

    def _body(self, cur: Current, lang: str, values: dict) -> Markup:
        form_ = admin_walls.add_form(lang, csrf.token(self.auth, cur),
                                     region_choices(picker(self.region_tree())), values)
        return admin_walls.section(lang, self._page(lang), self.tz, form_)

    def section(self, cur: Current, lang: str) -> Markup | None:
        """/admin's wall devices section; None for an account that may not manage them
        (it is then not drawn at all: no device's name reaches that page)."""
        if not cur.account.can(Permission.MANAGE_WALLS):
            return None
        return self._body(cur, lang, {})

    def _error(self, exc: WallDeviceError, lang: str, device_id: int | None = None) -> str:
        return t(ERRORS.get(exc.reason, "admin.walls.error.unknown"), lang, value=exc.value,
                 codes=exc.value, id=device_id if device_id is not None else "")

    def _base_url(self) -> str:
        return self.public_url or request.host_url

    def blueprint(self) -> Blueprint:
        bp = Blueprint("gridwatch_admin_walls", __name__)
        answer_outages(bp, "/admin/walls")
        auth = self.auth

        def walls_page(cur: Current, lang: str, status: int, errors: list[str],
                       values: dict | None = None):
            return html(admin_walls.walls_page(lang, user_of(cur.account, lang),
                                               self._body(cur, lang, values or {}), errors),
                        status)

        def no_token(cur: Current, lang: str):
            return walls_page(cur, lang, 403, [t("admin.error.csrf", lang)])

        def row_of(device_id: int, lang: str) -> WallRow | None:
            found = self.store().get(device_id)
            return wall_rows([found], self.region_tree(), lang, auth.clock(), self.tz)[0] \
                if found is not None else None

        def unknown(cur: Current, lang: str, device_id: int):
            return walls_page(cur, lang, 404, [t("admin.walls.error.unknown", lang,
                                                 id=device_id)])

        @bp.post("/admin/walls")
        @form(auth, Permission.MANAGE_WALLS, no_token)
        def add(cur, lang):
            name = request.form.get("name", "")[:200]
            picked = request.form.get("region", "")[:20].strip()
            typed = split_codes(request.form.get("code", "")[:200])
            allow_text = request.form.get("allow", "")[:MAX_FIELD]
            privacy = bool(request.form.get("privacy"))
            values = {"name": name, "region": picked, "code": " ".join(typed),
                      "allow": allow_text, "privacy": privacy}
            # A code typed (a township) wins over the list; one region, as `--region`.
            codes = typed or ([picked] if picked else [])
            if len(codes) != 1:
                return walls_page(cur, lang, 400, [t("admin.walls.error.region", lang)], values)
            errors = region_errors(codes, self.region_tree(), lang, needed=True)
            if errors:
                return walls_page(cur, lang, 400, errors, values)
            try:
                device, token = self.store().add(name, codes[0], privacy=privacy,
                                                 allow=split_codes(allow_text),
                                                 by=actor_of(cur.account, address()))
            except WallDeviceError as exc:
                return walls_page(cur, lang, 400, [self._error(exc, lang)], values)
            row = row_of(device.id, lang)
            return html(admin_walls.url_shown(
                lang, user_of(cur.account, lang),
                t("admin.walls.url.added", lang, name=device.name, region=row.region),
                device.id, wall_url(self._base_url(), token)))

        @bp.get("/admin/walls/<int:device_id>")
        @page(auth, Permission.MANAGE_WALLS)
        def device(cur, lang, device_id):
            row = row_of(device_id, lang)
            if row is None:
                return unknown(cur, lang, device_id)
            info = t("admin.walls.done.revoked", lang, name=row.name) \
                if request.args.get("m") == "revoked" else None
            return html(admin_walls.device_page(lang, user_of(cur.account, lang), row,
                                                csrf.token(auth, cur), info))

        def confirm_page(cur: Current, lang: str, device_id: int):
            row = row_of(device_id, lang)
            if row is None:
                return unknown(cur, lang, device_id)
            return html(admin_walls.revoke_page(lang, user_of(cur.account, lang), row,
                                                csrf.token(auth, cur)))

        @bp.get("/admin/walls/<int:device_id>/revoke")
        @page(auth, Permission.MANAGE_WALLS)
        def revoke_confirm(cur, lang, device_id):
            return confirm_page(cur, lang, device_id)

        @bp.post("/admin/walls/<int:device_id>/revoke")
        @form(auth, Permission.MANAGE_WALLS, no_token)
        def revoke(cur, lang, device_id):
            # The confirmation step: a post that does not come from it only asks again.
            if request.form.get("confirm") != "yes":
                return confirm_page(cur, lang, device_id)
            try:
                self.store().revoke(device_id, by=actor_of(cur.account, address()))
            except WallDeviceError as exc:
                return walls_page(cur, lang, 404 if exc.reason == "unknown" else 400,
                                  [self._error(exc, lang, device_id)])
            # After a POST, a GET: a reload does not ask to revoke again.
            return redirect(with_query(f"/admin/walls/{device_id}", m="revoked",
                                       lang="en" if lang == "en" else None))

        @bp.post("/admin/walls/<int:device_id>/rotate")
        @form(auth, Permission.MANAGE_WALLS, no_token)
        def rotate(cur, lang, device_id):
            text = request.form.get("hours", "")[:10].strip()
            try:
                hours = float(text)
            except ValueError:
                hours = float("nan")     # refused by the store's check, like any out of range
            try:
                device, token = self.store().rotate(device_id, hours,
                                                    by=actor_of(cur.account, address()))
            except WallDeviceError as exc:
                row = row_of(device_id, lang)
                if row is None:
                    return unknown(cur, lang, device_id)
                return html(admin_walls.device_page(
                    lang, user_of(cur.account, lang), row, csrf.token(auth, cur),
                    errors=[self._error(exc, lang, device_id)], hours=text), 400)
            until = row_of(device.id, lang).since
            return html(admin_walls.url_shown(
                lang, user_of(cur.account, lang),
                t("admin.walls.url.rotated", lang, name=device.name, until=until or "-"),
                device.id, wall_url(self._base_url(), token)))

        return bp
