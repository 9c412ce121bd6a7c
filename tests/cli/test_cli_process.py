"""The real ``crm`` entry point, run as a user runs it: from a folder, with or without a database.

Each test starts ``crm`` in a subprocess from a temporary folder, with output captured (so not a
terminal), except the one that gives it a pseudo-terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from core.db.engine import make_engine

CRM = Path(sys.executable).parent / "crm"
PASSWORD = "Str0ng-Passw0rd"

# Every command that reads or writes data, with arguments that would otherwise be valid.
NEEDS_A_DATABASE = [
    command.split()
    for command in (
        "tenants list",
        f"tenants create --name A --slug acme --admin-email a@a.example.com --admin-password {PASSWORD}",
        f"users create --tenant acme --email u@a.example.com --name U --password {PASSWORD}",
        f"operators create --email o@a.example.com --name O --password {PASSWORD}",
        "outbox deliver",
        "marketplace catalog --tenant acme",
        "marketplace install coupons --tenant acme",
        "marketplace purge coupons --tenant acme --yes",
        "jobs list",
        "jobs run tier_upgrade.settlement --tenant acme --rule 1",
        "events failures",
        "events replay",
        "worker",
        "db status",
    )
]


def _environment(database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CRM_DATABASE_URL", "COLUMNS", "FORCE_COLOR"}}
    if database_url is not None:
        env["CRM_DATABASE_URL"] = database_url
    return {**env, **extra}


def run_crm(*args: str, cwd: Path, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CRM), *args],
        cwd=cwd,
        env=_environment(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def assert_refused_in_one_message(result: subprocess.CompletedProcess[str], *expected: str) -> list[str]:
    """Exit code 1, nothing on stdout, at most two lines on stderr holding every ``expected`` text."""
    lines = result.stderr.splitlines()
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "╭" not in result.stderr, result.stderr
    assert result.stdout == "" and 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    for text_ in expected:
        assert text_ in result.stderr, result.stderr
    return lines


@pytest.mark.parametrize("command", NEEDS_A_DATABASE, ids=lambda c: " ".join(c[:2]))
def test_without_a_database_a_command_says_how_to_point_at_one_and_creates_nothing(tmp_path, command):
    result = run_crm(*command, cwd=tmp_path)
    lines = assert_refused_in_one_message(result, f"no database here: {tmp_path} has no crm.db")
    # The advice is one line however long: piped output is never wrapped.
    advice = lines[1]
    assert "Set CRM_DATABASE_URL" in advice and "crm db upgrade or crm serve creates one" in advice
    assert len(advice) > 120
    assert list(tmp_path.iterdir()) == []  # no empty crm.db left behind


def test_a_sqlite_file_that_does_not_exist_is_named_and_not_created(tmp_path):
    missing = tmp_path / "a folder with a long name that makes the message wider than a terminal" / "crm.db"
    result = run_crm("tenants", "list", cwd=tmp_path, database_url=f"sqlite:///{missing}")
    (line,) = assert_refused_in_one_message(result, f"no database at {missing}", "crm db upgrade")
    assert len(line) > 80
    assert list(tmp_path.iterdir()) == []


def test_a_url_that_is_not_a_database_url_is_named(tmp_path):
    result = run_crm("tenants", "list", cwd=tmp_path, database_url="crm.db")
    assert_refused_in_one_message(result, "CRM_DATABASE_URL is not a database URL: crm.db")


@dataclass
class BareDatabase:
    """A database of the suite's engine that exists and answers, with no tables until a test adds some."""

    url: str
    engine: Engine

    def execute(self, *statements: str) -> None:
        with self.engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)


@pytest.fixture
def bare_database(crm_database_url: str, tmp_path: Path) -> Iterator[BareDatabase]:
    url = make_url(crm_database_url)
    if url.get_backend_name() == "sqlite":
        path = tmp_path / "bare.db"
        sqlite3.connect(path).close()  # a real, empty SQLite database
        bare = BareDatabase(f"sqlite:///{path}", make_engine(f"sqlite:///{path}"))
        yield bare
        bare.engine.dispose()
        return
    # PostgreSQL: the suite's database seen through an empty schema of its own.
    owner = make_engine(crm_database_url)
    with owner.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS cli_bare CASCADE"))
        connection.execute(text("CREATE SCHEMA cli_bare"))
    bare_url = url.update_query_dict({"options": "-csearch_path=cli_bare"}).render_as_string(
        hide_password=False
    )
    bare = BareDatabase(bare_url, make_engine(bare_url))
    try:
        yield bare
    finally:
        bare.engine.dispose()
        with owner.begin() as connection:
            connection.execute(text("DROP SCHEMA cli_bare CASCADE"))
        owner.dispose()


def test_a_database_with_no_migrations_applied_asks_for_crm_db_upgrade(bare_database, tmp_path):
    for command in (["tenants", "list"], ["jobs", "list"]):
        result = run_crm(*command, cwd=tmp_path, database_url=bare_database.url)
        assert_refused_in_one_message(result, "has no migrations applied: run crm db upgrade first")
    status = run_crm("db", "status", cwd=tmp_path, database_url=bare_database.url)
    assert status.returncode == 1 and "pending" in status.stdout and "Traceback" not in status.stderr


def test_a_schema_older_than_the_code_is_one_line_not_a_traceback(bare_database, tmp_path):
    """Migrated once, but without the table the command reads (code newer than the database)."""
    bare_database.execute(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
        "INSERT INTO alembic_version VALUES ('core_0001')",
    )
    result = run_crm("tenants", "list", cwd=tmp_path, database_url=bare_database.url)
    assert_refused_in_one_message(result, "the database refused:", "tenants", "crm db status")


def _refusing_url(crm_database_url: str, tmp_path: Path) -> tuple[str, str]:
    """A database of the suite's engine that refuses us, and the reason its driver gives."""
    url = make_url(crm_database_url)
    if url.get_backend_name() == "sqlite":
        path = tmp_path / "notes.db"
        path.write_text("not a database, although its name says so\n" * 50)
        return f"sqlite:///{path}", "file is not a database"
    return url.set(username="no_such_crm_role").render_as_string(hide_password=False), "no_such_crm_role"


def test_a_database_that_cannot_be_reached_or_refuses_us_is_one_line(crm_database_url, tmp_path):
    # Port 1 on this machine: nothing listens there, the connection is refused at once.
    unreachable = "postgresql://crm:secret-password@127.0.0.1:1/crm"
    for command in (["tenants", "list"], ["marketplace", "catalog", "--tenant", "acme"], ["db", "upgrade"]):
        result = run_crm(*command, cwd=tmp_path, database_url=unreachable)
        (line,) = assert_refused_in_one_message(
            result, "cannot connect to postgresql://crm:***@127.0.0.1:1/crm"
        )
        assert "refused" in line.lower() and "secret-password" not in line
    refusing, reason = _refusing_url(crm_database_url, tmp_path)
    result = run_crm(*NEEDS_A_DATABASE[2], cwd=tmp_path, database_url=refusing)  # users create
    assert_refused_in_one_message(result, "cannot connect to", reason)


def test_crm_db_upgrade_creates_crm_db_in_the_current_folder_and_the_other_commands_use_it(tmp_path):
    upgraded = run_crm("db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "crm.db").is_file()
    listed = run_crm("tenants", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "currencies" in listed.stdout, listed.stderr


def test_piped_tables_keep_each_row_on_one_line(crm, crm_database_url, tmp_path):
    name = "Northern Lights Capital Markets and Foreign Exchange Brokerage Limited"
    crm.tenant("northern", name=name, currencies=("USD", "EUR", "GBP", "CHF", "JPY"))
    result = run_crm("tenants", "list", cwd=tmp_path, database_url=crm_database_url)
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if "northern" in line]
    assert name in row and "USD, EUR, GBP, CHF, JPY" in row and len(row) > 100
    assert "\x1b[" not in result.stdout  # no colour codes in a pipe


def test_on_a_terminal_output_keeps_rich_formatting(tmp_path):
    """A pseudo-terminal 60 columns wide: colour, and the message wrapped to fit it."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    env = _environment(None, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    env.pop("TTY_COMPATIBLE", None)
    process = subprocess.Popen(
        [str(CRM), "tenants", "list"], cwd=tmp_path, env=env, stdin=child, stdout=child, stderr=child
    )
    os.close(child)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closed: the command has exited
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(main)
        process.wait(timeout=60)
    shown = output.decode()
    assert process.returncode == 1
    assert "\x1b[" in shown  # coloured "error:"
    plain = [line for line in shown.replace("\r", "").splitlines() if line.strip()]
    assert len(plain) > 2 and all(len(_without_escapes(line)) <= 60 for line in plain), plain


def _without_escapes(line: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", line)


def test_the_cli_module_starts_without_the_heavy_imports(crm, crm_database_url, tmp_path):
    """``crm --help`` and ``crm tenants list`` need neither the runtime, FastAPI nor the plugins."""
    heavy = ("fastapi", "uvicorn", "alembic", "jsonschema", "pluggy", "core.runtime", "core.plugins.host")
    probe = (
        "import sys\n"
        "from core.cli.main import app\n"
        "print(' '.join(m for m in {heavy!r} + {extra!r} if m in sys.modules), file=sys.stderr)\n"
        "app(sys.argv[1:], standalone_mode=False)\n"
        "print(' '.join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
    )
    at_import = probe.format(heavy=heavy, extra=("sqlalchemy", "pydantic"))
    result = subprocess.run(
        [sys.executable, "-c", at_import, "tenants", "list"],
        cwd=tmp_path,
        env=_environment(crm_database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["", ""], result.stderr  # nothing heavy, before or after
    helped = run_crm("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "tenants" in helped.stdout and "marketplace" in helped.stdout
