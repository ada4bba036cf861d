"""The live progress line of a crawl, on stderr when it is a terminal."""

from __future__ import annotations

import sys
import time

from tracegraph.genealogy import Progress


class ProgressLine:
    """Live progress on stderr when it is a terminal; silent otherwise.

    It keeps the last report, which `-v` summarises at the end.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last_shown = 0.0
        self.shown = False
        self.latest = Progress(0, 0, 0)

    def __call__(self, progress: Progress) -> None:
        self.latest = progress
        now = time.monotonic()
        if not self.enabled or now - self.last_shown < 0.1:
            return
        self.last_shown = now
        self.shown = True
        sys.stderr.write(
            f"\rfetched {progress.fetched} units, {progress.in_flight} in flight, "
            f"{progress.queued} queued\x1b[K"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
