"""``crm plugins new NAME``: a plugin package that works, and passes its own test, out of the box.

The package has the same furniture as every bundled module: manifest, hooks, models, service,
routes, pages and their templates, migrations, tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template

from alembic.script import ScriptDirectory

from core import __version__
from core.contract import HOOKS_VERSION
from core.db.migrate import alembic_config

NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ScaffoldError(ValueError):
    pass


def _core_head() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_revisions("core@head")
    return heads[0].revision


def _manifest(name: str, title: str, vendor: str) -> str:
    major = int(__version__.split(".")[0])
    return (
        json.dumps(
            {
                "name": name,
                "display_name": title,
                "version": "0.1.0",
                "summary": f"{title}: greetings for clients, and a daily count of them.",
                "description": "Describe what brokers get from this module.",
                "category": "other",
                "vendor": {"name": vendor},
                "price": {"model": "free"},
                "install_policy": "self_service",
                "core": f">={__version__},<{major + 1}",
                "hooks": f">={HOOKS_VERSION},<{int(HOOKS_VERSION.split('.')[0]) + 1}",
                "permissions": [
                    {"name": f"{name}.read", "label": f"Read {title}", "description": "See greetings."},
                    {"name": f"{name}.write", "label": f"Write {title}", "description": "Send greetings."},
                ],
                "settings_schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "signature": {"type": "string", "maxLength": 100, "default": "Your broker"}
                    },
                },
                "jobs": [
                    {"name": f"{name}.daily_count", "description": "Counts the greetings sent each day."}
                ],
            },
            indent=2,
        )
        + "\n"
    )


TEMPLATE = Path(__file__).parent / "template"  # files named *.tmpl; "_name_" in a path is the name


def scaffold(name: str, target: Path, *, vendor: str = "My Company") -> Path:
    if not NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: lower-case letters, digits and _, starting with a letter"
        )
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} exists and is not empty")
    from datetime import date

    title = name.replace("_", " ").title()
    values = {
        "name": name,
        "dist": name.replace("_", "-"),
        "title": title,
        "core_version": __version__,
        "core_head": _core_head(),
        "today": date.today().isoformat(),
    }
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = str(source.relative_to(TEMPLATE)).removesuffix(".tmpl").replace("_name_", name)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(source.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    (target / name / "manifest.json").write_text(_manifest(name, title, vendor), encoding="utf-8")
    return target
