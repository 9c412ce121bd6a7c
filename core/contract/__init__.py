"""The plugin contract of crm-marketplace (hook contract version 1.6).

A plugin is a Python distribution with an entry point in the group ``crm.plugins`` that names its
*hooks module*. Next to that module, in the same package, sits ``manifest.json`` (validated
against ``core/plugins/manifest.schema.json``; see ``docs/plugins.md``). The host loads the
module, checks it against this contract, and calls the functions you mark with ``hookimpl``::

    # my_plugin/hooks.py
    from core.sdk import hookimpl

    @hookimpl
    def crm_backoffice_router():
        from my_plugin.routes import router
        return router

    @hookimpl
    def crm_deposit_approved(ctx, deposit):
        ...

Implement only the hooks you need; name only the arguments you use (the host passes arguments by
name). A misspelt hook name or argument stops your plugin from loading, and the marketplace
shows it as broken with the reason — the rest of the host keeps running. So does a hook wrapper
(``@hookimpl(wrapper=True)`` or ``hookwrapper=True``): the host calls each plugin's
implementation itself, isolated and acting as that plugin, so a wrapper around the
others could never run.

Five kinds of hooks (``HookKind``; each hook in ``core/contract/hooks.py`` declares its kind):

* **Registration** hooks are called once, when the host loads your plugin, with no tenant.
* **Lifecycle** hooks are called for one tenant about your plugin's own state there (installed,
  enabled, settings changed …). Raising refuses the change.
* **Event** hooks tell every installed, enabled plugin of the tenant that something happened.
* **Chained** hooks take part in an action, one plugin after another, and can stop it.
* **Query** hooks ask every enabled plugin of the tenant a question; they only read.

Every hook but the registration ones runs *for one tenant*, and only when your plugin is
installed and enabled for that tenant. ``ctx`` is a ``core.sdk.Ctx``: its ``session`` is bound to
the tenant (every query sees only that tenant's rows) and belongs to the transaction of the
action that called you; ``ctx.principal`` is ``None`` (you act as the system, and the operation
log names your plugin). Call core's services through ``core.sdk`` with it.

Failure isolation. An exception in an *event* hook is contained: your changes in that call are
rolled back (each call is isolated: a savepoint is begun when it first reaches the database
through ``ctx.session``, so a handler with nothing to read or write costs none), core's action
and the other plugins' handlers go ahead, and the failure is recorded (plugin, tenant, event,
payload, error) in the plugin-health view, from where it can be replayed after a fix (``crm
events replay``). A *query*
hook's failure is recorded and its answer left out (or, for a guard such as
``crm_currency_in_use``, refuses the action). A *chained* or *lifecycle* hook that raises fails
the action it belongs to, with a clear error — a price is never silently wrong.

Compatibility promise. Within a major version of the contract (``HOOKS_VERSION``), hooks are only
added, and new arguments are only ever added to existing hooks (which you may ignore, since you
name the arguments you take). A hook that is going away is first deprecated: pluggy warns when you
implement it (``warn_on_impl``), for at least one minor version. Declare the range you support in
your manifest (``"hooks": ">=1.0,<2"``).

This package depends on nothing but pluggy and the standard library (records and ``Ctx`` appear
in annotations only), so it can be read top to bottom: ``hooks.py``, then ``values.py``.
"""

from core.contract.hooks import (
    HOOKS_VERSION,
    PROJECT,
    CrmHooks,
    HookKind,
    announcer_of,
    hook_names,
    hookimpl,
    hookspec,
    kind_of,
)
from core.contract.values import (
    ICONS,
    OPERATORS,
    SLOTS,
    ClientMetric,
    ClientSegment,
    DeferredHandler,
    Invitation,
    JobContext,
    JobHandler,
    LeadConversion,
    LostLease,
    MetricKind,
    MetricMeasure,
    MetricQuery,
    NavEntry,
    NoProgress,
    PortalPage,
    PriceAdjustment,
    Progress,
    Quote,
    RunAccess,
    SlotContribution,
    StatusChange,
)

__all__ = [
    "HOOKS_VERSION",
    "ICONS",
    "OPERATORS",
    "PROJECT",
    "SLOTS",
    "ClientMetric",
    "ClientSegment",
    "CrmHooks",
    "DeferredHandler",
    "HookKind",
    "Invitation",
    "JobContext",
    "JobHandler",
    "LeadConversion",
    "LostLease",
    "MetricKind",
    "MetricMeasure",
    "MetricQuery",
    "NavEntry",
    "NoProgress",
    "PortalPage",
    "PriceAdjustment",
    "Progress",
    "Quote",
    "RunAccess",
    "SlotContribution",
    "StatusChange",
    "announcer_of",
    "hook_names",
    "hookimpl",
    "hookspec",
    "kind_of",
]
