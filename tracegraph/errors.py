"""Errors tracegraph reports to the person at the terminal.

    TracegraphError                 base: every message is one sentence for a person
     ├── SourceError                the genealogy data could not be read
     │    ├── NotFoundError         the API or snapshot has no such unit or batch (404)
     │    ├── RefusedError          the API refuses an identifier (400, 414, 422)
     │    ├── AuthError             the API refused the key (401/403) or no key was given
     │    ├── TransportError        network errors, 429 or 5xx that outlasted the retries
     │    ├── ApiError              any other answer the API should not give (400, bad JSON)
     │    ├── SnapshotError         a snapshot file that cannot be read or is not a snapshot
     │    └── StoreError            a store that cannot be opened, read or written
     ├── CrawlLimitError            the genealogy grew past --max-units
     └── ExportError                a format could not be produced (Graphviz missing or failing)

The CLI catches these at its edge and prints ``Error: <message>``; nothing else
in the package prints. What went right but not as asked (a PNG scaled down to
fit) is a `TracegraphWarning`, through Python's `warnings`: the CLI prints it
as ``Warning: <message>``.
"""

from __future__ import annotations


class TracegraphError(Exception):
    """Base class of every error tracegraph raises on purpose."""


class SourceError(TracegraphError):
    """The genealogy data could not be read from the API or the snapshot."""


class NotFoundError(SourceError):
    """A unit or batch does not exist (HTTP 404 or absent from the snapshot)."""

    def __init__(self, kind: str, identifier: str, where: str) -> None:
        self.kind = kind
        self.identifier = identifier
        self.where = where
        super().__init__(f"{kind} {identifier!r} not found in {where}")


class RefusedError(SourceError):
    """The API refuses to look an identifier up (HTTP 400, 414 or 422)."""

    def __init__(self, kind: str, identifier: str, reason: str) -> None:
        self.kind = kind
        self.identifier = identifier
        self.reason = reason
        super().__init__(f"the API refuses to look up {kind} {identifier!r} ({reason})")


class AuthError(SourceError):
    """The API refused the key, or no key was given."""


class TransportError(SourceError):
    """The API could not be reached, or kept failing after every retry."""


class ApiError(SourceError):
    """The API answered something tracegraph cannot use."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status  # the HTTP status, when the answer had one
        super().__init__(message)


class SnapshotError(SourceError):
    """A snapshot file is unreadable or not a tracegraph snapshot."""


class StoreError(SourceError):
    """A store (SQLite file or PostgreSQL database) that cannot be opened, read or written."""


class CrawlLimitError(TracegraphError):
    """The crawl would grow past the unit limit."""


class ExportError(TracegraphError):
    """An output format could not be produced."""


class TracegraphWarning(UserWarning):
    """Something the person should know about an output that was still made."""
