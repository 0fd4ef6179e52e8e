"""Accounts (issue 13): roles and permissions, the password policy, argon2 hashes, scope
(default deny), the account store on real SQLite and PostgreSQL, and `gridwatch users …`
through click on a migrated database."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from click.testing import CliRunner

from dashboard.app.cli import main
from dashboard.app.cli_accounts import cli_actor
from dashboard.domain.accounts import (
    ROLE_PERMISSIONS,
    Account,
    PasswordProblem,
    Permission,
    Role,
    can_manage,
    narrow_for,
    normalize_username,
    password_expired,
    password_problems,
    scope_codes,
    sees,
)
from dashboard.domain.audit import Action, Actor
from dashboard.domain.scope import OutOfScope
from data_sources import migrate, passwords
from data_sources.account_store import AccountStore, UnknownAccount, UsernameTaken, WeakPassword
from data_sources.audit_store import AuditStore
from data_sources.database import make_engine
from data_sources.schema import account, audit_log, region
from tests.fakes import ROWS, small_tree

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)
OPERATOR = Actor.cli("tester")


# -- roles and permissions ------------------------------------------------------------------
def test_each_role_has_its_chinese_name_and_exactly_its_permissions():
    assert {r: r.zh for r in Role} == {Role.ADMIN: "系统管理员", Role.AUDITOR: "审计管理员",
                                       Role.LEADER: "领导", Role.STAFF: "工作人员"}
    assert ROLE_PERMISSIONS[Role.AUDITOR] == {"read_audit"}
    assert ROLE_PERMISSIONS[Role.LEADER] == {"view_kpi", "view_region", "export"}
    assert {"view_region", "view_cases", "view_case"} <= ROLE_PERMISSIONS[Role.STAFF]
    assert "view_kpi" not in ROLE_PERMISSIONS[Role.STAFF]
    assert {"manage_accounts", "manage_walls"} <= ROLE_PERMISSIONS[Role.ADMIN]
    every = {p.value for p in Permission}
    assert set().union(*ROLE_PERMISSIONS.values()) == every   # no permission nobody has


def test_separation_of_duties():
    # Only the auditor reads the audit trail; the admin neither reads it nor sees case
    # data, and cannot manage (so cannot take over) an auditor's account.
    assert [r for r in Role if Permission.READ_AUDIT in ROLE_PERMISSIONS[r]] == [Role.AUDITOR]
    assert not {"view_kpi", "view_region", "view_cases", "view_case", "unmask_personal",
                "export"} & ROLE_PERMISSIONS[Role.ADMIN]
    assert not can_manage(Role.ADMIN, Role.AUDITOR)
    assert can_manage(Role.ADMIN, Role.STAFF) and can_manage(Role.ADMIN, Role.LEADER)
    assert not any(can_manage(r, Role.STAFF) for r in (Role.AUDITOR, Role.LEADER, Role.STAFF))


def _account(role=Role.STAFF, regions=(), disabled=False) -> Account:
    return Account(id=1, username="zhangsan", display_name="张三", role=role,
                   regions=tuple(regions), disabled=disabled, must_change_password=False,
                   password_changed_at=NOW, created_at=NOW, updated_at=NOW)


def test_a_disabled_account_may_do_nothing():
    assert _account(Role.STAFF).can("view_case")
    assert not _account(Role.STAFF, disabled=True).can("view_case")
    assert not _account(Role.LEADER).can(Permission.VIEW_CASE)


# -- scope: default deny ---------------------------------------------------------------------
def test_an_account_bound_to_no_region_sees_nothing():
    tree = small_tree()
    nobody = _account(regions=())
    assert nobody.scope == frozenset() == scope_codes([])
    assert not sees(nobody.scope, "320000", tree)
    with pytest.raises(OutOfScope):
        narrow_for(nobody.scope, "320100", tree)


def test_an_account_sees_its_regions_and_below_only():
    tree = small_tree()
    nanjing = _account(regions=("320100",))
    assert sees(nanjing.scope, "320100", tree)
    assert sees(nanjing.scope, "320102001001001", tree)     # a grid below it
    assert not sees(nanjing.scope, "320000", tree)          # not the province above
    assert not sees(nanjing.scope, "320505", tree)          # not another city
    assert narrow_for(nanjing.scope, "320102", tree).code == "320102"
    with pytest.raises(OutOfScope):
        narrow_for(nanjing.scope, "320500", tree)
    two = _account(regions=("320102", "320505"))
    assert narrow_for(two.scope, "320505001", tree).code == "320505001"
    assert _account(regions=("320100",), disabled=True).scope == frozenset()
    assert scope_codes(["320100", "not-a-code"]) == {"320100"}


# -- usernames and the password policy ---------------------------------------------------------
def test_usernames_are_ascii_and_stored_lower_case():
    assert normalize_username("  Zhang.San ") == "zhang.san"
    assert normalize_username("ＺＨＡＮＧ") == "zhang"     # full-width letters, as typed
    for bad in ("a", "cli:root", "wall:1", "张三", "-lead", "x" * 65, "a b"):
        with pytest.raises(ValueError):
            normalize_username(bad)


@pytest.mark.parametrize("password, problems", [
    ("Abcdef1!", []),                                   # 8 characters, all four classes
    ("abcdef12", [PasswordProblem.FEW_CLASSES]),        # two classes
    ("abcdefG1", []),                                   # three classes are enough
    ("abc def1", []),                                   # a space is a symbol
    ("网格化治理ab12", []),                              # so is a 汉字
    ("Ab1!", [PasswordProblem.TOO_SHORT]),
    ("Ab1!xyz", [PasswordProblem.TOO_SHORT]),           # 7
    ("aaaaaaaaaa", [PasswordProblem.FEW_CLASSES]),
    ("short", [PasswordProblem.TOO_SHORT, PasswordProblem.FEW_CLASSES]),
    ("Aa1!" * 33, [PasswordProblem.TOO_LONG]),          # 132
    ("Zhang.San1", [PasswordProblem.SAME_AS_USERNAME]),  # the username, in any case
])
def test_password_policy(password, problems):
    assert password_problems(password, username="zhang.san1") == problems


def test_policy_reasons_can_be_shown_in_both_languages():
    for problem in PasswordProblem:
        assert re.fullmatch(r"[a-z_]+", problem.code)
        assert re.search(r"[\u4e00-\u9fff]", problem.label("zh"))
        assert problem.label("en") and not re.search(r"[\u4e00-\u9fff]", problem.label("en"))
    assert "8" in PasswordProblem.TOO_SHORT.label("zh")


def test_password_expires_after_90_days():
    assert not password_expired(NOW - timedelta(days=89), NOW)
    assert not password_expired(NOW - timedelta(days=90), NOW)
    assert password_expired(NOW - timedelta(days=90, seconds=1), NOW)
    assert password_expired(NOW - timedelta(days=31), NOW, max_age_days=30)
    assert password_expired(None, NOW)


# -- hashing and generated passwords -------------------------------------------------------------
def test_argon2_hashes_verify_and_differ_per_salt():
    first, second = passwords.hash_password("Abcdef1!"), passwords.hash_password("Abcdef1!")
    assert first.startswith("$argon2id$") and first != second
    assert passwords.verify_password(first, "Abcdef1!")
    assert passwords.verify_password(second, "Abcdef1!")
    assert not passwords.verify_password(first, "Abcdef1?")
    assert not passwords.verify_password("not a hash", "Abcdef1!")
    assert not passwords.needs_rehash(first)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Abcdef1!")
    assert passwords.verify_password(weak, "Abcdef1!") and passwords.needs_rehash(weak)


def test_generated_passwords_satisfy_the_policy_and_do_not_repeat():
    made = [passwords.generate_password() for _ in range(300)]
    assert len(set(made)) == len(made)
    assert all(len(p) == passwords.GENERATED_LENGTH and password_problems(p) == []
               for p in made)
    assert not any(c in p for p in made for c in "0O1lI")


# -- the store, on SQLite and PostgreSQL ---------------------------------------------------------
@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


def _hash(engine, username: str) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.select(account.c.password_hash)
                            .where(account.c.username == username)).scalar_one()


def _audit(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.target,
                      audit_log.c.scope).order_by(audit_log.c.id))]


def test_create_binds_regions_and_hands_out_a_one_time_password(engine):
    store = AccountStore(engine)
    created, password = store.create("Zhang.San", "staff", ["320102", "320100", "320100"],
                                     "张三", by=OPERATOR)
    assert (created.username, created.display_name, created.role) == ("zhang.san", "张三",
                                                                      Role.STAFF)
    assert created.regions == ("320100", "320102") and created.scope == {"320100", "320102"}
    assert created.must_change_password and not created.disabled and not created.has_totp
    assert password_problems(password) == []
    assert passwords.verify_password(_hash(engine, "zhang.san"), password)
    assert password not in _hash(engine, "zhang.san")
    assert store.authenticate("ZHANG.SAN", password).id == created.id
    assert store.authenticate("zhang.san", password + "x") is None
    assert store.authenticate("nobody", password) is None
    assert store.get("zhang.san") == created
    with pytest.raises(UsernameTaken):
        store.create("zhang.san", "leader", ["320100"], by=OPERATOR)
    assert _audit(engine) == [("cli:tester", "account_created", "zhang.san", "320100,320102")]
    assert AuditStore(engine).verify().intact


def test_an_account_with_no_regions_has_an_empty_scope(engine):
    store = AccountStore(engine)
    created, _ = store.create("auditor1", Role.AUDITOR, [], by=OPERATOR)
    assert created.regions == () and created.scope == frozenset()
    leader, _ = store.create("leader1", Role.LEADER, ["320100"], by=OPERATOR)
    emptied = store.bind_regions("leader1", [], by=OPERATOR)
    assert emptied.scope == frozenset() and store.get("leader1").regions == ()
    assert store.bind_regions("leader1", ["320500"], by=OPERATOR).regions == ("320500",)
    with engine.connect() as conn:
        details = conn.execute(sa.select(audit_log.c.detail)
                               .where(audit_log.c.action == "regions_changed")
                               .order_by(audit_log.c.id)).scalars().all()
    assert details == ['{"after":[],"before":["320100"]}', '{"after":["320500"],"before":[]}']


def test_change_password_checks_the_policy_and_records_when(engine):
    clock = [NOW]
    store = AccountStore(engine, clock=lambda: clock[0])
    _, temporary = store.create("leader1", "leader", ["320100"], by=OPERATOR)
    with pytest.raises(WeakPassword) as err:
        store.change_password("leader1", "leader1", by=OPERATOR)
    assert set(err.value.problems) == {PasswordProblem.FEW_CLASSES,
                                       PasswordProblem.SAME_AS_USERNAME, PasswordProblem.TOO_SHORT}
    with pytest.raises(WeakPassword) as err:
        store.change_password("leader1", temporary, by=OPERATOR)
    assert err.value.problems == [PasswordProblem.REUSED]
    assert passwords.verify_password(_hash(engine, "leader1"), temporary)  # unchanged

    clock[0] = NOW + timedelta(days=3)
    changed = store.change_password("leader1", "Nanjing#2026", by=Actor.account(
        1, "leader1", "10.0.0.8"))
    assert not changed.must_change_password
    assert changed.password_changed_at == NOW + timedelta(days=3)
    assert store.authenticate("leader1", "Nanjing#2026") is not None
    assert store.authenticate("leader1", temporary) is None
    assert _audit(engine)[-1] == ("leader1", "password_changed", "leader1", None)


def test_disable_enable_and_reset(engine):
    store = AccountStore(engine)
    _, first = store.create("staff1", "staff", ["320102"], by=OPERATOR)
    store.change_password("staff1", "Xuanwu-2026", by=OPERATOR)
    assert store.set_disabled("staff1", True, by=OPERATOR).disabled
    assert store.authenticate("staff1", "Xuanwu-2026") is None     # right password, disabled
    assert not store.set_disabled("staff1", False, by=OPERATOR).disabled
    before = _hash(engine, "staff1")
    again = store.reset_password("staff1", by=OPERATOR)
    assert again != first and password_problems(again) == []
    assert _hash(engine, "staff1") != before
    assert store.get("staff1").must_change_password
    assert store.authenticate("staff1", again) is not None
    with pytest.raises(UnknownAccount):
        store.reset_password("nobody", by=OPERATOR)
    assert [a for _, a, _, _ in _audit(engine)] == [
        "account_created", "password_changed", "account_disabled", "account_enabled",
        "password_reset"]
    assert AuditStore(engine).verify().rows == 5


def test_a_change_and_its_audit_row_commit_together(engine):
    store = AccountStore(engine)
    store.create("staff1", "staff", ["320102"], by=OPERATOR)
    too_long = Actor("cli:" + "x" * 200)        # cut to the column, not refused
    store.set_disabled("staff1", True, by=too_long)
    with pytest.raises(UnknownAccount):
        store.set_disabled("ghost", True, by=OPERATOR)
    assert [a for _, a, _, _ in _audit(engine)] == ["account_created", "account_disabled"]
    assert len(_audit(engine)[-1][0]) == 80


# -- the CLI, through click on a migrated database ------------------------------------------------
@pytest.fixture
def cli(database_url, tmp_path, engine):
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url,
            "--region", "320000"]

    def run(*command: str):
        return runner.invoke(main, [*args, *command])
    return run


def _one_time_password(output: str) -> str:
    found = re.findall(r"one-time password: (\S+)", output)
    assert len(found) == 1, output
    return found[0]


def test_users_commands(cli, engine):
    made = cli("users", "create-admin", "--username", "Root", "--name", "系统管理员甲")
    assert made.exit_code == 0, made.output
    password = _one_time_password(made.output)
    assert passwords.verify_password(_hash(engine, "root"), password)
    assert AccountStore(engine).authenticate("root", password).role == Role.ADMIN
    assert AccountStore(engine).get("root").must_change_password

    listed = cli("users", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if line.startswith("root "))
    assert re.search(r"root\s+系统管理员甲\s+admin 系统管理员\s+-\s+no\s+yes\s+0 d", row), row

    assert cli("users", "disable", "root").exit_code == 0
    assert AccountStore(engine).get("root").disabled
    assert AccountStore(engine).authenticate("root", password) is None
    assert "root" in cli("users", "list").output and re.search(
        r"root .* yes\s+yes\s+0 d", cli("users", "list").output)
    assert cli("users", "enable", "root").exit_code == 0
    assert not AccountStore(engine).get("root").disabled

    AccountStore(engine).change_password("root", "Gridwatch#1", by=OPERATOR)
    before = _hash(engine, "root")
    reset = cli("users", "reset", "root")
    assert reset.exit_code == 0, reset.output
    new = _one_time_password(reset.output)
    assert new != password and _hash(engine, "root") != before
    assert passwords.verify_password(_hash(engine, "root"), new)
    assert AccountStore(engine).get("root").must_change_password

    actor = cli_actor().name
    assert actor.startswith("cli:")
    assert [(who, what) for who, what, _, _ in _audit(engine)] == [
        (actor, "account_created"), (actor, "account_disabled"), (actor, "account_enabled"),
        ("cli:tester", "password_changed"), (actor, "password_reset")]


def _load_regions(engine) -> None:
    with engine.begin() as conn:
        conn.execute(region.insert(), [
            {"code": c, "parent_code": p, "level": int(lv), "name": n, "population": pop,
             "lon": lon, "lat": lat} for c, (p, lv, n, pop, lon, lat) in ROWS.items()])


def test_users_add_checks_region_codes_against_the_imported_tree(cli, engine):
    # No tree imported yet: codes are checked by their shape, and the command says so.
    early = cli("users", "add", "--username", "early", "--role", "staff", "--region", "330100")
    assert early.exit_code == 0, early.output
    assert "checked by their shape only" in early.output

    _load_regions(engine)
    ok = cli("users", "add", "--username", "lead", "--role", "leader", "--region", "320100",
             "--region", "320505", "--name", "李四")
    assert ok.exit_code == 0, ok.output
    assert AccountStore(engine).get("lead").regions == ("320100", "320505")
    _one_time_password(ok.output)

    outside = cli("users", "add", "--username", "x1", "--role", "staff", "--region", "330100")
    assert outside.exit_code == 1
    assert "not in the region tree of 320000 江苏省: 330100" in outside.output
    shape = cli("users", "add", "--username", "x2", "--role", "staff", "--region", "32o100")
    assert shape.exit_code == 1 and "not a region code: 32o100" in shape.output
    none = cli("users", "add", "--username", "x3", "--role", "leader")
    assert none.exit_code == 2 and "needs at least one --region" in none.output
    auditor = cli("users", "add", "--username", "aud", "--role", "auditor")
    assert auditor.exit_code == 0, auditor.output
    again = cli("users", "add", "--username", "LEAD", "--role", "staff", "--region", "320100")
    assert again.exit_code == 1 and "exists already" in again.output
    bad_name = cli("users", "create-admin", "--username", "cli:root")
    assert bad_name.exit_code == 1 and "username 'cli:root' must be" in bad_name.output
    assert {a.username for a in AccountStore(engine).list_accounts()} == {"early", "lead",
                                                                          "aud"}
    for result in (outside, shape, none, again, bad_name):
        assert "Traceback" not in result.output
    assert [t for _, a, t, _ in _audit(engine) if a == Action.ACCOUNT_CREATED] == [
        "early", "lead", "aud"]


def test_users_commands_on_an_unknown_account(cli):
    for command in (("disable", "ghost"), ("enable", "ghost"), ("reset", "ghost")):
        out = cli("users", *command)
        assert out.exit_code == 1 and "no account named 'ghost'" in out.output
        assert "Traceback" not in out.output
    assert "no accounts yet" in cli("users", "list").output


def test_users_commands_refuse_an_old_schema_or_no_database(tmp_path):
    old = f"sqlite:///{tmp_path / 'old.db'}"
    old_engine = make_engine(old)
    migrate.upgrade(old_engine, "0005")
    old_engine.dispose()
    for url, words in ((old, "at schema revision 0005, this gridwatch needs"),
                       ("postgresql+psycopg://postgres@127.0.0.1:1/none",
                        "cannot reach the database")):
        out = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "d"), "--database-url",
                                        url, "users", "create-admin", "--username", "root"])
        assert out.exit_code == 1 and words in out.output, out.output
        assert "Traceback" not in out.output


def test_users_list_shows_an_expired_password(cli, engine):
    AccountStore(engine).create("lead", "leader", ["320100"], by=OPERATOR)
    with engine.begin() as conn:
        conn.execute(account.update().values(
            password_changed_at=datetime.now(timezone.utc) - timedelta(days=120)))
    assert re.search(r"lead .* 120 d \(expired\)", cli("users", "list").output)


def test_a_password_is_checked_off_a_gevent_workers_loop():
    """In a gevent worker argon2 runs in a native thread: the loop keeps serving its
    other greenlets (a wall's live feed) while a login is checked, where it stopped for
    the whole hash before. A real gevent process; the answers are the same."""
    from tests.gevent_ticker import beside_ticker
    (ok, wrong, took), longest_gap = beside_ticker("""
        from data_sources.passwords import hash_password, verify_password
        t0 = time.perf_counter()
        stored = hash_password("Gw-correct-horse-7")
        ok = verify_password(stored, "Gw-correct-horse-7")
        wrong = verify_password(stored, "Gw-wrong-horse-7")
        result = [ok, wrong, round((time.perf_counter() - t0) * 1000)]
    """)
    assert (ok, wrong) == ("True", "False")
    # Three argon2 runs took this long, while the feed never waited more than a fraction
    # of one of them (its own 5 ms sleep plus the thread pool's handover).
    assert int(took) >= 60, took
    assert int(longest_gap) < int(took) / 3, (took, longest_gap)
