"""The options the commands share, and what they parse into."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import click

from tracegraph.crawl import DEFAULT_CONCURRENCY, DEFAULT_MAX_UNITS
from tracegraph.errors import TracegraphError
from tracegraph.export import DEFAULT_EPC_URI, format_names
from tracegraph.export.options import (
    COLLAPSE,
    COLOR_BY,
    DEFAULT_LAYOUT_TIMEOUT,
    LAYOUTS,
    PAGES,
    RANKDIRS,
    ExportOptions,
)
from tracegraph.genealogy import Scope
from tracegraph.redact import Redactor
from tracegraph.source import DEFAULT_API_URL, BatchFilters, parse_iso
from tracegraph.tracing import Connection

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def iso_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Click callback: an ISO 8601 time, or a usage error that shows the expected form."""
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2024-07-01 or 2024-07-01T08:00:00Z"
        ) from None


def text(ctx: click.Context, param: click.Parameter, value: T) -> T:
    """Click callback: identifiers and filters that are text (one or many), else a usage error.

    The shell hands over bytes that are not UTF-8 as lone surrogates: no
    request or file can carry them.
    """
    for item in value if isinstance(value, tuple) else (value,):
        if isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                shown = item.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
                raise click.BadParameter(f"'{shown}' is not UTF-8 text") from None
    return value


def compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


source_options = compose(
    click.option(
        "--api-url",
        envvar="TOFUPILOT_API_URL",
        default=DEFAULT_API_URL,
        show_default=True,
        show_envvar=True,
        help="TofuPilot API base URL (self-hosted: https://HOST/api).",
    ),
    click.option(
        "--api-key",
        envvar="TOFUPILOT_API_KEY",
        show_envvar=True,
        help="TofuPilot API key; never printed or exported. Prefer the environment "
        "variable: an option shows in the process list.",
    ),
    click.option(
        "--source",
        "source_file",
        metavar="FILE",
        help="Read a snapshot file instead of the API (offline).",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 256),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Requests in flight.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(0, min_open=True),
        default=30.0,
        show_default=True,
        help="Seconds a request may take in all (connecting, waiting, reading).",
    ),
    click.option(
        "--max-response-mb",
        type=click.FloatRange(0, min_open=True),
        default=32.0,
        show_default=True,
        help="Largest answer the API may send (MB, decoded), then an error.",
    ),
    click.option(
        "--max-pages",
        type=click.IntRange(1),
        default=1000,
        show_default=True,
        help="Pages of the batch list to read, then an error.",
    ),
    click.option(
        "--allow-insecure-http",
        is_flag=True,
        help="Send the key over plain http to a host other than this machine.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(0, 50),
        default=5,
        show_default=True,
        help="Retries for 429, 5xx and network errors (honouring Retry-After).",
    ),
)

store_options = compose(
    click.option(
        "--store",
        metavar="TARGET",
        help="Read a store that tracegraph sync filled (a SQLite file or postgresql://...) "
        "instead of the API, offline.",
    ),
    click.option(
        "--as-of",
        callback=iso_time,
        metavar="ISO8601",
        help="With --store: the genealogy as the store saw it at this time.",
    ),
)

filter_options = compose(
    click.option(
        "--part-number",
        "part_numbers",
        multiple=True,
        callback=text,
        help="Batches holding this part number (repeatable).",
    ),
    click.option(
        "--revision",
        "revisions",
        multiple=True,
        callback=text,
        help="Batches holding this revision (repeatable).",
    ),
    click.option(
        "--created-after",
        callback=iso_time,
        metavar="ISO8601",
        help="Batches created at or after this time.",
    ),
    click.option(
        "--created-before",
        callback=iso_time,
        metavar="ISO8601",
        help="Batches created at or before this time.",
    ),
    click.option("--search", callback=text, help="Batches whose number contains this text."),
)

scope_options = compose(
    click.option(
        "--scope",
        type=click.Choice([s.value for s in Scope]),
        default=Scope.TREE.value,
        show_default=True,
        help="tree: whole tree of each seed; lineage: ancestors and descendants; "
        "up: ancestors (where-used); down: descendants (as-built).",
    ),
    click.option("--depth", type=click.IntRange(0), help="Keep units at most N links from a seed."),
    full_records_option := click.option(
        "--full-records",
        is_flag=True,
        help="Also fetch every unit in full (a request each) for the run that created it; "
        "units are otherwise read 100 a request, with their latest run.",
    ),
)

picture_options = compose(
    click.option(
        "--collapse",
        type=click.Choice(COLLAPSE),
        default="auto",
        show_default=True,
        help="Pictures: draw repeated parts as one 'N ×' box; auto: only when the picture "
        "would not fit a page. Data formats always keep every unit.",
    ),
    click.option(
        "--layout",
        type=click.Choice(LAYOUTS),
        default="auto",
        show_default=True,
        help="Pictures: dot (Graphviz, best for small ones), tree (linear time, for big "
        "ones), or auto.",
    ),
    click.option(
        "--layout-timeout",
        type=click.FloatRange(0, min_open=True),
        default=DEFAULT_LAYOUT_TIMEOUT,
        show_default=True,
        help="Seconds Graphviz may take to lay out a picture.",
    ),
    click.option(
        "--color-by",
        type=click.Choice(COLOR_BY),
        default="part",
        show_default=True,
        help="Pictures: what the fill colour shows; outcome uses colour-blind-safe colours.",
    ),
    click.option(
        "--rankdir",
        type=click.Choice(RANKDIRS),
        default="TB",
        show_default=True,
        help="Pictures: top down (TB) or left to right (LR, for deep chains).",
    ),
    click.option(
        "--page",
        type=click.Choice(PAGES),
        help="PDF and PNG: fit the picture on one page of this paper, with margins "
        "(SVG and HTML keep their full size, with a warning).",
    ),
    click.option("--title", help="Pictures: this heading instead of what was asked."),
    click.option(
        "--epc-uri",
        metavar="TEMPLATE",
        default=DEFAULT_EPC_URI,
        show_default=True,
        help="EPCIS (.jsonld): each unit's URI, from its attributes ({serial}, "
        "{part_number}, {revision}, {batch}, {unit_id}...), each percent-encoded; "
        "e.g. https://id.example.com/{part_number}/{serial}.",
    ),
    click.option(
        "--redact",
        is_flag=True,
        help="Keyed tokens instead of serial numbers, unit ids, user and station names, in "
        "every output; the key comes from TRACEGRAPH_REDACT_KEY or --redact-key-file.",
    ),
    click.option(
        "--redact-key-file",
        type=click.Path(dir_okay=False),
        help="With --redact: read the key (16 bytes or more) from this file.",
    ),
    click.option(
        "--redact-batches",
        is_flag=True,
        help="With --redact: batch numbers become tokens too (part numbers are always kept).",
    ),
    click.option(
        "--redact-map",
        type=click.Path(dir_okay=False),
        help="With --redact: write kind, value and token of every token to this CSV, "
        "for the key's owner.",
    ),
    click.option("--no-legend", is_flag=True, help="Pictures: no key of colours and marks."),
)

output_options = compose(
    click.option(
        "--save-snapshot",
        type=click.Path(dir_okay=False),
        help="Write every API response the crawl used to this snapshot file.",
    ),
    click.option(
        "--max-units",
        type=click.IntRange(1),
        default=DEFAULT_MAX_UNITS,
        show_default=True,
        help="Stop with an error, writing nothing, past this many units.",
    ),
    click.option(
        "-o",
        "--output",
        "outputs",
        multiple=True,
        help="Output file, repeatable; the format comes from the extension "
        "(.svg .html .png .pdf .dot .gv .graphml .json .csv .xlsx .mmd .txt .jsonld); - is stdout.",
    ),
    click.option(
        "-f",
        "--format",
        "format_name",
        help="Format for -o -, or for outputs of one kind whatever their extension: "
        + ", ".join(format_names())
        + " (impact also: impact-csv, impact-json, impact-xlsx, summary).",
    ),
    picture_options,
    click.option("--strict", is_flag=True, help="Exit 3 when the data had consistency warnings."),
    click.option("-q", "--quiet", is_flag=True, help="No progress or warnings on stderr."),
    click.option("-v", "--verbose", is_flag=True, help="More on stderr; tracebacks on errors."),
)


def wants_colour() -> bool:
    """ANSI colours for text on stdout: on a terminal, unless NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


REDACT_KEY_VARIABLE = "TRACEGRAPH_REDACT_KEY"


def redaction_key(key_file: str | None) -> bytes:
    """The key: the file's bytes (one trailing line break dropped), else the variable's."""
    if key_file:
        try:
            with open(key_file, "rb") as opened:
                key = opened.read()
        except OSError as error:
            raise click.UsageError(
                f"cannot read --redact-key-file {key_file!r}: {error.strerror}"
            ) from None
        return key[:-2] if key.endswith(b"\r\n") else key.removesuffix(b"\n")
    key_text = os.environ.get(REDACT_KEY_VARIABLE)
    if not key_text:
        raise click.UsageError(
            f"--redact needs a key: set {REDACT_KEY_VARIABLE} or give --redact-key-file"
        )
    return key_text.encode("utf-8", "surrogateescape")


def parse_redactor(get: Callable[[str], Any]) -> Redactor | None:
    """The `Redactor` the --redact options ask for, or None; usage errors for what cannot be."""
    if not get("redact"):
        for name in ("redact_key_file", "redact_batches", "redact_map"):
            if get(name):
                raise click.UsageError(f"--{name.replace('_', '-')} needs --redact")
        return None
    try:
        return Redactor(redaction_key(get("redact_key_file")), batches=bool(get("redact_batches")))
    except TracegraphError as error:
        raise click.UsageError(str(error)) from None


def parse_export(get: Callable[..., Any]) -> ExportOptions:
    """The export options; a usage error for an --epc-uri that cannot be a template."""
    try:
        return ExportOptions(
            collapse=get("collapse", "auto"),
            layout=get("layout", "auto"),
            layout_timeout=get("layout_timeout", DEFAULT_LAYOUT_TIMEOUT),
            legend=not get("no_legend"),
            title=get("title") or "",
            color_by=get("color_by", "part"),
            rankdir=get("rankdir", "TB"),
            page=get("page"),
            colour=wants_colour(),
            epc_uri=get("epc_uri") or DEFAULT_EPC_URI,
        )
    except TracegraphError as error:
        raise click.UsageError(str(error)) from None


@dataclass(frozen=True)
class Run:
    """Everything a command was told, parsed."""

    source_file: str | None
    connection: Connection
    filters: BatchFilters
    scope: str
    depth: int | None
    max_units: int
    full_records: bool
    save_snapshot: str | None
    outputs: tuple[str, ...]
    format_name: str | None
    export: ExportOptions
    redactor: Redactor | None
    redact_map: str | None
    strict: bool
    quiet: bool
    verbose: bool

    @classmethod
    def parse(cls, options: dict[str, Any]) -> Run:
        """The run a command's keyword arguments describe (options it lacks take defaults)."""
        get = options.get
        return cls(
            source_file=get("source_file"),
            connection=Connection(
                api_url=get("api_url"),
                api_key=get("api_key"),
                concurrency=get("concurrency", DEFAULT_CONCURRENCY),
                timeout=get("timeout", 30.0),
                retries=get("retries", 5),
                max_response_mb=get("max_response_mb", 32.0),
                max_pages=get("max_pages", 1000),
                allow_insecure_http=bool(get("allow_insecure_http")),
                store=get("store"),
                as_of=get("as_of"),
            ),
            filters=BatchFilters(
                part_numbers=tuple(get("part_numbers", ())),
                revision_numbers=tuple(get("revisions", ())),
                created_after=get("created_after"),
                created_before=get("created_before"),
                search=get("search"),
            ),
            scope=get("scope", Scope.TREE.value),
            depth=get("depth"),
            max_units=get("max_units", DEFAULT_MAX_UNITS),
            full_records=bool(get("full_records")),
            save_snapshot=get("save_snapshot"),
            outputs=tuple(get("outputs", ())),
            format_name=get("format_name"),
            export=parse_export(get),
            redactor=parse_redactor(get),
            redact_map=get("redact_map"),
            strict=bool(get("strict")),
            quiet=bool(get("quiet")),
            verbose=bool(get("verbose")),
        )
