"""Read a spreadsheet (.xlsx) or a CSV file into rows of text cells, and write them back.

CSV: UTF-8 with or without BOM, or GB18030/GBK (what Chinese spreadsheet programs write),
detected; comma separated. XLSX: the first sheet unless one is named; numbers become their
decimal text, while formulas, dates and merged cells are kept as :class:`Odd` cells so that the
caller can name them as problems. Nothing is guessed silently: a file that cannot be read as a
table raises :class:`TableError` with one :class:`Problem` per thing wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MAX_ROWS", "MAX_BYTES", "Odd", "Cell", "Problem", "Table", "TableError", "read_table",
           "write_csv", "write_xlsx", "column_letter"]

MAX_ROWS = 100_000
"""Most data rows a file may have (a bigger file is refused: split it)."""

MAX_BYTES = 64 * 1024 * 1024
"""Largest file read at all."""


@dataclass(frozen=True, slots=True)
class Odd:
    """A cell that is not plain data: ``kind`` is ``formula``, ``date``, ``merged`` or ``error``."""

    kind: str
    text: str

    def __str__(self) -> str:
        return self.text


Cell = str | Odd


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the file: 1-based file row (0 = the file as a whole), column, value, why."""

    row: int
    column: str
    value: str
    why: str

    def line(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        col = f", column {self.column}" if self.column else ""
        val = f": {self.value!r}" if self.value else ""
        return f"{where}{col}{val}: {self.why}"


class TableError(Exception):
    """The file cannot be read as a table; ``problems`` says why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.line() for p in self.problems))


@dataclass
class Table:
    """The header row and the data rows (each with its 1-based row number in the file)."""

    headers: list[str]
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)
    source: str = ""
    sheet: str = ""


def _file_problem(why: str) -> TableError:
    return TableError([Problem(0, "", "", why)])


def read_table(path: Path | str, *, sheet: str | None = None, max_rows: int = MAX_ROWS) -> Table:
    """Read ``path`` (.xlsx or .csv by its name) into a :class:`Table`; :class:`TableError` if unreadable."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _file_problem(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise _file_problem("the file is empty")
    if size > MAX_BYTES:
        raise _file_problem(f"the file is {size} bytes, more than {MAX_BYTES}: split it")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, max_rows)
    if suffix in (".csv", ".txt"):
        if sheet:
            raise _file_problem("--sheet is for .xlsx files; a CSV file has no sheets")
        return _read_csv(path, max_rows)
    if suffix == ".xls":
        raise _file_problem("old Excel .xls files are not read: save the sheet as .xlsx or CSV UTF-8")
    raise _file_problem(f"unknown file type {suffix or '(no extension)'}: give a .xlsx or .csv file")


# --- CSV ------------------------------------------------------------------------------------

def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: UTF-8 (BOM removed) or GB18030; :class:`TableError` for anything else."""
    if b"\x00" in data[:65536]:
        raise _file_problem("not a text file (it contains NUL bytes): give a .xlsx or a CSV file")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _file_problem(f"the file starts as UTF-8 but byte {exc.start + 3} is not UTF-8") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise _file_problem(f"the text is neither UTF-8 nor GB18030/GBK (byte {exc.start} does not fit): "
                            "save it as CSV UTF-8") from exc


_SEPARATORS = (";", "\t", "|")


def _read_csv(path: Path, max_rows: int) -> Table:
    text, _encoding = decode_text(path.read_bytes())
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0]
    if "," not in first:
        for sep in _SEPARATORS:
            if sep in first:
                shown = "TAB" if sep == "\t" else sep
                raise _file_problem(f"the columns are separated by {shown!r}, not by commas: "
                                    "save the file as CSV (comma delimited)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    table = Table(headers=[], source=str(path))
    try:
        for number, row in enumerate(reader, start=1):
            if number == 1:
                table.headers = [h.strip() for h in row]
                continue
            if not any(c.strip() for c in row):
                continue
            if len(table.rows) >= max_rows:
                raise _file_problem(f"more than {max_rows} rows: split the file")
            table.rows.append((number, list(row)))
    except csv.Error as exc:
        raise _file_problem(f"not a readable CSV file near line {reader.line_num}: {exc}") from exc
    if not any(table.headers):
        raise _file_problem("the first line is empty: it must hold the column names")
    return table


# --- XLSX -----------------------------------------------------------------------------------

_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _merged_cells(path: Path, sheet_index: int) -> set[tuple[int, int]]:
    """(row, column) of every cell inside a merged range of the sheet (first cell included)."""
    cells: set[tuple[int, int]] = set()
    with zipfile.ZipFile(path) as zf:
        name = f"xl/worksheets/sheet{sheet_index + 1}.xml"
        if name not in zf.namelist():
            return cells
        data = zf.read(name)
    for m in _MERGE_RE.finditer(data):
        c1, r1 = _column_index(m.group(1)), int(m.group(2))
        c2 = _column_index(m.group(3)) if m.group(3) else c1
        r2 = int(m.group(4)) if m.group(4) else r1
        for r in range(r1, min(r2, r1 + 1000) + 1):
            for c in range(c1, min(c2, c1 + 100) + 1):
                cells.add((r, c))
    return cells


def _number_text(value: float | int) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _cell(value: Any, data_type: str) -> Cell:
    if value is None:
        return ""
    if data_type == "f" or (isinstance(value, str) and value.startswith("=") and data_type != "s"):
        return Odd("formula", str(value))
    if data_type == "e":
        return Odd("error", str(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return Odd("date", str(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return _number_text(value)
    return str(value)


def _read_xlsx(path: Path, sheet: str | None, max_rows: int) -> Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise _file_problem(f"not a readable Excel .xlsx file ({type(exc).__name__})") from exc
    try:
        names = list(wb.sheetnames)
        if sheet is None:
            index = 0
        elif sheet in names:
            index = names.index(sheet)
        else:
            raise _file_problem(f"no sheet named {sheet!r}; the sheets are: {', '.join(names)}")
        ws = wb[names[index]]
        merged = _merged_cells(path, index)
        table = Table(headers=[], source=str(path), sheet=names[index])
        for number, row in enumerate(ws.iter_rows(), start=1):
            cells: list[Cell] = []
            for col, c in enumerate(row, start=1):
                value = getattr(c, "value", None)
                cell = _cell(value, getattr(c, "data_type", "n") or "n")
                if (number, col) in merged:
                    cell = Odd("merged", str(cell))
                cells.append(cell)
            if number == 1:
                table.headers = [str(c).strip() for c in cells]
                continue
            if not any(isinstance(c, Odd) or c.strip() for c in cells):
                continue
            if len(table.rows) >= max_rows:
                raise _file_problem(f"more than {max_rows} rows: split the file")
            table.rows.append((number, cells))
    finally:
        wb.close()
    while table.headers and not table.headers[-1]:
        table.headers.pop()
    if not table.headers:
        raise _file_problem(f"sheet {names[index]!r} is empty (the sheets are: {', '.join(names)})")
    return table


# --- writing --------------------------------------------------------------------------------

def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """UTF-8 with BOM (so Excel opens Chinese text correctly), comma separated, CRLF lines."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)


def write_xlsx(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]], *,
               sheet: str = "Sheet1", text_columns: Sequence[int] = ()) -> None:
    """One sheet; ``text_columns`` (0-based) are formatted as text so codes keep leading zeros."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(headers))
    for row in rows:
        ws.append([str(v) if i in text_columns and v is not None else v for i, v in enumerate(row)])
    wb.save(path)
