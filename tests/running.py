"""Running the command in tests: in-process with click's CliRunner (fast), or as a
real subprocess for the few end-to-end paths that need one (signals, terminals)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

from click.testing import CliRunner

from tests.conftest import API_KEY
from tests.tofupilot_server import TofuPilotServer
from tracegraph.cli import main

EPOCH = "1795000000"


@dataclass
class Run:
    code: int
    out: str
    err: str


def _environment(server: TofuPilotServer | None, env: dict[str, str]) -> dict[str, str | None]:
    environment: dict[str, str | None] = {
        "TOFUPILOT_API_URL": None,
        "TOFUPILOT_API_KEY": None,
        "SOURCE_DATE_EPOCH": EPOCH,
    }
    if server is not None:
        environment["TOFUPILOT_API_URL"] = server.url
        environment["TOFUPILOT_API_KEY"] = API_KEY
    environment.update(env)
    return environment


def _checked(run: Run, args: tuple[str, ...]) -> Run:
    if "-v" not in args:
        assert "Traceback" not in run.err, run.err
    assert API_KEY not in run.out + run.err
    return run


def tracegraph(*args: str, server: TofuPilotServer | None = None, **env: str) -> Run:
    """The command, in-process: exit code, stdout and stderr."""
    result = CliRunner(env=_environment(server, env)).invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return _checked(Run(result.exit_code, result.stdout, result.stderr), args)


def tracegraph_process(
    *args: str, server: TofuPilotServer | None = None, timeout: float = 120, **env: str
) -> Run:
    """The command as a real process (`python -m tracegraph`)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOFUPILOT_")}
    environment.update({k: v for k, v in _environment(server, env).items() if v is not None})
    done = subprocess.run(
        [sys.executable, "-m", "tracegraph", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
    return _checked(Run(done.returncode, done.stdout, done.stderr), args)


def one_error_line(run: Run, code: int = 1) -> str:
    assert run.code == code, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.err
    return lines[0]


def read_terminal(leader: int) -> bytes:
    """Everything written to a pseudo-terminal whose other end is closed; closes it."""
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # Linux: EIO once the other end is closed and drained
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return shown
