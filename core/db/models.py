"""Imports every core model so the metadata is complete (Alembic, create_all in tools)."""

from core.access import models as access_models
from core.audit import models as audit_models
from core.crm import models as crm_models
from core.failures import models as failures_models
from core.marketplace import models as marketplace_models
from core.notify import models as notify_models
from core.scheduler import models as scheduler_models
from core.tenancy import models as tenancy_models

__all__ = [
    "access_models",
    "audit_models",
    "crm_models",
    "failures_models",
    "marketplace_models",
    "notify_models",
    "scheduler_models",
    "tenancy_models",
]
