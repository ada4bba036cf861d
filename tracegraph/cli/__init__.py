"""The `tracegraph` command line: a thin shell over the library (`tracegraph.tracing`).

options.py    the options the commands share, and what they parse into
outputs.py    outputs checked before the crawl, rendered, delivered at once
progress.py   the live progress line
terminal.py   errors and warnings on stderr, neutralised
commands.py   unit, batch, impact, batches, diff
"""

from tracegraph.cli.commands import main

__all__ = ["main"]
