"""Disk faults during a sale: a full disk and a read-only data folder.

Each gives a typed StorageUnavailable error with a message for the cashier, commits nothing half-way
(no sale without its lines, tender, ledger, outbox and audit rows), and the same services work again
when the disk is back. Real file systems are used when this machine allows it (a size-limited tmpfs,
a read-only bind mount; needs root), otherwise SQLite's own limits (max_page_count, mode=ro).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_app.domain.sale import Sale
from pos_app.sandbox import SandboxServer
from pos_app.storage.audit import verify_chain
from pos_app.storage.errors import DiskFull, ReadOnly, StorageUnavailable
from tests.reliability.harness.env import (
    CASHIER,
    ITEMS,
    MEMBERS,
    GatewayInfo,
    Services,
    build_services,
    init_db,
)

BASKET = {"version": 1, "lines": [], "member": None, "points_redeemed": 0, "payable_fen": 0}


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True, timeout=10).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)


def make_sale(svc: Services, member: bool = True) -> Sale:
    sale = svc.checkout.new_sale()
    sale.add_item(ITEMS[0], 2)
    sale.add_item(ITEMS[1], 1)
    if member:
        view = svc.members.get(MEMBERS[0][0])
        assert view is not None
        sale.attach_member(view.ref())
    return sale


def commit(svc: Services, sale: Sale, shift_id: int) -> str:
    return svc.checkout.commit_cash(sale, 10_000, shift_id=shift_id, cashier_id=1, cashier_name="c").receipt_no


def check_consistent(db: Path) -> int:
    """Every sale is whole: lines, tender, audit row; member sales have ledger and two outbox rows."""
    conn = sqlite3.connect(db)
    try:
        sales = conn.execute("SELECT id, receipt_no, card_no FROM sales").fetchall()
        for sale_id, receipt_no, card_no in sales:
            assert conn.execute("SELECT count(*) FROM sale_lines WHERE sale_id=?", (sale_id,)).fetchone()[0] > 0
            assert conn.execute("SELECT count(*) FROM tenders WHERE sale_id=?", (sale_id,)).fetchone()[0] == 1
            assert conn.execute("SELECT count(*) FROM audit_log WHERE action='sale.committed' AND subject=?",
                                (receipt_no,)).fetchone()[0] == 1
            if card_no:
                assert conn.execute("SELECT count(*) FROM points_ledger WHERE sale_id=?",
                                    (sale_id,)).fetchone()[0] >= 1
                assert conn.execute("SELECT count(*) FROM outbox WHERE sale_id=? AND kind='card.update'",
                                    (sale_id,)).fetchone()[0] == 1
        n_audit_sales = conn.execute("SELECT count(*) FROM audit_log WHERE action='sale.committed'").fetchone()[0]
        assert n_audit_sales == len(sales), "an audit row without its sale"
        orphans = conn.execute("SELECT count(*) FROM outbox WHERE sale_id IS NOT NULL AND sale_id NOT IN "
                               "(SELECT id FROM sales)").fetchone()[0]
        assert orphans == 0
        assert verify_chain(conn)[1] is None
        return len(sales)
    finally:
        conn.close()


@pytest.fixture
def rel_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sandbox").start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def small_disk(base: Path, size_kb: int, real: bool) -> Iterator[tuple[Path, bool]]:
    """A tmpfs of ``size_kb`` (True) or a plain folder (False) when mounting is not allowed or not asked."""
    mnt = base / "smalldisk"
    mnt.mkdir()
    mounted = real and _mount("-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mnt))
    try:
        yield mnt, mounted
    finally:
        if mounted:
            _umount(mnt)


def fill(path: Path, leave_bytes: int) -> Path:
    """Fill the file system of ``path`` until about ``leave_bytes`` are left."""
    filler = path / "filler.bin"
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave_bytes))
    return filler


@pytest.mark.parametrize("real_fs", [True, False], ids=["tmpfs", "max_page_count"])
def test_full_disk_during_sales(tmp_path: Path, rel_sandbox: SandboxServer, real_fs: bool) -> None:
    with small_disk(tmp_path, 4096, real_fs) as (data, mounted):
        db = data / "pos.sqlite3"
        from tests.reliability.harness.env import issue_cards
        init_db(db, issue_cards(rel_sandbox))
        svc = build_services(db, GatewayInfo.of(rel_sandbox))
        try:
            shift_id = svc.shifts.open_shift(svc.users.authenticate(CASHIER[0], CASHIER[1]), float_fen=0).id
            assert commit(svc, make_sale(svc), shift_id)
            conn = svc.uow().conn
            if mounted:
                filler = fill(data, 0)
            else:  # SQLite's own limit on the cashier's connection: the file may not grow any more
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {pages}")
            error: StorageUnavailable | None = None
            committed = 1
            for _ in range(2000):
                try:
                    commit(svc, make_sale(svc), shift_id)
                    committed += 1
                except StorageUnavailable as exc:
                    error = exc
                    break
            assert isinstance(error, DiskFull), f"no DiskFull after {committed} sales ({mounted=})"
            assert "disk is full" in str(error) or "could not be written" in str(error)
            # a payment cannot start either, and nothing is sent to Alipay
            assert svc.payment is not None
            # a payment cannot start on a full file system (the write-ahead row fails first), and nothing is
            # sent to Alipay (with max_page_count a small row may still fit in a free page: no send either way)
            try:
                svc.payment.begin(1000, "281234567890123456", "t", shift_id=shift_id, cashier_id=1, basket=BASKET)
                assert not mounted, "the write-ahead row was written on a full disk"
            except StorageUnavailable:
                pass
            assert rel_sandbox.trades() == []
            # space returns: the same services, the same connection, work again
            if mounted:
                filler.unlink()
            else:
                conn.execute("PRAGMA max_page_count = 1073741823")
            commit(svc, make_sale(svc), shift_id)
            committed += 1
        finally:
            svc.close()
        assert check_consistent(db) == committed


def _readonly_bind(src: Path, dst: Path) -> bool:
    dst.mkdir()
    if not _mount("--bind", str(src), str(dst)):
        return False
    if not _mount("-o", "remount,bind,ro", str(dst)):
        _umount(dst)
        return False
    return True


@pytest.mark.parametrize("real_fs", [True, False], ids=["ro_bind_mount", "mode_ro"])
def test_read_only_data_folder_during_a_sale(tmp_path: Path, real_fs: bool) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "pos.sqlite3"
    init_db(db)
    rw = build_services(db, None)
    shift_id = rw.shifts.open_shift(rw.users.authenticate(CASHIER[0], CASHIER[1]), float_fen=0).id
    assert commit(rw, make_sale(rw), shift_id)
    sale = make_sale(rw)                                   # the basket is rung up ...
    rw.close()
    rw.uow().conn.close()
    ro_dir = tmp_path / "ro"
    bound = real_fs and _readonly_bind(data, ro_dir)
    if bound:
        ro = build_services(ro_dir / "pos.sqlite3", None)  # ... then the folder turns read-only
    else:
        from pos_app.storage.db import connect
        from pos_app.storage.uow import SqliteUnitOfWork

        ro_conn = connect(db, readonly=True)
        ro = build_services(db, None)
        ro.checkout._uow = lambda: SqliteUnitOfWork(ro_conn)  # noqa: SLF001 - the cashier's connection, read-only
    try:
        with pytest.raises(StorageUnavailable) as err:
            commit(ro, sale, shift_id)
        assert isinstance(err.value, ReadOnly | DiskFull), type(err.value)
        assert str(err.value) and "Traceback" not in str(err.value)
    finally:
        if bound:
            _umount(ro_dir)
    assert check_consistent(db) == 1
    again = build_services(db, None)                       # the folder is writable again
    try:
        commit(again, make_sale(again), shift_id)
    finally:
        again.close()
    assert check_consistent(db) == 2
