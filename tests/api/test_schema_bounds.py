"""Every value a client can send is bounded, and the bounds are in the OpenAPI schema: integers and
numbers have a minimum and a maximum, strings a maximum length (or an enumeration or a format that
bounds them), lists a maximum number of items, maps a maximum number of keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

BOUNDED_FORMATS = {"date", "date-time", "time"}


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _unbounded(
    schema: dict[str, Any], where: str, document: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Iterator[str]:
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen = seen | {schema["$ref"]}
        schema = _resolve(schema, document)
    for key in ("anyOf", "oneOf", "allOf"):
        for n, option in enumerate(schema.get(key, [])):
            yield from _unbounded(option, f"{where}<{n}>", document, seen)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        if "minimum" not in schema and "exclusiveMinimum" not in schema:
            yield f"{where}: {kind} without a minimum"
        if "maximum" not in schema and "exclusiveMaximum" not in schema:
            yield f"{where}: {kind} without a maximum"
    elif kind == "string":
        if "maxLength" not in schema and "enum" not in schema and schema.get("format") not in BOUNDED_FORMATS:
            yield f"{where}: string without maxLength"
    elif kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: array without maxItems"
        yield from _unbounded(schema.get("items", {}), f"{where}[]", document, seen)
    elif kind == "object" or "properties" in schema:
        for name, prop in schema.get("properties", {}).items():
            yield from _unbounded(prop, f"{where}.{name}", document, seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                yield f"{where}: map without maxProperties"
            yield from _unbounded(extra, f"{where}{{}}", document, seen)
            if "propertyNames" in schema:
                yield from _unbounded(schema["propertyNames"], f"{where}{{key}}", document, seen)


def _request_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield f"{label} {parameter['in']}:{parameter['name']}", parameter["schema"]
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{label} body({media})", content["schema"]


def test_every_request_value_is_bounded_in_the_schema(crm_app):
    document = crm_app.openapi()
    problems = [
        p for where, schema in _request_schemas(document) for p in _unbounded(schema, where, document)
    ]
    assert problems == [], "\n".join(problems)


def test_the_checker_sees_an_unbounded_value():
    document = {"components": {"schemas": {}}}
    found = list(_unbounded({"type": "object", "properties": {"n": {"type": "integer"}}}, "x", document))
    assert found == ["x.n: integer without a minimum", "x.n: integer without a maximum"]
