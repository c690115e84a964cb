-- Schema 31 (store mode, issue 13): points redeemed at the till are held at the store before the sale is paid.
-- lane_redeem: one row per hold the till asked for. online = 1: the store's redeem_points confirmed it (its
-- ledger entry, entry_id, is already in the store balance); online = 0: the lane's own offline redemption within
-- [store] offline_redeem_cap per member per day. The sale's redeem ledger entry carries the hold's entry_id
-- (points_ledger.entry_id), so the same entry arriving again in the journal is a no-op at the store.
-- A hold given up after the store was asked is journaled as a conditional reverse (points_release).

ALTER TABLE points_ledger ADD COLUMN entry_id TEXT;
CREATE UNIQUE INDEX points_ledger_entry ON points_ledger (entry_id) WHERE entry_id IS NOT NULL;

CREATE TABLE lane_redeem (
    id               INTEGER PRIMARY KEY,
    entry_id         TEXT NOT NULL UNIQUE,          -- UUID of the redeem entry (the store's points_entry key)
    card_no          TEXT NOT NULL,
    points           INTEGER NOT NULL CHECK (points > 0),
    online           INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0, 1)),
    asked            INTEGER NOT NULL DEFAULT 0 CHECK (asked IN (0, 1)),   -- redeem_points was called
    state            TEXT NOT NULL CHECK (state IN ('asking', 'held', 'offline', 'used', 'released', 'refused')),
    business_date    TEXT NOT NULL,                 -- store day (GMT+8) of the hold: the offline cap is per day
    release_entry_id TEXT,
    ledger_id        INTEGER,
    store_balance    INTEGER,                       -- what the store answered (held or refused)
    created_at       TEXT NOT NULL,
    released_at      TEXT
);
CREATE INDEX lane_redeem_card ON lane_redeem (card_no, business_date);

CREATE TRIGGER lane_redeem_used AFTER INSERT ON points_ledger
WHEN NEW.entry_id IS NOT NULL
BEGIN
    UPDATE lane_redeem SET state = 'used', ledger_id = NEW.id WHERE entry_id = NEW.entry_id;
END;

CREATE TRIGGER lane_j_points_release AFTER UPDATE OF state ON lane_redeem
WHEN NEW.state = 'released' AND OLD.state <> 'released' AND NEW.asked = 1
     AND (SELECT enabled FROM lane_store_state WHERE id = 1) = 1
BEGIN
    INSERT INTO lane_journal (event_id, kind, ref_id, offline) VALUES (
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
              || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        'points_release', NEW.id, (SELECT offline_since IS NOT NULL FROM lane_store_state WHERE id = 1));
END;
