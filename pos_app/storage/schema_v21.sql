-- Schema 21 (shop data out): the sales journal's gap-free row numbers, given once and kept forever.
CREATE TABLE export_seq (
    seq     INTEGER PRIMARY KEY,                   -- 1, 2, 3, ... per terminal, never reused
    record  TEXT NOT NULL,                         -- shift_open, sale, line, tender, points, refund, ...
    ref_id  INTEGER NOT NULL,                      -- id in the record's own table
    at      TEXT NOT NULL,                         -- when it happened (UTC ISO text)
    UNIQUE (record, ref_id)
);
CREATE INDEX export_seq_at ON export_seq (at);
CREATE TRIGGER export_seq_no_update BEFORE UPDATE ON export_seq
BEGIN SELECT RAISE(ABORT, 'export_seq is append-only'); END;
CREATE TRIGGER export_seq_no_delete BEFORE DELETE ON export_seq
BEGIN SELECT RAISE(ABORT, 'export_seq is append-only'); END;
