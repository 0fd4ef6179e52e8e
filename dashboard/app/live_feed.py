"""GET /wall/live: the wall's live feed as Server-Sent Events.

Each message carries its stream entry ID as the SSE `id`, so a browser that reconnects
(network, proxy 502, server restart) sends Last-Event-ID, or `?from=`, and resumes after
the last entry it showed. Events are filtered to the requested region and enriched from
the case table in one query per batch; with the database down, rows still come, with the
fields the event itself carries.

A feed needs a wall device or a session (dashboard/app/wall_gate.py): its region lies in
the device's (or the account's) regions, a forged one outside them gets the device's
own, and the device's privacy cannot be turned off from the URL.
"""
from __future__ import annotations

import json
import logging
import random
import re
from datetime import datetime, timezone

from flask import Blueprint, Response, request, stream_with_context

from dashboard.domain.hierarchy import Level, ancestor_code, level_of
from dashboard.domain.language import language
from dashboard.domain.scope import OutOfScope
from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream
from data_sources.stream_hub import StreamHub, follow
from data_sources.stream_skips import counter_key

log = logging.getLogger(__name__)
_ID_RE = re.compile(r"\d{1,20}-\d{1,20}")
RETRY_AFTER = (15, 45)   # s: a refused feed's retry, spread so that they do not return at once


def _sse(event: str, data: dict, entry_id: str | None = None) -> str:
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _retry_later(seconds: int) -> Response:
    return Response("", status=503, headers={"Retry-After": str(seconds),
                                              "Cache-Control": "no-cache"})


def blueprint(ctx, service, walls, frames=None) -> tuple[Blueprint, StreamHub, object]:
    """The feed's blueprint, the hub its subscribers share (one per app) and the pusher
    of the walls' frames (None without one). `walls`: the app's WallGate, whose device
    (or account) gives a feed its regions. `frames`: hub -> FramePusher
    (dashboard/app/wall_frames.py), or None: no frames over the feed."""
    settings = ctx.settings
    bp = Blueprint("live_feed", __name__)

    def blocking_stream() -> EventStream:
        if not settings.redis_url:
            raise RuntimeError("no Redis configured")
        return EventStream(make_client(settings.redis_url, blocking=True),
                           settings.stream_key, settings.stream_maxlen)

    root_level = level_of(settings.region)
    province = ancestor_code(settings.region, Level.PROVINCE)

    def known_grid(code: str) -> bool:
        # The stream carries a whole province while this server may show one city of it:
        # another city's grid is not ours (the region filter drops it), not an error.
        # Unknown: a grid under the root that the tree does not know, or one from
        # outside the province.
        if ancestor_code(code, root_level) != settings.region:
            return ancestor_code(code, Level.PROVINCE) == province
        return code in ctx.tree.get()

    hub = StreamHub(blocking_stream, known_grid=known_grid,
                    counter_key=counter_key(settings.key_prefix, settings.stream_key),
                    lineage=lambda grid: ctx.tree.get().lineage(grid),
                    prepare=service.prepare_ticker)
    pusher = frames(hub) if frames is not None else None

    @bp.route("/wall/live")
    def wall_live():
        try:
            access = walls.access()
        except Exception as exc:  # noqa: BLE001 - devices or sessions unreadable now
            log.info("live feed refused: %s", exc)
            return _retry_later(5)
        if access is None:
            return Response("", status=401, headers={"Cache-Control": "no-store"})
        if not access.allowed:     # a revoked device (or an account that sees nothing)
            return Response("", status=403, headers={"Cache-Control": "no-store"})
        try:
            tree = ctx.tree.get()
            region = service.scoped(request.args.get("region") or access.home, access.roots)
        except OutOfScope:
            region = access.home    # outside the device's (or account's) regions
        except Exception as exc:  # noqa: BLE001 - no region tree yet (database down)
            log.info("live feed refused: %s", exc)
            return _retry_later(5)
        after = request.headers.get("Last-Event-ID") or request.args.get("from")
        after = after if after and _ID_RE.fullmatch(after) else None
        privacy = access.privacy or request.args.get("privacy") == "1"
        lang = language(request.args.get("lang"), settings.lang)

        def accept(e) -> bool:
            return tree.contains(region, e.grid)
        if hub.subscribers >= settings.live_streams_max:
            # Past what this worker serves: degrade, never collapse. The screen keeps its
            # refreshes and tries again later (wall.js backs off on its own as well).
            return _retry_later(random.randint(*RETRY_AFTER))
        # A wall page asks for its panels' frames too (`frames=1`, assets/wall.js), for
        # its settings as re-derived here (a forged metric or language is the default).
        key = None
        if pusher is not None and request.args.get("frames") == "1":
            key = pusher.watch(service.refresh_config(
                region, {"metric": request.args.get("metric"), "lang": lang,
                         "privacy": privacy}, access))
        try:
            sub = hub.subscribe(accept, region, frames=key)  # accept: the region's lineage
        except Exception as exc:  # noqa: BLE001 - Redis down: the page retries
            # The screen learns the kind of failure, the log the rest (a message can name
            # a host and port: nothing a browser needs).
            log.info("live feed unavailable: %s", exc)
            body = "retry: 2000\n\n" + _sse("status", {"status": "down",
                                                        "error": type(exc).__name__})
            return Response(body, mimetype="text/event-stream", status=200,
                            headers={"Cache-Control": "no-cache"})
        if key is not None:
            pusher.ensure_started()

        def generate():
            try:
                yield "retry: 2000\n\n"
                # A resumed page's backlog comes first, then the status, then live ones:
                # only those are timed (hub.ages).
                replaying = after is not None
                for kind, item in follow(hub, sub, after, accept):
                    # A revoked device, a token past its overlap or an ended session
                    # stops the feed within a heartbeat, and tells the page: it loads
                    # again, and the server shows 已停用 (or the login) in its place. A
                    # wall whose panels come by frame has no refresh due for a minute.
                    if not walls.still_allowed(access):
                        yield _sse("disabled", {})
                        return
                    if kind == "events":
                        for row in service.ticker_rows(item, region, privacy, lang):
                            yield _sse("case", row, row["id"])
                            # Resumed once the server has written it: its age then.
                            if not replaying:
                                hub.ages.note(hub.ages.written, row["id"])
                    elif kind == "frame":
                        yield f"event: frame\ndata: {item}\n\n"
                    elif kind == "status":
                        replaying = False
                        yield _sse("status", {**item, "now": datetime.now(timezone.utc).timestamp()})
                    else:
                        yield _sse("gap", {})
            except Exception as exc:  # noqa: BLE001 - the browser reconnects and resumes
                log.info("live feed ended: %s", exc)
                yield _sse("status", {"status": "down", "error": type(exc).__name__})
            finally:
                hub.unsubscribe(sub)

        return Response(stream_with_context(generate()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return bp, hub, pusher
