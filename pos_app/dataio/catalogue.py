"""The catalogue file: columns, parsing + validation into :class:`ItemRecord`, template and export.

:func:`parse_catalogue` checks every row and returns every problem found (never only the first);
a caller applies the records only when the list of problems is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pos_app.domain.errors import CatalogueError
from pos_app.domain.items import MAX_BARCODES, TAX_RATES_BP, ItemRecord, normalize_barcode
from pos_app.domain.money import MAX_FEN

from .tables import Cell, Odd, Problem, Table, column_letter, write_csv, write_xlsx

__all__ = ["COLUMNS", "Column", "parse_catalogue", "parse_price", "parse_tax_rate", "parse_flag",
           "record_row", "write_template", "write_catalogue", "map_headers"]


@dataclass(frozen=True)
class Column:
    """A file column: record field, English and Chinese header, required?"""

    key: str
    en: str
    zh: str
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("code", "item code", "商品编码", True, ("code", "item_code", "sku", "货号", "编码", "商品代码")),
    Column("barcodes", "barcodes", "条码", False, ("barcode", "ean", "条形码", "商品条码")),
    Column("name_zh", "name (Chinese)", "商品名称", False, ("name_zh", "name", "名称", "品名", "中文名称")),
    Column("name_en", "name (English)", "英文名称", False, ("name_en", "english name")),
    Column("category", "category", "类别", False, ("分类", "品类")),
    Column("unit", "unit", "单位", False, ("unit_label",)),
    Column("price", "price", "售价", True, ("price_yuan", "retail price", "零售价", "价格", "单价")),
    Column("member_price", "member price", "会员价", False, ("member_price_yuan",)),
    Column("tax_rate", "tax rate", "税率", True, ("vat", "tax", "增值税率")),
    Column("weighed", "weighed", "称重", False, ("by weight", "称重商品", "计重")),
    Column("points_excluded", "no points", "不积分", False, ("points excluded", "excluded from points")),
    Column("active", "active", "启用", False, ("有效", "在售")),
)


def _norm_header(text: str) -> str:
    return re.sub(r"[\s_\-()（）]+", "", text.strip().lstrip("\ufeff")).lower()


_HEADER_KEYS: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.en, _c.zh, _c.key, *_c.aliases):
        _HEADER_KEYS[_norm_header(_name)] = _c.key
_BY_KEY = {c.key: c for c in COLUMNS}


def map_headers(headers: Sequence[str], known: dict[str, str], columns: dict[str, Column],
                what: str) -> tuple[dict[str, int], list[Problem]]:
    """Column key -> 0-based index; problems for unknown, repeated and missing columns."""
    index: dict[str, int] = {}
    problems: list[Problem] = []
    for i, header in enumerate(headers):
        if not header.strip():
            continue
        key = known.get(_norm_header(header))
        where = f"{column_letter(i + 1)} ({header})"
        if key is None:
            problems.append(Problem(1, where, header, f"unknown column for a {what} file"))
        elif key in index:
            problems.append(Problem(1, where, header, f"column given twice (also {column_letter(index[key] + 1)})"))
        else:
            index[key] = i
    missing = [c for c in columns.values() if c.required and c.key not in index]
    if missing:
        if not index:
            expected = ", ".join(f"{c.zh}/{c.en}" for c in columns.values() if c.required)
            problems.append(Problem(1, "", "", f"no {what} header row in the first row (it needs the columns "
                                               f"{expected}); is this the right file and sheet?"))
        else:
            for c in missing:
                problems.append(Problem(1, "", "", f"missing column {c.zh} / {c.en}"))
    return index, problems


# --- cell parsers (each returns (value, why); why == "" when good) -------------------------

_PRICE_RE = re.compile(r"(\d{1,9})(?:\.(\d{0,2}))?")


def parse_price(text: str) -> tuple[int | None, str]:
    """Yuan text ("12.50", "¥12.5", "12") -> fen; (None, why) for anything else."""
    t = text.strip().lstrip("¥￥").strip().replace(",", "")
    if not t:
        return None, "empty"
    m = _PRICE_RE.fullmatch(t)
    if m is None:
        if re.fullmatch(r"\d+\.\d{3,}", t):
            return None, "more than two decimals (fen is the smallest unit)"
        if t.startswith("-"):
            return None, "a price cannot be negative"
        return None, "price not a number (write yuan like 12.50)"
    fen = int(m.group(1)) * 100 + int((m.group(2) or "").ljust(2, "0"))
    if fen > MAX_FEN:
        return None, f"price above {MAX_FEN // 100} yuan"
    return fen, ""


def parse_tax_rate(text: str) -> tuple[int | None, str]:
    """"13%", "13", "0.13", "免税" -> basis points; (None, why) for a rate that is not allowed."""
    t = text.strip().replace(" ", "").replace("％", "%")
    if t in ("免税", "不征税", "exempt"):
        return 0, ""
    pct = t.endswith("%")
    t = t.rstrip("%")
    try:
        if not re.fullmatch(r"\d+(\.\d+)?", t):
            raise ValueError(t)
        whole, _, frac = t.partition(".")
        # exact decimal -> basis points without floats
        scaled = int(whole) * 10_000 + int((frac or "0").ljust(4, "0")[:4]) if len(frac) <= 4 else -1
        if scaled < 0:
            raise ValueError(t)
        bp = scaled // 100 if pct or int(whole) >= 1 or scaled == 0 else scaled
    except ValueError:
        return None, "unknown tax rate (write 13%, 9%, 6%, 3%, 1% or 0%)"
    if bp not in TAX_RATES_BP:
        return None, "unknown tax rate (China VAT: 13%, 9%, 6%, 0%; small-scale 3%, 1%)"
    return bp, ""


_TRUE = {"1", "y", "yes", "true", "x", "是", "√", "✓", "t"}
_FALSE = {"0", "n", "no", "false", "否", "", "f"}


def parse_flag(text: str) -> tuple[bool | None, str]:
    t = text.strip().lower()
    if t in _TRUE:
        return True, ""
    if t in _FALSE:
        return False, ""
    return None, "not a yes/no value (write 1 or 0, 是 or 否)"


_BARCODE_SPLIT = re.compile(r"[\s;,|，；、]+")


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell.text


def parse_catalogue(table: Table) -> tuple[list[ItemRecord], list[Problem]]:
    """Every row of ``table`` as an :class:`ItemRecord`, or the list of problems (row, column, value, why)."""
    index, problems = map_headers(table.headers, _HEADER_KEYS, _BY_KEY, "catalogue")
    if problems:
        return [], problems
    if "name_zh" not in index and "name_en" not in index:
        return [], [Problem(1, "", "", "missing column 商品名称 / name (Chinese) or 英文名称 / name (English)")]
    if not table.rows:
        return [], [Problem(0, "", "", "the file has a header row but no items")]
    names = {k: f"{column_letter(i + 1)} ({table.headers[i]})" for k, i in index.items()}
    records: list[ItemRecord] = []
    code_rows: dict[str, int] = {}
    barcode_rows: dict[str, tuple[int, str]] = {}
    pending_barcode_vs_code: list[tuple[int, str, str]] = []
    width = len(table.headers)
    for number, cells in table.rows:
        row_problems: list[Problem] = []

        def bad(key: str, value: str, why: str, number: int = number,
                row_problems: list[Problem] = row_problems) -> None:
            row_problems.append(Problem(number, names.get(key, key), value, why))

        if len(cells) > width and any(_text(c).strip() for c in cells[width:]):
            row_problems.append(Problem(number, column_letter(width + 1), _text(cells[width]),
                                        "a value right of the last column (a stray separator?)"))
        values: dict[str, str] = {}
        for key, i in index.items():
            cell: Cell = cells[i] if i < len(cells) else ""
            if isinstance(cell, Odd):
                why = {"formula": "a formula: paste the values instead",
                       "date": "a date: format the column as text or number",
                       "merged": "part of merged cells: unmerge them and fill every row",
                       "error": "an Excel error value"}.get(cell.kind, cell.kind)
                if cell.kind == "date" and key in ("price", "member_price"):
                    why = "a date in a price column: format the column as a number"
                bad(key, cell.text, why)
                continue
            if cell.startswith("="):
                bad(key, cell, "a formula: paste the values instead")
                continue
            values[key] = cell.strip()
        if row_problems:
            problems.extend(row_problems)
            continue
        code = values.get("code", "")
        if not code:
            bad("code", "", "item code is empty")
        elif len(code) > 32 or any(ch.isspace() for ch in code):
            bad("code", code, "item code must be 1-32 characters without spaces")
        elif code in code_rows:
            bad("code", code, f"duplicate item code (first on row {code_rows[code]})")
        else:
            code_rows[code] = number
        name_zh, name_en = values.get("name_zh", ""), values.get("name_en", "")
        if not name_zh and not name_en:
            bad("name_zh" if "name_zh" in index else "name_en", "", "the item needs a name")
        for key, val in (("name_zh", name_zh), ("name_en", name_en)):
            if len(val) > 60:
                bad(key, val[:20] + "...", "name longer than 60 characters")
        price, why = parse_price(values.get("price", ""))
        if why:
            bad("price", values.get("price", ""), why)
        member_price: int | None = None
        if values.get("member_price", ""):
            member_price, why = parse_price(values["member_price"])
            if why:
                bad("member_price", values["member_price"], why)
            elif price is not None and member_price is not None and member_price > price:
                bad("member_price", values["member_price"], "member price above the price")
        tax, why = parse_tax_rate(values.get("tax_rate", ""))
        if why:
            bad("tax_rate", values.get("tax_rate", ""), why if values.get("tax_rate") else "tax rate is empty")
        flags: dict[str, bool] = {}
        for key, default in (("weighed", False), ("points_excluded", False), ("active", True)):
            raw = values.get(key, "")
            if not raw:
                flags[key] = default
                continue
            flag, why = parse_flag(raw)
            if flag is None:
                bad(key, raw, why)
            else:
                flags[key] = flag
        barcodes: list[str] = []
        raw_codes = [b for b in _BARCODE_SPLIT.split(values.get("barcodes", "")) if b]
        if len(raw_codes) > MAX_BARCODES:
            bad("barcodes", values.get("barcodes", "")[:40], f"more than {MAX_BARCODES} barcodes")
        for raw in raw_codes[:MAX_BARCODES]:
            key_code, why = normalize_barcode(raw)
            if why:
                if raw.isdigit() and len(raw) in (7, 11):
                    why += "; a leading zero lost? format the barcode column as text"
                bad("barcodes", raw, why)
                continue
            if key_code in barcode_rows:
                first_row, _first_code = barcode_rows[key_code]
                if first_row == number:
                    bad("barcodes", raw, "the same barcode twice on this item")
                else:
                    bad("barcodes", raw, f"duplicate barcode (also on row {first_row})")
                continue
            barcode_rows[key_code] = (number, code)
            barcodes.append(key_code)
            pending_barcode_vs_code.append((number, raw, key_code))
        unit_label = values.get("unit", "")
        if len(unit_label) > 8:
            bad("unit", unit_label, "unit longer than 8 characters")
        if row_problems:
            problems.extend(row_problems)
            continue
        assert price is not None and tax is not None  # noqa: S101 - checked above
        try:
            records.append(ItemRecord(
                code=code, name_zh=name_zh, name_en=name_en, price_fen=price, barcodes=tuple(barcodes),
                category=values.get("category", "")[:40], unit_label=unit_label or ("kg" if flags["weighed"] else ""),
                member_price_fen=member_price, tax_rate_bp=tax, weighed=flags["weighed"],
                points_excluded=flags["points_excluded"], active=flags["active"]))
        except CatalogueError as exc:  # pragma: no cover - every rule is checked per cell above
            problems.append(Problem(number, "", code, str(exc)))
    # a barcode that is another item's code would scan as the wrong item
    for number, raw, key_code in pending_barcode_vs_code:
        owner_row = code_rows.get(key_code)
        if owner_row is not None and barcode_rows[key_code][1] != key_code:
            problems.append(Problem(number, names["barcodes"], raw,
                                    f"this barcode is the item code of row {owner_row}"))
    problems.sort(key=lambda p: p.row)
    return (records if not problems else []), problems


# --- writing --------------------------------------------------------------------------------

def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _pct(bp: int) -> str:
    return f"{bp // 100}%" if bp % 100 == 0 else f"{bp / 100}%"


def record_row(r: ItemRecord) -> list[str]:
    """One record as the cells of a catalogue file row (inverse of :func:`parse_catalogue`)."""
    return [r.code, " ".join(r.barcodes), r.name_zh, r.name_en, r.category, r.unit_label, _yuan(r.price_fen),
            _yuan(r.member_price_fen), _pct(r.tax_rate_bp), "1" if r.weighed else "0",
            "1" if r.points_excluded else "0", "1" if r.active else "0"]


def _headers(language: str) -> list[str]:
    return [c.zh if language == "zh" else c.en for c in COLUMNS]


EXAMPLE = ItemRecord(code="100001", barcodes=("6901234567892",), name_zh="农夫山泉 550ml", name_en="Spring water 550ml",
                     category="饮料", unit_label="瓶", price_fen=200, member_price_fen=180, tax_rate_bp=1300)


def write_template(path: Path, language: str = "zh") -> None:
    """An .xlsx with the header row and one example row (codes and prices as text)."""
    write_catalogue(path, [EXAMPLE], language=language)


def write_catalogue(path: Path, records: Iterable[ItemRecord], *, language: str = "zh") -> None:
    """The catalogue in the import format (.xlsx, or .csv UTF-8 with BOM, by the file name)."""
    rows = (record_row(r) for r in records)
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, _headers(language), rows, sheet="商品" if language == "zh" else "Catalogue",
                   text_columns=range(len(COLUMNS)))
    else:
        write_csv(path, _headers(language), rows)
