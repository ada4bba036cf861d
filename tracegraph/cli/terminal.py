"""What the command prints on stderr: errors, warnings, retries.

Text from the server (error messages, serial numbers in warnings) goes
through one neutraliser, `escape.terminal_text`, so that no escape sequence,
carriage return or bidi override reaches the terminal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import NoReturn

import click

from tracegraph.errors import TracegraphError
from tracegraph.escape import terminal_text
from tracegraph.files import WRITTEN

WARNINGS_SHOWN = 20


def echo_err(message: str) -> None:
    """One line on stderr, neutralised."""
    click.echo(terminal_text(message), err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    echo_err(f"Error: {message}")
    sys.exit(code)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a container stopping, `kill`), met like Ctrl-C: every temporary file goes."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can take signals
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: the reader is gone, and Python's last flush must not fail."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextlib.contextmanager
def error_edge(verbose: bool) -> Iterator[None]:
    """Turn every error into one `Error:` line and exit 1 (a traceback only with -v).

    Ctrl-C exits 130 and SIGTERM 143, each with one line; a reader of stdout
    that went away (`| head`) ends the command quietly with 141, as SIGPIPE
    would: never as a success.
    """
    try:
        with _sigterm_as_interrupt():
            yield
    except TracegraphError as error:
        if verbose:
            traceback.print_exc()
        fail(str(error))
    except KeyboardInterrupt as interrupt:
        what, code = (
            ("terminated", 143) if isinstance(interrupt, Terminated) else ("interrupted", 130)
        )
        written = WRITTEN in getattr(interrupt, "__notes__", ())
        fail(
            f"{what}; " + ("the output files were written" if written else "nothing was written"),
            code,
        )
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(141)
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
