from __future__ import annotations

from typing import Any

import pytest

from plugins.status_system.tests.support import Broker


@pytest.fixture
def broker(crm: Any) -> Broker:
    """A broker that obtained the module, with a ladder Base < Silver < Gold on USD deposits."""
    return Broker(crm)
