"""Importing a CSV file from the page, step by step. The file is checked whole first (a dry run:
each row's problems, the duplicates) and kept; importing it then writes the next ``STEP`` rows per
step, each step a short transaction of its own. The page asks for the next step until the file is
done, showing how far it got; an interrupted import resumes where it stopped. Rows with errors
are skipped (importing a file with errors needs ``only_valid``), duplicates are looked up again
at each step, and the file's text is dropped once it is imported."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from core.sdk import Ctx, InvalidInput, NotFound, serialize_on, utcnow
from plugins.leads import imports
from plugins.leads.imports import ImportReport
from plugins.leads.models import ImportFile, ImportState

STEP = 10_000  # rows written per step: a second or two of work


def check_file(
    ctx: Ctx,
    text: str,
    *,
    file_name: str = "",
    mapping: Mapping[str, str] | None = None,
    source: str = "import",
) -> tuple[ImportFile, ImportReport]:
    """Check the whole file (nothing is written) and keep it for importing."""
    report = imports.import_leads(ctx, text, mapping=mapping, source=source, dry_run=True)
    owner = ctx.principal.user_id if ctx.principal is not None else None
    kept = ImportFile(user_id=owner, file_name=file_name[:200], text=text, source=source)
    _counts(kept, report, dict(mapping or {}))
    ctx.session.add(kept)
    ctx.session.flush()
    return kept, report


def recheck(
    ctx: Ctx, import_id: int, *, mapping: Mapping[str, str] | None = None, source: str = "import"
) -> tuple[ImportFile, ImportReport]:
    """Check a kept file again (another column mapping, another source)."""
    kept = _checked(ctx, import_id)
    report = imports.import_leads(ctx, kept.text, mapping=mapping, source=source, dry_run=True)
    kept.source = source
    _counts(kept, report, dict(mapping or {}))
    return kept, report


def _counts(kept: ImportFile, report: ImportReport, mapping: dict[str, str]) -> None:
    kept.mapping = mapping
    kept.rows, kept.valid, kept.errors = report.rows, report.valid, len(report.errors)
    kept.duplicates = len(report.duplicates)


def get_import(ctx: Ctx, import_id: int) -> ImportFile:
    ctx.require("leads.import")
    kept = ctx.session.get(ImportFile, import_id)
    if kept is None:
        raise NotFound(f"no import {import_id}")
    return kept


def _checked(ctx: Ctx, import_id: int) -> ImportFile:
    kept = get_import(ctx, import_id)
    if kept.state is not ImportState.CHECKED:
        raise InvalidInput("import_id", "this file is being imported or was imported already")
    return kept


def start(ctx: Ctx, import_id: int, *, only_valid: bool = False) -> ImportFile:
    """Begin writing a checked file: refused for a file with errors unless ``only_valid``."""
    kept = _checked(ctx, import_id)
    if kept.errors and not only_valid:
        raise InvalidInput(
            "only_valid",
            f"{kept.errors} rows have errors: correct the file, or import only the valid rows",
        )
    kept.state, kept.duplicates = ImportState.IMPORTING, 0
    return kept


def step(ctx: Ctx, import_id: int) -> ImportFile:
    """Write the next rows of a file being imported (one import of a broker at a time)."""
    get_import(ctx, import_id)
    serialize_on(ctx.session, f"leads:import:{ctx.tenant_id}")
    kept = ctx.session.scalar(
        select(ImportFile).where(ImportFile.id == import_id).execution_options(populate_existing=True)
    )
    if kept is None or kept.state is not ImportState.IMPORTING:
        return kept or get_import(ctx, import_id)  # done meanwhile (another tab): nothing to do
    report = imports.import_leads(
        ctx,
        kept.text,
        mapping=kept.mapping or None,
        source=kept.source,
        only_valid=True,
        after_row=kept.next_row,
        row_count=STEP,
    )
    kept.imported += report.imported
    kept.duplicates += len(report.duplicates)
    kept.next_row = min(kept.rows, kept.next_row + STEP)
    if kept.next_row >= kept.rows:
        kept.state, kept.finished_at, kept.text = ImportState.DONE, utcnow(), ""
    return kept
