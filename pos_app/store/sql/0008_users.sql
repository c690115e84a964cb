-- Store schema 8: users are the store's (a cashier logs in at any lane). Lanes pull this table like the other
-- reference tables. pin_verifier = kscrypt$n$r$p$salt$hash: scrypt over HMAC-SHA256(store PIN key, PIN); the key
-- is a file on the store PC and the lanes, never in this database (pos_app/store/pinkey.py says why).

CREATE TABLE pos.store_user (
    number       text PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('cashier', 'supervisor', 'admin')),
    pin_verifier text NOT NULL CHECK (pin_verifier LIKE 'kscrypt$%'),
    card_code    text UNIQUE,
    active       boolean NOT NULL DEFAULT true,
    deleted      boolean NOT NULL DEFAULT false,
    updated_by   text NOT NULL DEFAULT '',
    change_seq   bigint NOT NULL DEFAULT 0,
    xid          xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE TRIGGER store_user_stamp BEFORE INSERT OR UPDATE ON pos.store_user
    FOR EACH ROW EXECUTE FUNCTION pos.stamp_change();
CREATE TRIGGER store_user_tombstone BEFORE DELETE ON pos.store_user
    FOR EACH ROW EXECUTE FUNCTION pos.delete_is_tombstone('number');
