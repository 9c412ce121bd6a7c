"""Importing leads from CSV, on the command line (``crm module leads --tenant SLUG import FILE``):
a column mapping, a dry run with each row's errors, duplicates skipped, and nothing written from
a file with errors unless only the valid rows are asked for."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.sdk.testing import cli_app, expect
from plugins.leads.tests.support import API

runner = CliRunner()

GOOD = """Full name,E-mail,Mobile,Country
Ana Souza,ANA@example.com,+55 11 91234 5678,BR
Marek Nowak,marek@example.com,0512 345 678,PL
"""
WITH_ERRORS = (
    GOOD
    + """,nobody@example.com,,
Bad Mail,not-an-address,,
"""
)
MAPPING = json.dumps({"name": "Full name", "email": "E-mail", "phone": "Mobile", "country": "Country"})


@pytest.fixture
def cli(desk, crm_database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_DATABASE_URL", crm_database_url)

    def run(content: str, *options: str):
        file = tmp_path / "leads.csv"
        file.write_text(content, encoding="utf-8")
        args = ["module", "leads", "--tenant", desk.tenant.slug, "import", str(file), "--mapping", MAPPING]
        return runner.invoke(cli_app, [*args, *options])

    return run


def _emails(desk) -> list[str]:
    return sorted(lead["email"] for lead in expect(desk.admin.get(f"{API}/leads"), 200)["items"])


def test_a_dry_run_reports_each_rows_errors_and_writes_nothing(desk, cli):
    checked = cli(WITH_ERRORS, "--dry-run")
    assert checked.exit_code == 0, checked.output
    assert "row 3: name: is required" in checked.output and "row 4: email:" in checked.output
    assert "4 rows: 2 valid, 2 errors" in checked.output and "dry run" in checked.output
    refused = cli(WITH_ERRORS)
    assert refused.exit_code == 1 and "use --only-valid" in refused.output
    assert _emails(desk) == []


def test_valid_rows_are_imported_normalized_and_duplicates_skipped(desk, cli):
    desk.tenant.client(email="marek@example.com")  # a client already
    done = cli(WITH_ERRORS, "--only-valid")
    assert done.exit_code == 0, done.output
    assert "row 2: duplicate: marek@example.com" in done.output and "1 imported" in done.output
    (ana,) = expect(desk.admin.get(f"{API}/leads"), 200)["items"]
    assert (ana["name"], ana["email"], ana["phone_e164"], ana["source"]) == (
        "Ana Souza",
        "ana@example.com",
        "+5511912345678",
        "import",
    )
    again = cli(GOOD)  # the same file again: nothing new
    assert "0 imported" in again.output and _emails(desk) == ["ana@example.com"]
    unknown = cli(GOOD, "--mapping", json.dumps({"nickname": "Full name"}))
    assert unknown.exit_code == 1 and "unknown field 'nickname'" in unknown.output


def test_the_short_spelling_crm_leads_import_file_tenant(desk, crm_database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_DATABASE_URL", crm_database_url)
    file = tmp_path / "leads.csv"
    file.write_text("name,email\nIda Import,ida@example.com\n", encoding="utf-8")
    done = runner.invoke(cli_app, ["leads", "import", str(file), "--tenant", desk.tenant.slug])
    assert done.exit_code == 0, done.output
    assert "1 imported" in done.output and _emails(desk) == ["ida@example.com"]
    typo = runner.invoke(cli_app, ["lead", "import", str(file), "--tenant", desk.tenant.slug])
    assert typo.exit_code != 0 and "no module lead" in typo.output


def test_the_api_checks_a_file_then_imports_its_valid_rows(desk):
    url = f"{API}/imports"
    mapping = json.loads(MAPPING)
    checked = expect(
        desk.admin.post(url, json={"csv": WITH_ERRORS, "mapping": mapping, "dry_run": True}), 200
    )
    assert (checked["rows"], checked["valid"], checked["error_count"], checked["written"]) == (4, 2, 2, False)
    assert [(e["row"], e["field"]) for e in checked["errors"]] == [(3, "name"), (4, "email")]
    refused = expect(desk.admin.post(url, json={"csv": WITH_ERRORS, "mapping": mapping}), 200)
    assert (refused["imported"], refused["written"]) == (0, False) and _emails(desk) == []
    done = expect(
        desk.admin.post(url, json={"csv": WITH_ERRORS, "mapping": mapping, "only_valid": True}), 200
    )
    assert (done["imported"], done["written"]) == (2, True)
    assert _emails(desk) == ["ana@example.com", "marek@example.com"]
    bad = desk.admin.post(url, json={"csv": GOOD, "mapping": {"name": "Nope"}})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "mapping"
    reader = desk.tenant.user(["leads.read", "leads.update"])
    assert reader.post(url, json={"csv": GOOD, "mapping": mapping}).status_code == 403


def test_a_file_read_in_many_chunks_finds_duplicates_across_them_and_writes_nothing_on_an_error(
    desk, monkeypatch
):
    from plugins.leads import imports

    monkeypatch.setattr(imports, "CHUNK", 2)  # seven rows in four chunks: each checked, then stored
    monkeypatch.setattr("core.crm.phones.PARALLEL_FROM", 1)  # numbers read in a pool of processes
    monkeypatch.setattr("core.crm.phones.os.cpu_count", lambda: 2)
    rows = ["name,email,phone,country"] + [
        f"Lead {i},lead{i}@example.com,+44 7911 00000{i},GB" for i in range(5)
    ]
    rows += ["Again,LEAD1@example.com,,", "Also again,,07911 000003,GB"]  # rows 2 and 4, chunks ago
    body = {"csv": "\n".join(rows) + "\n"}
    clean = expect(desk.admin.post(f"{API}/imports", json={**body, "dry_run": True}), 200)
    assert [(p["row"], p["field"]) for p in clean["duplicates"]] == [(6, "email"), (7, "phone")]
    assert (clean["valid"], clean["imported"], clean["written"]) == (7, 0, False)

    broken = {"csv": body["csv"] + "Bad,not-an-address,,\n"}
    refused = expect(desk.admin.post(f"{API}/imports", json=broken), 200)
    assert (refused["error_count"], refused["written"]) == (1, False)
    assert expect(desk.admin.get(f"{API}/leads"), 200)["total"] == 0  # the chunks stored are undone
    done = expect(desk.admin.post(f"{API}/imports", json={**broken, "only_valid": True}), 200)
    assert (done["imported"], done["written"]) == (5, True)
    assert expect(desk.admin.get(f"{API}/leads"), 200)["total"] == 5
