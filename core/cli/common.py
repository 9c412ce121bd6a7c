"""What every ``crm`` command shares: consoles and error reporting.

Kept light on purpose: ``crm --help`` imports this, so anything heavy is imported by the command
that needs it, when it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

# Wide enough that no line the CLI prints is ever wrapped, small enough that nothing rendered
# "to the full width" would be absurd.
UNWRAPPED_WIDTH = 10_000


class CliConsole(Console):
    """Rich formatting on a terminal; anywhere else (a pipe, a file, a log) lines are never wrapped.

    Rich would wrap a non-terminal at 80 columns, splitting URLs and messages that scripts grep.
    Decided on every write, since the same console may write to a terminal or, in tests, a buffer.
    """

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(UNWRAPPED_WIDTH, size.height)


console = CliConsole()
errors = CliConsole(stderr=True)


def fail(*lines: str) -> typer.Exit:
    """Print an error (first line marked, markup already escaped by the caller) and give exit code 1."""
    errors.print(f"[red]error:[/red] {lines[0]}")
    for line in lines[1:]:
        errors.print(line)
    return typer.Exit(1)


def one_line(text: object) -> str:
    """A driver's multi-line message as one line (whitespace collapsed)."""
    return " ".join(str(text).split())


@contextmanager
def reported(*expected: type[Exception]) -> Iterator[None]:
    """Turn expected failures into a message and exit code 1 (no traceback).

    ``expected`` adds exception types whose message says everything (e.g. ``MissingMigrations``).
    """
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from core.errors import DomainError

    try:
        yield
    except DomainError as error:
        errors.print(f"[red]error:[/red] {escape(error.message)}")
        for field in error.fields:
            errors.print(f"  {escape(field.field)}: {escape(field.message)}")
        raise typer.Exit(1) from None
    except ValidationError as error:
        errors.print("[red]error:[/red] invalid input")
        for item in error.errors():
            errors.print(f"  {escape('.'.join(str(p) for p in item['loc']))}: {escape(item['msg'])}")
        raise typer.Exit(1) from None
    except DBAPIError as error:
        # A lost connection, a schema older than this code, a constraint: say which, not where.
        raise fail(
            f"the database refused: {escape(one_line(error.orig))}",
            "  (crm db status says whether migrations are pending)",
        ) from None
    except expected as error:
        raise fail(escape(str(error))) from None
