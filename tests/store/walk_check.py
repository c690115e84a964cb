"""The store-mode walk's check (docs/store-mode.md, "Walked"): every card at the gateway shows max(store balance, 0),
every store balance equals its ledger, and where each lane's uplink stands.

    python -m tests.store.walk_check --dsn "host=/var/run/postgresql dbname=pos_store" \\
        --sandbox-info sandbox.out [CARD_NO ...]

``--sandbox-info``: the JSON line `pos-app sandbox` printed (its admin API lists the cards).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

import psycopg


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--sandbox-info", required=True, type=Path)
    ap.add_argument("cards", nargs="*")
    args = ap.parse_args()
    info = json.loads(args.sandbox_info.read_text(encoding="utf-8").splitlines()[0])
    token = Path(info["admin_token_file"]).read_text(encoding="ascii").strip()
    req = urllib.request.Request(info["admin_url"] + "/cards", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as answer:  # noqa: S310 - the sandbox on loopback
        cards = {c["external_card_no"]: c for c in json.load(answer)}
    with psycopg.connect(args.dsn) as c:
        rows = c.execute("SELECT m.member_id, m.balance, (SELECT sum(delta) FROM pos.points_entry e "
                         "WHERE e.member_id = m.member_id) FROM pos.member_points m").fetchall()
        bad = [(mid, bal, total, cards.get(mid, {}).get("point")) for mid, bal, total in rows
               if not (bal == total and mid in cards and max(bal, 0) == int(float(cards[mid]["point"])))]
        print(f"members {len(rows)}: card = max(store balance, 0) and balance = ledger for all but {len(bad)} {bad[:5]}")
        for mid in args.cards:
            bal = next(r[1] for r in rows if r[0] == mid)
            hist = [h.get("occur_time") for h in cards[mid]["history"] if h["kind"] == "update"]
            print(f"{mid}: store {bal}, card {cards[mid]['point']}, {len(hist)} updates, in order: {hist == sorted(hist)}")
        for name, acked, backlog in c.execute(
                "SELECT l.name, e.acked_seq, e.backlog FROM pos.lane_epoch e JOIN pos.lane l USING (lane_id) "
                "WHERE e.state = 'current' ORDER BY 1"):
            print(f"lane {name}: synced seq {acked}, waiting {backlog}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
