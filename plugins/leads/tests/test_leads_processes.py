"""Conversion races across processes: eight conversions of one lead at once (every action, each
submitted twice) make exactly one client and one Registered lead; two imports of overlapping files
make no duplicate leads."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from core.sdk import ClientType, Conflict, DomainError, InvalidInput
from core.sdk.testing import Runtime, Settings, bind, expect, processes
from plugins.leads.models import Lead
from plugins.leads.tests.support import API

TIMEOUT = 300


def _runtime(url: str) -> Runtime:
    return Runtime.from_settings(replace(Settings.from_env(), database_url=url))


def _convert(url: str, tenant_id: int, lead_id: int, action: str, client_id: int, barrier: Any) -> str:
    from plugins.leads import conversion
    from plugins.leads.schemas import BindIn, PortalAccountIn

    runtime = _runtime(url)
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            ctx = bind(session, None, runtime, "test")
            if action == "email":
                conversion.send_registration_email(ctx, lead_id, ClientType.TRADER)
            elif action == "account":
                conversion.create_portal_account(ctx, lead_id, PortalAccountIn())
            else:
                conversion.bind(ctx, lead_id, BindIn(client_id=client_id))
        return f"{action}: done"
    except Conflict:
        return f"{action}: refused"
    except (InvalidInput, DomainError) as error:
        return f"{action}: {error}"
    finally:
        runtime.db.dispose()


def _import(url: str, tenant_id: int, text: str, barrier: Any) -> int:
    from plugins.leads.imports import import_leads

    runtime = _runtime(url)
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            return import_leads(bind(session, None, runtime, "test"), text).imported
    finally:
        runtime.db.dispose()


def _run(tasks: list[tuple[Any, tuple[Any, ...]]]) -> list[Any]:
    context = processes()
    with context.Manager() as manager, context.Pool(len(tasks)) as pool:
        barrier = manager.Barrier(len(tasks))
        running = [pool.apply_async(task, (*args, barrier)) for task, args in tasks]
        return [r.get(timeout=TIMEOUT) for r in running]


def test_eight_concurrent_conversions_of_one_lead_make_one_client(desk, crm_database_url):
    existing = desk.tenant.client(email="existing@example.com")
    lead = desk.lead(email="racer@example.com")
    clients_before = desk.crm.count("clients", desk.tenant.id)
    actions = ["email", "account", "bind", "account", "bind", "email", "account", "bind"]
    outcomes = _run(
        [(_convert, (crm_database_url, desk.tenant.id, lead["id"], a, existing["id"])) for a in actions]
    )
    done = [o for o in outcomes if o.endswith("done")]
    after = desk.get(lead)
    if after["portal_status"] == "registered":
        converting = [o for o in done if not o.startswith("email")]
        assert len(converting) == 1, outcomes  # one action converted the lead; every other was refused
        assert all(o.endswith(("done", "refused")) for o in outcomes), outcomes
    else:  # the e-mail went first: the lead waits for its link, the others were refused or re-sent
        assert done and all(o.startswith("email") for o in done), outcomes
    new_clients = desk.crm.count("clients", desk.tenant.id) - clients_before
    assert new_clients == (1 if after["conversion"] == "portal_account" else 0)
    with desk.tenant.ctx() as ctx:
        bound = ctx.session.scalars(select(Lead.id).where(Lead.client_id.is_not(None))).all()
    assert len(bound) == (1 if after["portal_status"] == "registered" else 0)


def test_two_imports_of_overlapping_files_make_no_duplicate_leads(desk, crm_database_url):
    rows = [f"Lead {i},lead{i}@example.com,+4420794600{i:02d}" for i in range(60)]
    first = "name,email,phone\n" + "\n".join(rows[:40]) + "\n"
    second = "name,email,phone\n" + "\n".join(rows[20:]) + "\n"
    imported = _run([(_import, (crm_database_url, desk.tenant.id, text)) for text in (first, second)])
    assert sorted(imported) == [20, 40], imported  # one at a time: the second skips the overlap
    listed = expect(desk.admin.get(f"{API}/leads", params={"per_page": 500}), 200)
    emails = [lead["email"] for lead in listed["items"]]
    assert len(emails) == len(set(emails)) == 60
