"""`gridwatch walls …`: the enrolled wall screens from the shell (docs/security.md, "Wall
devices"). Registered on the `gridwatch` command by cli.py.

`add` and `rotate` print the wall's URL with its token: the only time the token is shown
(only its SHA-256 is stored). Opening that URL on the kiosk exchanges the token for a
device cookie and drops it from the address bar (dashboard/app/wall_gate.py). Every change
is audited under "cli:<OS user>", as `users` changes are.
"""
from __future__ import annotations

from datetime import datetime, timezone

import click

from dashboard.app.cli_accounts import _check_regions, _runtime, _table, cli_actor
from dashboard.app.runtime import Runtime
from dashboard.domain.walls import DEFAULT_OVERLAP_HOURS, DeviceState, WallDevice, wall_url
from data_sources.wall_device_store import WallDeviceError, WallDeviceStore

DEFAULT_BASE_URL = "http://127.0.0.1:8050"
DEMO_WALL_NAME = "演示大屏 demo wall"


def _store(rt: Runtime) -> WallDeviceStore:
    return WallDeviceStore(rt.db.engine)


def _change(action):
    try:
        return action()
    except WallDeviceError as exc:
        raise click.ClickException(str(exc)) from None


BASE_URL = click.option(
    "--base-url", envvar="GRIDWATCH_PUBLIC_URL", default=DEFAULT_BASE_URL, show_default=True,
    help="Where the kiosk reaches gridwatch (env GRIDWATCH_PUBLIC_URL), e.g. "
         "https://gridwatch.example.gov.cn.")


@click.group()
def walls():
    """Wall devices (大屏): enrolled kiosk screens, each bound to one region."""


@walls.command("add")
@click.option("--region", required=True, help="The region the wall shows (and below), e.g. 320100.")
@click.option("--name", required=True, help='A name that says where it hangs, e.g. "南京市指挥中心 主屏".')
@click.option("--privacy", is_flag=True, help="Always hide personal details (case numbers masked).")
@click.option("--allow", "allow", multiple=True,
              help="A network the screen connects from, e.g. 10.1.0.0/16 (repeat for more); "
                   "requests from elsewhere are refused. Default: any address.")
@BASE_URL
@click.pass_context
def add(ctx, region, name, privacy, allow, base_url):
    """Enrol a wall screen and print its URL (with its token: shown only now)."""
    with _runtime(ctx) as rt:
        _check_regions(rt, (region,))
        device, token = _change(lambda: _store(rt).add(name, region, by=cli_actor(),
                                                       privacy=privacy, allow=allow))
    click.echo(f"added wall device {device.id} {device.name}, region {device.region_code}"
               + (", privacy" if device.privacy else "")
               + (f", allowed from {' '.join(device.allow)}" if device.allow else ""))
    _say_url(base_url, token)


@walls.command("list")
@click.pass_context
def list_walls(ctx):
    """Every wall device: region, options, state and when and where it was last seen."""
    with _runtime(ctx) as rt:
        devices = _store(rt).list_devices()
    if not devices:
        click.echo('no wall devices yet: `gridwatch walls add --region CODE --name "NAME"`')
        return
    now = datetime.now(timezone.utc)
    click.echo(_table(["id", "name", "region", "privacy", "allow", "created", "revoked",
                       "last seen"], [_row(d, now) for d in devices]))


def _when(at: datetime | None) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def _row(d: WallDevice, now: datetime) -> list[str]:
    seen = "never" if d.last_seen_at is None else \
        f"{_when(d.last_seen_at)} from {d.last_seen_address or '?'}"
    revoked = _when(d.revoked_at) if d.revoked else "no"
    if d.state(now) is DeviceState.ROTATING:
        revoked += f" (old token until {_when(d.previous_until)})"
    return [str(d.id), d.name, d.region_code, "yes" if d.privacy else "no",
            " ".join(d.allow) or "any", _when(d.created_at), revoked, seen]


@walls.command("revoke")
@click.argument("device_id", type=int)
@click.pass_context
def revoke(ctx, device_id):
    """Stop a wall device: its screen shows 已停用 from its next refresh."""
    with _runtime(ctx) as rt:
        device = _change(lambda: _store(rt).revoke(device_id, by=cli_actor()))
    click.echo(f"revoked wall device {device.id} {device.name}: its screen shows 已停用 "
               "from its next refresh")


@walls.command("rotate")
@click.argument("device_id", type=int)
@click.option("--overlap-hours", default=DEFAULT_OVERLAP_HOURS, show_default=True, type=float,
              help="How long the current token keeps working, to update the screen without a gap.")
@BASE_URL
@click.pass_context
def rotate(ctx, device_id, overlap_hours, base_url):
    """Give a wall device a new token and print its new URL."""
    with _runtime(ctx) as rt:
        device, token = _change(lambda: _store(rt).rotate(device_id, overlap_hours,
                                                          by=cli_actor()))
    click.echo(f"new token for wall device {device.id} {device.name}; the old one works "
               f"until {_when(device.previous_until)}")
    _say_url(base_url, token)


def _say_url(base_url: str, token: str) -> None:
    click.echo(f"wall URL: {wall_url(base_url, token)}")
    click.echo("Open it once on the wall's browser: the token becomes a device cookie and "
               "leaves the address bar. It is shown only now.")


def demo_wall(rt: Runtime, base_url: str) -> str:
    """The demo's wall device for the root region (reused by name, with a new token at
    every start, like the demo accounts' passwords); returns the line to print."""
    store = _store(rt)
    found = store.by_name(DEMO_WALL_NAME)
    if found is None or found.region_code != rt.settings.region:
        if found is not None:
            store.revoke(found.id, by=cli_actor())
        found, token = store.add(DEMO_WALL_NAME, rt.settings.region, by=cli_actor())
    else:
        # A browser that opened the previous demo's URL keeps its wall for a day.
        found, token = store.rotate(found.id, DEFAULT_OVERLAP_HOURS, by=cli_actor())
    return f"  大屏 wall        {wall_url(base_url, token)}"
