"""Every watched region's live model at a tick, built only where its figures changed.

A tick of a province's platform touches a few dozen of its 1,237 townships (the events
and the deadlines of 5 s); every other region's wall shows the same counts as a tick ago,
at a later clock. Building each of the 1,345 models from the board anyway cost ~3 ms of
Python per region and tick, the largest share of a province's worker CPU
(docs/benchmarks.md). Here a model is rebuilt only when the board's rows behind it
changed (`LiveBoard.version_of`); otherwise the previous model is carried over, and a
reader moves its clock on (`at_tick`, `restamp`), which gives exactly what a build at the
new clock gives (tests/test_live_board_follow.py checks every region at every step).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.domain.live_board import version_base
from dashboard.views.wall.model import build_live, iso_utc
from dashboard.views.wall.shapes import LiveModel


def restamp(model: LiveModel, now: datetime, tz: str) -> LiveModel:
    """`model` as build_live would make it from the same rows at `now`: the times and the
    hour the chart is in (a listed case's time left is its section's clock's: the rows
    stay as they are). Only a model of a database that answered carries over (its source
    says up at `now`)."""
    at = iso_utc(now)
    local = now.astimezone(ZoneInfo(tz))
    sections = {}
    for name, section in model["sections"].items():
        section = {**section, "as_of": at}
        if name == "hourly":
            section["now_hour"], section["now_minute"] = local.hour, local.minute
        sections[name] = section
    out: LiveModel = {"region": model["region"], "computed_at": at, "sections": sections,
                      "sources": {"database": {"status": "up", "since": None, "as_of": at}}}
    if "version" in model:
        out["version"] = model["version"]
    return out


def live_models(board, tree, regions: list, tz: str, previous: dict[str, LiveModel],
                pause: Callable[[], None] | None = None
                ) -> tuple[dict[str, LiveModel], list[str]]:
    """(region code -> its model, the codes built this tick) for `regions` (all on
    `board`). A model whose rows did not change since `previous` (the models of an
    earlier tick: the versions say what changed since) is carried over as it is, at its
    own clock: a reader moves it to the tick's (`at_tick`), so that the builder neither
    rebuilds nor republishes the ~90% of a province's walls a tick leaves alone.
    `pause` is called after each build: a worker serving requests beside the builder
    (gevent: one thread) lets them run between builds."""
    out, built = {}, []
    for region in regions:
        last = previous.get(region.code)
        version = board.version_of(region.code)
        if version and last is not None and last.get("version") == version \
                and database_up(last):
            out[region.code] = last
            continue
        model = build_live(board, tree, region, tz, board.now, last)
        if version and database_up(model):
            model["version"] = version
        out[region.code] = model
        built.append(region.code)
        if pause is not None:
            pause()
    return out, built


def at_tick(model: LiveModel, tick: dict, tz: str) -> LiveModel:
    """A published model as the wall shows it at the builder's last tick (`tick`: its
    clock in full ISO, the board's `base` and the stream's state then): a carried-over
    model gets the tick's clock (restamp), every model the stream's state. The model
    itself is left as it is."""
    now = datetime.fromisoformat(tick["now"]) if tick.get("now") else None
    # Only a model the builder still follows (not one retired when no screen asked for
    # it), of the tick's own chain of boards (another builder's, or one from before a
    # full pass, may be out of date), and only forwards: a reader between the
    # builder's models and its tick record (written after them) shows a newer model at
    # its own clock.
    if now is not None and not model.get("retired") \
            and version_base(model.get("version")) == (tick.get("base") or None) \
            and model.get("computed_at") and datetime.fromisoformat(model["computed_at"]) < now:
        model = restamp(model, now, tz)
    else:
        model = {**model, "sources": dict(model.get("sources") or {})}
    model["sources"].update(tick.get("streams") or {})
    return model


def database_up(model: dict) -> bool:
    """Whether the database answered when `model` was made (its source state)."""
    return ((model.get("sources") or {}).get("database") or {}).get("status") == "up"
