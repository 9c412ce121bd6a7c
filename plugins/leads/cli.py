"""``crm module leads --tenant SLUG …``: import leads from CSV (with a dry run and progress) and
list them, through the same services as the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.sdk import Ctx, InvalidInput
from plugins.leads import imports

commands = typer.Typer(help="Leads: import from CSV.", no_args_is_help=True)


@commands.callback()
def leads() -> None:
    """Leads: import from CSV."""  # a group, so that ``import`` stays a named command


@commands.command("import")
def import_file(
    context: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A CSV file with a header row")
    ],
    mapping: Annotated[
        str | None, typer.Option(help='Our field to the file\'s column, as JSON: {"name": "Full name", …}')
    ] = None,
    source: Annotated[str, typer.Option(max=100, help="The leads' source")] = "import",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row; write nothing")] = False,
    only_valid: Annotated[
        bool, typer.Option("--only-valid", help="Import the valid rows of a file with errors")
    ] = False,
) -> None:
    """Import leads: every row checked, duplicates (by e-mail or phone) skipped and reported."""
    unit: Ctx = context.obj
    try:
        fields = json.loads(mapping) if mapping else None
    except json.JSONDecodeError as error:
        raise InvalidInput("mapping", f"not JSON: {error.msg}") from error
    if fields is not None and not (
        isinstance(fields, dict) and all(isinstance(v, str) for v in fields.values())
    ):
        raise InvalidInput("mapping", "a JSON object of field names to column names")

    def progress(done: int, total: int) -> None:
        typer.echo(
            f"  {'written' if total else 'checked'} {done:,}" + (f" of {total:,}" if total else ""), err=True
        )

    report = imports.import_leads(
        unit,
        file.read_text(encoding="utf-8-sig"),
        mapping=fields,
        source=source,
        dry_run=dry_run,
        only_valid=only_valid,
        progress=progress,
    )
    for problem in report.errors[:50]:
        typer.echo(f"row {problem.row}: {problem.field}: {problem.message}")
    if len(report.errors) > 50:
        typer.echo(f"… and {len(report.errors) - 50} more errors")
    for problem in report.duplicates[:20]:
        typer.echo(f"row {problem.row}: duplicate: {problem.message}")
    typer.echo(
        f"{report.rows:,} rows: {report.valid:,} valid, {len(report.errors):,} errors, "
        f"{len(report.duplicates):,} duplicates; {report.imported:,} imported"
        + (
            ""
            if report.written
            else " (nothing written: " + ("dry run)" if dry_run else "fix the errors or use --only-valid)")
        )
    )
    if report.errors and not report.written and not dry_run:
        raise typer.Exit(1)
