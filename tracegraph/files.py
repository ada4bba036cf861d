"""Writing output files so that an error never leaves one half-written or replaced."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping

from tracegraph.errors import ExportError


def write_atomically(files: Mapping[str, bytes]) -> None:
    """Write every file, or none: temporary files first, renamed once all are written.

    A target that exists but is not a regular file (`/dev/stdout`, a pipe) is
    written in place, after every other file is ready, never replaced.
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
            handle, temporary = tempfile.mkstemp(
                dir=directory, prefix=f".{os.path.basename(current)}.", suffix=".tmp"
            )
            staged.append((temporary, current))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            exists = os.path.exists(current)
            os.chmod(temporary, os.stat(current).st_mode & 0o7777 if exists else 0o666 & ~umask)
        for temporary, current in staged:
            os.replace(temporary, current)
        staged.clear()
        for current, data in in_place:
            with open(current, "wb") as stream:
                stream.write(data)
    except OSError as error:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise ExportError(f"cannot write {current!r}: {error.strerror}") from None
