"""The sandbox's daily trade bills: ``alipay.data.dataservice.bill.downloadurl.query`` and the zip download.

The zip is built from the sandbox's own trade ledger (charges, refunds, cancel-refunds) exactly as Alipay's
(see alipay-bill.md): GBK entry names with the UTF-8 flag clear, GBK text, ``#`` head and tail lines,
TABs after the fields Alipay pads, negative refund rows keeping the original trade numbers, a summary file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import secrets
import urllib.parse
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

from pos_app.domain.money import format_gateway
from pos_app.services.ports.clock import BEIJING

from .base import TS_FMT, Reply, StateBase, fail, ok, parse_ts

__all__ = ["BillRules", "BILL_TYPES", "BILL_URL_TTL_S", "partner_id_for", "build_bill_zip", "write_gbk_zip",
           "BillRow"]

logger = logging.getLogger(__name__)

BILL_TYPES = ("trade", "signcustomer", "merchant_act", "trade_zft_merchant", "zft_acc", "settlementMerge")
BILL_URL_TTL_S = 30.0
_DASH = "-"
_DETAIL_HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
                  "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
                  "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")
_SUMMARY_HEADER = ("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,"
                   "商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）")

BillRow = dict[str, Any]
"""kind ('交易'|'退款'), trade_no, out_trade_no, subject, created, finished, store_id, operator_id,
terminal_id, buyer, fen (signed), out_request_no."""


def partner_id_for(app_id: str) -> str:
    """The sandbox merchant's 16-digit PID (2088…), derived from the app id."""
    digest = int(hashlib.sha256(app_id.encode()).hexdigest()[:16], 16)
    return "2088" + str(digest)[-12:].rjust(12, "0")


def _cn_stamp(when: dt.datetime) -> str:
    return when.strftime("%Y年%m月%d日 %H:%M:%S")


def _clean(text: str) -> str:
    """No commas or line breaks inside a value (Alipay's files are never quoted)."""
    return re.sub(r"[\r\n]", " ", text).replace(",", "，")


def _money(fen: int) -> str:
    return ("-" if fen < 0 else "") + format_gateway(abs(fen))


def write_gbk_zip(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip whose entry names are GBK bytes with flag bit 11 clear (as Alipay writes them)."""

    class _GbkInfo(zipfile.ZipInfo):
        def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - stdlib hook
            return self.filename.encode("gbk"), self.flag_bits & ~0x800

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            info = _GbkInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def build_bill_zip(account: str, label: str, start: dt.datetime, end: dt.datetime, rows: list[BillRow],
                   exported: dt.datetime) -> tuple[str, bytes]:
    """(zip file name, zip bytes) of a trade bill for ``[start, end)`` holding ``rows`` (in order)."""
    head = [f"#账号：[{account}]", f"#起始日期：[{_cn_stamp(start)}]   终止日期：[{_cn_stamp(end)}]"]
    lines = ["#支付宝业务明细查询", *head, "#" + _DASH * 41 + "业务明细列表" + _DASH * 40, _DETAIL_HEADER]
    t_n = r_n = t_fen = r_fen = 0
    stores: dict[str, list[int]] = {}
    for r in rows:
        fen = int(r["fen"])
        refund = r["kind"] == "退款"
        if refund:
            r_n += 1
            r_fen += fen
        else:
            t_n += 1
            t_fen += fen
        s = stores.setdefault(str(r.get("store_id") or ""), [0, 0, 0])
        s[1 if refund else 0] += 1
        s[2] += fen
        amount = _money(fen)
        lines.append(",".join((
            f"{r['trade_no']}\t", f"{r['out_trade_no']}\t", f"{r['kind']}\t", _clean(str(r.get("subject") or "")),
            str(r.get("created") or ""), str(r["finished"]), f"{_clean(str(r.get('store_id') or ''))}\t", "\t",
            f"{_clean(str(r.get('operator_id') or ''))}\t", f"{_clean(str(r.get('terminal_id') or ''))}\t",
            f"{_clean(str(r.get('buyer') or ''))}\t", amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "",
            "0.00\t", "0.00", f"{_clean(str(r.get('out_request_no') or ''))}\t", "0.00", "0.00",
            _clean(str(r.get("subject") or "")),
        )))
    stamp = _cn_stamp(exported)
    lines += ["#" + _DASH * 41 + "业务明细列表结束" + _DASH * 36,
              f"#交易合计：{t_n}笔，商家实收共{_money(t_fen)}元，商家优惠共0.00元",
              f"#退款合计：{r_n}笔，商家实收退款共{_money(r_fen)}元，商家优惠退款共0.00元",
              f"#导出时间：[{stamp}]"]
    summary = ["#支付宝业务汇总查询", *head, "#" + _DASH * 41 + "业务汇总列表" + _DASH * 40, _SUMMARY_HEADER]
    for store_id, (tn, rn, fen) in sorted(stores.items()):
        summary.append(f"{_clean(store_id)},,{tn},{rn},{_money(fen)},{_money(fen)},0.00,0.00,0.00,0.00,0.00,"
                       f"{_money(fen)}")
    total = t_fen + r_fen
    summary += [f"合计,,{t_n},{r_n},{_money(total)},{_money(total)},0.00,0.00,0.00,0.00,0.00,{_money(total)}",
                "#" + _DASH * 40 + "业务汇总列表结束" + _DASH * 37, f"#导出时间：[{stamp}]"]
    base = f"{account}_{label}"
    data = write_gbk_zip([(f"{base}_业务明细.csv", ("\n".join(lines) + "\n").encode("gbk", errors="replace")),
                          (f"{base}_业务明细(汇总).csv", ("\n".join(summary) + "\n").encode("gbk", errors="replace"))])
    return f"{base}.csv.zip", data


class BillRules(StateBase):
    """The bill query and download on top of the shared state (tokens live in memory, 30 s each)."""

    base_url = "http://127.0.0.1"
    _bill_tokens: dict[str, dict[str, Any]]

    def _tokens(self) -> dict[str, dict[str, Any]]:
        if not hasattr(self, "_bill_tokens"):
            self._bill_tokens = {}
        return self._bill_tokens

    @staticmethod
    def _period(text: Any) -> tuple[dt.datetime, dt.datetime, str] | None:
        if not isinstance(text, str):
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                return None
            start = dt.datetime.combine(day, dt.time(0), tzinfo=BEIJING)
            return start, start + dt.timedelta(days=1), day.strftime("%Y%m%d")
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = int(text[:4]), int(text[5:])
            if not 1 <= month <= 12:
                return None
            start = dt.datetime(year, month, 1, tzinfo=BEIJING)
            end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=BEIJING)
            return start, end, f"{year:04d}{month:02d}"
        return None

    def _bill_rows(self, app_id: str, start: dt.datetime, end: dt.datetime) -> list[BillRow]:
        rows: list[BillRow] = []
        for t in self.trades.values():
            if t.get("app_id") != app_id or t.get("placeholder"):
                continue
            self._refresh_for_bill(t)
            for c in t.get("charges", []):
                at = parse_ts(c.get("at"))
                if at is None or not start <= at < end:
                    continue
                refund = c["kind"] != "charge"
                rows.append({"kind": "退款" if refund else "交易", "trade_no": t["trade_no"],
                             "out_trade_no": t["out_trade_no"], "subject": t.get("subject") or "",
                             "created": t.get("gmt_create") or "", "finished": c["at"],
                             "store_id": t.get("store_id") or "", "operator_id": t.get("operator_id") or "",
                             "terminal_id": t.get("terminal_id") or "", "buyer": t.get("buyer_logon_id") or "",
                             "fen": int(c["fen"]), "out_request_no": c.get("out_request_no") or ""})
        rows.sort(key=lambda r: (r["finished"], r["trade_no"], r["kind"]))
        return rows

    def _refresh_for_bill(self, t: dict[str, Any]) -> None:
        refresh = getattr(self, "_refresh", None)
        if callable(refresh):
            refresh(t)

    def bill_download_url(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.data.dataservice.bill.downloadurl.query."""
        cfg = self.meta["config"]
        bill_type = biz.get("bill_type")
        if bill_type not in BILL_TYPES:
            return fail("isv.invalid_arguments", "参数不合法：bill_type")
        if biz.get("smid") and bill_type != "trade_zft_merchant":
            return fail("isv.invalid_arguments", "参数不合法：smid")
        period = self._period(biz.get("bill_date"))
        if period is None:
            return fail("isv.invalid_arguments", "参数不合法：bill_date")
        start, end, label = period
        now = self.now()
        if (len(label) == 8 and start.date() >= now.date()) or (len(label) == 6 and end > now):
            return fail("isv.invalid_arguments", "参数不合法：不能查询当天或未来的账单")
        ready = end + dt.timedelta(hours=float(cfg.get("bill_ready_hour", 9)))
        not_exist = "BILL_NOT_EXIST" if cfg.get("bill_not_exist_code") == "BILL_NOT_EXIST" else "isp.bill_not_exist"
        if now < ready or bill_type != "trade":
            return fail(not_exist, "账单不存在")
        rows = self._bill_rows(app_id, start, end)
        file_code = None
        if not rows:
            if cfg.get("empty_bill", "file") == "no_data":
                return fail("NO_BILL_DATA", "账单数据为空")
            file_code = "EMPTY_DATA_WITH_BILL_FILE"
        token = secrets.token_hex(16)
        pid = partner_id_for(app_id)
        account = pid + "0156"
        self._tokens()[token] = {"app_id": app_id, "bill_date": biz["bill_date"], "issued": now.strftime(TS_FMT)}
        file_id = urllib.parse.quote(f"/trade/{pid}/{label}.csv.zip", safe="")
        url = (f"{self.base_url}/downloadBillFile.resource?bizType=trade&userId={account}&fileType=csv.zip"
               f"&bizDates={label}&downloadFileName={account}_{label}.csv.zip&fileId={file_id}"
               f"&timestamp={int(now.timestamp())}&token={token}")
        return ok(bill_download_url=url, bill_file_code=file_code)

    def bill_file(self, token: str) -> tuple[int, bytes, str]:
        """The download behind a bill URL: (HTTP status, body, content type)."""
        with self.lock:
            entry = self._tokens().get(token)
            expired_body = "下载超时，请重新下载".encode("gbk")
            if entry is None:
                return 200, expired_body, "text/html;charset=GBK"
            issued = parse_ts(entry["issued"])
            if issued is None or (self.now() - issued).total_seconds() > BILL_URL_TTL_S:
                return 200, expired_body, "text/html;charset=GBK"
            period = self._period(entry["bill_date"])
            assert period is not None
            start, end, label = period
            rows = self._bill_rows(entry["app_id"], start, end)
            name, data = build_bill_zip(partner_id_for(entry["app_id"]) + "0156", label, start, end, rows,
                                        self.now())
            logger.info("sandbox bill %s: %d rows", name, len(rows))
            return 200, data, "application/zip"
