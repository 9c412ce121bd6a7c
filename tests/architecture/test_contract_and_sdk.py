"""The hook contract is a leaf a plugin author can read on its own, each hook declares its kind,
and ``core.sdk`` is a surface that loads no route and no plugin."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.contract import CrmHooks, HookKind, hook_names, kind_of
from core.plugins import dispatch


def _modules_loaded_by(statement: str) -> list[str]:
    probe = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_the_contract_loads_nothing_but_pluggy_and_the_standard_library():
    loaded = _modules_loaded_by("import core.contract")
    ours = [name for name in loaded if name.split(".")[0] == "core"]
    assert ours == ["core", "core.contract", "core.contract.hooks", "core.contract.values"]
    for heavy in ("fastapi", "sqlalchemy", "pydantic", "starlette", "stevedore"):
        assert heavy not in loaded


def test_the_sdk_loads_no_route_module_and_no_plugin():
    loaded = _modules_loaded_by("import core.sdk")
    assert not [name for name in loaded if name.split(".")[-1] == "routes" or ".routes." in name]
    assert not [name for name in loaded if name.split(".")[0] == "plugins"]


def test_every_hook_declares_one_of_the_five_kinds():
    hooks = [name for name in vars(CrmHooks) if name.startswith("crm_")]
    assert hooks == hook_names()
    assert {kind_of(name) for name in hooks} == set(HookKind)
    assert kind_of("crm_deposit_approved") is HookKind.EVENT
    assert kind_of("crm_price_order") is HookKind.CHAINED
    assert kind_of("crm_currency_in_use") is HookKind.QUERY
    assert kind_of("crm_installed") is HookKind.LIFECYCLE
    assert kind_of("crm_backoffice_router") is HookKind.REGISTRATION


@pytest.mark.parametrize(
    ("call", "hook"),
    [
        (lambda ctx, hook: dispatch.fire(ctx, hook), "crm_price_order"),
        (lambda ctx, hook: dispatch.chain(ctx, hook), "crm_deposit_approved"),
        (lambda ctx, hook: dispatch.collect(ctx, hook), "crm_order_paid"),
        (lambda ctx, hook: dispatch.call_lifecycle(ctx, "coupons", hook), "crm_currency_in_use"),
    ],
)
def test_dispatch_refuses_to_call_a_hook_as_another_kind(call, hook):
    with pytest.raises(TypeError, match=f"{hook} is a .* hook, not a"):
        call(None, hook)
