-- Schema 30 (store mode, issue 13): the lane journal. When store mode is enabled (lane_store_state.enabled = 1)
-- triggers add one journal row per committed event IN THE SAME TRANSACTION as the event itself; the uplink
-- pushes them to the store server in seq order. With store mode off nothing is written here.
-- seq is the gap-free lane sequence (rowid = max + 1 under SQLite's single writer; rows are never deleted).

CREATE TABLE lane_store_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    enabled        INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    lane_epoch     TEXT NOT NULL DEFAULT '',      -- UUID; a new one when the server says we were restored
    lane_id        TEXT NOT NULL DEFAULT '',
    epoch_base_seq INTEGER NOT NULL DEFAULT 0,
    acked_seq      INTEGER NOT NULL DEFAULT 0,    -- what the server holds (contiguous)
    offline_since  TEXT,                          -- UTC ISO time of the first failed round trip, NULL when online
    last_ok_at     TEXT,
    last_error     TEXT NOT NULL DEFAULT '',
    pull_cursor    TEXT NOT NULL DEFAULT '{}'     -- {"table": [xid, change_seq], ...}
);
INSERT INTO lane_store_state (id) VALUES (1);

CREATE TABLE lane_journal (
    seq        INTEGER PRIMARY KEY,
    event_id   TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    ref_id     INTEGER NOT NULL,
    offline    INTEGER NOT NULL DEFAULT 0,       -- written while the store was unreachable
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TRIGGER lane_journal_no_update BEFORE UPDATE ON lane_journal
BEGIN SELECT RAISE(ABORT, 'lane_journal is append-only'); END;
CREATE TRIGGER lane_journal_no_delete BEFORE DELETE ON lane_journal
BEGIN SELECT RAISE(ABORT, 'lane_journal is append-only'); END;

-- The store's balance per member as last pulled, and this lane's acked_seq read in the same server
-- snapshot: shown points = store_balance + this lane's journaled entries with seq > acked_at_read.
CREATE TABLE lane_member_points (
    card_no       TEXT PRIMARY KEY,
    store_balance INTEGER NOT NULL,
    acked_at_read INTEGER NOT NULL,
    read_at       TEXT NOT NULL
);

CREATE TRIGGER lane_j_sale AFTER INSERT ON sales
WHEN (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'sale', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

CREATE TRIGGER lane_j_refund_ins AFTER INSERT ON refunds
WHEN NEW.state = 'done' AND (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'refund', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

CREATE TRIGGER lane_j_refund_done AFTER UPDATE OF state ON refunds
WHEN NEW.state = 'done' AND OLD.state <> 'done' AND (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'refund', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

CREATE TRIGGER lane_j_cash AFTER INSERT ON cash_movements
WHEN (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'cash', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

CREATE TRIGGER lane_j_shift_open AFTER INSERT ON shifts
WHEN (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'shift_open', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

CREATE TRIGGER lane_j_shift_close AFTER UPDATE OF state ON shifts
WHEN NEW.state = 'closed' AND OLD.state = 'open' AND (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'shift_close', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

CREATE TRIGGER lane_j_z AFTER INSERT ON z_reports
WHEN (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'z', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

-- Points moved by this lane (not the opening balance seen on the card, not the store-balance correction).
CREATE TRIGGER lane_j_points AFTER INSERT ON points_ledger
WHEN NEW.kind <> 'opening' AND NEW.reason <> '[store balance]'
     AND (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'points', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;

-- In store mode the store's one card worker sends card calls: the lane's consume.sync rows travel in the
-- journal (their trade facts), and the lane's own outbox never sends them.
CREATE TRIGGER lane_j_card_call AFTER INSERT ON outbox
WHEN (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline)
    SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
                 || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
           'card_call', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1)
     WHERE NEW.kind = 'card.consume_sync';
    UPDATE outbox SET state = 'discarded', last_error = 'store mode: sent by the store card worker'
     WHERE id = NEW.id;
END;
