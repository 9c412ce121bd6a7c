"""Request and response bodies of the Status System.

A status's rule is a **criteria tree**: ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": node}``
and leaves ``{"metric", "operator", "value", "currency"?, "window_days"?}``. The shapes and bounds
are here (and so in the OpenAPI schema); what a metric accepts (its operators, currency, values) is
checked against the metric registry by ``criteria.check``, which names the field that is wrong.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, StrictBool, Tag, model_validator

from core.sdk import (
    AwareDatetime,
    CurrencyCode,
    Id,
    Input,
    ListQuery,
    MoneyOut,
    NonNegativeAmount,
    Output,
    Patch,
    ShortName,
    ShortText,
    text_type,
)

MAX_DEPTH = 5  # nodes on the way from the root to a leaf, the root included
MAX_CHILDREN = 20
MAX_LEAVES = 50
MAX_VALUES = 50
MAX_WINDOW_DAYS = 3660
COLOUR = r"^#[0-9a-fA-F]{6}$"

OperatorName = Literal[
    ">=", ">", "<=", "<", "==", "is", "in", "not_in", "includes_all", "includes_any", "excludes"
]
ChoiceValue = Field(min_length=1, max_length=100)


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "[flag]"
    return "[values]" if isinstance(value, list) else "[number]"


# Tagged unions: only the member the value's shape names is validated, so an error names one field
# (its bracketed tag is left out of the field's name: ``criteria.all.0.value``).
LeafValue = Annotated[
    Annotated[StrictBool, Tag("[flag]")]
    | Annotated[NonNegativeAmount, Tag("[number]")]
    | Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]],
        Field(min_length=1, max_length=MAX_VALUES),
        Tag("[values]"),
    ],
    Discriminator(_value_kind),
]


class Leaf(Input):
    """One condition on one metric of the client."""

    metric: str = Field(min_length=1, max_length=100, description="A metric's name (GET .../metrics)")
    operator: OperatorName
    value: LeafValue = Field(
        description="A number (amounts and counts), true/false (flags), or a list of values (choices, sets)"
    )
    currency: CurrencyCode | None = Field(default=None, description="For an amount: the currency it is in")
    window_days: int | None = Field(
        default=None, ge=1, le=MAX_WINDOW_DAYS, description="Count only the last N days (windowed metrics)"
    )


class AllNode(Input):
    all: list[Node] = Field(min_length=1, max_length=MAX_CHILDREN, description="Every condition holds")


class AnyNode(Input):
    any: list[Node] = Field(min_length=1, max_length=MAX_CHILDREN, description="At least one holds")


class NotNode(Input):
    not_: Node = Field(alias="not", description="The condition does not hold")

    model_config = {"populate_by_name": False}


def _node_kind(node: Any) -> str:
    keys = (
        node
        if isinstance(node, dict)
        else {
            name
            for name in ("all", "any", "not")
            if getattr(node, name if name != "not" else "not_", None) is not None
        }
    )
    for key in ("all", "any", "not"):
        if key in keys:
            return f"[{key}]"
    return "[leaf]"


Node = Annotated[
    Annotated[AllNode, Tag("[all]")]
    | Annotated[AnyNode, Tag("[any]")]
    | Annotated[NotNode, Tag("[not]")]
    | Annotated[Leaf, Tag("[leaf]")],
    Discriminator(_node_kind),
]
for _model in (AllNode, AnyNode, NotNode):
    _model.model_rebuild()


def tree_shape_problem(tree: Any) -> str | None:
    """Depth and size limits, checked on the raw JSON before it is parsed (so a deep tree is a 422,
    not a recursion)."""
    leaves = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"the tree is deeper than {MAX_DEPTH} levels"
        if isinstance(node, dict) and ("all" in node or "any" in node):
            children = node.get("all", node.get("any"))
            if isinstance(children, list):
                stack.extend((child, depth + 1) for child in children[: MAX_CHILDREN + 1])
        elif isinstance(node, dict) and "not" in node:
            stack.append((node["not"], depth + 1))
        else:
            leaves += 1
            if leaves > MAX_LEAVES:
                return f"the tree has more than {MAX_LEAVES} conditions"
    return None


class _WithCriteria(Input):
    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("criteria") is not None:
            problem = tree_shape_problem(data["criteria"])
            if problem:
                raise ValueError(f"criteria: {problem}")
        return data


class StatusIn(_WithCriteria):
    name: ShortName
    caption: str = Field(default="", max_length=200)
    description: text_type(5000) = Field(default="", description="What the status means, shown to clients")
    colour: str = Field(default="#6b7280", max_length=7, pattern=COLOUR)
    icon: str = Field(default="star", max_length=20)
    visible_to_clients: bool = True
    grants: str = Field(default="", max_length=500, description="What the status unlocks, in words")
    group_id: Id | None = Field(default=None, description="Clients holding the status move into this group")
    criteria: Node | None = Field(default=None, description="The rule that reaches it; null: by hand only")
    position: int | None = Field(default=None, ge=0, le=1000, description="Its place; default: the top")


class StatusUpdate(Patch, _WithCriteria):
    clearable: ClassVar[frozenset[str]] = frozenset({"group_id", "criteria"})

    name: ShortName | None = None
    caption: str | None = Field(default=None, max_length=200)
    description: text_type(5000) | None = None
    colour: str | None = Field(default=None, max_length=7, pattern=COLOUR)
    icon: str | None = Field(default=None, max_length=20)
    visible_to_clients: bool | None = None
    grants: str | None = Field(default=None, max_length=500)
    group_id: Id | None = None
    criteria: Node | None = None


class OrderIn(Input):
    status_ids: list[Id] = Field(min_length=1, max_length=1000, description="Every status, lowest first")


class DeleteIn(Input):
    reassign_to: Id | None = Field(default=None, description="Move clients holding it to this status first")


class DryRunIn(_WithCriteria):
    criteria: Node | None = Field(default=None, description="The rule to try for this status (null: by hand)")


class AssignIn(Input):
    status_id: Id
    mode: Literal["once", "floor", "lock"] = Field(
        default="once",
        description="once: set it now (rules may move it later); floor: at least this status; "
        "lock: exactly this",
    )
    reason: text_type(500, min_length=1)
    expires_at: AwareDatetime | None = Field(default=None, description="A floor or lock ends then")


class ReleaseIn(Input):
    what: Literal["lock", "floor"]
    reason: ShortText = ""


class HistoryQuery(ListQuery):
    client_id: Id | None = None
    status_id: Id | None = None
    cause: Literal["rule", "demotion", "manual", "lock", "floor", "expiry"] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class ReportQuery(Input):
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    bucket: Literal["day", "week", "month"] = "day"


class StatusOut(Output):
    id: int
    name: str
    position: int
    caption: str
    description: str
    colour: str
    icon: str
    visible_to_clients: bool
    grants: str
    group_id: int | None
    criteria: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class LeafOut(Output):
    path: str
    metric: str
    label: str
    operator: str
    target: Any
    current: Any
    met: bool
    score: float
    text: str  # in words: "Approved deposits (USD) at least 10,000.00: 2,500.00 so far"
    missing: str  # what is left, in words ("deposit USD 7,500.00 more"), empty when met


class EvaluationOut(Output):
    status_id: int
    name: str
    met: bool
    progress: float
    checklist: list[LeafOut]


class StandingOut(Output):
    client_id: int
    status_id: int | None
    status: str | None
    since: datetime | None
    lock: dict[str, Any] | None
    floor: dict[str, Any] | None
    next: EvaluationOut | None  # the next status up and how close the client is
    current: EvaluationOut | None  # the current status's rule (what keeps it)
    at_risk: bool  # the rules no longer hold the status: it will be lost unless kept (see keep)
    keep: list[LeafOut]  # with demotion: what the client must keep to stay


class RungOut(Output):
    id: int
    name: str
    caption: str
    colour: str


class MyStatusOut(Output):
    """What a client is shown of their own status: never a hidden status, a lock or a floor."""

    status: RungOut | None
    description: str
    grants: str
    next: RungOut | None
    progress: float = Field(ge=0, le=1)
    percent: int = Field(ge=0, le=100, description="The bar, rounded down: 100 only when reached")
    reached: bool
    top: bool
    ladder: list[RungOut]
    checklist: list[LeafOut]
    at_risk: bool
    keep: list[LeafOut]


class HistoryOut(Output):
    id: int
    client_id: int
    previous_status_id: int | None
    previous_name: str | None
    status_id: int | None
    name: str
    direction: str
    cause: str
    actor: str
    reason: str
    evaluation: dict[str, Any] | None
    created_at: datetime


class DryRunOut(Output):
    clients: int
    up: int
    down: int
    unchanged: int


class MetricOut(Output):
    name: str
    label: str
    kind: str
    operators: list[str]
    description: str
    per_currency: bool
    windowed: bool
    unit: str
    choices: list[tuple[str, str]] | None


class ByStatusOut(Output):
    status_id: int
    name: str
    clients: int


class ChangesOut(Output):
    period: str
    up: int
    down: int
    same_level: int


__all__ = [
    "AssignIn",
    "ByStatusOut",
    "ChangesOut",
    "Decimal",
    "DeleteIn",
    "DryRunIn",
    "DryRunOut",
    "EvaluationOut",
    "HistoryOut",
    "HistoryQuery",
    "Leaf",
    "LeafOut",
    "MetricOut",
    "MoneyOut",
    "Node",
    "OrderIn",
    "ReleaseIn",
    "ReportQuery",
    "StandingOut",
    "StatusIn",
    "StatusOut",
    "StatusUpdate",
]
