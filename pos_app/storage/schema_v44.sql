-- Schema 44 (counter, issue 14): a version number that moves with every change to the stored promotions, special
-- prices and level prices (an import, a switch at the supervisor's screen), so a running terminal sees a change
-- with one small read when a sale starts.
CREATE TABLE pricing_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO pricing_version (id, version) VALUES (1, 0);
CREATE TRIGGER pricing_v_promo_ins AFTER INSERT ON promotions
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_promo_upd AFTER UPDATE ON promotions
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_promo_del AFTER DELETE ON promotions
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_special_ins AFTER INSERT ON special_prices
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_special_upd AFTER UPDATE ON special_prices
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_special_del AFTER DELETE ON special_prices
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_level_ins AFTER INSERT ON item_level_prices
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_level_upd AFTER UPDATE ON item_level_prices
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pricing_v_level_del AFTER DELETE ON item_level_prices
BEGIN UPDATE pricing_version SET version = version + 1 WHERE id = 1; END;
