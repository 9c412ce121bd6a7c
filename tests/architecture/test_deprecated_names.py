"""Names a plugin may have imported before 1.3 still work until 2.0, with a warning saying where
they went."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("from core.plugins import hookimpl", "from core.sdk import hookimpl", "core.sdk"),
        ("from core.hookspecs import hookimpl", "from core.sdk import hookimpl", "core.contract"),
        ("from core.scheduler.jobs import JobContext", "from core.sdk import JobContext", "core.contract"),
        ("from core.crm.pricing import PriceAdjustment", "from core.sdk import PriceAdjustment", "core.sdk"),
        (
            "from core.crm.scope import scope_clients",
            "from core.sdk import scope_clients",
            "data_permissions",
        ),
        (
            "from core.events.service import replay",
            "from core.plugins.dispatch import replay_failure",
            "failures",
        ),
        ("from core.db import Base", "from core.sdk import Base", "core.sdk"),
        (
            "from core.db.scoping import TenantScopeError",
            "from core.db.tenant_filter import TenantScopeError",
            "core.db.tenant_filter",
        ),
        (
            "from core.marketplace.service import settings_of",
            "from core.sdk import settings_of",
            "core.marketplace.settings",
        ),
    ],
)
def test_an_old_import_still_works_and_says_where_the_name_went(old, new, where):
    name, new_name = old.split()[-1], new.split()[-1]
    probe = (
        "import warnings; warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        f"    {old}\n"
        f"{new} as _new\n"
        f"print({name} is _new)\n"
        "print([str(w.message) for w in caught if w.category is DeprecationWarning])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    same, warnings = result.stdout.splitlines()
    assert same == "True", (name, new_name)
    assert "deprecated" in warnings and where in warnings
