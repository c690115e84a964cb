"""Alipay's daily trade bill (对账单): the download-URL query, the download, and the zip's GBK CSV files.

Facts: a zip named ``<PID>0156_<yyyyMMdd>.csv.zip`` holding ``…_业务明细.csv`` (detail) and
``…_业务明细(汇总).csv`` (summary); entry names and text in GBK; ``#`` comment lines; values padded with
TABs; refunds are ``退款`` rows with negative amounts that keep the original trade's numbers.
Everything here refuses what it cannot vouch for with :class:`BillFormatError` and a message saying why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import re
import urllib.parse
import zipfile
import zlib
from collections.abc import Sequence

import httpx

from pos_app.alipay.client import AlipayClient
from pos_app.domain.reconcile import AlipayBill, AlipayEntry, BillFormatError, BillUnavailable, EntryKind
from pos_app.services.ports.gateway import (
    GatewayBusinessFailure,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
)

__all__ = [
    "BILL_METHOD",
    "MAX_BILL_BYTES",
    "Bill",
    "BillUrl",
    "bill_url_from_result",
    "download_bill",
    "parse_bill_zip",
    "DETAIL_COLUMNS",
    "AlipayBillSource",
]

logger = logging.getLogger(__name__)

BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
MAX_BILL_BYTES = 200 * 1024 * 1024
DETAIL_COLUMNS = (
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
    "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
    "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
    "服务费（元）", "分润（元）", "备注",
)
_NEEDED = ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）", "商家实收（元）", "退款批次号/请求号")
_AMOUNT_RE = re.compile(r"(-?)(\d{1,12})\.(\d{2})")
_ACCOUNT_RE = re.compile(r"#账号：\[(\d{16,24})\]")
_WINDOW_RE = re.compile(r"#起始日期：\[(\d{4})年(\d{2})月(\d{2})日 00:00:00\]")
_TRADE_TOTAL_RE = re.compile(r"#交易合计：(\d+)笔，商家实收共(-?\d+\.\d{2})元")
_REFUND_TOTAL_RE = re.compile(r"#退款合计：(\d+)笔，商家实收退款共(-?\d+\.\d{2})元")
_NOT_READY = ("isp.bill_not_exist", "BILL_NOT_EXIST", "NO_BILL_DATA", "BILL_DATE_BEFORE_REGISTRATION")
_RATE_LIMIT = ("SYSTEM_RATE_LIMIT", "USER_RATE_LIMIT")


@dataclasses.dataclass(frozen=True)
class BillUrl:
    """A verified answer to the download-URL query for ``bill_date`` (valid for about 30 seconds)."""

    bill_date: dt.date
    url: str
    empty: bool        # bill_file_code == EMPTY_DATA_WITH_BILL_FILE


Bill = AlipayBill


def bill_url_from_result(result: GatewayResult, bill_date: dt.date) -> BillUrl:
    """Believe a download-URL answer only when it is a success about ``bill_date``'s trade bill.

    Raises BillUnavailable (not ready yet, rate limited, no answer: retry later; refused: do not).
    """
    day = bill_date.isoformat()
    if isinstance(result, GatewayUnknown):
        raise BillUnavailable(f"no usable answer from Alipay for the {day} bill ({result.reason}); try again later",
                              retry_later=True)
    if isinstance(result, GatewayBusinessFailure):
        sub = result.sub_code
        if sub in _NOT_READY or sub.lower() in (s.lower() for s in _NOT_READY):
            raise BillUnavailable(f"Alipay has no {day} bill yet ({sub}); bills are ready the next morning "
                                  "(after about 09:00-10:00 Beijing time)", retry_later=True)
        if sub in _RATE_LIMIT:
            raise BillUnavailable(f"Alipay is rate-limiting the bill query ({sub}); try again in a minute",
                                  retry_later=True)
        raise BillUnavailable(f"Alipay refused the {day} bill query: {result.code} {sub} {result.sub_msg}".strip(),
                              retry_later=False)
    if not isinstance(result, GatewaySuccess):
        raise BillUnavailable(f"unexpected answer to the {day} bill query", retry_later=True)
    url = result.body.get("bill_download_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise BillUnavailable(f"Alipay's answer for the {day} bill has no download URL", retry_later=True)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    biz_dates = query.get("bizDates", [""])[0]
    biz_type = query.get("bizType", ["trade"])[0]
    if biz_dates and biz_dates != bill_date.strftime("%Y%m%d"):
        raise BillUnavailable(f"Alipay's answer is about the bill of {biz_dates}, not {day}; refused",
                              retry_later=True)
    if biz_type != "trade":
        raise BillUnavailable(f"Alipay's answer is about a {biz_type!r} bill, not the trade bill; refused",
                              retry_later=True)
    return BillUrl(bill_date, url, result.body.get("bill_file_code") == "EMPTY_DATA_WITH_BILL_FILE")


def download_bill(http: httpx.Client, url: str, *, max_bytes: int = MAX_BILL_BYTES) -> bytes:
    """Plain GET of the bill URL (no signing); the body must be a zip (``PK``). Raises BillUnavailable."""
    try:
        with http.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise BillUnavailable(f"the bill download answered HTTP {resp.status_code}; query the URL again",
                                      retry_later=True)
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise BillUnavailable(f"the bill download is larger than {max_bytes // (1024 * 1024)} MB; refused",
                                          retry_later=False)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise BillUnavailable(f"the bill download failed ({type(exc).__name__}); try again", retry_later=True) from exc
    data = b"".join(chunks)
    if not data.startswith(b"PK"):
        text = data[:200].decode("gb18030", errors="replace").strip()
        if "超时" in text or "重新下载" in text:
            raise BillUnavailable("the bill download URL expired (valid 30 s); query a new one", retry_later=True)
        raise BillFormatError(f"the bill download is not a zip file (it starts with {text[:40]!r})")
    return data


# --- parsing -----------------------------------------------------------------------------------

def _fen(text: str, where: str) -> int:
    m = _AMOUNT_RE.fullmatch(text)
    if m is None:
        raise BillFormatError(f"{where}: {text!r} is not an amount in yuan with two decimals")
    value = int(m.group(2)) * 100 + int(m.group(3))
    return -value if m.group(1) else value


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name: GBK when the UTF-8 flag (bit 11) is clear, as Alipay writes them."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _read_text(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> str:
    try:
        raw = zf.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise BillFormatError(f"{name}: the zip entry cannot be read, the file is truncated or damaged ({exc})") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raise BillFormatError(f"{name}: the file is UTF-8 (it has a byte-order mark), Alipay bills are GBK")
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BillFormatError(f"{name}: not GBK text (byte {exc.start}); Alipay bills are GBK") from exc
        raise BillFormatError(f"{name}: the file is UTF-8, Alipay bills are GBK") from exc
    if not text.startswith("#支付宝业务"):
        try:
            if raw.decode("utf-8").startswith("#支付宝业务"):
                raise BillFormatError(f"{name}: the file is UTF-8, Alipay bills are GBK")
        except UnicodeDecodeError:
            pass
        raise BillFormatError(f"{name}: not an Alipay bill (it does not start with #支付宝业务…)")
    return text


def _head(lines: Sequence[str], name: str, bill_date: dt.date, expected_account: str | None) -> str:
    account = next((m.group(1) for m in (_ACCOUNT_RE.match(ln) for ln in lines[:4]) if m), None)
    if account is None:
        raise BillFormatError(f"{name}: no #账号 line in the head")
    window = next((m for m in (_WINDOW_RE.match(ln) for ln in lines[:4]) if m), None)
    if window is None:
        raise BillFormatError(f"{name}: no #起始日期 line in the head")
    start = dt.date(int(window.group(1)), int(window.group(2)), int(window.group(3)))
    if start != bill_date:
        raise BillFormatError(f"{name}: this is the bill of {start.isoformat()}, not {bill_date.isoformat()}")
    if expected_account is not None and account != expected_account:
        raise BillFormatError(f"{name}: this bill is for account {account}, not this merchant's {expected_account} "
                              "(another app's or another merchant's bill)")
    return account


def _detail(text: str, name: str, bill_date: dt.date, expected_account: str | None
            ) -> tuple[str, list[AlipayEntry], tuple[int, int, int, int]]:
    lines = text.splitlines()
    account = _head(lines, name, bill_date, expected_account)
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith("#") and "业务明细列表" in ln and "结束" not in ln)
    except StopIteration:
        raise BillFormatError(f"{name}: no 业务明细列表 start marker") from None
    try:
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("#") and "业务明细列表结束" in lines[i])
    except StopIteration:
        raise BillFormatError(f"{name}: no 业务明细列表结束 end marker; the file is truncated") from None
    if start + 1 >= end:
        raise BillFormatError(f"{name}: no column header after the start marker")
    header = [h.strip("\t ") for h in lines[start + 1].split(",")]
    missing = [c for c in _NEEDED if c not in header]
    if missing:
        raise BillFormatError(f"{name}: the column header lacks {', '.join(missing)}")
    ix = {c: header.index(c) for c in (*_NEEDED, "门店编号", "终端号") if c in header}
    i_trade, i_out, i_kind, i_fin = ix["支付宝交易号"], ix["商户订单号"], ix["业务类型"], ix["完成时间"]
    i_amt, i_rcv, i_req = ix["订单金额（元）"], ix["商家实收（元）"], ix["退款批次号/请求号"]
    i_store, i_term = ix.get("门店编号"), ix.get("终端号")
    width = len(header)
    entries: list[AlipayEntry] = []
    t_n = r_n = t_fen = r_fen = 0
    for n in range(start + 2, end):
        line = lines[n]
        if not line or line.startswith("#"):
            continue
        cells = line.split(",")
        where = f"{name} line {n + 1}"
        if len(cells) != width:
            raise BillFormatError(f"{where}: {len(cells)} values where the header has {width}")
        kind_text = cells[i_kind].strip("\t ")
        if kind_text == "交易":
            kind = EntryKind.TRADE
        elif kind_text == "退款":
            kind = EntryKind.REFUND
        else:
            raise BillFormatError(f"{where}: unknown 业务类型 {kind_text!r}")
        amount = _fen(cells[i_amt].strip("\t "), where)
        received = _fen(cells[i_rcv].strip("\t "), where)
        trade_no, out_trade_no = cells[i_trade].strip("\t "), cells[i_out].strip("\t ")
        if not out_trade_no and not trade_no:
            raise BillFormatError(f"{where}: neither 支付宝交易号 nor 商户订单号")
        if kind is EntryKind.TRADE:
            t_n += 1
            t_fen += received
        else:
            r_n += 1
            r_fen += received
        entries.append(AlipayEntry(kind, trade_no, out_trade_no,
                                   cells[i_req].strip("\t ") if kind is EntryKind.REFUND else "",
                                   abs(amount), received, cells[i_fin].strip("\t "),
                                   cells[i_store].strip("\t ") if i_store is not None else "",
                                   cells[i_term].strip("\t ") if i_term is not None else ""))
    tail = "\n".join(lines[end + 1:])
    tm, rm = _TRADE_TOTAL_RE.search(tail), _REFUND_TOTAL_RE.search(tail)
    if tm is None or rm is None:
        raise BillFormatError(f"{name}: the #交易合计/#退款合计 lines are missing; the file is truncated")
    totals = (int(tm.group(1)), _fen(tm.group(2), name), int(rm.group(1)), _fen(rm.group(2), name))
    if totals != (t_n, t_fen, r_n, r_fen):
        raise BillFormatError(
            f"{name}: the rows ({t_n} trades {t_fen / 100:.2f}, {r_n} refunds {r_fen / 100:.2f}) do not add up to "
            f"the bill's totals ({totals[0]} trades {totals[1] / 100:.2f}, {totals[2]} refunds "
            f"{totals[3] / 100:.2f}); the file is truncated or altered")
    return account, entries, totals


def _summary(text: str, name: str, bill_date: dt.date, account: str) -> tuple[int, int, int]:
    """(trade count, refund count, 商家实收 total) from the 合计 row of the summary file."""
    lines = text.splitlines()
    _head(lines, name, bill_date, account)
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith("#") and "业务汇总列表" in ln and "结束" not in ln)
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("#") and "业务汇总列表结束" in lines[i])
    except StopIteration:
        raise BillFormatError(f"{name}: the 业务汇总列表 markers are missing; the file is truncated") from None
    header = [h.strip("\t ") for h in lines[start + 1].split(",")] if start + 1 < end else []
    for row in lines[start + 2:end]:
        cells = [c.strip("\t ") for c in row.split(",")]
        if cells and cells[0] == "合计":
            try:
                return (int(cells[header.index("交易订单总笔数")]), int(cells[header.index("退款订单总笔数")]),
                        _fen(cells[header.index("商家实收（元）")], name))
            except (ValueError, IndexError) as exc:
                raise BillFormatError(f"{name}: the 合计 row cannot be read ({exc})") from exc
    raise BillFormatError(f"{name}: no 合计 row")


def parse_bill_zip(data: bytes, bill_date: dt.date, *, expected_account: str | None = None) -> Bill:
    """Parse the daily trade bill zip of ``bill_date``; ``expected_account`` is ``<PID>0156`` when known."""
    if not data.startswith(b"PK"):
        raise BillFormatError("the bill is not a zip file")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BillFormatError(f"the bill zip cannot be opened; it is truncated or damaged ({exc})") from exc
    with zf:
        named = [(_entry_name(i), i) for i in zf.infolist() if not i.is_dir()]
        details = sorted((n, i) for n, i in named if re.search(r"_业务明细(_\d+)?\.csv$", n))
        summaries = [(n, i) for n, i in named if n.endswith("_业务明细(汇总).csv")]
        if not details:
            raise BillFormatError("the zip holds no …_业务明细.csv file: not an Alipay trade bill "
                                  f"(entries: {', '.join(n for n, _ in named)[:200]})")
        if not summaries:
            raise BillFormatError("the zip holds no …_业务明细(汇总).csv summary file; the bill is incomplete")
        want = bill_date.strftime("%Y%m%d")
        account: str | None = expected_account
        entries: list[AlipayEntry] = []
        t_n = r_n = t_fen = r_fen = 0
        for name, info in details:
            if f"_{want}_" not in name:
                raise BillFormatError(f"{name}: the file name is not for {bill_date.isoformat()}")
            acc, rows, totals = _detail(_read_text(zf, info, name), name, bill_date, account)
            account = acc
            if not name.startswith(acc):
                raise BillFormatError(f"{name}: the file name does not carry the bill's account {acc}")
            entries.extend(rows)
            t_n, t_fen, r_n, r_fen = t_n + totals[0], t_fen + totals[1], r_n + totals[2], r_fen + totals[3]
        assert account is not None
        s_name, s_info = summaries[0]
        s_trades, s_refunds, s_received = _summary(_read_text(zf, s_info, s_name), s_name, bill_date, account)
        if (s_trades, s_refunds, s_received) != (t_n, r_n, t_fen + r_fen):
            raise BillFormatError(
                f"{s_name}: the summary ({s_trades} trades, {s_refunds} refunds, {s_received / 100:.2f}) does not "
                f"agree with the detail ({t_n} trades, {r_n} refunds, {(t_fen + r_fen) / 100:.2f})")
    logger.info("bill %s parsed: %d trades, %d refunds", bill_date, t_n, r_n)
    return Bill(account, bill_date, tuple(entries), t_n, t_fen, r_n, r_fen)


class AlipayBillSource:
    """The day's trade bill from the gateway: the signed URL query, then the plain download (own HTTP client)."""

    def __init__(self, client: AlipayClient, *, http: httpx.Client | None = None) -> None:
        self._client = client
        self._own = http is None
        timeout = httpx.Timeout(60.0, connect=client.config.connect_timeout_s)
        self._http = http if http is not None else httpx.Client(timeout=timeout, trust_env=False)

    def fetch(self, day: dt.date) -> bytes:
        """The zip of ``day``'s trade bill; raises BillUnavailable or BillFormatError."""
        result = self._client.call(BILL_METHOD, {"bill_type": "trade", "bill_date": day.isoformat()})
        location = bill_url_from_result(result, day)
        return download_bill(self._http, location.url)

    def close(self) -> None:
        if self._own:
            self._http.close()
