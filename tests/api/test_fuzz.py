"""The whole API fuzzed from its own OpenAPI schema (schemathesis, in-process through ASGI).

Every operation gets generated requests — valid ones and ones that break the schema — sent as the
people who would call it: back-office routes as the demo broker's administrator, portal routes as
one of its clients, platform routes as an account manager, against the demo broker's data. No
request may end in a server error; every response must match the schema and a status the operation
documents; and a request the schema calls invalid must be refused, never quietly accepted (the
schema says exactly what the server takes). The credentials themselves are not fuzzed here: the
deny-by-default walks in ``tests/access/test_access_control.py`` cover them.

Examples per operation: ``CRM_FUZZ_EXAMPLES`` (default 25; CI runs this on both engines).
Generation is derandomized, so a run is repeatable; a failure found here becomes a regression test
in ``tests/api/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from core.access.auth import issue_token
from core.access.models import PlatformOperator, PrincipalKind, User
from core.api.app import create_app
from core.config import Settings
from core.crm.models import Client
from core.demo import seed_demo
from core.runtime import Runtime
from core.tenancy.models import Tenant
from core.testing import wipe

EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "25"))


def _document() -> dict:
    # The schema alone needs no database: an app over an unused in-memory engine describes it.
    runtime = Runtime.from_settings(Settings(database_url="sqlite://"))
    return create_app(runtime, watch=False).openapi()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _recursive_bodies(document: dict) -> list[dict[str, str]]:
    """Filters for the operations whose request body holds a recursive schema (a criteria tree).

    The fuzzing phase mutates a schema into invalid ones; a mutation that removes a recursive
    schema's base case (the leaf) leaves schemathesis chasing an endless branch, a RecursionError
    in the generator and not in the server. Those bodies are fuzzed with valid data only; their
    invalid forms still come from the coverage phase, which walks every boundary of the schema.
    """
    schemas = document["components"]["schemas"]
    reachable: dict[str, set[str]] = {}
    for name in schemas:
        seen: set[str] = set()
        stack = list(_refs(schemas[name]))
        while stack:
            ref = stack.pop()
            if ref not in seen and ref in schemas:
                seen.add(ref)
                stack.extend(_refs(schemas[ref]))
        reachable[name] = seen
    cyclic = {name for name, below in reachable.items() if name in below}
    recursive = {name for name, below in reachable.items() if (below | {name}) & cyclic}
    return [
        {"include-operation-id": operation["operationId"]}
        for item in document["paths"].values()
        for operation in item.values()
        if recursive & set(_refs(operation.get("requestBody", {})))
    ]


DOCUMENT = _document()
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "with-security-parameters": False},
        "suppress-health-check": ["all"],
        # The stateful phase chains operations through links, which this schema does not declare.
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {**operation, "phases": {"fuzzing": {"generation": {"mode": "positive"}}}}
            for operation in _recursive_bodies(DOCUMENT)
        ],
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@dataclass
class FuzzWorld:
    """The demo broker, and a fresh token for each audience whenever the last one stopped working
    (the fuzzer logs out, resets passwords, disables accounts…)."""

    runtime: Runtime
    app: object
    tokens: dict[str, str] = field(default_factory=dict)

    def _issue(self, audience: str) -> str:
        with self.runtime.db.transaction(all_tenants=True) as session:
            if audience == "platform":
                account = session.scalar(select(PlatformOperator).order_by(PlatformOperator.id))
                kind, tenant_id = PrincipalKind.OPERATOR, None
            else:
                tenant = session.scalar(select(Tenant).where(Tenant.slug == "demo"))
                assert tenant is not None
                model = Client if audience == "portal" else User
                account = session.scalar(select(model).where(model.tenant_id == tenant.id).order_by(model.id))
                kind = PrincipalKind.CLIENT if audience == "portal" else PrincipalKind.STAFF
                tenant_id = tenant.id
                session.info["all_tenants"], session.info["tenant_id"] = False, tenant_id
            assert account is not None
            self._may_sign_in(account)
            return issue_token(session, self.runtime.settings, kind, account, tenant_id).token

    @staticmethod
    def _may_sign_in(account: object) -> None:
        # The fuzzer may have disabled or suspended the account: the next audience's calls start
        # from an account that can sign in again.
        if hasattr(account, "suspended"):
            account.suspended = False
        if hasattr(account, "active"):
            account.active = True

    @staticmethod
    def audience(path: str) -> str:
        if path.startswith("/api/v1/platform"):
            return "platform"
        if path.startswith("/api/v1/portal"):
            return "portal"
        return "back_office"

    def headers(self, path: str) -> dict[str, str]:
        audience = self.audience(path)
        if audience not in self.tokens:
            self.tokens[audience] = self._issue(audience)
        return {"Authorization": f"Bearer {self.tokens[audience]}"}

    def saw(self, path: str, status: int) -> None:
        if status == 401:
            self.tokens.pop(self.audience(path), None)


@pytest.fixture(scope="module")
def fuzz_world(crm_runtime: Runtime, crm_app) -> Iterator[FuzzWorld]:
    seed_demo(crm_runtime)
    yield FuzzWorld(crm_runtime, crm_app)
    wipe(crm_runtime.db)
    crm_runtime.plugin_state.invalidate()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gives_a_server_error_or_breaks_its_schema(case, fuzz_world: FuzzWorld) -> None:
    response = case.call(app=fuzz_world.app, headers=fuzz_world.headers(case.path))
    fuzz_world.saw(case.path, response.status_code)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            negative_data_rejection,
        ],
    )
