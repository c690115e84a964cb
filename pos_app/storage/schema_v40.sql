-- Schema 40 (counter, issue 14): promotions, special prices and per-level member prices, and their imports.
-- Promotions and special prices are stored as the validated JSON record of the domain
-- (pos_app.domain.promotions), so the file a supervisor exports is the file they import.

CREATE TABLE promotions (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,                  -- Promotion.to_mapping() as canonical JSON
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);

CREATE TABLE special_prices (
    id          TEXT PRIMARY KEY,
    item_code   TEXT NOT NULL,
    body        TEXT NOT NULL,                  -- SpecialPrice.to_mapping() as canonical JSON
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE INDEX special_prices_item ON special_prices (item_code);

-- a member level's own price for an item (会员价 per level); the catalogue's member_price_fen is for any member
CREATE TABLE item_level_prices (
    item_code   TEXT NOT NULL,
    level       TEXT NOT NULL,
    price_fen   INTEGER NOT NULL CHECK (price_fen >= 0),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (item_code, level)
);

-- one row per applied promotions file (the audit log has the entry too)
CREATE TABLE promotion_imports (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    source      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    added       INTEGER NOT NULL,
    changed     INTEGER NOT NULL,
    removed     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL
);
