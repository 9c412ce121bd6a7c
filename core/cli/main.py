"""``crm``: run and operate crm-marketplace from a terminal.

Each command imports what it needs when it runs (the runtime, FastAPI and the plugins are heavy),
so that ``crm --help`` and the quick commands start fast. Commands call ``runtime()`` first: a
database that cannot be used is reported before those slow imports.
"""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer
from rich.markup import escape
from typer.core import TyperGroup

from core.cli.common import console, errors, reported
from core.cli.database import Need, database, runtime
from core.cli.operations import events_app, jobs_app, marketplace_app, module_command, plugins_app, worker


class Commands(TyperGroup):
    """Core's commands; any other name is a module's: ``crm NAME --tenant SLUG COMMAND …`` is
    ``crm module NAME --tenant SLUG COMMAND …`` (``crm leads import FILE --tenant acme``)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name.startswith("-"):
            return found
        return _module_shortcut(cmd_name)


def _module_shortcut(name: str) -> click.Command:
    @click.command(
        name,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
        help=f"The module {name}'s commands.",
    )
    @click.option("--tenant", required=True, help="The tenant's slug.")
    @click.pass_context
    def run(context: Any, tenant: str) -> None:
        module_command(context, name, tenant)

    return run


app = typer.Typer(
    cls=Commands,
    help="crm-marketplace: a multi-tenant CRM for forex and CFD brokers. A module's own commands: "
    "crm NAME --tenant SLUG COMMAND (or crm module NAME …).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (brokers).", no_args_is_help=True)
users_app = typer.Typer(help="Back-office users of a tenant.", no_args_is_help=True)
operators_app = typer.Typer(help="Platform operators (account managers).", no_args_is_help=True)
outbox_app = typer.Typer(help="The email outbox.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(users_app, name="users")
app.add_typer(operators_app, name="operators")
app.add_typer(outbox_app, name="outbox")
app.add_typer(plugins_app, name="plugins")
app.add_typer(marketplace_app, name="marketplace")
app.add_typer(jobs_app, name="jobs")
app.add_typer(events_app, name="events")
app.command("worker")(worker)
app.command(
    "module",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)(module_command)

# --- db ----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database if needed and apply every pending migration."""
    rt = runtime(Need.CREATED)

    from core.db import migrate

    with reported(migrate.MissingMigrations):
        migrate.upgrade(rt.settings.database_url, rt.plugins.migration_locations())
    console.print(f"Database is up to date: {rt.db.engine.url.render_as_string(hide_password=True)}")


@db_app.command("status")
def db_status() -> None:
    """Say whether migrations are pending."""
    rt = runtime(Need.EXISTING)

    from core.db import migrate

    with reported():
        waiting = migrate.pending(rt.settings.database_url, rt.plugins.migration_locations())
    if waiting:
        console.print(
            f"{len(waiting)} migration(s) pending ({', '.join(waiting)}): run [bold]crm db upgrade[/bold]."
        )
        raise typer.Exit(1)
    console.print("Database is up to date.")


# --- serve -------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Seed the demo tenant (once) and print its logins.")] = False,
    outbox: Annotated[bool, typer.Option(help="Send queued emails in the background.")] = True,
    worker: Annotated[
        bool, typer.Option(help="Run modules' scheduled jobs and deferred work in the background.")
    ] = True,
) -> None:
    """Create the database if needed, apply migrations and run the API server."""
    rt = runtime(Need.CREATED)

    import uvicorn

    from core.api.app import create_app
    from core.cli.demo import print_logins
    from core.db import migrate
    from core.demo import seed_demo
    from core.notify.delivery import OutboxWorker
    from core.scheduler.deferred import DeferredWorker
    from core.scheduler.worker import WorkerThread

    with reported(migrate.MissingMigrations):
        migrate.upgrade(rt.settings.database_url, rt.plugins.migration_locations())
    logins = seed_demo(rt, console) if demo else None
    url = f"http://{host}:{port}"
    console.print(f"\n[bold green]crm-marketplace[/bold green] on {url}  (API docs: {url}/docs)")
    if logins is not None:
        print_logins(console, logins, url)
    for name, broken in sorted(rt.plugins.broken.items()):
        errors.print(f"[yellow]plugin {name} is {broken.state}:[/yellow] {escape(broken.reason)}")
    background: list[OutboxWorker | WorkerThread | DeferredWorker] = []
    if outbox:
        background.append(OutboxWorker(rt).start())
    if worker:
        background.append(WorkerThread(rt).start())
        background.append(DeferredWorker(rt).start())
    try:
        uvicorn.run(create_app(rt), host=host, port=port, log_level="info")
    finally:
        for task in background:
            task.stop()


# --- tenants, users, operators -----------------------------------------------------------------


@tenants_app.command("create")
def tenants_create(
    name: Annotated[str, typer.Option(help="Company name.")],
    slug: Annotated[str, typer.Option(help="Short identifier used at sign-in, e.g. acme.")],
    admin_email: Annotated[str, typer.Option(help="E-mail of the first administrator.")],
    admin_password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when omitted."),
    ],
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    currency: Annotated[list[str] | None, typer.Option(help="Base currency (repeat for several).")] = None,
    admin_name: Annotated[str, typer.Option()] = "Administrator",
) -> None:
    """Create a tenant with its Administrator role and first administrator."""
    rt = runtime()

    from core.tenancy.schemas import TenantIn
    from core.tenancy.service import create_tenant

    with reported(), rt.db.transaction(write=True) as session:
        session.info["actor_label"] = "cli"
        tenant, admin = create_tenant(
            session,
            rt,
            TenantIn(
                name=name,
                slug=slug,
                timezone=timezone,
                base_currencies=currency or ["USD"],
                admin_email=admin_email,
                admin_password=admin_password,
                admin_name=admin_name,
            ),
        )
        console.print(
            f"Created tenant [bold]{tenant.slug}[/bold] (id {tenant.id}); administrator {admin.email}"
        )


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants."""
    from rich.table import Table
    from sqlalchemy import select

    from core.tenancy.models import Tenant

    table = Table("id", "slug", "name", "time zone", "currencies", "active")
    with reported(), database() as db, db.transaction() as session:
        for t in session.scalars(select(Tenant).order_by(Tenant.id)):
            table.add_row(str(t.id), t.slug, t.name, t.timezone, ", ".join(t.base_currencies), str(t.active))
    console.print(table)


@users_app.command("create")
def users_create(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when omitted."),
    ],
    role: Annotated[list[str] | None, typer.Option(help="Role name (repeat for several).")] = None,
    team: Annotated[str | None, typer.Option(help="Team name.")] = None,
) -> None:
    """Create a back-office user of a tenant."""
    rt = runtime()

    from sqlalchemy import select

    from core.access.models import Role, Team
    from core.access.schemas import UserIn
    from core.access.service import create_user
    from core.context import bind
    from core.errors import InvalidInput
    from core.tenancy.service import tenant_by_slug

    with reported(), rt.db.transaction(write=True) as session:
        found = tenant_by_slug(session, tenant)
        session.info["tenant_id"] = found.id
        session.info["actor_label"] = "cli"
        ctx = bind(session, None, rt, "cli: users create")
        role_ids = []
        for role_name in role or []:
            role_id = session.scalar(select(Role.id).where(Role.name == role_name))
            if role_id is None:
                raise InvalidInput("role", f"no role {role_name!r} in {found.slug}")
            role_ids.append(role_id)
        team_id = None
        if team is not None:
            team_id = session.scalar(select(Team.id).where(Team.name == team))
            if team_id is None:
                raise InvalidInput("team", f"no team {team!r} in {found.slug}")
        user = create_user(
            ctx, UserIn(email=email, name=name, password=password, team_id=team_id, role_ids=role_ids)
        )
        console.print(f"Created user {user.email} (id {user.id}) in {found.slug}")


@operators_app.command("create")
def operators_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when omitted."),
    ],
) -> None:
    """Create a platform operator (account manager)."""
    rt = runtime()

    from core.tenancy.schemas import OperatorIn
    from core.tenancy.service import create_operator

    with reported(), rt.db.transaction(write=True) as session:
        operator = create_operator(session, OperatorIn(email=email, name=name, password=password))
        console.print(f"Created operator {operator.email} (id {operator.id})")


# --- outbox ------------------------------------------------------------------------------------


@outbox_app.command("deliver")
def outbox_deliver() -> None:
    """Run one delivery pass over the email outbox."""
    rt = runtime()

    from core.notify.delivery import deliver_due

    if not rt.settings.smtp.enabled:
        errors.print("[yellow]CRM_SMTP_HOST is not set: nothing can be sent.[/yellow]")
        raise typer.Exit(1)
    with reported():
        total = deliver_due(rt, limit=1000)
    console.print(
        f"sent {total.sent}, retrying {total.retried}, failed {total.failed}, uncertain {total.uncertain}"
    )


if __name__ == "__main__":
    app()
