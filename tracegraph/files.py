"""Writing output files so that an error never leaves one half-written or replaced."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping

from tracegraph.errors import ExportError

_DEFERRED = {signal.SIGINT, signal.SIGTERM}
WRITTEN = "tracegraph: every output file was written"  # a note on an interrupt that came after


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (the main thread only: others get none)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def write_atomically(files: Mapping[str, bytes]) -> None:
    """Write every file, or none: temporary files first, renamed once all are written.

    A target that exists but is not a regular file (`/dev/stdout`, a pipe,
    `/dev/full` behind a symlink) cannot be replaced, only written in place:
    it is written after every regular file is staged and before any is
    renamed, so that a failure there (or Ctrl-C, or SIGTERM) replaces
    nothing. The renames themselves run with those signals held back, so
    that the outputs change together. On any failure the temporary files go.
    """
    umask = os.umask(0)
    os.umask(umask)
    staged: list[tuple[str, str]] = []
    in_place: list[tuple[str, bytes]] = []
    current = ""
    try:
        for current, data in files.items():
            if os.path.exists(current) and not os.path.isfile(current):
                in_place.append((current, data))
                continue
            directory = os.path.dirname(os.path.abspath(current))
            # A signal between creating the file and noting it would leave it behind.
            with _signals_deferred():
                handle, temporary = tempfile.mkstemp(
                    dir=directory, prefix=f".{os.path.basename(current)}.", suffix=".tmp"
                )
                staged.append((temporary, current))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            exists = os.path.exists(current)
            os.chmod(temporary, os.stat(current).st_mode & 0o7777 if exists else 0o666 & ~umask)
        for current, data in in_place:
            with open(current, "wb") as stream:
                stream.write(data)
        with _signals_deferred():
            for temporary, current in staged:
                os.replace(temporary, current)
            staged.clear()
            current = ""
    except BaseException as error:  # an OSError, Ctrl-C, SIGTERM: no temporary file stays
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(error, KeyboardInterrupt) and not current:
            error.add_note(WRITTEN)  # held back during the renames, it came once they were done
        if isinstance(error, OSError):
            raise ExportError(f"cannot write {current!r}: {error.strerror}") from None
        raise
