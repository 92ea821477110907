"""A CSV file's bytes made into what the CSV reader can read as spreadsheet programs do: any
encoding to UTF-8 (a byte-order mark, or UTF-16/32 known by where its NUL bytes fall), a lone
carriage return a line end, bare quotes text, and an unclosed quote one line naming where it
opens. A well-formed UTF-8 file is handed over as the file itself, untouched."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from pipeline.errors import InputFileError

# Byte-order marks, UTF-32's first: its little-endian mark begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def _unmarked_encoding(data: bytes) -> tuple[str, str] | None:
    """UTF-16 or UTF-32 written without a byte-order mark, known by where its NUL bytes fall:
    a CSV is mostly ASCII (separators, digits, headers), whose code units are one byte of
    text and the rest zeros. Such text is also valid UTF-8, read as NUL-ridden cells."""
    sample = data[: min(len(data), 4096) // 4 * 4]
    if b"\0" not in sample:
        return None

    def nul_share(offset: int, step: int) -> float:
        part = sample[offset::step]
        return part.count(0) / len(part)

    if nul_share(3, 4) == 1 and nul_share(2, 4) > 0.9 and nul_share(0, 4) < 0.1:
        return "utf-32-le", "UTF-32 (little-endian, without a byte-order mark)"
    if nul_share(0, 4) == 1 and nul_share(1, 4) > 0.9 and nul_share(3, 4) < 0.1:
        return "utf-32-be", "UTF-32 (big-endian, without a byte-order mark)"
    if nul_share(1, 2) > 0.3 and nul_share(0, 2) < 0.05:
        return "utf-16-le", "UTF-16 (little-endian, without a byte-order mark)"
    if nul_share(0, 2) > 0.3 and nul_share(1, 2) < 0.05:
        return "utf-16-be", "UTF-16 (big-endian, without a byte-order mark)"
    return None


def _utf8_text(data: bytes, shown: Path) -> bytes:
    """The file's text as UTF-8. UTF-32 and UTF-16 (as some editors and exports write CSV)
    are known by a byte-order mark, or UTF-16 and UTF-32 without one by their NUL bytes. Any
    other line that is not UTF-8 is read as Windows-1252, the encoding of spreadsheet
    programs' CSV exports on Windows (every byte decodes): line by line, so that one pasted
    line in another encoding leaves the UTF-8 lines as they are."""
    found = next(((codec, name) for bom, codec, name in _BOMS if data.startswith(bom)), None)
    found = found or _unmarked_encoding(data)
    if found:
        codec, name = found
        try:
            data = data.decode(codec).removeprefix("\ufeff").encode("utf-8")
        except UnicodeDecodeError as error:
            raise InputFileError(
                shown, f"cannot read as {name}: {error.reason} at byte {error.start:,}"
            ) from None
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = b"".join(_line_as_utf8(line) for line in data.splitlines(keepends=True))
    if (nul := data.find(b"\0")) >= 0:  # in no text, and a line of them would be a row
        line, column = _line_and_column(data, nul)
        raise InputFileError(
            shown,
            f"line {line}, column {column}: a NUL byte; expected text in UTF-8, UTF-16, UTF-32 "
            "or Windows-1252 (save the file as UTF-8)",
        )
    return data


def _line_as_utf8(line: bytes) -> bytes:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace").encode("utf-8")
    return line


def _leading_blank_lines(text: bytes) -> int:
    """Empty lines before a CSV's header: the reader skips them, a spreadsheet counts them."""
    blank = re.match(rb"(?:\r\n|\n|\r)*", text.removeprefix(codecs.BOM_UTF8))
    return len(re.findall(rb"\r\n|\n|\r", blank.group(0)))


_LINE_END = re.compile(rb"\r\n|\n|\r")
# A quoted cell, its quotes doubled inside; possessive, so that a long file takes one pass.
_QUOTED = rb'"[^"]*+(?:""[^"]*+)*+"'
_QUOTED_CELL = re.compile(_QUOTED)


class _Grammar:
    """CSV with one separator, as regular expressions: `well_formed` matches well-formed CSV
    (each cell quoted whole or holding no quote) to its end; `loose_records` and
    `loose_last_record` also take a quote inside an unquoted cell ('5" disk'), as text; and
    `respelling` finds what must be written again for the reader: such a cell, or a lone
    carriage return ending a line (quoted cells are matched to be passed over whole)."""

    def __init__(self, separator: bytes) -> None:
        sep = re.escape(separator)
        loose_cell = (
            rb"(?:" + _QUOTED + rb"(?=[" + sep + rb"\r\n]|\Z)"
            rb'|[^"' + sep + rb"\r\n][^" + sep + rb"\r\n]*+|)"
        )
        loose_record = loose_cell + rb"(?:" + sep + loose_cell + rb")*+"
        line_end = rb"(?:\r\n|\n|\r)"
        self.separator = separator
        # Text without quotes, and quoted cells that open and close at a cell's edge (after
        # and before a separator, a line end or the file's ends). Scanning runs of non-quote
        # bytes, not cell by cell, makes this one fast pass over a large file.
        not_boundary = rb"[^" + sep + rb"\r\n]"
        self.well_formed = re.compile(
            rb'(?:[^"]*+(?<!'
            + not_boundary
            + rb")"
            + _QUOTED
            + rb"(?!"
            + not_boundary
            + rb'))*+[^"]*+\Z'
        )
        self.loose_records = re.compile(rb"(?:" + loose_record + line_end + rb")*+")
        self.loose_last_record = re.compile(loose_record + rb"\Z")
        self.respelling = re.compile(
            rb"(" + _QUOTED + rb")"
            rb"|(?<!" + not_boundary + rb')([^"' + sep + rb"\r\n][^\"" + sep + rb"\r\n]*+"
            rb'"' + not_boundary + rb"*+)"
            rb"|\r(?!\n)"
        )
        self.unquoted = re.compile(not_boundary + rb"*")

    def respelled(self, text: bytes) -> bytes:
        """Loose CSV made well-formed: a quote inside an unquoted cell is quoted as text, a lone
        carriage return (an old Mac line end, which the reader would run on through) is a line
        feed. `text` itself when it needs neither."""
        if b'"' not in text and re.search(rb"\r(?!\n)", text) is None:
            return text
        return self.respelling.sub(_respell, text)


def _respell(match: re.Match) -> bytes:
    if match.group(1):
        return match.group(1)
    if match.group(2):
        return b'"' + match.group(2).replace(b'"', b'""') + b'"'
    return b"\n"


def _canonical_csv(text: bytes, separator: bytes, shown: Path) -> bytes:
    """The CSV as the reader can take it, read as spreadsheet programs read it.

    A well-formed file passes in one regular-expression match, and unchanged but for lone
    carriage returns. Otherwise runs of records that are well-formed but for quotes inside
    unquoted cells are matched whole and respelled; a record that still does not fit (text
    after a closing quote, a quote that never closes) is read cell by cell."""
    grammar = _Grammar(separator)
    start = len(codecs.BOM_UTF8) if text.startswith(codecs.BOM_UTF8) else 0
    # A memoryview from the first byte after the mark: the mark is not a cell's edge.
    if b'"' not in text or grammar.well_formed.match(memoryview(text)[start:]):
        if re.search(rb"\r(?!\n)", text) is None:
            return text
        return grammar.respelled(text[start:])
    parts, position = [], start
    while True:
        good = grammar.loose_records.match(text, position).end()
        parts.append(grammar.respelled(text[position:good]))
        if grammar.loose_last_record.match(text, good):
            parts.append(grammar.respelled(text[good:]))
            return b"".join(parts)
        record, position = _spreadsheet_record(text, good, grammar, shown)
        parts.append(record)


def _spreadsheet_record(
    text: bytes, position: int, grammar: _Grammar, shown: Path
) -> tuple[bytes, int]:
    """One record that breaks the grammar, from `position` to its line end, read as a
    spreadsheet program reads it, and written again well-formed; with where it ends.

    A quote that does not open a cell is text ('5" disk'). Text after a cell's closing quote
    is kept after the cell's text ('"Big" model' is 'Big model'), unless the quoted part ran
    over lines: then the quote most likely never meant to open a cell, and where lines end is
    unknown, so the file is refused rather than rows run together. A quoted cell that never
    closes is refused with the line where it opens."""
    separator = grammar.separator
    cells = []
    while True:
        if text.startswith(b'"', position):
            quoted = _QUOTED_CELL.match(text, position)
            if quoted is None:
                line, column = _line_and_column(text, position)
                raise InputFileError(
                    shown,
                    f"line {line}, column {column}: a quoted cell opens here and is never "
                    "closed; expected a closing '\"' (a quote inside a quoted cell is "
                    "written '\"\"')",
                )
            cell = quoted.group()[1:-1].replace(b'""', b'"')
            rest = grammar.unquoted.match(text, quoted.end()).end()
            if rest > quoted.end() and _LINE_END.search(cell):
                line, column = _line_and_column(text, position)
                closing_line, _ = _line_and_column(text, quoted.end() - 1)
                after = text[quoted.end() : min(rest, quoted.end() + 20)].decode(errors="replace")
                raise InputFileError(
                    shown,
                    f"line {line}, column {column}: the quoted cell opened here closes on line "
                    f"{closing_line} followed by {after!r}; expected a separator or the line's "
                    "end after a closing quote (a quote inside a quoted cell is written '\"\"')",
                )
            cells.append(cell + text[quoted.end() : rest])
            position = rest
        else:
            rest = grammar.unquoted.match(text, position).end()
            cells.append(text[position:rest])
            position = rest
        if text.startswith(separator, position):
            position += len(separator)
            continue
        line_end = _LINE_END.match(text, position)
        position = line_end.end() if line_end else position
        return separator.join(_quoted(cell, separator) for cell in cells) + b"\n", position


def _quoted(cell: bytes, separator: bytes) -> bytes:
    if re.search(rb'["\r\n]', cell) or separator in cell:
        return b'"' + cell.replace(b'"', b'""') + b'"'
    return cell


def _line_and_column(text: bytes, position: int) -> tuple[int, int]:
    """The line and column of a byte, as a text editor numbers them."""
    head = text[:position]
    line_start = max(head.rfind(b"\n"), head.rfind(b"\r")) + 1
    column = len(head[line_start:].decode("utf-8", errors="replace").removeprefix("\ufeff"))
    return len(_LINE_END.findall(head)) + 1, column + 1


def csv_source(path: Path, shown: Path, separator: str) -> tuple[Path | bytes, int]:
    """What the CSV reader is given (the file itself when it needs nothing done) and how many
    blank lines stand above the header."""
    data = path.read_bytes()
    text = _utf8_text(data, shown)
    canonical = _canonical_csv(text, separator.encode(), shown)
    source = path if canonical is data else canonical
    return source, _leading_blank_lines(text)
