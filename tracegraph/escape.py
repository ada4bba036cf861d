"""How text becomes safe in each output format: the one place that decides it.

Serial numbers, part names and every other text from the API reach the
exporters as they are (odd legacy data included: `a:b`, `x&y;`, `C:\\new`,
`<b>`, control characters). Each format reads text by different rules, and
each rule lives here, next to its inverse where a reader needs one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from tracegraph.errors import ExportError

# Escaping is pure and the same texts come back thousands of times in a big
# genealogy (part names, batches, stations): each function keeps its answers.
_CACHED = 1 << 16

# --- XML (SVG titles, GraphML, HTML) ----------------------------------------------

# XML 1.0 cannot hold these at all, not even as character references; lone
# surrogates cannot even be encoded as UTF-8.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@functools.lru_cache(maxsize=_CACHED)
def xml_chars(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (each becomes U+FFFD)."""
    return _XML_INVALID.sub("\ufffd", text)


@functools.lru_cache(maxsize=_CACHED)
def xml_text(text: str) -> str:
    """Text for XML element content (a carriage return as a reference, which XML keeps)."""
    return (
        xml_chars(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def xml_plain(text: str) -> bool:
    """Whether the text is the same escaped for XML content or a quoted attribute (fast).

    A printable text has no control character, surrogate or noncharacter.
    """
    return (
        text.isprintable()
        and "&" not in text
        and "<" not in text
        and ">" not in text
        and '"' not in text
    )


@functools.lru_cache(maxsize=_CACHED)
def xml_attribute(text: str) -> str:
    """Text for a double-quoted XML attribute; tabs and line breaks survive as references."""
    return xml_text(text).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


# --- GraphML node ids -------------------------------------------------------------

# GraphML types node/@id and edge/@source|target as xs:NMTOKEN. These ASCII
# characters are name characters in every edition of XML; the documented
# serial charset [A-Za-z0-9_-] is inside them.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]+")
_ID_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")
STAND_IN_PREFIX = "x:"


@functools.lru_cache(maxsize=_CACHED)
def graphml_id(serial: str) -> str:
    """The GraphML node id of a serial: itself when it is a plain NMTOKEN, else a stand-in.

    The stand-in is `x:` and the serial with every character other than ASCII
    letters, digits, `.` and `-` written as `_` and two hex digits per UTF-8
    byte: `SN 01` -> `x:SN_2001`. It is stable, unique and reversible
    (`serial_from_graphml_id`); a serial that itself starts with `x:` is
    written as a stand-in too, so the two kinds never meet.
    """
    if _PLAIN_ID.fullmatch(serial) and not serial.startswith(STAND_IN_PREFIX):
        return serial
    parts = [STAND_IN_PREFIX]
    for char in serial:
        if char in _ID_KEPT:
            parts.append(char)
        else:
            parts.extend(f"_{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(parts)


def graphml_serial(serial: str) -> str:
    """A serial as GraphML text: itself, or its stand-in id when XML cannot hold it.

    XML 1.0 has no way to write most control characters (`X\\x01`), not even
    as references: written as U+FFFD, `X\\x01` and `X\\x02` would read the
    same in `serial_number`, `label` and `name`. Such a serial is written as
    its node id's stand-in (`x:X_01`) there too: distinct, and reversible
    with `serial_from_graphml_id`.
    """
    if _XML_INVALID.search(serial):
        return graphml_id(serial)
    return serial


def serial_from_graphml_id(node_id: str) -> str:
    """The serial a GraphML node id stands for (the inverse of `graphml_id`)."""
    if not node_id.startswith(STAND_IN_PREFIX):
        return node_id
    raw = bytearray()
    tail = node_id[len(STAND_IN_PREFIX) :]
    i = 0
    while i < len(tail):
        if tail[i] == "_":
            raw.append(int(tail[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(tail[i]))
            i += 1
    return raw.decode("utf-8", "surrogatepass")


# --- Graphviz DOT -------------------------------------------------------------------

DOT_STRING_LIMIT = 16_384  # characters Graphviz reads in one quoted or HTML string


# Graphviz's lexer (cgraph/scan.l) inside a quoted string: `\\"`, `\\\\`, an escaped
# line break, a run of other characters, or a lone backslash; longest match wins.
_QUOTED_TOKEN = re.compile(r'\\"|\\\\|\\\n|[^"\\]+|\\|"')


def _lex_quoted(body: str) -> str | None:
    """What Graphviz's lexer reads from `"body"`, or None if the quote ends early.

    Measured on Graphviz 2.43: a line break that is a run on its own (between
    the opening quote, an escape or the closing quote) ties with the lexer's
    line-counting rule, which comes first and drops it: `"\\n"` reads as "".
    """
    out: list[str] = []
    for match in _QUOTED_TOKEN.finditer(body + '"'):
        token = match.group()
        if token == '"':
            return "".join(out) if match.start() == len(body) else None
        if token == '\\"':
            out.append('"')
        elif token not in ("\\\n", "\n"):
            out.append(token)
    return None  # the added quote was read as `\\"`: a backslash ends the body


def _html_id_ok(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def dot_id(text: str) -> str:
    """A DOT ID that Graphviz reads back as exactly `text`; `ExportError` if none can.

    A backslash before a quote, at the end or before a newline, and a line
    break alone between quotes and escapes cannot be written in a quoted ID;
    an HTML-string ID takes the text as it is, but only when its `<` and `>`
    balance. A text that fits neither (`C:\\dir>\\`)
    has no DOT ID at all.
    """
    if len(text) > DOT_STRING_LIMIT:
        raise ExportError(
            f"serial number {text[:40]!r}... has {len(text)} characters; Graphviz reads "
            f"at most {DOT_STRING_LIMIT} in a DOT ID: GraphML, JSON, CSV and the pictures hold it"
        )
    quoted = text.replace('"', '\\"')
    if ("\\" not in text and "\n" not in text) or _lex_quoted(quoted) == text:
        return f'"{quoted}"'
    if text and _html_id_ok(text):
        return f"<{text}>"
    raise ExportError(
        f"serial number {text!r} cannot be written as a Graphviz DOT node ID (a backslash "
        "or line break Graphviz would read otherwise, and unbalanced < >); GraphML, JSON, "
        "CSV and the pictures hold it"
    )


@functools.lru_cache(maxsize=_CACHED)
def dot_string(text: str) -> str:
    """A quoted DOT escString: backslashes and quotes escaped, never interpreted."""
    text = xml_chars(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@functools.lru_cache(maxsize=_CACHED)
def dot_tooltip_line(text: str) -> str:
    """One line of a tooltip, inside a quoted DOT string (lines join with `\\n`).

    Graphviz copies entity-like text into SVG as it is, so `&` goes in pre-escaped.
    """
    text = xml_chars(text).replace("&", "&amp;")
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@functools.lru_cache(maxsize=_CACHED)
def dot_html(text: str) -> str:
    """Text for a Graphviz HTML-like label: XML-escaped, on one line.

    Brackets go in as references: Graphviz 2.43 rejects a label text that
    starts with `]`.
    """
    text = xml_text(re.sub(r"[\t\r\n]", " ", text))
    return text.replace('"', "&quot;").replace("[", "&#91;").replace("]", "&#93;")


# --- Mermaid ------------------------------------------------------------------------

_MERMAID_CODED = frozenset('#"<>&`[]{}()|:$\\')
# Mermaid reads a backslash and `n` as a line break in a label with markup,
# `$$...$$` as KaTeX, and `¶ß`, `ﬂ°` as its own placeholders: an empty span
# after each of these characters keeps the pair from forming.
_MERMAID_SPLIT = frozenset("\\$¶ﬂ")


def mermaid_text(text: str) -> str:
    """Text as Mermaid shows it: whitespace runs as one space, U+FFFD for what XML refuses."""
    return xml_chars(" ".join(text.split()))


@functools.lru_cache(maxsize=_CACHED)
def mermaid_label(text: str) -> str:
    """Text for a quoted Mermaid label that Mermaid shows exactly as `mermaid_text`.

    Markup characters, `:` (which with a `#...;` code on one line makes
    Mermaid drop a `;` from a line naming `style` or `classDef`) and `$`
    become Mermaid's `#NN;` codes.
    """
    parts = []
    for char in mermaid_text(text):
        parts.append(f"#{ord(char)};" if char in _MERMAID_CODED else char)
        if char in _MERMAID_SPLIT:
            parts.append("<span></span>")
    return "".join(parts)


def mermaid_title_is_plain(text: str) -> bool:
    """Whether Mermaid's front-matter title shows `text` as it is.

    The title goes through DOMPurify, which cannot show a `<` as itself, and
    Mermaid's placeholder pairs are not protected there.
    """
    return not any(char in text for char in "<¶ﬂ")


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar that reads back as `text` (on one line)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(
        r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]",
        lambda m: f"\\u{ord(m[0]):04x}" if ord(m[0]) > 0xFF else f"\\x{ord(m[0]):02x}",
        escaped,
    )
    return f'"{escaped}"'


# --- lists inside one spreadsheet cell ------------------------------------------------

LIST_SEPARATOR = ";"
PATH_SEPARATOR = ">"
_CELL_ESCAPES = {"\\": "\\\\", ";": "\\;", ">": "\\>"}


def escape_item(text: str) -> str:
    """One serial inside a `;`/`>` list: `\\`, `;` and `>` written `\\\\`, `\\;`, `\\>`."""
    return "".join(_CELL_ESCAPES.get(ch, ch) for ch in text)


def join_items(items: Iterable[str], separator: str = LIST_SEPARATOR) -> str:
    """Serials joined by `separator`, each escaped so that `split_items` gives them back."""
    return separator.join(escape_item(item) for item in items)


def _split_escaped(text: str, separator: str) -> list[str]:
    """Split at separators not preceded by an escaping backslash; keep escapes."""
    pieces: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if text[i] == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(text[i])
        i += 1
    pieces.append("".join(current))
    return pieces


def _unescape_item(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def split_items(text: str, separator: str = LIST_SEPARATOR) -> list[str]:
    """The serials of a list cell (the inverse of `join_items`); an empty cell holds none."""
    if not text:
        return []
    return [_unescape_item(piece) for piece in _split_escaped(text, separator)]


def join_paths(paths: Iterable[Iterable[str]]) -> str:
    """Paths (serials top-level unit first) for one cell: hops by `>`, paths by `;`."""
    return LIST_SEPARATOR.join(join_items(path, PATH_SEPARATOR) for path in paths)


def split_paths(text: str) -> list[list[str]]:
    """The paths of a `paths` cell (the inverse of `join_paths`)."""
    if not text:
        return []
    return [
        [_unescape_item(hop) for hop in _split_escaped(path, PATH_SEPARATOR)]
        for path in _split_escaped(text, LIST_SEPARATOR)
    ]


# --- spreadsheets and terminals -----------------------------------------------------

# OWASP's rule against CSV injection, and the guard itself, so that removing
# one leading `'` from any cell that has one always gives the value back.
_GUARDED_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
# Spreadsheets also run a formula behind spaces or a line break, and some read the
# full-width signs as the ASCII ones.
_FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> str:
    """One CSV cell: booleans as true/false, formula-like text behind a leading `'`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    guarded = text.startswith(_GUARDED_STARTS) or text.lstrip(" \n").startswith(_FORMULA_SIGNS)
    return "'" + text if guarded else text


def csv_value(cell: str) -> str:
    """The value a CSV cell holds (the inverse of `csv_cell` for text): one leading `'` off."""
    return cell[1:] if cell.startswith("'") else cell


@functools.lru_cache(maxsize=_CACHED)
def terminal_text(text: str) -> str:
    """Text that cannot drive a terminal: control, format and bidi characters as escapes.

    ESC, OSC, BEL, carriage returns, C1 controls and bidi overrides (U+202E)
    from the server are shown as `\\x1b`, `\\u202e`... instead of acting.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
