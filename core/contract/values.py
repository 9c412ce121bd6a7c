"""The values hooks receive and return, besides core's records.

Plain Python (standard library only), so that reading the contract needs nothing else: a price
being built (``Quote``), a job's run (``JobContext``), a portal navigation entry (``PortalPage``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

if TYPE_CHECKING:
    from core.context import Ctx

# --- pricing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceAdjustment:
    source: str  # "core" or the plugin's name
    code: str  # e.g. the coupon's id or the promo code
    label: str  # shown to the client
    amount: Decimal  # signed: a discount is negative

    def as_json(self) -> dict[str, str]:
        return {"source": self.source, "code": self.code, "label": self.label, "amount": str(self.amount)}


@dataclass
class Quote:
    """The price of a prop challenge for a client while plugins adjust it (``crm_price_order``).

    ``purpose`` is ``"offer"`` for the challenge list (plugins may show their best automatic
    discount), ``"quote"`` for the client's chosen options, ``"order"`` when the order is placed
    (only then may a plugin reserve something, such as a coupon use)."""

    challenge_id: int
    client_id: int
    currency: str
    list_price: Decimal
    minor_units: int = 2  # the currency's decimal digits: prices are rounded to them
    options: dict[str, Any] = field(default_factory=dict)
    adjustments: list[PriceAdjustment] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    purpose: str = "quote"

    def _rounded(self, amount: Decimal) -> Decimal:
        return amount.quantize(Decimal(1).scaleb(-self.minor_units), rounding=ROUND_HALF_UP)

    @property
    def current_price(self) -> Decimal:
        """The price after the adjustments so far (never below zero)."""
        total = self.list_price + sum((a.amount for a in self.adjustments), Decimal(0))
        return max(self._rounded(total), Decimal(0))

    @property
    def final_price(self) -> Decimal:
        return self.current_price

    def option(self, name: str) -> Any:
        """Read a checkout option and mark it as understood (an option nobody reads is refused)."""
        self.consumed.add(name)
        return self.options.get(name)

    def adjust(self, *, source: str, code: str, label: str, amount: Decimal) -> None:
        """Add an adjustment, rounded half up to the currency's minor unit. A discount larger
        than the remaining price is capped so the price stops at zero."""
        amount = self._rounded(Decimal(amount))
        if amount < 0 and -amount > self.current_price:
            amount = -self.current_price
        self.adjustments.append(PriceAdjustment(source=source, code=code, label=label, amount=amount))


# --- jobs ---------------------------------------------------------------------------------------


class LostLease(Exception):
    """Another worker took the run over; this one's work must not commit."""


class Progress(Protocol):
    """Long jobs report progress; ``crm jobs run`` shows it as a bar."""

    def start(self, total: int | None, description: str = "") -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class NoProgress:
    def start(self, total: int | None, description: str = "") -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


class RunAccess(Protocol):
    """How a run reaches the database (the worker provides it)."""

    def unit(self) -> Ctx: ...

    def read(self) -> AbstractContextManager[Ctx]: ...

    def batch(self) -> AbstractContextManager[Ctx]: ...

    @property
    def last_batch_seconds(self) -> float: ...

    def heartbeat(self) -> None: ...


@dataclass
class JobContext:
    """A job's run: ``period`` is the scheduled time it is for (UTC; the time of the request for
    a manual run), ``key`` the schedule's key, ``run_id`` the run in the history. Make the effects
    of a run idempotent per period: a run whose worker died is run again.

    A run works in one of two ways:

    * **Short jobs** use ``job.ctx``: one unit of work, committed in the same transaction that
      marks the run succeeded (so a run's effects commit exactly once). It is opened when first
      used; on SQLite it holds the database's write lock until the run ends, so keep such jobs
      short.
    * **Long jobs** read with ``job.read()`` (a read-only snapshot that blocks no writer) and write
      with ``job.batch()`` (one short write transaction per batch, committed at the end of the
      ``with`` block, only while this worker still holds the run's lease). Other tenants' writes
      then wait at most for one batch, never for the whole job. A run whose worker died is run
      again by another worker, with the batches already committed still there: keep track of your
      progress in your own tables, advanced in the same batch as the work.

    Fail a run with a message the tenant's staff can read by raising a ``DomainError``
    (``NotFound("no rule 12")``, ``Conflict(...)``, ``InvalidInput(field, ...)``) or a
    ``ValueError``; any other exception is recorded as "internal error (reference …)", its
    traceback in the server log under that reference."""

    access: RunAccess
    run_id: int
    plugin: str
    job_type: str
    key: str
    period: datetime
    trigger: str
    args: dict[str, Any] = field(default_factory=dict)
    progress: Progress = field(default_factory=NoProgress)

    @property
    def ctx(self) -> Ctx:
        """The run's unit of work for the tenant, committed with the run's success (opened on
        first use: a write transaction, on SQLite the write lock, until the run ends)."""
        return self.access.unit()

    def read(self) -> AbstractContextManager[Ctx]:
        """A read-only snapshot of the tenant's data for the ``with`` block (REPEATABLE READ on
        PostgreSQL; a read transaction on SQLite, which in WAL mode blocks no writer). Writing in
        it fails."""
        return self.access.read()

    def batch(self) -> AbstractContextManager[Ctx]:
        """One short write transaction, committed when the ``with`` block ends. It first checks,
        in the same transaction, that this worker still holds the run (renewing its lease), and
        raises ``LostLease`` otherwise: a worker that lost its run never commits a batch. Not to be
        mixed with ``ctx`` in one run."""
        return self.access.batch()

    @property
    def last_batch_seconds(self) -> float:
        """How long the last ``batch()`` took, from when it began writing to its commit (0 before
        the first): what to size the next one by (``BatchSize.took``). On SQLite a batch first
        waits for other writers to have had a turn; that wait is not the batch's own time."""
        return self.access.last_batch_seconds

    def heartbeat(self) -> None:
        """Say the run is alive (a side thread also does, while the worker lives)."""
        self.access.heartbeat()


JobHandler = Callable[[JobContext], None]
# Work deferred until a unit of work commits (``crm_deferred_handlers``): the tenant's unit of
# work, acting as your plugin, and the keys deferred.
DeferredHandler = Callable[["Ctx", list[str]], None]


# --- the client portal ---------------------------------------------------------------------------


class PortalPage(TypedDict):
    """An entry of the client portal's navigation (``crm_portal_pages``)."""

    id: str  # unique within your plugin
    label: str  # shown to the client
    path: str  # relative to your portal page router (``crm_portal_page_router``), e.g. "/coupons"


# --- web pages (since 1.4) -------------------------------------------------------------------------

# Icons a navigation entry may name; the host draws them (a name outside this list stops the load).
ICONS = (
    "box", "chart", "coins", "document", "flag", "gift", "inbox", "layers", "link", "list",
    "people", "person", "settings", "shield", "star", "tag", "ticket", "trophy",
)  # fmt: skip


class NavEntry(TypedDict):
    """An entry of the back office's navigation (``crm_backoffice_nav``). The host shows it only to
    users of tenants with your plugin enabled who hold ``permission``; the page behind ``path``
    must declare the same permission (``core.sdk.staff(permission)``), because hiding an entry
    never protects its URL."""

    id: str  # unique within your plugin
    label: str  # shown to staff
    path: str  # relative to your back-office page router, e.g. "/" or "/coupons"
    icon: str  # one of ``ICONS``
    permission: str  # a permission from your manifest or a core one


class SlotContext(Protocol):
    """What a slot contribution's ``context`` function is: ``(ctx, subject) -> dict`` of the
    values its template reads. It runs in the request's transaction and must only read."""

    def __call__(self, ctx: Any, subject: Any) -> dict[str, Any]: ...


class SlotContribution(TypedDict, total=False):
    """A piece of a page your plugin fills (``crm_ui_slots``): a template of yours rendered at one
    of the host's named slots (``SLOTS``). ``slot`` and ``template`` are required."""

    slot: str  # one of ``SLOTS``
    template: str  # under your template prefix: "<plugin>/panel.html"
    permission: str  # back-office slots: shown only to staff holding it
    context: SlotContext  # extra template values; without it the template sees the slot's own
    order: int  # lower first (then by plugin name); default 100


# The named slots, a closed and versioned list: name -> (audience, what the template receives
# besides ``ctx``, ``request`` and what your ``context`` function returns).
SLOTS: dict[str, tuple[str, str]] = {
    "backoffice.dashboard": ("back_office", "nothing more: a widget on the back-office dashboard"),
    "backoffice.client_panel": ("back_office", "``subject``: the ``Client`` whose page is shown"),
    "portal.home": ("portal", "``subject``: the signed-in ``Client``; a widget on the portal home"),
    "portal.header_badge": ("portal", "``subject``: the signed-in ``Client``; a badge in the header"),
    "portal.notifications": (
        "portal",
        "``subject``: the signed-in ``Client``; a tab of the notifications page (render a "
        '``<section role="tabpanel" aria-labelledby="tab-<plugin>">`` with a heading)',
    ),
    "portal.checkout": (
        "portal",
        "``subject``: the ``PropChallenge`` being bought, ``client``: the signed-in ``Client``; fields "
        "inside the purchase form. A field named ``option.<name>`` is sent as the checkout option "
        "``<name>`` that your ``crm_price_order`` reads (``quote.option(name)``), as text; name it "
        "``option.<name>:int`` to receive a whole number",
    ),
}


# --- client metrics (since 1.5) --------------------------------------------------------------------

MetricKind = Literal["amount", "number", "flag", "choice", "set"]

# What a rule may ask of a metric of each kind, and what a rule's ``value`` is for it:
#   amount  ">=", ">", "<=", "<", "=="   a decimal amount in the rule's ``currency`` (per-currency)
#   number  ">=", ">", "<=", "<", "=="   a whole number (a count, days)
#   flag    "is"                          true or false
#   choice  "in", "not_in"                a list of values; the client has one value (a country)
#   set     "includes_all", "includes_any", "excludes"
#                                         a list of values; the client holds several (documents)
OPERATORS: dict[str, tuple[str, ...]] = {
    "amount": (">=", ">", "<=", "<", "=="),
    "number": (">=", ">", "<=", "<", "=="),
    "flag": ("is",),
    "choice": ("in", "not_in"),
    "set": ("includes_all", "includes_any", "excludes"),
}


@dataclass(frozen=True)
class MetricQuery:
    """What a metric is asked: for ``client_ids`` (None: every client of the tenant), in
    ``currency`` (per-currency metrics), over the last ``window_days`` days before ``now`` (windowed
    metrics; None: the client's whole history)."""

    client_ids: Sequence[int] | None
    now: datetime
    currency: str | None = None
    window_days: int | None = None


class MetricMeasure(Protocol):
    """``(ctx, query) -> rows of (client id, value)`` for the clients asked, one query for all of
    them. Leave out clients at the default: 0 (amount, number), false (flag), none (choice), empty
    (set). Amount and number rows of one client add up; a set metric gives one row per value held;
    a flag row means true."""

    def __call__(self, ctx: Any, query: MetricQuery) -> Iterable[tuple[int, Any]]: ...


@dataclass(frozen=True)
class ClientMetric:
    """A fact about clients that rules can test (``crm_client_metrics``). ``choices`` lists the
    values a choice or set metric can take, as ``(value, label)``, for editors and validation."""

    name: str  # "<plugin>.<metric>" (core's own are unprefixed)
    label: str  # shown to staff in rule editors, and to clients in their checklist
    kind: MetricKind
    measure: MetricMeasure
    description: str = ""
    per_currency: bool = False  # a rule must name a currency (amounts)
    windowed: bool = False  # a rule may name a window in days
    choices: Callable[[Any], list[tuple[str, str]]] | None = None  # (ctx) -> values (choice, set)
    unit: str = ""  # shown after a number ("days")


# --- client segments and statuses (since 1.5) --------------------------------------------------------


class ClientSegment(TypedDict):
    """An audience of clients a module offers to others (``crm_client_segments``)."""

    key: str  # unique within your plugin; others name it "<plugin>:<key>"
    label: str  # shown to staff choosing an audience: "Status: Gold"
    description: str


class StatusChange(TypedDict):
    """A client's status change (``crm_client_status_changed``)."""

    previous_status_id: int | None
    previous_status: str | None  # its name
    status_id: int
    status: str
    direction: Literal["up", "down", "same_level"]
    cause: Literal["rule", "demotion", "manual", "lock", "floor", "expiry"]
    reason: str


# --- invitations and leads (since 1.6) ---------------------------------------------------------------


class Invitation(TypedDict):
    """What an accepted invitation was bound to (``crm_invitation_accepted``): the module that sent
    it (``core.sdk.invite_client``) and the reference it named (its record, as text)."""

    module: str
    reference: str
    client_type: Literal["trader", "ib"]


class LeadConversion(TypedDict):
    """A lead that became a client (``crm_lead_converted``)."""

    lead_id: int
    client_id: int
    # how: the lead registered through its e-mailed link, staff opened a portal account for it, or
    # staff bound it to an existing client (or it was bound automatically by its e-mail address)
    action: Literal["registration_email", "portal_account", "bind", "auto_bind"]
    source: str  # the lead's source ("website", "import", ...)
