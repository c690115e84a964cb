"""The sandbox's daily trade bill (URL query + zip download) and the terminal's bill parser, over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import httpx
import pytest

from pos_app.alipay import AlipayClient
from pos_app.alipay.bill import (
    BILL_METHOD,
    AlipayBillSource,
    bill_url_from_result,
    download_bill,
    parse_bill_zip,
)
from pos_app.domain.reconcile import BillFormatError, BillUnavailable, EntryKind
from pos_app.sandbox import SandboxServer
from pos_app.sandbox.bills import build_bill_zip, partner_id_for, write_gbk_zip
from pos_app.services.ports.clock import BEIJING
from pos_app.services.ports.gateway import GatewayBusinessFailure, GatewaySuccess

DAY = dt.date(2026, 3, 10)


def _trade_day(sandbox: SandboxServer, client: AlipayClient) -> None:
    """Three paid trades, a partial refund and a cancel-refund on DAY; one trade the next day."""
    sandbox.set_clock(dt.datetime(2026, 3, 10, 9, 0, 0))
    for i, amount in enumerate((1250, 800, 4599)):
        res = client.pay(f"POS-A{i}", f"2810000000000000{i}", amount, "门店消费, 测试", store_id="S1", terminal_id="T1")
        assert isinstance(res, GatewaySuccess)
    assert isinstance(client.refund("POS-A0", "R-1", 250, "broken"), GatewaySuccess)
    assert isinstance(client.cancel("POS-A1"), GatewaySuccess)
    sandbox.set_clock(dt.datetime(2026, 3, 11, 0, 0, 1))
    assert isinstance(client.pay("POS-B0", "28100000000000009", 100, "next day"), GatewaySuccess)


def _fetch(sandbox: SandboxServer, client: AlipayClient, day: dt.date = DAY) -> bytes:
    source = AlipayBillSource(client)
    try:
        return source.fetch(day)
    finally:
        source.close()


def test_bill_of_a_day_round_trip(sandbox: SandboxServer, client: AlipayClient) -> None:
    _trade_day(sandbox, client)
    sandbox.set_clock(dt.datetime(2026, 3, 11, 10, 0, 0))
    data = _fetch(sandbox, client)
    account = partner_id_for(sandbox.app_id) + "0156"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert all(not i.flag_bits & 0x800 for i in infos)  # names are GBK, not flagged UTF-8
        names = sorted(i.filename.encode("cp437").decode("gbk") for i in infos)
        assert names == [f"{account}_20260310_业务明细(汇总).csv", f"{account}_20260310_业务明细.csv"]
        detail = zf.read(infos[0]).decode("gbk")
    assert detail.startswith("#支付宝业务明细查询\n#账号：[" + account + "]\n")
    assert "#起始日期：[2026年03月10日 00:00:00]   终止日期：[2026年03月11日 00:00:00]" in detail
    assert "\t," in detail and "#交易合计：3笔，商家实收共66.49元" in detail
    bill = parse_bill_zip(data, DAY, expected_account=account)
    trades = {e.out_trade_no: e for e in bill.entries if e.kind is EntryKind.TRADE}
    refunds = [(e.out_trade_no, e.out_request_no, e.amount_fen, e.received_fen) for e in bill.entries
               if e.kind is EntryKind.REFUND]
    assert {k: v.amount_fen for k, v in trades.items()} == {"POS-A0": 1250, "POS-A1": 800, "POS-A2": 4599}
    assert trades["POS-A0"].trade_no == sandbox.trade("POS-A0")["trade_no"]  # type: ignore[index]
    assert trades["POS-A0"].store_id == "S1" and trades["POS-A0"].terminal_id == "T1"
    assert sorted(refunds) == [("POS-A0", "R-1", 250, -250), ("POS-A1", "", 800, -800)]
    assert (bill.trade_count, bill.trade_received_fen, bill.refund_count, bill.refund_received_fen) == \
        (3, 6649, 2, -1050)
    assert "POS-B0" not in trades  # the next day's trade is in the next day's bill


def test_not_ready_today_and_empty_days(sandbox: SandboxServer, client: AlipayClient) -> None:
    sandbox.set_clock(dt.datetime(2026, 3, 11, 8, 59, 0))
    res = client.call(BILL_METHOD, {"bill_type": "trade", "bill_date": "2026-03-10"})
    assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "isp.bill_not_exist"
    with pytest.raises(BillUnavailable, match="no 2026-03-10 bill yet") as info:
        bill_url_from_result(res, DAY)
    assert info.value.retry_later
    today = client.call(BILL_METHOD, {"bill_type": "trade", "bill_date": "2026-03-11"})
    assert isinstance(today, GatewayBusinessFailure) and today.sub_code == "isv.invalid_arguments"
    bad_type = client.call(BILL_METHOD, {"bill_type": "nonsense", "bill_date": "2026-03-10"})
    assert isinstance(bad_type, GatewayBusinessFailure)
    sandbox.set_clock(dt.datetime(2026, 3, 11, 9, 30, 0))
    res = client.call(BILL_METHOD, {"bill_type": "trade", "bill_date": "2026-03-10"})
    assert isinstance(res, GatewaySuccess) and res.body["bill_file_code"] == "EMPTY_DATA_WITH_BILL_FILE"
    bill = parse_bill_zip(_fetch(sandbox, client), DAY)
    assert bill.entries == () and bill.trade_count == 0
    sandbox.configure(empty_bill="no_data", bill_not_exist_code="BILL_NOT_EXIST")
    res = client.call(BILL_METHOD, {"bill_type": "trade", "bill_date": "2026-03-10"})
    assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "NO_BILL_DATA"


def test_url_expires_after_30_seconds(sandbox: SandboxServer, client: AlipayClient) -> None:
    sandbox.set_clock(dt.datetime(2026, 3, 11, 10, 0, 0))
    res = client.call(BILL_METHOD, {"bill_type": "trade", "bill_date": "2026-03-10"})
    url = bill_url_from_result(res, DAY).url
    assert "bizDates=20260310" in url and "token=" in url
    sandbox.set_clock(advance_s=31)
    with httpx.Client() as http, pytest.raises(BillUnavailable, match="expired"):
        download_bill(http, url)


def test_answer_about_another_day_is_not_believed() -> None:
    other = GatewaySuccess("10000", {"code": "10000", "bill_download_url":
                                     "http://x/downloadBillFile.resource?bizType=trade&bizDates=20260309&token=1"})
    with pytest.raises(BillUnavailable, match="20260309, not 2026-03-10"):
        bill_url_from_result(other, DAY)
    funds = GatewaySuccess("10000", {"code": "10000", "bill_download_url":
                                     "http://x/downloadBillFile.resource?bizType=fnd&bizDates=20260310"})
    with pytest.raises(BillUnavailable, match="not the trade bill"):
        bill_url_from_result(funds, DAY)


# --- bad bills: each refused with a message naming what is wrong ----------------------------------

ACCOUNT = "20881234123412340156"
START = dt.datetime(2026, 3, 10, tzinfo=BEIJING)
ROW = {"kind": "交易", "trade_no": "2026031022001", "out_trade_no": "POS-1", "subject": "x",
       "created": "2026-03-10 09:00:00", "finished": "2026-03-10 09:00:01", "fen": 1234}


def _good() -> bytes:
    return build_bill_zip(ACCOUNT, "20260310", START, START + dt.timedelta(days=1), [ROW], START)[1]


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename.encode("cp437").decode("gbk"): zf.read(i) for i in zf.infolist()}


def _rezip(files: dict[str, bytes]) -> bytes:
    return write_gbk_zip(files.items())


def _edit_detail(fn: object) -> bytes:
    files = _entries(_good())
    name = next(n for n in files if n.endswith("_业务明细.csv"))
    files[name] = fn(files[name])  # type: ignore[operator]
    return _rezip(files)


@pytest.mark.parametrize(("make", "words"), [
    (lambda: b"<html>error</html>", "not a zip"),
    (lambda: _good()[: len(_good()) // 2], "truncated or damaged"),
    (lambda: _edit_detail(lambda b: b.decode("gbk").encode("utf-8")), "UTF-8"),
    (lambda: _edit_detail(lambda b: b"#" + b"\xff\xfe\x80" * 10), "not GBK"),
    (lambda: _edit_detail(lambda b: b.replace(b"12.34", b"99.99", 2)), "do not add up"),
    (lambda: _edit_detail(lambda b: b.split(b"#---")[0]), "no 业务明细列表 start marker"),
    (lambda: _edit_detail(lambda b: b.split("业务明细列表结束".encode("gbk"))[0]), "truncated"),
    (lambda: _rezip({k: v for k, v in _entries(_good()).items() if "汇总" not in k}), "summary"),
    (lambda: _rezip({"readme.txt": b"hello"}), "not an Alipay trade bill"),
    (lambda: build_bill_zip("20889999999999990156", "20260310", START, START + dt.timedelta(days=1), [ROW],
                            START)[1], "another app"),
    (lambda: build_bill_zip(ACCOUNT, "20260309", START - dt.timedelta(days=1), START, [ROW], START)[1],
     "not for 2026-03-10"),
])
def test_bad_bills_are_refused(make: object, words: str) -> None:
    with pytest.raises(BillFormatError, match=words):
        parse_bill_zip(make(), DAY, expected_account=ACCOUNT)  # type: ignore[operator]


def test_good_bill_parses_and_pads_are_stripped() -> None:
    bill = parse_bill_zip(_good(), DAY, expected_account=ACCOUNT)
    (e,) = bill.entries
    assert (e.kind, e.trade_no, e.out_trade_no, e.amount_fen) == (EntryKind.TRADE, "2026031022001", "POS-1", 1234)
