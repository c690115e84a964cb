"""The store server's schema (plain SQL files under pos_app/store/sql, applied in order) and its roles.

Roles (names start with a prefix, by default the database name, so several stores can share a cluster):
  <prefix>_lanes   group of every lane login role: EXECUTE on ingest_batch / heartbeat / redeem_points /
                   store_close_day, SELECT on the reference tables and member_points; no table writes
  <prefix>_reader  read-only: SELECT on every store table (store X at any lane, supervisors); lanes are members
  <prefix>_lane_<name>  one login role per lane (``store lane add NAME``)
The functions run as the owner (the role that ran ``store init``), SECURITY DEFINER.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from .errors import StoreRefused

__all__ = ["MIGRATIONS", "migrate", "init_store", "add_lane", "role_prefix", "LaneCredentials", "schema_version"]

logger = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str]] = [
    (1, "0001_store.sql"),
    (2, "0002_functions.sql"),
    (3, "0003_close.sql"),
    (4, "0004_catalogue.sql"),
    (5, "0005_ingest_set.sql"),
    (6, "0006_heartbeat_check.sql"),
    (7, "0007_release_hold.sql"),
    (8, "0008_users.sql"),
    (9, "0009_receipt_max.sql"),
    (10, "0010_ingest_points_set.sql"),
    (20, "0020_notice_review.sql"),      # storeui: 20-29
    (40, "0040_day_rollup.sql"),
    (41, "0041_day_lane_seq.sql"),
]
LANE_FUNCTIONS = [
    "pos.my_lane()",
    "pos.ingest_batch(uuid, bigint, jsonb, timestamptz)",
    "pos.heartbeat(uuid, bigint, bigint, bigint, timestamptz)",
    "pos.redeem_points(text, bigint, uuid)",
    "pos.store_close_day(date, jsonb, text, text)",
    "pos.review_notice(bigint, text)",
]
READER_FUNCTIONS = ["pos.incomplete_lanes(date)"]
REFERENCE_TABLES = ["item", "member", "store_setting", "member_points", "lane", "lane_epoch", "store_user"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def role_prefix(dbname: str) -> str:
    """A role-name prefix from the database name: lower case letters, digits and _."""
    p = re.sub(r"[^a-z0-9_]", "_", dbname.lower()).strip("_") or "pos"
    return p if p[0].isalpha() else f"s_{p}"


def _sql(name: str) -> str:
    return resources.files(__package__).joinpath("sql", name).read_text(encoding="utf-8")


def schema_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT to_regclass('pos.schema_migration') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    v = conn.execute("SELECT coalesce(max(version), 0) FROM pos.schema_migration").fetchone()
    return int(v[0]) if v else 0


def _prefix_of(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT value FROM pos.store_meta WHERE key = 'role_prefix'").fetchone()
    if row is None:
        raise StoreRefused("this database has no store schema yet: run `pos-app store init` first")
    return str(row[0])


def migrate(conn: psycopg.Connection[Any], prefix: str | None = None) -> list[int]:
    """Apply every migration not yet applied (each in its own transaction), then (re)apply the grants.

    Serialised by an advisory lock so two ``store migrate`` runs cannot interleave.
    """
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('pos.migrate'))")
        conn.execute("CREATE SCHEMA IF NOT EXISTS pos")
        conn.execute("CREATE TABLE IF NOT EXISTS pos.schema_migration (version int PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        current = schema_version(conn)
        known = max(v for v, _ in MIGRATIONS)
        if current > known:
            raise StoreRefused(f"the store database is at schema {current}, newer than this program ({known}); "
                               "upgrade pos-app on this machine")
        for version, name in MIGRATIONS:
            if version <= current:
                continue
            with conn.transaction():
                conn.execute(_sql(name).encode())  # our own SQL file, no parameters
                conn.execute("INSERT INTO pos.schema_migration (version) VALUES (%s)", (version,))
            logger.info("store schema migrated to %d", version)
            applied.append(version)
        if prefix is not None:
            conn.execute("INSERT INTO pos.store_meta (key, value) VALUES ('role_prefix', %s) "
                         "ON CONFLICT (key) DO NOTHING", (prefix,))
        _grant(conn, _prefix_of(conn))
    return applied


def _ensure_role(conn: psycopg.Connection[Any], name: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))


def _grant(conn: psycopg.Connection[Any], prefix: str) -> None:
    lanes, reader = f"{prefix}_lanes", f"{prefix}_reader"
    _ensure_role(conn, lanes)
    _ensure_role(conn, reader)
    ident = sql.Identifier
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA pos FROM PUBLIC"))
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA pos FROM PUBLIC, {l}, {r}").format(
        l=ident(lanes), r=ident(reader)))
    conn.execute(sql.SQL("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pos FROM PUBLIC, {l}, {r}").format(
        l=ident(lanes), r=ident(reader)))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA pos TO {l}, {r}").format(l=ident(lanes), r=ident(reader)))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA pos TO {r}").format(r=ident(reader)))
    for table in REFERENCE_TABLES:
        conn.execute(sql.SQL("GRANT SELECT ON {t} TO {l}").format(t=ident("pos", table), l=ident(lanes)))
    for fn in LANE_FUNCTIONS:
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {f} TO {l}").format(f=sql.SQL(fn), l=ident(lanes)))
    for fn in READER_FUNCTIONS:
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {f} TO {r}, {l}").format(
            f=sql.SQL(fn), r=ident(reader), l=ident(lanes)))
    member = conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (lanes, reader)).fetchone()
    if not member or not member[0]:
        conn.execute(sql.SQL("GRANT {r} TO {l}").format(r=ident(reader), l=ident(lanes)))


def init_store(conn: psycopg.Connection[Any], *, prefix: str | None = None) -> str:
    """Create the schema and roles on an empty database (idempotent); returns the role prefix."""
    dbname = str(conn.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
    chosen = prefix or role_prefix(dbname)
    if not _NAME.match(chosen):
        raise StoreRefused(f"role prefix {chosen!r} must be 1-31 lower-case letters, digits or _")
    migrate(conn, chosen)
    return _prefix_of(conn)


@dataclass(frozen=True)
class LaneCredentials:
    name: str
    lane_id: str
    role: str
    password: str


def add_lane(conn: psycopg.Connection[Any], name: str) -> LaneCredentials:
    """A login role and a lane row for one lane; the password is made here and returned once."""
    if not _NAME.match(name):
        raise StoreRefused(f"lane name {name!r} must start with a letter: lower-case letters, digits, _ (max 31)")
    prefix = _prefix_of(conn)
    role = f"{prefix}_lane_{name}"
    password = secrets.token_urlsafe(24)
    lane_id = str(uuid.uuid4())
    with conn.transaction():
        if conn.execute("SELECT 1 FROM pos.lane WHERE name = %s", (name,)).fetchone():
            raise StoreRefused(f"lane {name!r} already exists (its role is {role})")
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            raise StoreRefused(f"a PostgreSQL role {role!r} already exists; choose another lane name")
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
            sql.Identifier(role), sql.Literal(password), sql.Identifier(f"{prefix}_lanes")))
        conn.execute("INSERT INTO pos.lane (lane_id, name, role_name) VALUES (%s, %s, %s)", (lane_id, name, role))
    logger.info("store lane %s added (role %s)", name, role)
    return LaneCredentials(name, lane_id, role, password)
