"""The command line's answer to a database it cannot use: one line naming the problem
and, where one exists, the command that fixes it; exit status 1, never a traceback."""

from __future__ import annotations

from typing import Any

import typer
import typer.core
from rich.console import Console

from custmaster.bootstrap import (
    BadDatabaseUrl,
    SchemaNotCurrent,
    describe_unavailable,
    is_unavailable,
)

_console = Console(stderr=True)


def one_line(error: BaseException) -> str | None:
    """The one-line message for a database error, or None for any other error."""
    if isinstance(error, BadDatabaseUrl | SchemaNotCurrent):
        return str(error)
    if is_unavailable(error):
        return f"cannot use the database: {describe_unavailable(error)}"
    return None


class DatabaseErrorsGroup(typer.core.TyperGroup):
    """The ``custmaster`` group: database errors of any command end in one line."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = one_line(error)
            if message is None:
                raise
            _console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
