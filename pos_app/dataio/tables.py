"""Read a spreadsheet (.xlsx) or a CSV file into rows of text cells, and write them back.

CSV: UTF-8 with or without BOM, or GB18030/GBK (what Chinese spreadsheet programs write),
detected; comma separated. XLSX: the first sheet unless one is named; numbers become their
decimal text, while formulas, dates and merged cells are kept as :class:`Odd` cells so that the
caller can name them as problems. Nothing is guessed silently: a file that cannot be read as a
table raises :class:`TableError` with one :class:`Problem` per thing wrong.
"""

from __future__ import annotations

import csv
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


def _number_text(value: float | int) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57})
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _xml(zf: zipfile.ZipFile, name: str) -> Any:
    import xml.etree.ElementTree as ET  # noqa: S405 - a spreadsheet from the shop, parsed without DTDs

    return ET.fromstring(zf.read(name))  # noqa: S314


def _sheet_paths(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, zip path) in workbook order."""
    wb = _xml(zf, "xl/workbook.xml")
    rels = _xml(zf, "xl/_rels/workbook.xml.rels")
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    out = []
    for sh in wb.iter(f"{_NS}sheet"):
        target = targets.get(sh.get(f"{_REL_NS}id"), "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out.append((sh.get("name", ""), path))
    return out


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    root = _xml(zf, "xl/sharedStrings.xml")
    return ["".join(t.text or "" for t in si.iter(f"{_NS}t")) for si in root.iter(f"{_NS}si")]


def _date_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles whose number format shows a date or time."""
    if "xl/styles.xml" not in zf.namelist():
        return set()
    root = _xml(zf, "xl/styles.xml")
    custom = {}
    for nf in root.iter(f"{_NS}numFmt"):
        code = re.sub(r'"[^"]*"|\[[^]]*\]', "", nf.get("formatCode", "")).lower()
        custom[int(nf.get("numFmtId", "0"))] = any(ch in code for ch in "ymdhs") and "general" not in code
    dates: set[int] = set()
    xfs = root.find(f"{_NS}cellXfs")
    for i, xf in enumerate(xfs.iter(f"{_NS}xf") if xfs is not None else ()):
        fid = int(xf.get("numFmtId", "0"))
        if fid in _DATE_FORMAT_IDS or custom.get(fid, False):
            dates.add(i)
    return dates


def _value_cell(c: Any, shared: list[str], dates: set[int]) -> Cell:
    t = c.get("t", "n")
    f = c.find(f"{_NS}f")
    if f is not None:
        return Odd("formula", "=" + (f.text or ""))
    v = c.find(f"{_NS}v")
    text = v.text if v is not None and v.text is not None else ""
    if t == "s":
        try:
            return shared[int(text)]
        except (ValueError, IndexError):
            return Odd("error", "bad shared string")
    if t == "inlineStr":
        return "".join(x.text or "" for x in c.iter(f"{_NS}t"))
    if t == "str":
        return text
    if t == "b":
        return "1" if text == "1" else "0"
    if t == "e":
        return Odd("error", text)
    if t == "d":
        return Odd("date", text)
    if not text:
        return ""
    if int(c.get("s", "0")) in dates:
        return Odd("date", text)
    try:
        return _number_text(float(text)) if ("." in text or "E" in text or "e" in text) else str(int(text))
    except ValueError:
        return text


def _read_xlsx(path: Path, sheet: str | None, max_rows: int) -> Table:
    """A streaming reader of the sheet XML (several times faster than openpyxl's cell objects)."""
    import xml.etree.ElementTree as ET  # noqa: S405

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _file_problem(f"not a readable Excel .xlsx file ({type(exc).__name__})") from exc
    with zf:
        try:
            sheets = _sheet_paths(zf)
            shared = _shared_strings(zf)
            dates = _date_styles(zf)
        except (KeyError, ET.ParseError, ValueError) as exc:
            raise _file_problem(f"not a readable Excel .xlsx file ({type(exc).__name__})") from exc
        names = [n for n, _ in sheets]
        if not sheets:
            raise _file_problem("the workbook has no sheets")
        if sheet is None:
            name, member = sheets[0]
        elif sheet in names:
            name, member = sheets[names.index(sheet)]
        else:
            raise _file_problem(f"no sheet named {sheet!r}; the sheets are: {', '.join(names)}")
        table = Table(headers=[], source=str(path), sheet=name)
        by_number: dict[int, list[Cell]] = {}
        merges: list[str] = []
        header: list[Cell] = []
        try:
            with zf.open(member) as fh:
                for _event, el in ET.iterparse(fh, events=("end",)):  # noqa: S314
                    tag = el.tag
                    if tag == f"{_NS}row":
                        number = int(el.get("r", "0")) or (max(by_number, default=1) + 1)
                        cells: list[Cell] = []
                        for c in el.iter(f"{_NS}c"):
                            m = _CELL_REF.match(c.get("r", ""))
                            col = _column_index(m.group(1).encode()) if m else len(cells) + 1
                            while len(cells) < col - 1:
                                cells.append("")
                            cells.append(_value_cell(c, shared, dates))
                        el.clear()
                        if number == 1:
                            header = cells
                            continue
                        if not any(isinstance(x, Odd) or x.strip() for x in cells):
                            continue
                        if len(table.rows) >= max_rows:
                            raise _file_problem(f"more than {max_rows} rows: split the file")
                        by_number[number] = cells
                        table.rows.append((number, cells))
                    elif tag == f"{_NS}mergeCell":
                        merges.append(el.get("ref", ""))
        except (KeyError, ET.ParseError, zipfile.BadZipFile) as exc:
            raise _file_problem(f"not a readable Excel .xlsx file ({type(exc).__name__})") from exc
    for ref in merges:
        m = re.fullmatch(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?", ref)
        if m is None:
            continue
        c1, r1 = _column_index(m.group(1).encode()), int(m.group(2))
        c2 = _column_index(m.group(3).encode()) if m.group(3) else c1
        r2 = int(m.group(4)) if m.group(4) else r1
        for r in range(r1, min(r2, r1 + 1000) + 1):
            row = header if r == 1 else by_number.get(r)
            if row is None:
                row = []
                by_number[r] = row
                table.rows.append((r, row))
            for c in range(c1, min(c2, c1 + 100) + 1):
                while len(row) < c:
                    row.append("")
                row[c - 1] = Odd("merged", str(row[c - 1]))
    table.rows.sort(key=lambda x: x[0])
    table.headers = [str(c).strip() for c in header]
    while table.headers and not table.headers[-1]:
        table.headers.pop()
    if not table.headers:
        raise _file_problem(f"sheet {name!r} is empty (the sheets are: {', '.join(names)})")
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
