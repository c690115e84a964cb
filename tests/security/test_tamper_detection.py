"""Issue 16 §3-4: tampering and loss are detected — by `pos-app audit verify` (naming the first bad entry)
and at start (the till refuses a damaged or tampered database and says the way out)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.settings import Settings, load_settings
from pos_app.start_checks import StartRefused, integrity_gate, terminal_secret
from pos_app.storage.audit import GENESIS
from pos_app.storage.integrity import anchor_path_for, read_anchor
from tests.reliability.harness.env import CASHIER, ITEMS, SUPERVISOR, Services, build_services, init_db


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Settings, Services]]:
    """A terminal's data folder after its start checks, with three committed cash sales."""
    data = tmp_path / "data"
    data.mkdir()
    settings = load_settings(None, data_dir=data, env={})
    init_db(settings.db_path)
    integrity_gate(settings, terminal_secret(settings))
    svc = build_services(settings.db_path, None)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    shift = svc.shifts.open_shift(cashier, float_fen=10_000)
    for n in range(3):
        sale = svc.checkout.new_sale()
        sale.add_item(ITEMS[n], 1 + n)
        svc.checkout.commit_cash(sale, 100_000, shift_id=shift.id, cashier_id=cashier.id, cashier_name=cashier.name)
    try:
        yield settings, svc
    finally:
        svc.close()


def _raw(settings: Settings) -> sqlite3.Connection:
    """What an attacker with the file does: a plain connection, the append-only triggers dropped."""
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    return conn


def _verify(settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["audit", "verify", "--data-dir", str(settings.data_dir)])
    return rc, capsys.readouterr().out


def _refused(settings: Settings) -> str:
    with pytest.raises(StartRefused) as info:
        integrity_gate(settings, terminal_secret(settings))
    return "\n".join(info.value.problems)


def test_a_clean_terminal_verifies_and_starts(shop: tuple[Settings, Services],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = shop
    rc, out = _verify(settings, capsys)
    assert rc == 0 and "chain intact and anchored" in out and "3 sealed sales" in out, out
    integrity_gate(settings, terminal_secret(settings))


def test_entries_are_keyed_and_sales_sealed(shop: tuple[Settings, Services]) -> None:
    settings, _ = shop
    conn = _raw(settings)
    hashes = [r[0] for r in conn.execute("SELECT hash FROM audit_log ORDER BY id")]
    assert hashes and all(h.startswith("k1:") for h in hashes)
    sealed = [json.loads(r[0])["sale_id"] for r in conn.execute(
        "SELECT detail FROM audit_log WHERE action = 'sale.sealed' ORDER BY id")]
    assert sealed == [r[0] for r in conn.execute("SELECT id FROM sales ORDER BY id")]


def test_an_edited_entry_is_found(shop: tuple[Settings, Services], capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = shop
    conn = _raw(settings)
    conn.execute("UPDATE audit_log SET subject = 'someone else' WHERE id = 2")
    rc, out = _verify(settings, capsys)
    assert rc == 1 and "BROKEN at entry 2" in out, out


def test_a_rewritten_chain_is_found(shop: tuple[Settings, Services], capsys: pytest.CaptureFixture[str]) -> None:
    """Before: change an entry and recompute every later hash (SHA-256, no key) -> verify OK. Now the hashes are
    keyed: the attacker's recomputation (even keyed as the attacker likes) does not verify."""
    settings, _ = shop
    conn = _raw(settings)
    rows = conn.execute("SELECT id, at, user_id, user_name, action, subject, detail FROM audit_log ORDER BY id").fetchall()
    prev = GENESIS
    for (eid, at, uid, uname, action, subject, detail) in rows:
        if eid == 2:
            subject = "someone else"
        payload = json.dumps({"prev": prev, "at": at, "user_id": uid, "user_name": uname, "action": action,
                              "subject": subject, "detail": detail}, ensure_ascii=False, sort_keys=True,
                             separators=(",", ":"))
        digest = hashlib.sha256(payload.encode()).hexdigest()
        conn.execute("UPDATE audit_log SET subject = ?, prev_hash = ?, hash = ? WHERE id = ?", (subject, prev, digest, eid))
        prev = digest
    rc, out = _verify(settings, capsys)
    assert rc == 1 and "BROKEN at entry" in out, out
    assert "rewritten" in _refused(settings) or "not the one anchored" in _refused(settings)


def test_a_deleted_tail_is_found(shop: tuple[Settings, Services], capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = shop
    conn = _raw(settings)
    last = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    conn.execute("DELETE FROM audit_log WHERE id > ?", (last - 3,))
    rc, out = _verify(settings, capsys)
    assert rc == 1 and f"BROKEN at entry {last - 2}" in out and "older than its anchor" in out, out
    msg = _refused(settings)
    assert "older than its anchor" in msg and "restore the latest backup" in msg and "audit accept" in msg


def test_an_edited_sale_is_found(shop: tuple[Settings, Services], capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = shop
    conn = _raw(settings)
    conn.execute("UPDATE sales SET total_fen = 1 WHERE id = 2")
    seal = conn.execute("SELECT id FROM audit_log WHERE action = 'sale.sealed' AND detail LIKE '%\"sale_id\":2}%'"
                        ).fetchone()[0]
    rc, out = _verify(settings, capsys)
    assert rc == 1 and f"BROKEN at entry {seal}" in out and "sale 2 was changed" in out, out


def test_an_edited_sale_line_and_tender_are_found(shop: tuple[Settings, Services],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = shop
    conn = _raw(settings)
    conn.execute("UPDATE tenders SET amount_fen = amount_fen - 100 WHERE sale_id = 3")
    rc, out = _verify(settings, capsys)
    assert rc == 1 and "sale 3 was changed" in out, out


def test_a_sale_added_behind_the_terminals_back_is_found(shop: tuple[Settings, Services],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = shop
    conn = _raw(settings)
    conn.execute("INSERT INTO sales (receipt_no, shift_id, terminal_id, cashier_id, state, gross_fen, total_fen,"
                 " started_at, committed_at) SELECT 'FAKE1', shift_id, terminal_id, cashier_id, 'paid', 1, 1,"
                 " started_at, committed_at FROM sales WHERE id = 1")
    rc, out = _verify(settings, capsys)
    assert rc == 1 and "no audit seal" in out, out


def test_an_old_copy_of_the_database_is_refused(shop: tuple[Settings, Services], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    settings, svc = shop
    old = tmp_path / "old.sqlite3"
    src = sqlite3.connect(settings.db_path)
    dst = sqlite3.connect(old)
    src.backup(dst)
    src.close()
    dst.close()
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    sale = svc.checkout.new_sale()
    sale.add_item(ITEMS[0], 1)
    shift = svc.shifts.current_shift()
    assert shift is not None
    svc.checkout.commit_cash(sale, 1000, shift_id=shift.id, cashier_id=cashier.id, cashier_name=cashier.name)
    svc.uow().conn.close()   # the terminal stopped
    for suffix in ("-wal", "-shm"):
        Path(str(settings.db_path) + suffix).unlink(missing_ok=True)
    shutil.copy(old, settings.db_path)
    capsys.readouterr()
    rc = main(["audit", "verify", "--data-dir", str(settings.data_dir)])
    out, err = capsys.readouterr()
    assert rc == 1 and "older than its anchor" in out, out + err
    assert "older than its anchor" in _refused(settings)


def test_a_supervisor_can_accept_and_the_acceptance_is_audited(shop: tuple[Settings, Services],
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = shop
    conn = _raw(settings)
    last = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    conn.execute("DELETE FROM audit_log WHERE id = ?", (last,))
    conn.close()
    _refused(settings)
    monkeypatch.setenv("SUP_PIN", SUPERVISOR[1])
    d = ["--data-dir", str(settings.data_dir)]
    monkeypatch.setenv("CASHIER_PIN", CASHIER[1])
    assert main(["audit", "accept", "--supervisor", CASHIER[0], "--pin-env", "CASHIER_PIN", *d]) == 1
    assert main(["audit", "accept", "--supervisor", SUPERVISOR[0], "--pin-env", "SUP_PIN",
                 "--reason", "power cut", *d]) == 0
    integrity_gate(settings, terminal_secret(settings))   # starts again
    conn = sqlite3.connect(settings.db_path)
    row = conn.execute("SELECT user_name, detail FROM audit_log WHERE action = 'integrity.accepted'").fetchone()
    assert row[0] == SUPERVISOR[2] and "anchor" in row[1] and "power cut" in row[1]


def test_a_damaged_file_is_refused_at_start_and_verify_says_so(shop: tuple[Settings, Services],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 4 KB of random bytes in the middle of the file, `db migrate` up to date and `run` started;
    `audit verify` ended in a traceback."""
    settings, svc = shop
    svc.uow().conn.close()
    conn = sqlite3.connect(settings.db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = settings.db_path.stat().st_size
    with open(settings.db_path, "r+b") as fh:
        fh.seek(max(4096, (size // 2) // 4096 * 4096))
        fh.write(os.urandom(4096))
    msg = _refused(settings)
    assert "damaged" in msg and "restore the latest backup" in msg
    capsys.readouterr()
    rc = main(["audit", "verify", "--data-dir", str(settings.data_dir)])
    err = capsys.readouterr().err
    assert rc == 3 and "damaged" in err and "Traceback" not in err
    rc = main(["db", "info", "--data-dir", str(settings.data_dir)])
    err = capsys.readouterr().err
    assert rc in (0, 3) and "Traceback" not in err


def test_anchor_follows_commits(shop: tuple[Settings, Services]) -> None:
    settings, _ = shop
    key = terminal_secret(settings).key("audit")
    anchor = read_anchor(anchor_path_for(settings.db_path), key)
    conn = sqlite3.connect(settings.db_path)
    head = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert anchor is not None and (anchor.head_id, anchor.head_hash) == (head[0], head[1])
    assert (anchor_path_for(settings.db_path).stat().st_mode & 0o777) == 0o600


def test_the_z_report_prints_the_audit_head(shop: tuple[Settings, Services]) -> None:
    settings, svc = shop
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    approval = svc.users.approve("close_difference", "close", SUPERVISOR[0], SUPERVISOR[1], "miscount",
                                 requested_by=cashier)
    result = svc.shifts.close_shift({}, cashier, approval)
    conn = sqlite3.connect(settings.db_path)
    close_entry = conn.execute("SELECT id FROM audit_log WHERE action = 'shift.close'").fetchone()[0]
    head_id, head_hash = conn.execute("SELECT id, hash FROM audit_log WHERE id = ?", (close_entry - 1,)).fetchone()
    assert "Audit head" in result.z.text and f"#{head_id} {head_hash[:19]}" in result.z.text, result.z.text


def test_a_lost_secret_is_named_not_reported_as_tampering(shop: tuple[Settings, Services]) -> None:
    settings, _ = shop
    saved = settings.secret_path.read_bytes()
    settings.secret_path.unlink()
    msg = _refused(settings)
    assert "was just created" in msg and "backed-up pos-secret.key" in msg
    settings.secret_path.write_bytes(saved)
    integrity_gate(settings, terminal_secret(settings))


def test_a_refund_is_sealed_and_an_edited_refund_is_found(shop: tuple[Settings, Services],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    settings, svc = shop
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    supervisor = svc.users.authenticate(SUPERVISOR[0], SUPERVISOR[1])
    shift = svc.shifts.current_shift()
    assert shift is not None
    svc.refunds.refund(1, None, 100, method="cash", reason="customer return", cashier_id=cashier.id,
                       approved_by=supervisor.id, shift_id=shift.id, cashier_name=cashier.name)
    rc, out = _verify(settings, capsys)
    assert rc == 0 and "4 sealed sales and refunds" in out, out
    conn = _raw(settings)
    conn.execute("UPDATE refunds SET amount_fen = 5000 WHERE sale_id = 1")
    rc, out = _verify(settings, capsys)
    assert rc == 1 and "refund 1 was changed" in out, out


def test_a_restore_through_db_restore_re_anchors(shop: tuple[Settings, Services], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`pos-app db restore` is deliberate and audited: the terminal starts on the restored file (an old file
    copied in place by hand is refused: test_an_old_copy_of_the_database_is_refused)."""
    import datetime as dt

    from pos_app.storage.backup import online_backup, restore

    settings, svc = shop
    saved = tmp_path / "saved.sqlite3"
    online_backup(settings.db_path, saved)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    shift = svc.shifts.current_shift()
    assert shift is not None
    sale = svc.checkout.new_sale()
    sale.add_item(ITEMS[0], 1)
    svc.checkout.commit_cash(sale, 1000, shift_id=shift.id, cashier_id=cashier.id, cashier_name=cashier.name)
    svc.uow().conn.close()
    restore(settings.db_path, saved, now=dt.datetime.now(dt.UTC))
    integrity_gate(settings, terminal_secret(settings))
    rc, out = _verify(settings, capsys)
    assert rc == 0, out


def test_db_verify_checks_the_audit_chain_of_the_file_and_of_a_backup(
        shop: tuple[Settings, Services], capsys: pytest.CaptureFixture[str]) -> None:
    """`pos-app db verify` (the store PC's check, also run on backups) sees an edited sale, not only a damaged page."""
    settings, _ = shop
    data = str(settings.data_dir)
    assert main(["db", "verify", "--data-dir", data]) == 0
    assert "audit chain intact" in capsys.readouterr().out
    assert main(["db", "backup", "--data-dir", data]) == 0
    backup = next(settings.backup_dir.glob("pos-*.sqlite3"))
    capsys.readouterr()
    assert main(["db", "verify", "--data-dir", data, str(backup)]) == 0
    assert "audit chain intact" in capsys.readouterr().out
    for path in (settings.db_path, backup):  # the live file and the copy, each edited behind the terminal's back
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("UPDATE sales SET total_fen = total_fen - 100 WHERE id = 1")
        conn.close()
    assert main(["db", "verify", "--data-dir", data]) == 1
    assert "audit log broken" in capsys.readouterr().err
    assert main(["db", "verify", "--data-dir", data, str(backup)]) == 1
    assert "audit log broken" in capsys.readouterr().err
