from __future__ import annotations

from typing import Any

import pytest

from plugins.tier_upgrade.tests.support import Broker


@pytest.fixture
def broker(crm: Any) -> Broker:
    """A broker that obtained the module, with a rank of three tiers."""
    return Broker(crm)
