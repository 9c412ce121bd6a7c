"""Contract types of our own for import-linter (configured in ``.importlinter``).

* ``acyclic``: no import cycle among the modules of a package (run-time imports).
* ``private_names``: a name starting with ``_`` is imported only within its own package.
* ``surface``: some packages reach another only through its public module (plugins -> core.sdk).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from typing import Any

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (the graph is a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = []
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, sorted(graph.find_modules_directly_imported_by(root) & modules)))
        while work:
            node, pending = work[-1]
            if pending:
                child = pending.pop()
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph.find_modules_directly_imported_by(child) & modules)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


class AcyclicContract(Contract):
    type_name = "acyclic"
    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = {
            module
            for package in self.packages  # type: ignore[attr-defined]
            for module in {package, *graph.find_descendants(package)}
        }
        cycles = _strongly_connected(graph, modules)
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(f"- a cycle through {len(cycle)} modules: {', '.join(cycle)}", bold=False)


def _package(module: str) -> str:
    return module.rsplit(".", 1)[0]


@functools.cache
def _names_by_line(module: str) -> dict[int, list[str]]:
    """The names each ``from … import`` statement of a module takes, by its first line (a
    statement may span several lines, and grimp reports only the first)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return {}
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    return {
        node.lineno: [alias.name for alias in node.names]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }


class PrivateNamesContract(Contract):
    type_name = "private_names"
    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        found: list[dict[str, Any]] = []
        for package in self.packages:  # type: ignore[attr-defined]
            for importer in sorted(graph.find_descendants(package) | {package}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if graph.is_module_squashed(imported) or _package(importer) == _package(imported):
                        continue  # another distribution's privates are its business (and ruff's)
                    for detail in graph.get_import_details(importer=importer, imported=imported):
                        private = [
                            name
                            for name in _names_by_line(importer).get(detail["line_number"], [])
                            if name.startswith("_") and not name.startswith("__")
                        ]
                        last = imported.rsplit(".", 1)[-1]
                        if private or (last.startswith("_") and not last.startswith("__")):
                            found.append({**detail, "imported": imported, "names": private})
        return ContractCheck(kept=not found, metadata={"found": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Private names imported from another package:", bold=False)
        for item in check.metadata["found"]:
            output.print_error(
                f"- {item['importer']} -> {item['imported']} (l.{item['line_number']}: "
                f"{item['line_contents']})",
                bold=False,
            )


class SurfaceContract(Contract):
    type_name = "surface"
    source_modules = fields.ListField(subfield=fields.StringField())
    package = fields.StringField()
    surface = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        package, surface = self.package, self.surface  # type: ignore[attr-defined]
        found: list[dict[str, Any]] = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            for importer in sorted(graph.find_descendants(source) | {source}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    inside = imported == package or imported.startswith(package + ".")
                    allowed = imported == surface or imported.startswith(surface + ".")
                    if inside and not allowed:
                        found.extend(graph.get_import_details(importer=importer, imported=imported))
        return ContractCheck(kept=not found, metadata={"found": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error(f"Imports that go around {self.surface}:", bold=False)  # type: ignore[attr-defined]
        for item in check.metadata["found"]:
            output.print_error(
                f"- {item['importer']} -> {item['imported']} (l.{item['line_number']}: "
                f"{item['line_contents']})",
                bold=False,
            )
