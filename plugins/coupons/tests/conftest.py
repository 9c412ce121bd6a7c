from __future__ import annotations

from typing import Any

import pytest

from plugins.coupons.tests.support import Shop


@pytest.fixture
def shop(crm: Any) -> Shop:
    """A broker with the module installed."""
    return Shop(crm)
