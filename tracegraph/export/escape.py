"""How text becomes safe in each output format: the one place that decides it.

Serial numbers, part names and every other text from the API reach the
exporters as they are (odd legacy data included: `a:b`, `x&y;`, `C:\\new`,
`<b>`, control characters). Each format reads text by different rules, and
each rule lives here, next to its inverse where a reader needs one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# --- XML (SVG titles, GraphML, HTML) ----------------------------------------------

# XML 1.0 cannot hold these at all, not even as character references; lone
# surrogates cannot even be encoded as UTF-8.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_chars(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (each becomes U+FFFD)."""
    return _XML_INVALID.sub("\ufffd", text)


def xml_text(text: str) -> str:
    """Text for XML element content."""
    return xml_chars(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attribute(text: str) -> str:
    """Text for a double-quoted XML attribute; tabs and line breaks survive as references."""
    return (
        xml_text(text)
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


# --- GraphML node ids -------------------------------------------------------------

# GraphML types node/@id and edge/@source|target as xs:NMTOKEN. These ASCII
# characters are name characters in every edition of XML; the documented
# serial charset [A-Za-z0-9_-] is inside them.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]+")
_ID_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")
STAND_IN_PREFIX = "x:"


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


def _lex_quoted(body: str) -> str | None:
    """What Graphviz's lexer reads from `"body"`, or None if the quote ends early."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        pair = body[i : i + 2]
        if pair == '\\"':
            out.append('"')
            i += 2
        elif pair == "\\\\":
            out.append("\\\\")
            i += 2
        elif pair == "\\\n":
            i += 2
        elif ch == '"':
            return None
        else:
            out.append(ch)
            i += 1
    if body.endswith("\\") and not body.endswith("\\\\"):
        return None
    return "".join(out)


def _html_id_ok(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def dot_id(text: str) -> str:
    """A DOT ID that Graphviz reads back as exactly `text`."""
    quoted = text.replace('"', '\\"')
    if "\\" not in text or _lex_quoted(quoted) == text:
        return f'"{quoted}"'
    # A backslash before a quote, at the end or before a newline cannot be
    # written in a quoted ID; an HTML-string ID takes the text as it is.
    if text and _html_id_ok(text):
        return f"<{text}>"
    return f'"{quoted}"'  # unrepresentable in DOT: the closest quoted form


def dot_string(text: str) -> str:
    """A quoted DOT escString: backslashes and quotes escaped, never interpreted."""
    text = xml_chars(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_html(text: str) -> str:
    """Text for a Graphviz HTML-like label: XML-escaped, on one line."""
    return xml_text(re.sub(r"[\t\r\n]", " ", text)).replace('"', "&quot;")


# --- Mermaid ------------------------------------------------------------------------

_MERMAID_CODED = re.compile(r'[#"<>&`\[\]{}()|]')


def mermaid_label(text: str) -> str:
    """Text for a quoted Mermaid label that Mermaid shows exactly as written.

    Markup characters become Mermaid's `#NN;` codes. A backslash is followed
    by an empty `<span>`: in a label holding markup, Mermaid turns a
    backslash and an `n` into a line break. Whitespace runs show as one space,
    characters XML cannot hold as U+FFFD (as in the SVG).
    """
    text = xml_chars(" ".join(text.split()))
    text = _MERMAID_CODED.sub(lambda m: f"#{ord(m[0])};", text)
    return text.replace("\\", "#92;<span></span>")


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

# OWASP's rule against CSV injection.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One CSV cell: booleans as true/false, formula-like text behind a leading `'`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def terminal_text(text: str) -> str:
    """Text that cannot drive a terminal: control, format and bidi characters as escapes.

    ESC, OSC, BEL, carriage returns, C1 controls and bidi overrides (U+202E)
    from the server are shown as `\\x1b`, `\\u202e`... instead of acting.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
