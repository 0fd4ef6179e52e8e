"""The wall's refresh request as a browser sends it, replayed by the load benches: the
body captured from a real page, with the tick count and the panels' marks a screen keeps
(layouts/wall_panels.Panel.mark: a panel the screen shows already is not sent again)."""
from __future__ import annotations

import json

MARK = ("wall-marks", "data")
PUSH = ("wall-push", "data")


def set_value(items: list[dict], id_: str, prop: str, fn) -> list[dict]:
    return [dict(i, value=fn(i.get("value"))) if i.get("id") == id_ and i.get("property") == prop
            else i for i in items]


def with_tick(body: dict, n: int, mark: dict | None, pushed: bool = False) -> bytes:
    """The body for the screen's n-th tick, carrying the marks it holds and whether the
    panels' frames reach it over its live feed (assets/wall.js)."""
    b = dict(body)
    b["inputs"] = set_value(body["inputs"], "wall-tick", "n_intervals", lambda _v: n)
    b["state"] = set_value(body.get("state", []), *MARK, lambda _v: mark)
    b["state"] = set_value(b["state"], *PUSH, lambda _v: pushed)
    return json.dumps(b).encode()


def frame_fits(frame: dict, mark: dict | None) -> tuple[dict, bool]:
    """A pushed frame applied to a screen holding `mark` (assets/wall.js applyFrame):
    the marks it then holds, and whether the frame fitted (if not, the screen asks for a
    refresh at once)."""
    shown, drawn, new = mark or {}, set(frame.get("drawn") or ()), frame.get("marks") or {}
    fits = all(shown.get(k) == v for k, v in new.items() if k not in drawn)
    return {k: v if fits or k in drawn else shown.get(k) for k, v in new.items()}, fits


def mark_after(text: bytes | str, mark: dict | None) -> dict | None:
    """The marks a screen holds after an answer: the ones it was sent, or its own (absent:
    no_update)."""
    try:
        sent = json.loads(text)["response"].get(MARK[0])
    except (ValueError, KeyError, TypeError, AttributeError):
        return mark
    return sent[MARK[1]] if isinstance(sent, dict) and MARK[1] in sent else mark
