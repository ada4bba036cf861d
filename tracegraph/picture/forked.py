"""A big picture's boxes written by a fork that starts while the picture is planned.

Writing 100,000 boxes as SVG or PDF is pure Python work, one box at a time,
and so is planning them (their sizes, the tree layout). On a machine with
more cores, a fork of this process (which shares everything made so far,
copy-on-write, with no copy made up front) starts once the boxes' texts and
looks are known: while this process lays the boxes out, the fork prepares
every box's markup but its coordinates; then it is sent the boxes' places,
a few numbers each, and the routes of the last edges through a pipe, and
writes those boxes and edges while this process writes the other edges. A
thread here sends the message and reads the fork's parts as they come, so
that neither side waits on the other. The file is byte for byte what one
process writes: both run the same code and write the same parts.

Only on Linux, only with more than one core, only for big pictures, and
only when this process runs no other thread (a fork copies just the thread
that forks): otherwise, and whenever the fork fails, everything is written
here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
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


class Ahead:
    """A fork that prepares the boxes now and writes them once told where they go.

    `prepare()` runs in the fork at once and returns what turns the places
    (`send`) into the parts it writes (the boxes, the last edges). Use it as
    a context manager: on every way out, the fork is ended and reaped.
    `running` is false when no fork was made (then the caller writes all).
    """

    def __init__(self, boxes: int, prepare: Callable[[], Callable[[bytes], list[bytes]]]) -> None:
        self.child: int | None = None
        self.received: list[bytes] = []
        self.exchange: threading.Thread | None = None
        if not _forkable(boxes):
            return
        pipes: list[int] = []
        try:
            pipes += os.pipe()
            pipes += os.pipe()
            child = os.fork()
        except OSError:
            for descriptor in pipes:
                os.close(descriptor)
            return
        to_fork, from_here, to_here, from_fork = pipes
        if child == 0:  # the fork: prepare, wait for the places, write, then leave at once
            status = 1
            try:
                os.close(from_here)
                os.close(to_here)
                finish = prepare()
                places = _drained(to_fork)
                parts = finish(places)
                with os.fdopen(from_fork, "wb") as stream:
                    stream.write(struct.pack(f"<{len(parts) + 1}Q", len(parts), *map(len, parts)))
                    for part in parts:
                        stream.write(part)
                status = 0
            finally:
                os._exit(status)  # no cleanup of the parent's: its files and handlers are not ours
        os.close(to_fork)
        os.close(from_fork)
        self.child, self.sending, self.reading = child, from_here, to_here

    @property
    def running(self) -> bool:
        return self.child is not None

    def send(self, places: bytes) -> None:
        """The boxes' places, for the fork, which starts writing them (not waited for)."""
        assert self.child is not None and self.exchange is None

        def exchange() -> None:
            try:
                with os.fdopen(self.sending, "wb") as stream:
                    stream.write(places)
            except OSError:  # the fork has gone: its part is written here
                os.close(self.reading)
                return
            self.received.append(_drained(self.reading))

        self.exchange = threading.Thread(target=exchange, daemon=True)
        self.exchange.start()

    def parts(self) -> list[bytes] | None:
        """What the fork wrote, once it has ended; None if it failed (with a warning)."""
        assert self.child is not None and self.exchange is not None
        self.exchange.join()
        ended, self.child = _reaped(self.child), None
        parts = _unframed(self.received[0]) if self.received and ended == 0 else None
        if parts is not None:
            return parts
        warnings.warn(
            TracegraphWarning(
                "a second process could not write its part of the picture; it is written here "
                "(the picture is the same, in more time)"
            ),
            stacklevel=3,
        )
        return None

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *_: object) -> None:
        """On every way out (Ctrl-C, SIGTERM, a failure, no need of it): no fork is left."""
        if self.child is None:
            return
        try:
            with contextlib.suppress(ProcessLookupError):  # reaped already, by a handler
                os.kill(self.child, signal.SIGKILL)
            _reaped(self.child)
        finally:
            self.child = None
            if self.exchange is None:
                os.close(self.sending)
                os.close(self.reading)
            else:
                self.exchange.join()


def shared(
    ahead: Ahead | None,
    message: Callable[[], bytes],
    own: Callable[[], bytes],
    theirs: Callable[[], list[bytes]],
) -> tuple[list[bytes], bytes]:
    """`theirs()` and `own()`: the fork's parts, written there once sent `message()`, and this
    process's, written meanwhile; without a fork, or when it failed, all are written here.
    """
    if ahead is None or not ahead.running:
        return theirs(), own()
    ahead.send(message())
    mine = own()
    parts = ahead.parts()
    return (theirs() if parts is None else parts), mine


def _unframed(data: bytes) -> list[bytes] | None:
    """The parts the fork wrote: their count and lengths, then each (None: not all came)."""
    try:
        (count,) = struct.unpack_from("<Q", data)
        lengths = struct.unpack_from(f"<{count}Q", data, 8)
    except struct.error:
        return None
    parts, at = [], 8 * (count + 1)
    if at + sum(lengths) != len(data):  # not all of it came
        return None
    for length in lengths:
        parts.append(data[at : at + length])
        at += length
    return parts


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
