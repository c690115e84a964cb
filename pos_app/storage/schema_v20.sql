-- Schema 20 (shop data in): the full catalogue record, several barcodes per item, price history.
-- catalogue_items.code is the shop's item code; unit stays the pricing unit ('kg' = weighed).

ALTER TABLE catalogue_items ADD COLUMN unit_label TEXT NOT NULL DEFAULT '';
ALTER TABLE catalogue_items ADD COLUMN member_price_fen INTEGER CHECK (member_price_fen IS NULL OR member_price_fen >= 0);
ALTER TABLE catalogue_items ADD COLUMN tax_rate_bp INTEGER NOT NULL DEFAULT 1300
    CHECK (tax_rate_bp IN (1300, 900, 600, 300, 100, 0));   -- basis points; retail prices include VAT
ALTER TABLE catalogue_items ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';

-- every code that scans as an item, normalised as the scanner's classifier looks it up
CREATE TABLE item_barcodes (
    barcode   TEXT PRIMARY KEY,
    item_code TEXT NOT NULL REFERENCES catalogue_items (code)
);
CREATE INDEX item_barcodes_item ON item_barcodes (item_code);

-- one row per applied catalogue file (audited)
CREATE TABLE catalogue_imports (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    by_user      TEXT NOT NULL,
    source       TEXT NOT NULL,                    -- file name as given
    sha256       TEXT NOT NULL,
    full_import  INTEGER NOT NULL CHECK (full_import IN (0, 1)),
    added        INTEGER NOT NULL,
    changed      INTEGER NOT NULL,
    deactivated  INTEGER NOT NULL,
    unchanged    INTEGER NOT NULL
);

-- every change of a price or member price (NULL = none): who, when, old, new
CREATE TABLE price_history (
    id          INTEGER PRIMARY KEY,
    item_code   TEXT NOT NULL,
    field       TEXT NOT NULL CHECK (field IN ('price', 'member_price')),
    old_fen     INTEGER,
    new_fen     INTEGER,
    at          TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    import_id   INTEGER REFERENCES catalogue_imports (id)
);
CREATE INDEX price_history_item ON price_history (item_code, id);
CREATE TRIGGER price_history_no_update BEFORE UPDATE ON price_history
BEGIN SELECT RAISE(ABORT, 'price_history is append-only'); END;
CREATE TRIGGER price_history_no_delete BEFORE DELETE ON price_history
BEGIN SELECT RAISE(ABORT, 'price_history is append-only'); END;
