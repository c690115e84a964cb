"""Done-when of issue 12: a real terminal set up only with the README's commands and the imports sells scanned
catalogue items to members identified by static cards (one imported, one found at Alipay), earns points by the
configured rules, and the export of the day reconciles exactly with the X report."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pos_app.__main__ import main
from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.domain.codes import classify
from pos_app.loyalty_setup import loyalty_rules
from pos_app.runtime import FixedClock, RandomIds, SystemClock
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.services.members import MemberService
from pos_app.services.reports import ReportService
from pos_app.services.shifts import ShiftService
from pos_app.services.users import UserService, hash_pin
from pos_app.settings import load_settings
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork
from tests.integration.data.helpers import write_csv
from tests.integration.data.test_sales_export import _from_x, _recompute_from_export

IMPORTED, AT_ALIPAY = "8800000000000301", "8800000000000302"


def test_a_real_terminal_day_from_the_shops_files(tmp_path: Path) -> None:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[store]\nterminal_id = "T07"\n'
                   "[loyalty]\npoints_per_yuan = 2\nredeem_points_per_yuan = 100\nlevel_multiplier_pct = { GOLD = 100 }\n", encoding="utf-8")
    c = ["--config", str(cfg)]
    users = write_csv(tmp_path / "users.csv", [["9001", "主管", "主管", hash_pin("2468", n=2 ** 4)],
                                               ["1001", "收银员", "收银员", hash_pin("1357", n=2 ** 4)]],
                      headers=["工号", "姓名", "角色", "PIN哈希"])
    cat = write_csv(tmp_path / "cat.csv", [["W1", "6901234567892", "矿泉水", "2.00", "13%"],
                                           ["B1", "036000291452", "面包", "8.50", "9%"]],
                    headers=["商品编码", "条码", "商品名称", "售价", "税率"])
    mem = write_csv(tmp_path / "m.csv", [[IMPORTED, "13800000301", "孙八", "GOLD", "40"]],
                    headers=["会员卡号", "手机号", "姓名", "等级", "积分"])
    for argv in (["db", "migrate"], ["users", "import", str(users)], ["catalogue", "import", str(cat)],
                 ["members", "import", str(mem)], ["config", "check"]):
        assert main([*argv, *c]) == 0, argv
    settings = load_settings(cfg, env={})
    sandbox = SandboxServer(tmp_path / "sandbox").start()
    sandbox.issue_card(external_card_no=AT_ALIPAY, level="GOLD", points=7)
    client = AlipayClient(load_gateway_config(sandbox.gateway_url, sandbox.app_id, sandbox.app_private_key_path,
                                              sandbox.alipay_public_key_path, read_timeout_s=2.0,
                                              connect_timeout_s=1.0), clock=SystemClock())
    conn = connect(settings.db_path)
    try:
        clock = FixedClock()

        def uow() -> SqliteUnitOfWork:
            return SqliteUnitOfWork(conn)

        cashier = UserService(uow, clock, terminal_id="T07").authenticate("1001", "1357")
        shifts = ShiftService(uow, clock, terminal_id="T07")
        shift = shifts.open_shift(cashier, float_fen=20_000)
        rules = loyalty_rules(settings, demo=False)
        checkout = CheckoutService(uow, clock, RandomIds("T07"), CheckoutConfig(
            store_id="S1", terminal_id="T07", terminal_no=7, loyalty=rules), card_requests=AlipayCardRequests())
        members = MemberService(uow, client, clock)
        for card, scans in ((IMPORTED, ["6901234567892", "036000291452"]), (AT_ALIPAY, ["036000291452"] * 3)):
            sale = checkout.new_sale()
            for code in scans:
                checkout.add_scan(sale, classify(code))
            lookup = members.resolve(classify(card))
            assert lookup.kind == "found" and lookup.member is not None, lookup.message
            sale.attach_member(lookup.member.ref())
            checkout.commit_cash(sale, 10_000, shift_id=shift.id, cashier_id=cashier.id, cashier_name=cashier.name)
            clock.advance(120)
        ledger = dict(conn.execute("SELECT card_no, sum(points) FROM points_ledger WHERE kind = 'earn'"
                                   " GROUP BY card_no").fetchall())
        assert ledger == {IMPORTED: 21, AT_ALIPAY: 51}, "2 points per yuan paid (¥10.50, ¥25.50), as configured"
        # the imported member holds no Alipay card (no 支付宝卡号 / 已领支付宝卡 column): nothing is sent for
        # that card (Alipay would answer CARD_NOT_EXIST and the row would fail for good); the other card syncs
        queued = [tuple(r) for r in conn.execute("SELECT card_no, kind FROM outbox ORDER BY id")]
        assert [r for r in queued if r[0] == IMPORTED] == [] and (AT_ALIPAY, "card.update") in queued
        # later the member gets the shop's card: the next sale's card.update carries the whole balance
        conn.execute("UPDATE members SET biz_card_no = 'BIZ301', alipay_card = 1 WHERE card_no = ?", (IMPORTED,))
        sale = checkout.new_sale()
        checkout.add_scan(sale, classify("6901234567892"))
        got = members.resolve(classify(IMPORTED))
        assert got.member is not None
        sale.attach_member(got.member.ref())
        checkout.commit_cash(sale, 10_000, shift_id=shift.id, cashier_id=cashier.id, cashier_name=cashier.name)
        body = conn.execute("SELECT body_json FROM outbox WHERE card_no = ? AND kind = 'card.update'",
                            (IMPORTED,)).fetchone()[0]
        assert '"point":"65"' in body.replace(" ", ""), body  # opening 40 + 21 + 4 earned
        x = ReportService(uow, clock, terminal_id="T07").x_report().figures
    finally:
        conn.close()
        client.close()
        sandbox.stop()
    out = tmp_path / "day.csv"
    assert main(["export", "sales", "--from", "2026-11-25", "--to", "2026-11-25", "--out", str(out), *c]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {r["terminal_id"] for r in rows} == {"T07"}
    assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))
    assert _recompute_from_export(rows) == _from_x(dict(x))
    assert sorted(r["card_no"] for r in rows if r["record"] == "sale") == [IMPORTED, IMPORTED, AT_ALIPAY]
