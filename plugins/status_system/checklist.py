"""One client's evaluation in words and figures: what is met and what is missing, per condition.

It reads the evaluator's results (``criteria.Evaluation``) for the client's position in the arrays:
the checklist never decides anything itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.sdk import ClientMetric, Ctx, display_amount
from plugins.status_system.criteria import Evaluation, Facts, LeafResult, need_of

WORDS = {
    ">=": "at least",
    ">": "more than",
    "<=": "at most",
    "<": "less than",
    "==": "exactly",
    "is": "is",
    "in": "one of",
    "not_in": "none of",
    "includes_all": "all of",
    "includes_any": "any of",
    "excludes": "none of",
}


def _money(amount: Decimal, currency: str | None) -> str:
    if currency is None:
        return f"{amount:,}"
    return f"{currency} {display_amount(Decimal(amount), currency):,}"


CHOICES = "status_system.choices"


def choice_names(ctx: Ctx, metric: ClientMetric) -> dict[str, str]:
    """A choice or set metric's values by label, read once per unit of work (a batch chunk words
    hundreds of checklists; some metrics' choices are a query)."""
    cache: dict[str, dict[str, str]] = ctx.session.info.setdefault(CHOICES, {})
    if metric.name not in cache:
        cache[metric.name] = dict(metric.choices(ctx)) if metric.choices else {}
    return cache[metric.name]


def _labels(ctx: Ctx, metric: ClientMetric, values: Any) -> str:
    names = choice_names(ctx, metric)
    return ", ".join(names.get(str(v), str(v)) for v in values) or "none"


def _negated(path: str) -> bool:
    return path.count(".not") % 2 == 1


def describe(
    ctx: Ctx,
    evaluation: Evaluation,
    facts: Facts,
    at: int,
    metrics: dict[str, ClientMetric] | Any,
    *,
    keeping: bool = False,
) -> list[dict[str, Any]]:
    """The checklist of client ``facts.ids[at]`` for one evaluated tree."""
    client_id = int(facts.ids[at])
    return [_item(ctx, result, facts, at, client_id, metrics, keeping) for result in evaluation.leaves]


def _item(
    ctx: Ctx, result: LeafResult, facts: Facts, at: int, client_id: int, metrics: Any, keeping: bool
) -> dict[str, Any]:
    leaf = result.leaf
    metric: ClientMetric = metrics[leaf["metric"]]
    current = facts.value_of(need_of(leaf), client_id, metric.kind)
    negated = _negated(result.path)
    met = bool(result.met[at]) != negated
    operator = leaf["operator"]
    label = metric.label + (f" ({leaf['currency']})" if leaf.get("currency") else "")
    if leaf.get("window_days"):
        label += f", last {leaf['window_days']} days"
    missing = ""
    if metric.kind in ("amount", "number"):
        target = Decimal(result.target)
        unit = f" {metric.unit}" if metric.unit else ""
        if metric.kind == "amount":
            shown_target, shown_current = (
                _money(target, leaf.get("currency")),
                _money(current, leaf.get("currency")),
            )
        else:
            shown_target, shown_current = f"{target:,}{unit}", f"{current:,}{unit}"
        text = f"{label}: {WORDS[operator]} {shown_target} (now {shown_current})"
        if not met and operator in (">=", ">") and not negated:
            short = target - Decimal(current) + (0 if operator == ">=" else Decimal("0.01"))
            amount = _money(short, leaf.get("currency")) if metric.kind == "amount" else f"{short:,}{unit}"
            verb = "keep" if keeping else "need"
            missing = f"{verb} {amount} more: {metric.label.lower()}"
        target_out: Any = str(target)
        current_out: Any = str(current)
    elif metric.kind == "flag":
        text = f"{label}: {'yes' if leaf['value'] else 'no'}"
        target_out, current_out = leaf["value"], bool(current)
        missing = "" if met else f"needed: {label.lower()} {'yes' if leaf['value'] else 'no'}"
    elif metric.kind == "choice":
        text = f"{label}: {WORDS[operator]} {_labels(ctx, metric, leaf['value'])}"
        target_out, current_out = list(leaf["value"]), current
        if not met:
            missing = f"{label}: {_labels(ctx, metric, [current]) if current else 'not set'} does not qualify"
    else:
        held = set(current or ())
        text = f"{label}: {WORDS[operator]} {_labels(ctx, metric, leaf['value'])}"
        target_out, current_out = list(leaf["value"]), sorted(held)
        if not met and operator in ("includes_all", "includes_any") and not negated:
            lacking = [v for v in leaf["value"] if v not in held]
            missing = f"still missing: {_labels(ctx, metric, lacking)}"
        elif not met:
            missing = f"{label}: {_labels(ctx, metric, sorted(held & set(leaf['value'])))} does not qualify"
    if negated:
        text = f"not: {text}"
    score = 1.0 if met else (float(result.score[at]) if not negated else 0.0)
    return {
        "path": result.path,
        "metric": leaf["metric"],
        "label": label,
        "operator": ("not " if negated else "") + operator,
        "target": target_out,
        "current": current_out,
        "met": met,
        "score": round(score, 4),
        "text": text,
        "missing": missing,
    }
