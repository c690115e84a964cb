-- Schema 41 (counter, issue 14): what each sale line was paid with: VAT and every discount, explained.
ALTER TABLE sale_lines ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE sale_lines ADD COLUMN tax_rate_bp INTEGER NOT NULL DEFAULT 1300;
ALTER TABLE sale_lines ADD COLUMN tax_fen INTEGER NOT NULL DEFAULT 0;   -- VAT in amount_fen - discount_fen

-- one row per discount on a line: member/special price, promotion, manual (reason code), points, cash rounding;
-- the rows of a line sum to its discount_fen
CREATE TABLE sale_line_discounts (
    id          INTEGER PRIMARY KEY,
    sale_id     INTEGER NOT NULL REFERENCES sales (id),
    line_no     INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('special_price', 'member_price', 'promotion', 'manual', 'points',
                                              'rounding')),
    ref         TEXT NOT NULL,                 -- promotion / special price id, member level, reason code
    label       TEXT NOT NULL,
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0)
);
CREATE INDEX sale_line_discounts_sale ON sale_line_discounts (sale_id);
