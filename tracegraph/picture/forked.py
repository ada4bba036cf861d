"""A big picture's boxes written by two processes: this one and a fork of it.

Writing 100,000 boxes as SVG or PDF is pure Python work, one box at a time,
and it took most of the picture's time on one core. On a machine with more
cores, a fork (which shares the placed picture, copy-on-write, with no copy
made up front) writes one share of the boxes while this process writes the
rest, and sends its bytes back through a pipe, read by a thread here as they
come so that neither side waits on the other. The parts are joined in
order, so the file is byte for byte what one process writes.

Only on Linux, only with more than one core, only for big pictures, and
only when this process runs no other thread (a fork copies just the thread
that forks): otherwise, and whenever the fork fails, everything is written
here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable

from tracegraph.errors import TracegraphWarning

FORK_ABOVE = 20_000  # boxes: below this, a fork costs more than it saves


def _forkable(boxes: int) -> bool:
    return (
        sys.platform.startswith("linux")
        and boxes > FORK_ABOVE
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
        # A process that ignores SIGCHLD cannot wait for its fork (the kernel reaps it).
        and signal.getsignal(signal.SIGCHLD) is not signal.SIG_IGN
    )


def in_two(
    boxes: int,
    share: float,
    write: Callable[[int, int], bytes],
    rest: Callable[[], bytes],
) -> list[bytes]:
    """`write(0, split)`, `write(split, boxes)` and `rest()`, in that order.

    The middle part, `share` of the boxes, is written by a fork when
    `_forkable`, while this process writes the first part and `rest` (the
    edges); else all here. The parts are the same either way.
    """
    split = boxes - round(boxes * share)
    if not _forkable(boxes):
        return [write(0, split), write(split, boxes), rest()]
    read, send = os.pipe()
    try:
        child = os.fork()
    except OSError:
        os.close(read)
        os.close(send)
        return [write(0, split), write(split, boxes), rest()]
    if child == 0:  # the fork: write its part into the pipe, then leave at once
        status = 1
        try:
            os.close(read)
            with os.fdopen(send, "wb") as stream:
                stream.write(write(split, boxes))
            status = 0
        finally:
            os._exit(status)  # no cleanup of the parent's: its files and handlers are not ours
    os.close(send)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_drained(read)), daemon=True)
    reader.start()
    try:
        first, last = write(0, split), rest()
        reader.join()
    except BaseException:  # Ctrl-C, SIGTERM, a failure: the fork's part is not wanted
        os.kill(child, signal.SIGKILL)
        raise
    finally:
        ended = _reaped(child)  # on every way out: no fork is left running, nor a zombie
    if received and ended == 0:
        return [first, received[0], last]
    warnings.warn(
        TracegraphWarning(
            "a second process could not write its part of the picture; it is written here "
            "(the picture is the same, in more time)"
        ),
        stacklevel=3,
    )
    return [first, write(split, boxes), last]


def _reaped(child: int) -> int | None:
    """The fork's exit status once it has ended (None: unknown, it was reaped elsewhere)."""
    try:
        _, status = os.waitpid(child, 0)
    except ChildProcessError:
        return None
    return status


def _drained(descriptor: int) -> bytes:
    with os.fdopen(descriptor, "rb") as stream:
        return stream.read()
