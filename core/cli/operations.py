"""``crm plugins``, ``crm marketplace``, ``crm jobs``, ``crm worker`` and ``crm events``."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from core.cli.common import console, errors, fail, reported
from core.cli.database import Need, runtime

if TYPE_CHECKING:  # imported by the commands that use them: crm --help must start fast
    from rich.progress import Progress

    from core.context import Ctx
    from core.runtime import Runtime

plugins_app = typer.Typer(help="Plugins this host found.", no_args_is_help=True)
marketplace_app = typer.Typer(help="A tenant's modules (acting as the platform).", no_args_is_help=True)
jobs_app = typer.Typer(help="Modules' scheduled jobs.", no_args_is_help=True)
events_app = typer.Typer(help="Modules' event failures and their replay.", no_args_is_help=True)

Tenant = Annotated[str, typer.Option("--tenant", help="The tenant's slug.")]


@contextmanager
def tenant_ctx(rt: Runtime, slug: str, operation: str) -> Iterator[Ctx]:
    """A committed unit of work for one tenant, acting as the platform."""
    from core.context import bind
    from core.tenancy.service import tenant_by_slug

    with rt.db.transaction(write=True) as session:
        tenant = tenant_by_slug(session, slug)
        session.info["tenant_id"] = tenant.id
        session.info["actor_label"] = "cli"
        yield bind(session, None, rt, f"cli: {operation}")


# --- plugins -------------------------------------------------------------------------------------


@plugins_app.command("list")
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every plugin found through entry points: loaded, broken or incompatible, and why."""
    from rich.table import Table

    host = runtime(Need.NOTHING).plugins
    rows = [
        {
            "name": p.name,
            "version": str(p.manifest.version),
            "state": "loaded",
            "reason": None,
            "distribution": p.distribution,
        }
        for p in host.plugins.values()
    ]
    rows += [
        {
            "name": b.name,
            "version": str(b.manifest.version) if b.manifest else None,
            "state": b.state,
            "reason": b.reason,
            "distribution": b.distribution,
        }
        for b in host.broken.values()
    ]
    rows.sort(key=lambda r: str(r["name"]))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "version", "state", "reason")
    for row in rows:
        style = "green" if row["state"] == "loaded" else "red"
        table.add_row(
            str(row["name"]),
            str(row["version"] or ""),
            f"[{style}]{row['state']}[/{style}]",
            str(row["reason"] or ""),
        )
    console.print(table)


@plugins_app.command("new")
def plugins_new(
    name: Annotated[str, typer.Argument(help="The plugin's identifier, e.g. loyalty_points.")],
    directory: Annotated[Path | None, typer.Option(help="Where to create it (default ./crm-<name>).")] = None,
    vendor: Annotated[str, typer.Option(help="Your company.")] = "My Company",
) -> None:
    """Scaffold a working plugin package: entry point, manifest, a route, a job and a test."""
    from core.plugins.scaffold import ScaffoldError, scaffold

    target = directory or Path(f"crm-{name.replace('_', '-')}")
    try:
        created = scaffold(name, target, vendor=vendor)
    except ScaffoldError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    console.print(f"Created plugin [bold]{name}[/bold] in {created}")
    console.print(f"Next: pip install -e {created} && pytest {created}")


# --- marketplace ---------------------------------------------------------------------------------


@marketplace_app.command("catalog")
def catalog(tenant: Tenant) -> None:
    """The marketplace as a tenant sees it."""
    rt = runtime()

    from rich.table import Table

    from core.marketplace import service

    with reported(), tenant_ctx(rt, tenant, "marketplace catalog") as ctx:
        table = Table("module", "version", "policy", "state", "reason")
        for entry in service.catalog(ctx):
            m = entry.manifest
            table.add_row(
                entry.name,
                str(m.version) if m else "",
                m.install_policy if m else "",
                entry.state,
                entry.reason or "",
            )
        console.print(table)


@marketplace_app.command("install")
def install(
    plugin: str,
    tenant: Tenant,
    with_requirements: Annotated[bool, typer.Option(help="Also install the modules it requires.")] = False,
    licence_until: Annotated[
        datetime | None, typer.Option(help="Paid modules: licence end (ISO date, UTC).")
    ] = None,
) -> None:
    """Install a module for a tenant (as an account manager: any install policy)."""
    rt = runtime()

    from datetime import UTC

    from core.marketplace import service

    expires = licence_until.replace(tzinfo=licence_until.tzinfo or UTC) if licence_until else None
    with reported(), tenant_ctx(rt, tenant, "marketplace install") as ctx:
        service.install(ctx, plugin, with_requirements=with_requirements, licence_expires_at=expires)
    console.print(f"Installed {plugin} for {tenant}")


@marketplace_app.command("enable")
def enable(plugin: str, tenant: Tenant) -> None:
    rt = runtime()

    from core.marketplace import service

    with reported(), tenant_ctx(rt, tenant, "marketplace enable") as ctx:
        service.set_enabled(ctx, plugin, True)
    console.print(f"Enabled {plugin} for {tenant}")


@marketplace_app.command("disable")
def disable(plugin: str, tenant: Tenant) -> None:
    """Stop a module's routes, events and jobs for a tenant; its data and settings stay."""
    rt = runtime()

    from core.marketplace import service

    with reported(), tenant_ctx(rt, tenant, "marketplace disable") as ctx:
        service.set_enabled(ctx, plugin, False)
    console.print(f"Disabled {plugin} for {tenant}")


@marketplace_app.command("uninstall")
def uninstall(
    plugin: str,
    tenant: Tenant,
    cascade: Annotated[bool, typer.Option(help="Also uninstall the modules that require it.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Uninstall a module, keeping its data (shows what it will hide, stop and take away first)."""
    rt = runtime()

    from core.marketplace import service

    with reported(), tenant_ctx(rt, tenant, "marketplace uninstall") as ctx:
        impact = service.uninstall_impact(ctx, plugin)
        console.print(f"Uninstalling [bold]{plugin}[/bold] from {tenant} will:")
        for table, rows in impact.rows.items():
            console.print(f"  keep (hidden) {rows} row(s) of {table}")
        for schedule in impact.schedules:
            console.print(f"  stop the job {schedule}")
        for role, permissions in impact.role_permissions.items():
            console.print(f"  take {', '.join(permissions)} from the role {role}")
        if impact.dependents:
            console.print(
                f"  {'uninstall' if cascade else 'be refused: needed by'} {', '.join(impact.dependents)}"
            )
        if not yes and not typer.confirm("Go ahead?"):
            raise typer.Exit(1)
        service.uninstall(ctx, plugin, cascade=cascade)
    console.print(f"Uninstalled {plugin} for {tenant}; its data is kept (crm marketplace purge deletes it)")


@marketplace_app.command("purge")
def purge(
    plugin: str,
    tenant: Tenant,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete an uninstalled module's data for a tenant, for good."""
    rt = runtime()

    from core.marketplace import service

    if not yes and not typer.confirm(f"Delete all of {tenant}'s {plugin} data for good?"):
        raise typer.Exit(1)
    with reported(), tenant_ctx(rt, tenant, "marketplace purge") as ctx:
        deleted = service.purge(ctx, plugin)
    console.print(f"Purged {plugin} for {tenant}: " + ", ".join(f"{t}: {n}" for t, n in deleted.items()))


# --- jobs and the worker -------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list() -> None:
    """Job types of the loaded plugins, and every tenant's schedules with their last run."""
    rt = runtime()

    from rich.table import Table
    from sqlalchemy import select

    from core.scheduler.models import JobRun, JobSchedule
    from core.tenancy.models import Tenant as TenantRow

    types = Table("job type", "plugin", "description")
    for plugin in sorted(rt.plugins.plugins.values(), key=lambda p: p.name):
        for job in plugin.manifest.jobs:
            types.add_row(job["name"], plugin.name, job["description"])
    console.print(types)
    schedules = Table("tenant", "job type", "key", "cron", "time zone", "next run (UTC)", "last run")
    with reported(), rt.db.session(all_tenants=True) as session:
        slugs = dict(session.execute(select(TenantRow.id, TenantRow.slug)).all())
        for s in session.scalars(select(JobSchedule).order_by(JobSchedule.tenant_id, JobSchedule.job_type)):
            last = session.scalar(select(JobRun).where(JobRun.schedule_id == s.id).order_by(JobRun.id.desc()))
            schedules.add_row(
                slugs.get(s.tenant_id, "?"),
                s.job_type,
                s.key,
                s.cron,
                s.timezone,
                f"{s.next_run_at:%Y-%m-%d %H:%M}",
                f"{last.status.value} {last.period:%Y-%m-%d %H:%M}" if last else "",
            )
    console.print(schedules)


@jobs_app.command("deferred")
def jobs_deferred() -> None:
    """Deferred work waiting to be done, by tenant and module: what keeps failing, and why."""
    rt = runtime()

    from rich.table import Table
    from sqlalchemy import select

    from core.scheduler.deferred import backlog
    from core.tenancy.models import Tenant as TenantRow

    with reported(), rt.db.session(all_tenants=True) as session:
        slugs = dict(session.execute(select(TenantRow.id, TenantRow.slug)).all())
        waiting = backlog(session)
    if not waiting:
        console.print("No deferred work waiting.")
        return
    table = Table("tenant", "module", "task", "waiting", "failing", "oldest (UTC)", "last error")
    for group in waiting:
        table.add_row(
            slugs.get(group.tenant_id, "?"),
            group.plugin,
            group.task,
            str(group.waiting),
            str(group.failing),
            f"{group.oldest:%Y-%m-%d %H:%M:%S}",
            (group.last_error or "")[:80],
        )
    console.print(table)


class BarProgress:
    """Shows a job's progress as a rich bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None)

    def start(self, total: int | None, description: str = "") -> None:
        self.progress.update(self.task, total=total, completed=0, description=description or "working")

    def advance(self, steps: int = 1) -> None:
        self.progress.advance(self.task, steps)


@jobs_app.command("run")
def jobs_run(
    job_type: Annotated[str, typer.Argument(help="e.g. tier_upgrade.settlement")],
    tenant: Tenant,
    key: Annotated[
        str, typer.Option("--key", "--rule", help="The schedule key the job uses (e.g. a rule id).")
    ] = "",
    arg: Annotated[list[str] | None, typer.Option(help="NAME=VALUE passed to the job (repeatable).")] = None,
) -> None:
    """Run one job for a tenant now, with a progress bar; recorded in the run history."""
    rt = runtime()

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.scheduler.worker import Worker

    args = dict(item.split("=", 1) for item in arg or [] if "=" in item)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with reported(), Progress(*columns, console=console) as progress:
        run = Worker(rt).run_now(tenant, job_type, key=key, args=args, progress=BarProgress(progress))
    console.print(f"{job_type} for {tenant}: {run.status.value} in {run.duration_ms} ms")
    if run.error:
        errors.print(run.error, markup=False)  # a message from the job, not rich markup
        raise typer.Exit(1)


def worker(
    interval: Annotated[float, typer.Option(help="Seconds between passes.")] = 5.0,
    deferred_interval: Annotated[
        float, typer.Option(help="Seconds between looks for deferred work.", min=0.01, max=60)
    ] = 0.1,
) -> None:
    """Run scheduled jobs and deferred work until stopped (any number of workers can share one
    database)."""
    rt = runtime()

    from core.marketplace.state import StateWatcher
    from core.scheduler.deferred import DeferredWorker
    from core.scheduler.worker import Worker

    watcher = StateWatcher(rt).start()
    deferred = DeferredWorker(rt, interval_s=deferred_interval).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    job_worker = Worker(rt)
    console.print(f"worker {job_worker.name} started")
    try:
        while not stop.is_set():
            try:
                for run in job_worker.tick():
                    console.print(
                        f"{run.job_type} (tenant {run.tenant_id}, {run.period:%Y-%m-%d %H:%M}): "
                        f"{run.status.value}"
                    )
            except Exception as error:  # keep working; the error is in the log
                errors.print(f"pass failed: {error!r}", markup=False)
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        deferred.stop()
        watcher.stop()


# --- modules' own commands ---------------------------------------------------------------------


def module_command(
    context: typer.Context,
    name: Annotated[str, typer.Argument(help="The module's name, e.g. status_system.")],
    tenant: Tenant,
) -> None:
    """Run a module's own command for a tenant: crm module NAME --tenant SLUG COMMAND [ARGS]...
    (without COMMAND: the module's commands)."""
    import click
    import typer.main

    from core.plugins.dispatch import enabled_plugins

    rt = runtime()
    commands = rt.plugins.commands(name)
    if commands is None:
        raise fail(f"no module {escape(name)} with commands on this host")
    command = typer.main.get_command(commands)
    arguments = list(context.args) or ["--help"]
    with reported(), tenant_ctx(rt, tenant, f"module {name} {' '.join(arguments)[:100]}") as unit:
        if name not in enabled_plugins(unit):
            raise fail(f"{escape(name)} is not enabled for {escape(tenant)}")
        try:
            code = command.main(arguments, prog_name=f"crm module {name}", obj=unit, standalone_mode=False)
        except click.ClickException as error:
            error.show()
            raise typer.Exit(error.exit_code) from None
        if isinstance(code, int) and code:
            raise typer.Exit(code)


# --- events --------------------------------------------------------------------------------------


@events_app.command("failures")
def failures(
    plugin: Annotated[str | None, typer.Option(help="Only this module.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (slug).")] = None,
) -> None:
    """Unresolved event failures of modules (the plugin-health view)."""
    rt = runtime()

    from rich.table import Table
    from sqlalchemy import select

    from core.failures.models import PluginFailure
    from core.tenancy.models import Tenant as TenantRow

    table = Table("id", "when (UTC)", "tenant", "module", "event", "error")
    with reported(), rt.db.session(all_tenants=True) as session:
        slugs = dict(session.execute(select(TenantRow.id, TenantRow.slug)).all())
        stmt = select(PluginFailure).where(PluginFailure.resolved.is_(False)).order_by(PluginFailure.id)
        if plugin:
            stmt = stmt.where(PluginFailure.plugin == plugin)
        if tenant:
            stmt = stmt.where(
                PluginFailure.tenant_id == next((i for i, s in slugs.items() if s == tenant), -1)
            )
        for f in session.scalars(stmt):
            table.add_row(
                str(f.id),
                f"{f.at:%Y-%m-%d %H:%M}",
                slugs.get(f.tenant_id, "?"),
                f.plugin,
                f.hook,
                f.error[:80],
            )
    console.print(table)


@events_app.command("replay")
def replay(
    failure_id: Annotated[
        int | None, typer.Argument(help="One failure; omit to replay all that match.")
    ] = None,
    plugin: Annotated[str | None, typer.Option(help="Replay this module's failures.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Replay this tenant's failures (slug).")] = None,
) -> None:
    """Deliver failed events to their modules again, after a fix."""
    rt = runtime()

    from sqlalchemy import select

    from core.context import bind
    from core.failures.service import open_failures
    from core.plugins.dispatch import replay_failure as replay_one
    from core.tenancy.models import Tenant as TenantRow

    with reported():
        with rt.db.session(all_tenants=True) as session:
            tenant_id = (
                session.scalar(select(TenantRow.id).where(TenantRow.slug == tenant)) if tenant else None
            )
        targets = open_failures(rt.db, plugin=plugin, tenant_id=tenant_id)
    if failure_id is not None:
        targets = [(t, f) for t, f in targets if f == failure_id]
    if not targets:
        console.print("Nothing to replay.")
        return
    resolved = 0
    with reported():
        for target_tenant, target_failure in targets:
            with rt.db.transaction(tenant_id=target_tenant, write=True) as session:
                outcome = replay_one(bind(session, None, rt, "cli: events replay"), target_failure)
                resolved += outcome.resolved
                if not outcome.resolved:
                    errors.print(f"failure {target_failure} failed again: {outcome.replay_error}")
    console.print(f"Replayed {len(targets)}: {resolved} resolved, {len(targets) - resolved} still failing")
    if resolved < len(targets):
        raise typer.Exit(1)
