-- Schema 42 (counter, issue 14): parked sales (挂单) and the open basket kept safe across a crash or restart.
CREATE TABLE held_baskets (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('parked', 'open')),
    terminal_id TEXT NOT NULL,
    shift_id    INTEGER REFERENCES shifts (id),
    cashier_id  INTEGER REFERENCES users (id),
    label       TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,                        -- pos_app.domain.held.basket_to_json
    total_fen   INTEGER NOT NULL DEFAULT 0,            -- what it came to when stored (for the list)
    line_count  INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('held', 'recalled', 'discarded')) DEFAULT 'held',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    closed_by   INTEGER REFERENCES users (id),
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX held_baskets_state ON held_baskets (terminal_id, kind, state);
-- at most one open basket per terminal
CREATE UNIQUE INDEX held_baskets_one_open ON held_baskets (terminal_id) WHERE kind = 'open' AND state = 'held';
