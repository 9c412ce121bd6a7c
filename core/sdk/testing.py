"""``core.sdk.testing``: what a plugin's tests may use, besides ``core.sdk`` itself.

The pytest fixtures (``crm``, ``crm_runtime``, ``crm_settings``, ``crm_database_url``,
``production_password_hashing``) come with the installed pytest plugin ``crm``; this module holds
the helpers they hand out and the pieces of the host a test drives directly (a worker running a
job now, a second process's runtime, the command line).
"""

from core.audit.models import OperationLog
from core.cli.main import app as cli_app
from core.config import Settings
from core.context import bind
from core.crm import prop
from core.crm.schemas.prop import OrderIn
from core.db.session import Database
from core.notify.delivery import deliver_due
from core.runtime import Runtime
from core.scheduler.models import JobRun, JobSchedule, RunStatus, RunTrigger
from core.scheduler.worker import Worker
from core.testing import PASSWORD, SIGN_UP_PASSWORD, ApiSession, CrmKit, TenantHandle, expect, wipe
from core.testing.pages import PageSession
from core.testing.processes import processes
from core.testing.smtp import Inbox, free_port, mailing, start_inbox
from core.web.contributions import render_slot

__all__ = [
    "PASSWORD",
    "SIGN_UP_PASSWORD",
    "ApiSession",
    "CrmKit",
    "Database",
    "Inbox",
    "JobRun",
    "JobSchedule",
    "OperationLog",
    "OrderIn",
    "PageSession",
    "RunStatus",
    "RunTrigger",
    "Runtime",
    "Settings",
    "TenantHandle",
    "Worker",
    "bind",
    "cli_app",
    "deliver_due",
    "expect",
    "free_port",
    "mailing",
    "processes",
    "prop",
    "render_slot",
    "start_inbox",
    "wipe",
]
