-- Schema 32 (store mode, issue 13): settings that are the store's, as pulled (applied at the terminal's next start),
-- and which local users came from the store (their rows are overwritten by the store's whenever it changes them).

CREATE TABLE lane_store_setting (
    key        TEXT PRIMARY KEY,            -- "section.key" (e.g. store.name, shift.pin_max_failures) or "loyalty"
    value_json TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    pulled_at  TEXT NOT NULL
);

CREATE TABLE lane_store_user (
    number    TEXT PRIMARY KEY,             -- users.number of a user the store manages
    pulled_at TEXT NOT NULL
);
