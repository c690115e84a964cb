"""`catalogue import` in store mode loads into the store server; lanes pull the full record (barcodes, prices)."""

from __future__ import annotations

import sqlite3

from pos_app.__main__ import main
from tests.integration.data.helpers import item_row, write_csv
from tests.store.lanekit import make_lane, server


def test_catalogue_import_goes_to_the_store_and_reaches_the_lanes(tmp_path, store_db, capsys, monkeypatch):
    a = make_lane(tmp_path, store_db, "lane_a")
    b = make_lane(tmp_path, store_db, "lane_b")
    cfg = tmp_path / "lane_a.toml"
    cfg.write_text(f'data_dir = "{a.db.parent}"\n[store]\ndsn = "host=127.0.0.1 port={store_db.server.port} '
                   f'dbname={store_db.name} user=nobody"\n')
    f = write_csv(tmp_path / "cat.csv", [item_row(n) for n in range(1, 6)])
    # no administrator connection: refused, nothing written
    monkeypatch.delenv("POS_STORE_ADMIN_DSN", raising=False)
    assert main(["catalogue", "import", str(f), "--config", str(cfg)]) == 2
    assert "store-dsn" in capsys.readouterr().err
    assert main(["catalogue", "import", str(f), "--config", str(cfg), "--by", "9001",
                 "--store-dsn", store_db.admin_dsn]) == 0
    assert "store server: added 5, changed 0" in capsys.readouterr().out
    assert main(["catalogue", "import", str(write_csv(tmp_path / "b.csv", [item_row(1, price="9.99")])),
                 "--config", str(cfg), "--store-dsn", store_db.admin_dsn, "--by", "9001"]) == 0
    assert server(store_db, "SELECT item_code, old_fen, new_fen FROM pos.price_history") == [("A000001", 201, 999)]
    want = sorted((r[0], r[1], list(r[2])) for r in server(store_db, "SELECT code, price_fen, barcodes FROM pos.item"))
    for lane in (a, b):
        lane.uplink().push()
        lane.pull().step()
        with sqlite3.connect(lane.db) as c:
            items = c.execute("SELECT code, price_fen FROM catalogue_items WHERE code LIKE 'A%' ORDER BY code")
            barcodes: dict[str, list[str]] = {}
            for bc, code in c.execute("SELECT barcode, item_code FROM item_barcodes WHERE item_code LIKE 'A%'"):
                barcodes.setdefault(code, []).append(bc)
            got = sorted((code, price, sorted(barcodes.get(code, []))) for code, price in items)
        assert got == [(c, p, sorted(bc)) for c, p, bc in want]
        assert ("A000001", 999, sorted(dict((w[0], w[2]) for w in want)["A000001"])) in got
    a.close()
    b.close()
