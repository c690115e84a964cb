-- store PC walk-through (issue 17): members moved from another system without the shop's Alipay card.
-- 1: the member holds the shop's Alipay membership card, so points are synced to it (every member the
--    terminal knew before this migration came from Alipay or the demo, so they keep 1);
-- 0: imported without an Alipay card: the points stay in the terminal's ledger, nothing is sent for the
--    card (each call would be refused with CARD_NOT_EXIST and pile up as failed sync rows).
ALTER TABLE members ADD COLUMN alipay_card INTEGER NOT NULL DEFAULT 1 CHECK (alipay_card IN (0, 1));
