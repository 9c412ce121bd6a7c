"""Importing leads from CSV: a column mapping, each row checked (with the field that is wrong),
duplicates found by normalized e-mail and phone (in the file, among leads and clients), and a dry
run that writes nothing. A file with errors writes nothing unless asked to import only the valid
rows. Imports of one broker run one at a time, so two overlapping files make no duplicate leads.
"""

from __future__ import annotations

import contextvars
import csv
import io
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from core.sdk import (
    Client,
    CountryCode,
    Ctx,
    InvalidInput,
    LanguageCode,
    Name,
    Normalized,
    Phone,
    check_email,
    existing_values,
    insert_rows,
    normalize_email,
    phone_normalizer,
    serialize_on,
    utcnow,
)
from plugins.leads.models import Lead, LeadStatus, PortalStatus
from plugins.leads.schemas import Source

FIELDS = ("name", "email", "phone", "country", "language", "source", "status", "comment")
MAX_ROWS = 200_000
CHUNK = 5000
_CHECKS: dict[str, TypeAdapter[Any]] = {
    "name": TypeAdapter(Name),
    "phone": TypeAdapter(Phone),
    "country": TypeAdapter(CountryCode),
    "language": TypeAdapter(LanguageCode),
    "source": TypeAdapter(Source),
    "status": TypeAdapter(LeadStatus),
}


@dataclass
class RowProblem:
    row: int  # 1 is the first data row (the line after the header)
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    imported: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)  # skipped: the lead exists already
    written: bool = False


def _mapping(header: list[str], mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Our field -> the file's column. Without a mapping, columns named like our fields."""
    wanted = dict(mapping) if mapping else {f: f for f in FIELDS if f in header}
    unknown = [f for f in wanted if f not in FIELDS]
    if unknown:
        raise InvalidInput("mapping", f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    missing = [column for column in wanted.values() if column not in header]
    if missing:
        raise InvalidInput("mapping", f"the file has no column {missing[0]!r}")
    if "name" not in wanted:
        raise InvalidInput("mapping", "map a column to name")
    return wanted


def _check(
    number: int, raw: Mapping[str, str], mapping: Mapping[str, str], source: str, report: ImportReport
) -> dict[str, Any] | None:
    values: dict[str, Any] = {
        "source": source,
        "language": "en",
        "status": LeadStatus.NOT_FOLLOWED_UP,
        "comment": "",
    }
    ok = True
    for name, column in mapping.items():
        text = (raw.get(column) or "").strip()
        if not text:
            continue
        if name == "comment":
            values[name] = text[:5000]
            continue
        try:
            if name == "email":
                values[name] = check_email(text)  # the API's verdict, each domain checked once
            else:
                values[name] = _CHECKS[name].validate_python(text.lower() if name == "status" else text)
        except ValidationError as error:
            report.errors.append(RowProblem(number, name, error.errors()[0]["msg"]))
            ok = False
        except ValueError as error:
            report.errors.append(RowProblem(number, name, str(error)))
            ok = False
    if "name" not in values:
        report.errors.append(RowProblem(number, "name", "is required"))
        ok = False
    return values if ok else None


def import_leads(
    ctx: Ctx,
    text: str,
    *,
    mapping: Mapping[str, str] | None = None,
    source: str = "import",
    dry_run: bool = False,
    only_valid: bool = False,
    progress: Callable[[int, int], None] | None = None,
    after_row: int = 0,
    row_count: int | None = None,
) -> ImportReport:
    """Check every row and write the valid ones that duplicate no lead or client, unless
    ``dry_run`` (nothing written) or the file has errors without ``only_valid`` (what was written
    is rolled back). ``progress(rows_done, 0)`` is called as the file is read. ``after_row`` and
    ``row_count`` take only those rows of the file (a step of an import; rows keep their numbers).

    The rows are read and checked in chunks, and each chunk's duplicate check and insert run on
    another thread while the next chunk is checked: the database's work and Python's overlap."""
    ctx.require("leads.import")
    reader = csv.DictReader(io.StringIO(text))
    wanted = _mapping(list(reader.fieldnames or []), mapping)
    report = ImportReport()
    if not dry_run:
        serialize_on(ctx.session, f"leads:import:{ctx.tenant_id}")  # one import at a time per broker
    batch = _Batch(ctx, report, write=not dry_run)
    savepoint = ctx.session.begin_nested()
    try:
        expected = text.count("\n") if row_count is None else row_count
        with phone_normalizer(expected) as normalize, _overlapped(ctx) as later:
            chunk: list[tuple[int, dict[str, Any]]] = []

            def store(chunk: list[tuple[int, dict[str, Any]]]) -> None:
                # The chunk's numbers are read in other processes meanwhile (a large file).
                phones = normalize([(values.get("phone"), values.get("country")) for _, values in chunk])
                later(batch.store, (chunk, phones))

            last = MAX_ROWS if row_count is None else min(MAX_ROWS, after_row + row_count)
            for number, raw in enumerate(reader, start=1):
                if number <= after_row:
                    continue
                if number > last:
                    if row_count is None:
                        raise InvalidInput("file", f"at most {MAX_ROWS:,} rows in one file")
                    break
                report.rows = number
                values = _check(number, raw, wanted, source, report)
                if values is not None:
                    values["email_key"] = (
                        normalize_email(str(values["email"])) if values.get("email") else None
                    )
                    chunk.append((number, values))
                if number % CHUNK == 0:
                    store(chunk)
                    chunk = []
                    if progress is not None:
                        progress(number, 0)
            store(chunk)
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run or (report.errors and not only_valid):
        savepoint.rollback()
        report.imported = 0
    else:
        savepoint.commit()
        report.written = True
    return report


class _Batch:
    """Each chunk's duplicate check (against the leads and clients, and the file's earlier rows,
    by e-mail or phone) and the insert of its fresh rows, in the order of the file."""

    def __init__(self, ctx: Ctx, report: ImportReport, *, write: bool) -> None:
        self.ctx, self.report, self.write = ctx, report, write
        self.emails: set[str] = set()  # the keys of the rows kept so far
        self.phones: set[str] = set()
        self.now = utcnow()
        self.owner = ctx.principal.user_id if ctx.principal is not None else None

    def store(self, work: tuple[list[tuple[int, dict[str, Any]]], Normalized]) -> None:
        chunk, phones = work
        for (_, values), phone_key in zip(chunk, phones.result(), strict=True):
            values["phone_key"] = phone_key
        self.report.valid += len(chunk)
        session = self.ctx.session
        emails = {v["email_key"] for _, v in chunk if v["email_key"]} - self.emails
        phones = {v["phone_key"] for _, v in chunk if v["phone_key"]} - self.phones
        taken_emails = existing_values(session, Lead.email_key, emails) | existing_values(
            session, Client.email, emails
        )
        taken_emails |= self.emails
        taken_phones = existing_values(session, Lead.phone_key, phones)
        taken_phones |= existing_values(session, Client.phone_e164, phones) | self.phones
        rows: list[dict[str, Any]] = []
        for number, values in chunk:
            email, phone = values["email_key"], values["phone_key"]
            if email and email in taken_emails:
                self.report.duplicates.append(
                    RowProblem(number, "email", f"{email} is a lead or client already")
                )
            elif phone and phone in taken_phones:
                self.report.duplicates.append(
                    RowProblem(number, "phone", f"{phone} is a lead or client already")
                )
            else:
                for keys, key in (
                    (taken_emails, email),
                    (taken_phones, phone),
                    (self.emails, email),
                    (self.phones, phone),
                ):
                    if key:
                        keys.add(key)
                rows.append(self._row(values))
        if self.write:
            insert_rows(session, Lead, rows)
        self.report.imported += len(rows)

    def _row(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": values["name"],
            "email": values["email_key"],
            "email_key": values["email_key"],
            "phone": values.get("phone"),
            "phone_key": values["phone_key"],
            "country": values.get("country"),
            "language": values["language"],
            "source": values["source"],
            "status": values["status"],
            "owner_user_id": self.owner,
            "comment": values["comment"],
            "joined_at": self.now,
            "updated_at": self.now,
            "portal_status": PortalStatus.UNREGISTERED,
        }


@contextmanager
def _overlapped(ctx: Ctx) -> Iterator[Callable[[Callable[[Any], None], Any], None]]:
    """``later(work, item)`` runs ``work(item)`` on one other thread, after the previous item's work
    and while the caller goes on (the unit of work is the worker's meanwhile: the caller must not
    touch the session). On PostgreSQL only: SQLite's connection stays on its own thread."""
    if ctx.session.get_bind().dialect.name != "postgresql":
        yield lambda work, item: work(item)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="leads-import") as pool:
        pending: list[Future[None]] = []

        def later(work: Callable[[Any], None], item: Any) -> None:
            if pending:
                pending.pop().result()  # one at a time, in order; a failure surfaces here
            pending.append(pool.submit(contextvars.copy_context().run, work, item))

        try:
            yield later
        finally:
            for future in pending:
                future.result()
