"""Plugin manifests: validated against the JSON Schema core publishes, then checked for what a
schema cannot say (names share the plugin's prefix, versions and ranges parse, the settings schema
is itself a valid schema)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from core import reference

SCHEMA_FILE = "manifest.schema.json"


class ManifestError(ValueError):
    """An invalid manifest; ``problems`` lists ``(json_path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


@cache
def manifest_schema() -> dict[str, Any]:
    text = resources.files("core.plugins").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(manifest_schema(), format_checker=FormatChecker())


@dataclass(frozen=True)
class Requirement:
    name: str
    specifier: SpecifierSet


@dataclass(frozen=True)
class Manifest:
    name: str
    display_name: str
    version: Version
    summary: str
    description: str
    category: str
    vendor: dict[str, str]
    price: dict[str, str]
    install_policy: str
    requires: tuple[Requirement, ...]
    core: SpecifierSet
    hooks: SpecifierSet
    permissions: tuple[dict[str, str], ...]
    settings_schema: dict[str, Any]
    jobs: tuple[dict[str, str], ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_free(self) -> bool:
        return self.price["model"] == "free"

    @property
    def self_service(self) -> bool:
        return self.install_policy == "self_service"

    def job_names(self) -> set[str]:
        return {job["name"] for job in self.jobs}


def _problem(error: ValidationError) -> tuple[str, str]:
    """Where an error is, as precisely as possible: a missing field's own path, and for a value
    matching none of several shapes, the closest shape's complaint."""
    if error.validator == "required":
        missing = re.match(r"'([^']+)'", error.message)
        if missing:
            return f"{error.json_path}.{missing.group(1)}", "is required"
    if error.validator in ("oneOf", "anyOf") and error.context:
        # Blame the branch the document chose (the one whose constants it matches, like
        # "model": "paid"), not whichever branch failed least.
        by_branch: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        chosen = [errs for errs in by_branch.values() if all(e.validator != "const" for e in errs)]
        return _problem(best_match(chosen[0] if len(chosen) == 1 else error.context))
    return error.json_path, error.message


def parse_manifest(data: Any) -> Manifest:
    """Validate a manifest (already decoded from JSON) and return it, or raise ManifestError."""
    problems = sorted(_problem(error) for error in _validator().iter_errors(data))
    if problems:
        raise ManifestError(problems)
    name = data["name"]
    prefix = f"{name}."
    if data.get("events"):
        logging.getLogger("crm.plugins").warning(
            "plugin %s: the manifest's 'events' field is deprecated since contract 1.3 and ignored", name
        )

    def spec(path: str, text: str) -> SpecifierSet:
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            problems.append((path, f"{text!r} is not a version range such as '>=1.0,<2'"))
            return SpecifierSet()

    try:
        version = Version(data["version"])
    except InvalidVersion:
        problems.append(("$.version", f"{data['version']!r} is not a PEP 440 version"))
        version = Version("0")
    core = spec("$.core", data["core"])
    hooks = spec("$.hooks", data["hooks"])
    requires = tuple(
        Requirement(r["name"], spec(f"$.requires[{i}].version", r.get("version", "")))
        for i, r in enumerate(data.get("requires", []))
    )
    for i, requirement in enumerate(requires):
        if requirement.name == name:
            problems.append((f"$.requires[{i}].name", "a plugin cannot require itself"))
    for kind in ("permissions", "jobs", "events"):
        for i, item in enumerate(data.get(kind, [])):
            if not item["name"].startswith(prefix):
                problems.append((f"$.{kind}[{i}].name", f"must start with {prefix!r}"))
    seen = [p["name"] for p in data.get("permissions", [])]
    if len(seen) != len(set(seen)):
        problems.append(("$.permissions", "permission names must be distinct"))
    if data["price"]["model"] == "paid":
        amount = Decimal(data["price"]["amount"])
        currency = data["price"]["currency"]
        if not reference.is_currency(currency):
            problems.append(("$.price.currency", f"unknown ISO 4217 currency {currency!r}"))
        elif not reference.has_valid_precision(amount, currency) or amount <= 0:
            problems.append(("$.price.amount", f"not a positive amount in {currency}"))
    settings_schema = data.get("settings_schema", {"type": "object", "properties": {}})
    try:
        Draft202012Validator.check_schema(settings_schema)
        if settings_schema.get("type") != "object":
            problems.append(("$.settings_schema.type", 'settings are an object: use "type": "object"'))
    except SchemaError as error:
        problems.append(("$.settings_schema", f"not a valid JSON Schema: {error.message}"))
    if problems:
        raise ManifestError(problems)
    return Manifest(
        name=name,
        display_name=data["display_name"],
        version=version,
        summary=data["summary"],
        description=data.get("description", ""),
        category=data["category"],
        vendor=dict(data["vendor"]),
        price=dict(data["price"]),
        install_policy=data["install_policy"],
        requires=requires,
        core=core,
        hooks=hooks,
        permissions=tuple(data.get("permissions", [])),
        settings_schema=settings_schema,
        jobs=tuple(data.get("jobs", [])),
        raw=data,
    )


def load_manifest(package: str) -> Manifest:
    """Read and parse ``manifest.json`` from a plugin's package."""
    try:
        text = resources.files(package).joinpath("manifest.json").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as error:
        raise ManifestError([("$", f"no manifest.json in package {package!r} ({error})")]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError([("$", f"manifest.json is not valid JSON: {error}")]) from None
    return parse_manifest(data)
