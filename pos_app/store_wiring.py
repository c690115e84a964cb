"""Wiring of store mode into a lane (used by the terminal and by ``pos-app store lane-sync``).

A lane with no ``[store] dsn`` gets nothing from here and behaves exactly as a standalone terminal.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pos_app.settings import Settings
from pos_app.storage.lane_journal import SqliteLaneJournal
from pos_app.store.connect import lane_conninfo, masked_dsn, read_password
from pos_app.store.link import LinkConfig, StoreLink, status_line
from pos_app.store.redeem import StoreRedeemer
from pos_app.store.report_port import StoreReportsClient
from pos_app.store_points import StorePointsGate

__all__ = ["link_config", "start_store_link", "store_status_text", "sync_once", "points_gate", "store_reports"]

logger = logging.getLogger(__name__)


def _lane_info(settings: Settings, purpose: str) -> str | None:
    """This lane's connection to the store (None for a standalone lane), connecting within half the store's
    deadline; raises StoreRefused for an unreadable password."""
    s = settings.store
    if not s.dsn:
        return None
    password = read_password(s.password_file, s.password_env)
    return lane_conninfo(s.dsn, password, connect_timeout_s=max(1, int(s.deadline_s / 2)),
                         application_name=f"pos-{purpose}-{s.terminal_id}")


def link_config(settings: Settings, *, pull_interval_s: float = 1.0) -> LinkConfig | None:
    """None for a standalone lane; raises StoreRefused for an unreadable password."""
    info = _lane_info(settings, "lane")
    if info is None:
        return None
    return LinkConfig(info, deadline_s=settings.store.deadline_s, pull_interval_s=pull_interval_s)


def start_store_link(settings: Settings, *, pull_interval_s: float = 1.0) -> StoreLink | None:
    """Turn the lane journal on for this database and start the uplink and pull threads."""
    config = link_config(settings, pull_interval_s=pull_interval_s)
    if config is None:
        return None
    journal = SqliteLaneJournal.open(settings.db_path)
    try:
        st = journal.enable()
    finally:
        journal.close()
    logger.info("store mode: %s, epoch %s, %d events waiting", masked_dsn(settings.store.dsn), st.lane_epoch,
                st.backlog)
    link = StoreLink(lambda: SqliteLaneJournal.open(settings.db_path), config)
    link.start()
    return link


def store_status_text(settings: Settings) -> str:
    """The status-bar text for store mode ("" for a standalone lane)."""
    if not settings.store.dsn:
        return ""
    journal = SqliteLaneJournal.open(settings.db_path)
    try:
        return status_line(journal.state())
    finally:
        journal.close()


def sync_once(settings: Settings) -> str:
    """``store lane-sync --once``: migrate, turn the journal on, push everything, pull once; a summary line."""
    from pos_app.storage.db import Database
    from pos_app.store.errors import StoreError
    from pos_app.store.pull import Pull
    from pos_app.store.uplink import Uplink, UplinkConfig

    cfg = link_config(settings)
    if cfg is None:
        raise StoreError("this lane has no [store] dsn: it is not in store mode")
    Database(settings.db_path).open_and_migrate().close()
    journal = SqliteLaneJournal.open(settings.db_path)
    try:
        journal.enable()
        up = Uplink(journal, UplinkConfig(cfg.conninfo, deadline_s=cfg.deadline_s))
        pull = Pull(journal, cfg.conninfo, deadline_s=cfg.deadline_s)
        try:
            pushed = up.push()
            pulled = pull.step()
        finally:
            up.drop()
            pull.drop()
        return f"pushed {pushed} events, pulled {pulled} rows; {status_line(journal.state())}"
    finally:
        journal.close()


def prepare_database(settings: Settings) -> None:
    """Create/migrate the lane's database before the link starts (headless lane-sync)."""
    from pos_app.storage.db import Database

    Database(settings.db_path).open_and_migrate().close()


def lane_online(db_path: Path | str) -> bool:
    """The uplink's last round trip succeeded (read from the lane's file: wherever the uplink runs)."""
    journal = SqliteLaneJournal.open(db_path)
    try:
        st = journal.state()
    finally:
        journal.close()
    return st.offline_since is None and st.last_ok_at is not None


def points_gate(settings: Settings, *, deadline_s: float = 1.5) -> StorePointsGate | None:
    """The till's points gate in store mode (None for a standalone lane): redemption goes through the store."""
    s = settings.store
    if not s.dsn:
        return None
    password = read_password(s.password_file, s.password_env)
    info = lane_conninfo(s.dsn, password, connect_timeout_s=2, application_name=f"pos-till-{s.terminal_id}")
    db_path = settings.db_path
    gate = StorePointsGate(db_path, StoreRedeemer(info, deadline_s=deadline_s), online=lambda: lane_online(db_path),
                           offline_cap=s.offline_redeem_cap, offline_max_age_h=s.offline_redeem_max_age_h,
                           supervisor_above=s.offline_redeem_supervisor_above)
    gate.release_orphans()
    return gate


def apply_store_settings(settings: Settings) -> Settings:
    """The store's settings as this lane last pulled them, over the lane's own (store mode; at the start).
    A lane that never reached the store, or an older database, keeps its own settings."""
    import sqlite3

    from pos_app.settings import with_store_values
    from pos_app.storage.errors import StorageError

    if not settings.store.dsn or not settings.db_path.exists():
        return settings
    try:
        journal = SqliteLaneJournal.open(settings.db_path)
        try:
            values = journal.store_settings()
        finally:
            journal.close()
    except (sqlite3.Error, StorageError) as exc:   # not migrated yet: nothing pulled
        logger.info("no store settings on this lane yet (%s)", exc)
        return settings
    applied, problems = with_store_values(settings, values)
    for problem in problems:
        logger.warning("store settings: %s", problem)
    if values and applied is not settings:
        logger.info("store settings applied: %s", ", ".join(sorted(values)))
    return applied


def store_reports(settings: Settings) -> StoreReportsClient | None:
    """Store X / Z for a supervisor at this lane (None for a standalone lane): the lane's own role reads the
    store's figures; every round trip under ``[store] deadline_s``."""
    info = _lane_info(settings, "reports")
    if info is None:
        return None
    return StoreReportsClient(info, deadline_s=settings.store.deadline_s)
