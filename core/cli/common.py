"""What every ``crm`` command shares: consoles, the runtime, and error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console

from core.db.migrate import MissingMigrations
from core.errors import DomainError
from core.runtime import Runtime

console = Console()
errors = Console(stderr=True)


@contextmanager
def reported() -> Iterator[None]:
    """Turn expected failures into a message and exit code 1 (no traceback)."""
    try:
        yield
    except DomainError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        for field in error.fields:
            errors.print(f"  {field.field}: {field.message}")
        raise typer.Exit(1) from None
    except MissingMigrations as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    except ValidationError as error:
        errors.print("[red]error:[/red] invalid input")
        for item in error.errors():
            errors.print(f"  {'.'.join(str(p) for p in item['loc'])}: {item['msg']}")
        raise typer.Exit(1) from None


def runtime() -> Runtime:
    return Runtime.from_settings()
