-- Store schema 4: the full catalogue record of the catalogue importer (issue 12) on the store server,
-- its imports (audited) and price history (insert-only). Lanes pull pos.item as before.

ALTER TABLE pos.item ADD COLUMN unit_label text NOT NULL DEFAULT '';
ALTER TABLE pos.item ADD COLUMN member_price_fen bigint CHECK (member_price_fen IS NULL OR member_price_fen >= 0);
ALTER TABLE pos.item ADD COLUMN tax_rate_bp integer NOT NULL DEFAULT 1300;
ALTER TABLE pos.item ADD COLUMN barcodes text[] NOT NULL DEFAULT '{}';

CREATE TABLE pos.catalogue_import (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    by_user     text NOT NULL,
    source      text NOT NULL,
    sha256      text NOT NULL,
    full_import boolean NOT NULL,
    added       integer NOT NULL,
    changed     integer NOT NULL,
    deactivated integer NOT NULL,
    unchanged   integer NOT NULL
);

CREATE TABLE pos.price_history (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_code text NOT NULL,
    field     text NOT NULL CHECK (field IN ('price', 'member_price')),
    old_fen   bigint,
    new_fen   bigint,
    at        timestamptz NOT NULL DEFAULT now(),
    by_user   text NOT NULL,
    import_id bigint REFERENCES pos.catalogue_import
);
CREATE TRIGGER price_history_insert_only BEFORE UPDATE OR DELETE ON pos.price_history
    FOR EACH ROW EXECUTE FUNCTION pos.insert_only();
CREATE TRIGGER catalogue_import_insert_only BEFORE UPDATE OR DELETE ON pos.catalogue_import
    FOR EACH ROW EXECUTE FUNCTION pos.insert_only();
