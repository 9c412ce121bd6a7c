"""The criteria tree: its check against the metric registry, and the one evaluator.

A tree is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": node}`` or a leaf ``{"metric",
"operator", "value", "currency"?, "window_days"?}``. The evaluator works on arrays: it decides for a
million clients at once in the nightly batch, and for one client (arrays of one) when a deposit is
approved, so the decision, the progress bar and the checklist always come from the same code.

**Progress**, defined once: a leaf scores 1 when it is met. An unmet lower bound on a number
(``>=``, ``>``) scores ``min(current / target, 0.99)``; an unmet ``includes_all`` scores the share
of the values held (below 1, as one is missing); any other unmet leaf scores 0. ``all`` scores the
mean of its children, ``any`` the maximum, ``not`` 1 when met and 0 otherwise. So a score is in
[0, 1], and it is 1 exactly when the node is met.

**Hysteresis**: evaluated with ``share`` below 1, a lower bound on a number is relaxed to ``share``
of its target (the status is kept while the client stays above 90 % of it, by default).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Select,
    String,
    any_,
    bindparam,
    case,
    cast,
    func,
    select,
    type_coerce,
)

from core.sdk import (
    CORE_METRICS,
    OPERATORS,
    Client,
    ClientMetric,
    Ctx,
    Deposit,
    InvalidInput,
    MetricQuery,
    UTCDateTime,
    company_currencies,
    counted_among_approved,
    counted_deposit,
    money_sum,
    money_units,
    read_columns,
    read_columns_together,
)

UNITS = 10_000  # amounts are compared as integer units of 10^-4, as Money stores them
CEILING = 2**62  # sums are clamped here: above any target, so no comparison changes
NEARLY = 0.99  # the best score of an unmet lower bound


@dataclass(frozen=True)
class Need:
    """One measurement a tree needs: a metric, in a currency, over a window."""

    metric: str
    currency: str | None = None
    window_days: int | None = None

    @property
    def order(self) -> tuple[str, str, int]:
        return (self.metric, self.currency or "", self.window_days or 0)


def leaves(tree: Mapping[str, Any] | None, path: str = "criteria") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every leaf with its path ("criteria.all.0.value" names a field of it)."""
    if tree is None:
        return
    if "all" in tree or "any" in tree:
        key = "all" if "all" in tree else "any"
        for i, child in enumerate(tree[key]):
            yield from leaves(child, f"{path}.{key}.{i}")
    elif "not" in tree:
        yield from leaves(tree["not"], f"{path}.not")
    else:
        yield path, tree


def need_of(leaf: Mapping[str, Any]) -> Need:
    return Need(leaf["metric"], leaf.get("currency"), leaf.get("window_days"))


def needs(trees: Iterable[Mapping[str, Any] | None]) -> set[Need]:
    return {need_of(leaf) for tree in trees for _, leaf in leaves(tree)}


# --- the check: a tree that passes it can always be evaluated -----------------------------------


def check(ctx: Ctx, tree: Mapping[str, Any] | None, metrics: Mapping[str, ClientMetric]) -> None:
    """Refuse (422, naming the field) a leaf the metric registry cannot answer as written."""
    currencies: list[str] | None = None
    for path, leaf in leaves(tree):
        metric = metrics.get(leaf["metric"])
        if metric is None:
            raise InvalidInput(f"{path}.metric", f"no metric {leaf['metric']!r} (see the metrics list)")
        if leaf["operator"] not in OPERATORS[metric.kind]:
            allowed = ", ".join(OPERATORS[metric.kind])
            raise InvalidInput(f"{path}.operator", f"{metric.label}: use one of {allowed}")
        value = leaf["value"]
        if metric.kind in ("amount", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
                raise InvalidInput(f"{path}.value", f"{metric.label}: give a number")
            if metric.kind == "number" and Decimal(str(value)) != int(Decimal(str(value))):
                raise InvalidInput(f"{path}.value", f"{metric.label}: give a whole number")
            if Decimal(str(value)) > 10**12:
                raise InvalidInput(f"{path}.value", "at most 10^12")
        elif metric.kind == "flag":
            if not isinstance(value, bool):
                raise InvalidInput(f"{path}.value", f"{metric.label}: give true or false")
        else:
            if not isinstance(value, list):
                raise InvalidInput(f"{path}.value", f"{metric.label}: give a list of values")
            known = {code for code, _ in metric.choices(ctx)} if metric.choices else None
            if known is not None:
                unknown = [item for item in value if item not in known]
                if unknown:
                    raise InvalidInput(
                        f"{path}.value", f"{metric.label}: {unknown[0]!r} is not one of its values"
                    )
        if metric.per_currency:
            if not leaf.get("currency"):
                raise InvalidInput(f"{path}.currency", f"{metric.label}: name the currency")
            currencies = currencies if currencies is not None else company_currencies(ctx)
            if leaf["currency"] not in currencies:
                raise InvalidInput(
                    f"{path}.currency", f"{leaf['currency']} is not one of the broker's currencies"
                )
        elif leaf.get("currency"):
            raise InvalidInput(f"{path}.currency", f"{metric.label} is not in a currency")
        if leaf.get("window_days") and not metric.windowed:
            raise InvalidInput(f"{path}.window_days", f"{metric.label} has no window")


# --- facts: the metrics measured for an array of clients ----------------------------------------


@dataclass
class Facts:
    """What the trees need, measured for ``ids`` (sorted client ids), as arrays aligned with them.
    ``raw`` keeps each client's values as measured (exact amounts, for the checklist's words) when
    asked for (a few clients)."""

    ids: np.ndarray
    numbers: dict[Need, np.ndarray] = field(default_factory=dict)  # int64: amounts in units
    choices: dict[Need, tuple[np.ndarray, dict[str, int]]] = field(default_factory=dict)
    sets: dict[Need, dict[str, np.ndarray]] = field(default_factory=dict)  # value -> held
    raw: dict[Need, dict[int, Any]] | None = None

    def value_of(self, need: Need, client_id: int, kind: str) -> Any:
        """The client's measured value (from ``raw``), or the metric's default."""
        assert self.raw is not None, "measure(..., keep_raw=True) for the checklist"
        found = self.raw.get(need, {}).get(client_id)
        if found is not None:
            return found
        return {"amount": Decimal(0), "number": 0, "flag": False, "choice": None, "set": set()}[kind]


def positions(ids: np.ndarray, client_ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """Where each measured client sits in ``ids``, and which of them are there at all."""
    found = np.asarray(client_ids, dtype=np.int64)
    at = np.searchsorted(ids, found)
    at = np.minimum(at, max(len(ids) - 1, 0))
    inside = ids[at] == found if len(ids) else np.zeros(len(found), dtype=bool)
    return at, inside


def _units(value: Any) -> int:
    units = int(Decimal(value).scaleb(4)) if not isinstance(value, int) else value * UNITS
    return min(units, CEILING)


CORE = {metric.name: metric for metric in CORE_METRICS}
DEPOSITS = ("deposits_sum", "deposits_count")
CLIENT_COLUMNS: dict[str, Any] = {
    "kyc_status": type_coerce(Client.kyc_status, String()),
    "country": Client.country,
    "language": Client.language,
    "client_type": type_coerce(Client.client_type, String()),
    "client_group": Client.group_id,
}
IN_LIST = 5000  # clients asked about in one statement's IN list (SQLite allows 32,766 parameters)


def _is_core(metrics: Mapping[str, ClientMetric], name: str) -> bool:
    return name in CORE and metrics.get(name) is CORE[name]


def _since(need: Need) -> str:
    return f"since_{need.window_days}"


def _approved_in(need: Need) -> Any:
    """What sets ``need``'s deposits apart among the approved ones the statement aggregates (core's
    own condition, ``counted_among_approved``; None: all of them); a window's bounds are
    parameters (``now`` and ``since_<days>``), so one statement serves every moment."""
    currency = need.currency if need.metric == "deposits_sum" else None
    if need.window_days is None:
        return counted_among_approved(currency)
    since, now = bindparam(_since(need), type_=UTCDateTime()), bindparam("now", type_=UTCDateTime())
    return counted_among_approved(currency, since, now)


def _deposit_column(need: Need, exact: bool, postgresql: bool) -> Any:
    """One aggregate over the approved deposits. ``exact``: a sum as money (None when the client
    has none); otherwise integer units clamped at CEILING, computed by PostgreSQL without a
    decimal in Python."""
    condition = _approved_in(need)
    if need.metric == "deposits_count":
        return func.count() if condition is None else func.sum(case((condition, 1), else_=0))
    amount = Deposit.amount if condition is None else case((condition, Deposit.amount))
    if exact or not postgresql:
        return money_units(money_sum(amount))
    total = func.coalesce(func.sum(amount), 0) * UNITS
    return cast(func.least(total, CEILING), BigInteger)


@dataclass(frozen=True, eq=False)  # compared and hashed as itself: a statement cache key
class Rider:
    """Columns read in the same statement as a few clients' facts, joined to the clients (the
    standings: one round trip for all an event's decision reads), or, for every client, scanned
    on their own (the first column is then the client id; all of them numbers or flags, read as
    float arrays with NaN for NULL: ``read_columns_together(numbers=…)``). ``key`` names it in the
    statement cache."""

    key: str
    columns: tuple[Any, ...]
    # (statement, ``among``: a column's condition to be one of the ids asked about)
    join: Callable[[Select[Any], Callable[[Any], Any]], Select[Any]]


@dataclass(frozen=True)
class CoreRead:
    """Core's deposit metrics and client columns a set of needs has (when the registry holds core's
    own: a plugin may replace a metric by name), read together whatever the number of leaves: one
    GROUP BY over the clients' approved deposits with an aggregate per need. For a few clients
    (an event) it is joined to the clients and the rider in one statement; for every client (the
    batch) the clients and the sums are two plain scans, read as columns and matched up on
    arrays, which costs the database and Python far less than the join. The values are those of
    the metrics' own ``measure`` (plugins/status_system/tests check it)."""

    deposits: tuple[Need, ...]
    columns: tuple[Need, ...]

    @classmethod
    def of(cls, needs: Iterable[Need], metrics: Mapping[str, ClientMetric]) -> CoreRead:
        ordered = sorted(needs, key=lambda n: n.order)
        return cls(
            tuple(n for n in ordered if n.metric in DEPOSITS and _is_core(metrics, n.metric)),
            tuple(n for n in ordered if n.metric in CLIENT_COLUMNS and _is_core(metrics, n.metric)),
        )

    def clients(self) -> Select[Any]:
        """``SELECT id, <client columns>`` over every client."""
        return select(Client.id, *(CLIENT_COLUMNS[n.metric] for n in self.columns))

    @functools.lru_cache(maxsize=128)  # noqa: B019  (CoreRead values are few, and small)
    def sums(self, postgresql: bool, exact: bool) -> Select[Any]:
        """``SELECT client_id, <an aggregate per deposit need>`` over the approved deposits, per
        client (a client without any is absent)."""
        aggregates = [
            _deposit_column(n, exact, postgresql).label(f"d{i}") for i, n in enumerate(self.deposits)
        ]
        return (
            select(Deposit.client_id, *aggregates)
            .where(counted_deposit())  # the approved deposits: each aggregate narrows them
            .group_by(Deposit.client_id)
        )

    @functools.lru_cache(maxsize=128)  # noqa: B019
    def joined(self, postgresql: bool, exact: bool, rider: Rider | None) -> Select[Any]:
        """``SELECT id, <client columns>, <deposit aggregates>, <rider's>`` for the clients asked
        about (``ids``), in one statement (built once per shape)."""
        # The ids as one array parameter on PostgreSQL: an IN list of hundreds of parameters costs
        # the driver milliseconds to parse at every chunk of the batch (its text changes with the
        # number of ids, so it is never cached).
        asked = bindparam("ids", type_=ARRAY(BigInteger)) if postgresql else bindparam("ids", expanding=True)

        def among(column: Any) -> Any:
            return column == any_(asked) if postgresql else column.in_(asked)

        stmt = self.clients()
        if self.deposits:
            sums = self.sums(postgresql, exact).where(among(Deposit.client_id)).subquery("sums")
            stmt = stmt.outerjoin(sums, sums.c.client_id == Client.id)
            # A client without deposits has none of them: 0 where the column is a plain integer.
            plain = [n.metric == "deposits_count" or (postgresql and not exact) for n in self.deposits]
            stmt = stmt.add_columns(
                *(func.coalesce(sums.c[f"d{i}"], 0) if p else sums.c[f"d{i}"] for i, p in enumerate(plain))
            )
        if rider is not None:
            stmt = rider.join(stmt.add_columns(*rider.columns), among)
        return stmt.where(among(Client.id))

    def params(self, now: datetime) -> dict[str, Any]:
        windows = {_since(n): now - timedelta(days=n.window_days) for n in self.deposits if n.window_days}
        return {"now": now, **windows}


def _read_asked(ctx: Ctx, stmt: Any, params: dict[str, Any], ids: np.ndarray) -> list[Sequence[Any]]:
    """``stmt``'s columns for the clients ``ids``, an IN list of at most IN_LIST at a time."""
    asked = ids.tolist()
    parts = [
        read_columns(ctx.session, stmt, {**params, "ids": asked[first : first + IN_LIST]})
        for first in range(0, len(asked), IN_LIST)
    ]
    if len(parts) == 1:
        return parts[0]
    return [list(chain.from_iterable(part[i] for part in parts)) for i in range(len(parts[0]))]


@dataclass(frozen=True)
class Placed:
    """Rows read for some clients: their client ids (row order), where each sits in ``facts.ids``
    (``at``) and whether it is one of them at all (``inside``)."""

    ids: Sequence[Any]
    at: np.ndarray
    inside: np.ndarray

    @classmethod
    def of(cls, facts_ids: np.ndarray, ids: Sequence[Any]) -> Placed:
        return cls(ids, *positions(facts_ids, ids))


def _codes(values: Sequence[Any]) -> tuple[np.ndarray, dict[str, int]]:
    """A choice column as codes into its vocabulary (-1 where there is no value). A column holds
    few distinct values: each is looked up in a dictionary by ``map``, without a Python loop."""
    distinct = [value for value in set(values) if value is not None]
    lookup: dict[Any, int] = {value: code for code, value in enumerate(distinct)}
    lookup[None] = -1
    codes = np.fromiter(map(lookup.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, {str(value): code for code, value in enumerate(distinct)}


def _fill_columns(read: CoreRead, rows: Placed, columns: list[Sequence[Any]], facts: Facts) -> None:
    """The client columns (``columns``, in ``read.columns``' order) into ``facts``."""
    size, at, inside = len(facts.ids), rows.at, rows.inside
    found = at[inside]
    for need, values in zip(read.columns, columns, strict=True):
        coded, vocabulary = _codes(values)
        codes = np.full(size, -1, dtype=np.int32)
        codes[found] = coded[inside]
        facts.choices[need] = (codes, vocabulary)
        if facts.raw is not None:
            facts.raw[need] = {int(c): str(v) for c, v in zip(rows.ids, values, strict=True) if v is not None}


def _fill_sums(read: CoreRead, rows: Placed, columns: list[Sequence[Any]], facts: Facts) -> None:
    """The deposit aggregates (``columns``, in ``read.deposits``' order) into ``facts``."""
    size, at, inside = len(facts.ids), rows.at, rows.inside
    found = at[inside]
    for need, values in zip(read.deposits, columns, strict=True):
        try:  # integers throughout (PostgreSQL's units and every count): one conversion
            units = np.minimum(np.asarray(values, dtype=np.int64), CEILING)
        except TypeError:  # None for clients without deposits (SQLite's exact sums)
            units = np.fromiter(
                (0 if v is None else min(v, CEILING) for v in values), dtype=np.int64, count=len(values)
            )
        column = np.zeros(size, dtype=np.int64)
        column[found] = units[inside]
        facts.numbers[need] = column
        if facts.raw is not None:
            pairs = zip(rows.ids, values, strict=True)
            if need.metric == "deposits_sum":
                facts.raw[need] = {int(c): Decimal(v).scaleb(-4) for c, v in pairs if v is not None}
            else:
                facts.raw[need] = {int(c): int(v) for c, v in pairs if v}


def _measure_every_client(
    ctx: Ctx, read: CoreRead, now: datetime, exact: bool, rider: Rider | None
) -> tuple[Facts, Riding]:
    """Core's metrics for every client of the tenant, and the rider's columns: the clients, the
    deposit sums and the rider's own table scanned, together (``read_columns_together``)."""
    postgresql = ctx.session.get_bind().dialect.name == "postgresql"
    statements: list[tuple[Select[Any], dict[str, Any] | None]] = [(read.clients(), None)]
    integers: set[int] = set()
    if read.deposits:
        if postgresql and not exact:  # units and counts, never NULL there: as int64 arrays
            integers.add(len(statements))
        statements.append((read.sums(postgresql, exact), read.params(now)))
    numbers: set[int] = set()
    if rider is not None:  # the rider's columns are numbers (ids, times as epochs, flags): as arrays
        numbers.add(len(statements))
        statements.append((select(*rider.columns), None))
    columns, *others = read_columns_together(ctx.session, statements, numbers=numbers, integers=integers)
    ids = np.sort(np.asarray(columns[0], dtype=np.int64))
    facts = Facts(ids=ids, raw={} if exact else None)
    if read.columns:
        _fill_columns(read, Placed.of(ids, columns[0]), columns[1:], facts)
    del columns
    if read.deposits:
        sums = others.pop(0)
        _fill_sums(read, Placed.of(ids, sums[0]), sums[1:], facts)
    riding = Riding.nothing()
    if rider is not None:
        riding = Riding(others[0], Placed.of(ids, others[0][0]))
    return facts, riding


def measure(
    ctx: Ctx,
    wanted: Iterable[Need],
    metrics: Mapping[str, ClientMetric],
    ids: np.ndarray | None,
    now: datetime,
    *,
    set_values: Mapping[Need, set[str]] | None = None,
    keep_raw: bool = False,
    rider: Rider | None = None,
) -> tuple[Facts, Riding]:
    """Measure every need for the clients ``ids`` (sorted), or for every client of the tenant
    (``ids`` None: one pass over the tenant, the batch). Returns the facts and the ``rider``'s
    columns: read in the same statement for a few clients; for every client, a scan of the
    rider's columns alone (the first is the client id), read at the same time as the facts."""
    needs = sorted(wanted, key=lambda n: n.order)
    read = CoreRead.of(needs, metrics)
    riding = Riding.nothing()
    if ids is None:
        facts, riding = _measure_every_client(ctx, read, now, keep_raw, rider)
    elif read.deposits or read.columns or rider is not None:
        postgresql = ctx.session.get_bind().dialect.name == "postgresql"
        columns = _read_asked(ctx, read.joined(postgresql, keep_raw, rider), read.params(now), ids)
        rows = Placed.of(ids, columns[0])
        facts = Facts(ids=ids, raw={} if keep_raw else None)
        first_sum = 1 + len(read.columns)
        _fill_columns(read, rows, columns[1:first_sum], facts)
        _fill_sums(read, rows, columns[first_sum : first_sum + len(read.deposits)], facts)
        if rider is not None:
            riding = Riding(columns[len(columns) - len(rider.columns) :], rows)
    else:
        facts = Facts(ids=ids, raw={} if keep_raw else None)
    asked = None if ids is None else [int(i) for i in facts.ids]
    for need in needs:
        if need in read.deposits or need in read.columns:
            continue
        metric = metrics[need.metric]
        query = MetricQuery(client_ids=asked, now=now, currency=need.currency, window_days=need.window_days)
        _measure_one(metric, need, metric.measure(ctx, query), facts, set_values)
    return facts, riding


@dataclass(frozen=True)
class Riding:
    """A rider's columns as read (row order), and where each row's client sits in ``facts.ids``."""

    columns: list[Sequence[Any]]
    rows: Placed

    @classmethod
    def nothing(cls) -> Riding:
        return cls([], Placed((), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)))


def _measure_one(
    metric: ClientMetric,
    need: Need,
    rows: Iterable[tuple[int, Any]],
    facts: Facts,
    set_values: Mapping[Need, set[str]] | None,
) -> None:
    """One metric's rows into ``facts``."""
    ids = facts.ids
    client_ids: list[int] = []
    values: list[Any] = []
    for client_id, value in rows:
        client_ids.append(client_id)
        values.append(value)
    if facts.raw is not None:
        raw: dict[int, Any] = {}
        for client_id, value in zip(client_ids, values, strict=True):
            if metric.kind == "set":
                raw.setdefault(client_id, set()).add(str(value))
            elif metric.kind in ("amount", "number"):
                raw[client_id] = raw.get(client_id, 0) + value
            else:
                raw[client_id] = value
        facts.raw[need] = raw
    at, inside = positions(ids, client_ids)
    if metric.kind in ("amount", "number"):
        column = np.zeros(len(ids), dtype=np.int64)
        units = [_units(v) if metric.kind == "amount" else min(int(v), CEILING) for v in values]
        np.add.at(column, at[inside], np.asarray(units, dtype=np.int64)[inside])
        facts.numbers[need] = np.minimum(column, CEILING)
    elif metric.kind == "flag":
        column = np.zeros(len(ids), dtype=np.int64)
        column[at[inside]] = 1
        facts.numbers[need] = column
    elif metric.kind == "choice":
        vocabulary: dict[str, int] = {}
        codes = np.full(len(ids), -1, dtype=np.int32)
        coded = np.fromiter(
            (vocabulary.setdefault(str(v), len(vocabulary)) for v in values),
            dtype=np.int32,
            count=len(values),
        )
        codes[at[inside]] = coded[inside]
        facts.choices[need] = (codes, vocabulary)
    else:
        held: dict[str, np.ndarray] = {}
        interesting = set_values.get(need, set()) if set_values is not None else None
        text = [str(v) for v in values]
        for value in interesting if interesting is not None else set(text):
            mask = np.fromiter((t == value for t in text), dtype=bool, count=len(text)) & inside
            column = np.zeros(len(ids), dtype=bool)
            column[at[mask]] = True
            held[value] = column
        facts.sets[need] = held


def set_values_of(trees: Iterable[Mapping[str, Any] | None]) -> dict[Need, set[str]]:
    """The values of set metrics the trees test: only those are measured as columns."""
    wanted: dict[Need, set[str]] = {}
    for tree in trees:
        for _, leaf in leaves(tree):
            if isinstance(leaf["value"], list):
                wanted.setdefault(need_of(leaf), set()).update(leaf["value"])
    return wanted


# --- the evaluator ---------------------------------------------------------------------------------


@dataclass
class LeafResult:
    path: str
    leaf: Mapping[str, Any]
    target: Any  # the bound the client was held to (relaxed by ``share`` for hysteresis)
    met: np.ndarray
    score: np.ndarray


@dataclass
class Evaluation:
    """A tree over an array of clients: met and score per client, and each leaf's."""

    met: np.ndarray
    score: np.ndarray
    leaves: list[LeafResult]


COMPARE = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal}


def _target_units(leaf: Mapping[str, Any], kind: str, share: float) -> int:
    value = Decimal(str(leaf["value"]))
    if share < 1 and leaf["operator"] in (">=", ">"):
        value = value * Decimal(str(share))
    if kind == "amount":
        return int(value.scaleb(4).to_integral_value(rounding="ROUND_CEILING"))
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def _leaf(
    path: str, leaf: Mapping[str, Any], facts: Facts, metrics: Mapping[str, ClientMetric], share: float
) -> LeafResult:
    metric = metrics[leaf["metric"]]
    need = need_of(leaf)
    operator = leaf["operator"]
    size = len(facts.ids)
    if metric.kind in ("amount", "number"):
        current = facts.numbers[need]
        target = _target_units(leaf, metric.kind, share)
        met = COMPARE[operator](current, target)
        score = met.astype(np.float64)
        if operator in (">=", ">") and target > 0:
            partial = np.minimum(current.astype(np.float64) / float(target), NEARLY)
            score = np.where(met, 1.0, partial)
        shown = Decimal(target).scaleb(-4) if metric.kind == "amount" else target
        return LeafResult(path, leaf, shown, met, score)
    if metric.kind == "flag":
        met = (facts.numbers[need] == 1) == bool(leaf["value"])
        return LeafResult(path, leaf, leaf["value"], met, met.astype(np.float64))
    if metric.kind == "choice":
        codes, vocabulary = facts.choices[need]
        # A lookup table by code (the last entry, for -1, is "no value"): cheaper than np.isin.
        table = np.zeros(len(vocabulary) + 1, dtype=bool)
        table[[vocabulary[v] for v in leaf["value"] if v in vocabulary]] = True
        member = table[codes]
        met = member if operator == "in" else ~member
        return LeafResult(path, leaf, list(leaf["value"]), met, met.astype(np.float64))
    held = facts.sets[need]
    columns = [held.get(v, np.zeros(size, dtype=bool)) for v in leaf["value"]]
    count = np.sum(columns, axis=0) if columns else np.zeros(size, dtype=np.int64)
    if operator == "includes_all":
        met = count == len(columns)
        score = np.where(met, 1.0, count / max(len(columns), 1))
        return LeafResult(path, leaf, list(leaf["value"]), met, score)
    met = count > 0 if operator == "includes_any" else count == 0
    return LeafResult(path, leaf, list(leaf["value"]), met, met.astype(np.float64))


def evaluate(
    tree: Mapping[str, Any],
    facts: Facts,
    metrics: Mapping[str, ClientMetric],
    *,
    share: float = 1.0,
    path: str = "criteria",
) -> Evaluation:
    """Evaluate ``tree`` for every client of ``facts``."""
    if "all" in tree or "any" in tree:
        key = "all" if "all" in tree else "any"
        parts = [
            evaluate(child, facts, metrics, share=share, path=f"{path}.{key}.{i}")
            for i, child in enumerate(tree[key])
        ]
        # Folded child by child: for the one client of an event, stacking costs more than this.
        if key == "all":
            met = functools.reduce(np.logical_and, (p.met for p in parts))
            score = functools.reduce(np.add, (p.score for p in parts)) / len(parts)
        else:
            met = functools.reduce(np.logical_or, (p.met for p in parts))
            score = functools.reduce(np.maximum, (p.score for p in parts))
        # A mean of scores of which one is below 1 is below 1; clamp rounding the other way.
        score = np.where(met, 1.0, np.minimum(score, NEARLY))
        return Evaluation(met, score, [leaf for p in parts for leaf in p.leaves])
    if "not" in tree:
        inner = evaluate(tree["not"], facts, metrics, share=share, path=f"{path}.not")
        met = ~inner.met
        return Evaluation(met, met.astype(np.float64), inner.leaves)
    result = _leaf(path, tree, facts, metrics, share)
    return Evaluation(result.met, result.score, [result])
