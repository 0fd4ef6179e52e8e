"""`gridwatch users …` and `gridwatch audit …`: accounts and the audit trail from the shell
(docs/security.md). Registered on the `gridwatch` command by cli.py.

The shell is where the first admin comes from and where an auditor's account is managed
(an admin may not: dashboard/domain/accounts.MANAGEABLE). Every change is audited under
"cli:<OS user>", from "local" or "ssh:<client address>".
"""
from __future__ import annotations

import getpass
import os
import pwd
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import click
from sqlalchemy.engine import make_url

from dashboard.app.runtime import Runtime
from dashboard.domain import second_factor
from dashboard.domain.accounts import (
    Account,
    Role,
    check_regions,
    needs_region,
    normalize_username,
    password_age,
)
from dashboard.domain.audit import RETENTION_DAYS, Actor
from data_sources.account_store import AccountError, AccountStore
from data_sources.audit_store import AuditStore, RetentionError
from data_sources.migrate import current_revision, head_revision
from data_sources.regions import RegionNotLoaded

ROLES = [r.value for r in Role]


@contextmanager
def _runtime(ctx) -> Iterator[Runtime]:
    """The command's runtime, on a database that answers and is at the newest schema."""
    with Runtime(ctx.obj["settings"]) as rt:
        url = make_url(rt.db.url).render_as_string(hide_password=True)
        try:
            with rt.db.engine.connect() as conn:
                current = current_revision(conn)
        except Exception as exc:  # noqa: BLE001 - any failure to connect, said plainly
            raise click.ClickException(
                f"cannot reach the database {url}: {str(exc).splitlines()[0]}") from None
        if current != head_revision():
            raise click.ClickException(
                f"the database {url} is at schema revision {current or 'none'}, this "
                f"gridwatch needs {head_revision()}: run `gridwatch db upgrade` first")
        yield rt


def cli_actor() -> Actor:
    """The OS account running the command (its effective user, not $USER), and where from."""
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = getpass.getuser()
    # Set by sshd for the login session: the address the operator came from.
    ssh = os.environ.get("SSH_CLIENT", "").split()
    return Actor.cli(user, f"ssh:{ssh[0]}" if ssh else "local")


def _store(rt: Runtime) -> AccountStore:
    return AccountStore(rt.db.engine, box=rt.secret_box)


# -- users ---------------------------------------------------------------------------------
@click.group()
def users():
    """Accounts: admins, auditors, leaders and staff, and the regions each sees."""


@users.command("create-admin")
@click.option("--username", required=True, help="Login name: letters, digits, '.', '_', '-'.")
@click.option("--name", "display_name", help="Display name, e.g. 张三.")
@click.pass_context
def create_admin(ctx, username, display_name):
    """Create a system administrator (系统管理员) and print its one-time password."""
    with _runtime(ctx) as rt:
        created, password = _create(rt, username, Role.ADMIN, (), display_name)
    _say_created(created, password)


@users.command("add")
@click.option("--username", required=True, help="Login name: letters, digits, '.', '_', '-'.")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="leader 领导, staff 工作人员, auditor 审计管理员, admin 系统管理员.")
@click.option("--region", "regions", multiple=True,
              help="A region code the account sees, with everything below it (repeat for "
                   "more); leaders and staff need one.")
@click.option("--name", "display_name", help="Display name, e.g. 张三.")
@click.pass_context
def add(ctx, username, role, regions, display_name):
    """Create an account and print its one-time password."""
    role = Role(role)
    if needs_region(role) and not regions:
        raise click.UsageError(f"a {role.value} ({role.zh}) needs at least one --region: an "
                               "account bound to no region sees nothing")
    with _runtime(ctx) as rt:
        _check_regions(rt, regions)
        created, password = _create(rt, username, role, regions, display_name)
    _say_created(created, password)


@users.command("disable")
@click.argument("username")
@click.pass_context
def disable(ctx, username):
    """Disable an account: it can no longer log in (kept, with its audit trail)."""
    _set_disabled(ctx, username, True)


@users.command("enable")
@click.argument("username")
@click.pass_context
def enable(ctx, username):
    """Enable a disabled account again."""
    _set_disabled(ctx, username, False)


def _set_disabled(ctx, username: str, disabled: bool) -> None:
    with _runtime(ctx) as rt:
        changed = _change(lambda: _store(rt).set_disabled(username, disabled, by=cli_actor()))
    click.echo(f"{'disabled' if disabled else 'enabled'} {changed.username}")


@users.command("reset")
@click.argument("username")
@click.pass_context
def reset(ctx, username):
    """Give an account a new one-time password (printed), to be changed at its next login."""
    with _runtime(ctx) as rt:
        password = _change(lambda: _store(rt).reset_password(username, by=cli_actor()))
    click.echo(f"password of {normalize_username(username)} reset")
    _say_password(password)


@users.command("list")
@click.pass_context
def list_users(ctx):
    """Every account: role, regions, state and password age."""
    with _runtime(ctx) as rt:
        accounts = _store(rt).list_accounts()
    if not accounts:
        click.echo("no accounts yet: `gridwatch users create-admin --username NAME`")
        return
    now = datetime.now(timezone.utc)
    rows = [_list_row(a, now) for a in accounts]
    click.echo(_table(["username", "name", "role", "regions", "disabled", "must change",
                       "password age"], rows))


def _list_row(a: Account, now: datetime) -> list[str]:
    days, expired = password_age(a.password_changed_at, now)
    age = f"{days} d" + (" (expired)" if expired else "")
    return [a.username, a.display_name, f"{a.role.value} {a.role.zh}",
            ",".join(a.regions) or "-", "yes" if a.disabled else "no",
            "yes" if a.must_change_password else "no", age]


def _create(rt: Runtime, username, role: Role, regions, display_name):
    return _change(lambda: _store(rt).create(username, role, regions, display_name,
                                             by=cli_actor()))


def _change(action):
    try:
        return action()
    except (AccountError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


def _check_regions(rt: Runtime, codes) -> None:
    """Each code inside the imported region tree; by shape only when none is imported."""
    try:
        tree = rt.region_tree()
    except RegionNotLoaded:
        tree = None
    check = check_regions(codes, tree)
    if check.malformed:
        raise click.ClickException(f"not a region code: {', '.join(check.malformed)} "
                                   f"(GB/T 2260, e.g. {rt.settings.region})")
    if tree is None:
        click.echo(f"note: region {rt.settings.region} is not imported, so the codes were "
                   "checked by their shape only (`gridwatch regions import`)", err=True)
        return
    if check.outside:
        root = tree.get(tree.root)
        raise click.ClickException(
            f"not in the region tree of {root.code} {root.name}: {', '.join(check.outside)}")


def _say_created(created: Account, password: str) -> None:
    regions = ", ".join(created.regions) or "none"
    click.echo(f"created {created.role.value} ({created.role.zh}) {created.username}, "
               f"regions: {regions}")
    _say_password(password)


def _say_password(password: str) -> None:
    click.echo(f"one-time password: {password}")
    click.echo("Hand it over in person. It is shown only now and must be changed at the "
               "first login.")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths)).rstrip()
             for r in [headers, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- audit ---------------------------------------------------------------------------------
@click.group()
def audit():
    """The audit trail (审计记录): hash-chained, append-only."""


@audit.command("verify")
@click.pass_context
def audit_verify(ctx):
    """Check the whole chain; exit 1 naming the first row that was altered or removed."""
    with _runtime(ctx) as rt:
        store = AuditStore(rt.db.engine)
        verdict = store.verify()
        anchor = store.anchor()
    if not verdict.intact:
        raise click.ClickException(verdict.describe())
    click.echo(verdict.describe())
    if anchor is not None:
        click.echo(f"from the anchor of {anchor.pruned_rows:,} pruned rows (the last was id "
                   f"{anchor.last_id}, written {anchor.last_at:%Y-%m-%d})")



@audit.command("prune")
@click.option("--keep-days", type=int, default=RETENTION_DAYS, show_default=True,
              help=f"Delete rows older than this many days (at least {RETENTION_DAYS}).")
@click.pass_context
def audit_prune(ctx, keep_days):
    """Delete the oldest rows past the retention; the chain stays verifiable from its
    anchor, and the prune is itself a row of the trail. Run it from cron, e.g. monthly."""
    with _runtime(ctx) as rt:
        store = AuditStore(rt.db.engine)
        before = store.clock() - timedelta(days=keep_days)
        try:
            result = store.prune(before, actor=cli_actor())
        except RetentionError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"pruned {result.rows:,} audit rows written before {before:%Y-%m-%d %H:%M} UTC"
               + (f"; the chain is anchored at row {result.anchor.last_id}"
                  if result.anchor is not None else ""))

# -- the demo's accounts ----------------------------------------------------------------------
DEMO_ACCOUNTS = (("demo-admin", Role.ADMIN), ("demo-auditor", Role.AUDITOR),
                 ("demo-leader", Role.LEADER), ("demo-staff", Role.STAFF))


def demo_accounts(rt: Runtime) -> list[str]:
    """One account per role for `gridwatch demo` (leader and staff bound to the demo's
    region), each with a new random password at every start, not to be changed first, so
    that a newcomer can click in. The admin's and the auditor's second factor is enrolled
    here and its key printed, with the command that shows the current code. Returns the
    lines to print."""
    store = _store(rt)
    by = cli_actor()
    region = rt.settings.region
    lines = []
    for username, role in DEMO_ACCOUNTS:
        regions = (region,) if needs_region(role) else ()
        if store.get(username) is None:
            _account, password = store.create(username, role, regions, by=by, must_change=False)
        else:
            password = store.reset_password(username, by=by, must_change=False)
            store.bind_regions(username, regions, by=by)
            store.set_disabled(username, False, by=by)
        line = f"  {role.zh:<6} {username:<13} {password}"
        if not needs_region(role):
            secret = second_factor.new_secret()
            store.set_totp_secret(username, secret, by=by)
            line += (f"   动态口令 TOTP key {secret}: code = {sys.executable} -c "
                     f"\"import pyotp; print(pyotp.TOTP('{secret}').now())\"")
        lines.append(line)
    return lines
