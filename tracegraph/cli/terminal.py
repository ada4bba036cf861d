"""What the command prints on stderr: errors, warnings, retries.

Text from the server (error messages, serial numbers in warnings) goes
through one neutraliser, `escape.terminal_text`, so that no escape sequence,
carriage return or bidi override reaches the terminal.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import NoReturn

import click

from tracegraph.errors import TracegraphError
from tracegraph.export.escape import terminal_text

WARNINGS_SHOWN = 20


def echo_err(message: str) -> None:
    """One line on stderr, neutralised."""
    click.echo(terminal_text(message), err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    echo_err(f"Error: {message}")
    sys.exit(code)


@contextlib.contextmanager
def error_edge(verbose: bool) -> Iterator[None]:
    """Turn every error into one `Error:` line and exit 1 (a traceback only with -v)."""
    try:
        yield
    except TracegraphError as error:
        if verbose:
            traceback.print_exc()
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; nothing was written", 130)
    except (click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except Exception as error:  # the last line of defence: no bare traceback
        if verbose:
            traceback.print_exc()
        fail(f"unexpected {type(error).__name__}: {error} (rerun with -v for details)")


def report_warnings(warnings: Sequence[str], quiet: bool) -> None:
    if quiet or not warnings:
        return
    for warning in warnings[:WARNINGS_SHOWN]:
        echo_err(f"Warning: {warning}")
    if len(warnings) > WARNINGS_SHOWN:
        echo_err(
            f"Warning: ... and {len(warnings) - WARNINGS_SHOWN} more (all are in the JSON export)"
        )
