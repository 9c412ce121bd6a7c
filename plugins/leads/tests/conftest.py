from __future__ import annotations

from typing import Any

import pytest

from plugins.leads.tests.support import Desk


@pytest.fixture
def desk(crm: Any) -> Desk:
    """A broker that obtained the Leads module."""
    return Desk(crm)
