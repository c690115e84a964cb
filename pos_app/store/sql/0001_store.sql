-- Store server schema 1. Everything lives in schema "pos". Money is integer fen, points integer.
-- Journal and ledger tables are insert-only (a trigger rejects UPDATE, DELETE and TRUNCATE);
-- reference tables are stamped (change_seq, xid) for the lanes' snapshot-fenced pull.
-- Placeholders replaced by pos_app.store.schema: {lane_role} (group of all lane roles),
-- {reader_role} (read-only group for reports).

CREATE SCHEMA IF NOT EXISTS pos;

-- ---------------------------------------------------------------- lanes and their cursors
CREATE TABLE pos.lane (
    lane_id    uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    role_name  text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (lane, epoch). A lane restored from an old backup starts a new epoch; the old one is
-- marked replaced and a lane_notice row lists it for a supervisor. Never merged silently.
CREATE TABLE pos.lane_epoch (
    lane_id            uuid NOT NULL REFERENCES pos.lane,
    lane_epoch         uuid NOT NULL,
    base_seq           bigint NOT NULL,          -- lane_seq values of this epoch start after it
    acked_seq          bigint NOT NULL,          -- contiguous run received
    state              text NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'replaced')),
    started_at         timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz,
    lane_clock_skew_ms bigint,
    backlog            bigint NOT NULL DEFAULT 0,  -- events waiting on the lane at its last heartbeat
    resends            bigint NOT NULL DEFAULT 0,  -- rows received again (no-ops), for the tests
    PRIMARY KEY (lane_id, lane_epoch)
);
CREATE UNIQUE INDEX lane_epoch_one_current ON pos.lane_epoch (lane_id) WHERE state = 'current';

CREATE TABLE pos.lane_notice (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lane_id    uuid NOT NULL REFERENCES pos.lane,
    kind       text NOT NULL,                    -- new_epoch | clock_skew | late_after_close
    detail     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    reviewed_by text,
    reviewed_at timestamptz
);

-- ---------------------------------------------------------------- journal (insert-only)
CREATE TABLE pos.event (
    event_id      uuid PRIMARY KEY,
    lane_id       uuid NOT NULL REFERENCES pos.lane,
    lane_epoch    uuid NOT NULL,
    lane_seq      bigint NOT NULL,
    kind          text NOT NULL,
    business_date date NOT NULL,
    occurred_at   timestamptz NOT NULL,
    body          jsonb NOT NULL,
    server_seq    bigint GENERATED ALWAYS AS IDENTITY,
    xid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (lane_id, lane_epoch, lane_seq)
);
CREATE INDEX event_date ON pos.event (business_date, lane_id);

CREATE TABLE pos.sale (
    event_id        uuid PRIMARY KEY REFERENCES pos.event,
    lane_id         uuid NOT NULL,
    business_date   date NOT NULL,
    receipt_no      text NOT NULL,
    shift_no        integer NOT NULL,
    cashier         text NOT NULL,
    member_id       text,
    gross_fen       bigint NOT NULL,
    discount_fen    bigint NOT NULL,
    total_fen       bigint NOT NULL,
    points_earned   bigint NOT NULL,
    points_redeemed bigint NOT NULL,
    occurred_at     timestamptz NOT NULL
);
CREATE INDEX sale_date ON pos.sale (business_date, lane_id);

CREATE TABLE pos.tender (
    event_id      uuid NOT NULL REFERENCES pos.event,
    n             integer NOT NULL,
    lane_id       uuid NOT NULL,
    business_date date NOT NULL,
    kind          text NOT NULL,
    amount_fen    bigint NOT NULL,
    trade_no      text NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, n)
);
CREATE INDEX tender_date ON pos.tender (business_date, lane_id);

CREATE TABLE pos.refund (
    event_id       uuid PRIMARY KEY REFERENCES pos.event,
    lane_id        uuid NOT NULL,
    business_date  date NOT NULL,
    receipt_no     text NOT NULL,
    method         text NOT NULL,
    amount_fen     bigint NOT NULL,
    out_request_no text NOT NULL
);
CREATE INDEX refund_date ON pos.refund (business_date, lane_id);

CREATE TABLE pos.cash_movement (
    event_id      uuid PRIMARY KEY REFERENCES pos.event,
    lane_id       uuid NOT NULL,
    business_date date NOT NULL,
    kind          text NOT NULL,
    amount_fen    bigint NOT NULL
);

CREATE TABLE pos.shift_event (
    event_id      uuid PRIMARY KEY REFERENCES pos.event,
    lane_id       uuid NOT NULL,
    lane_epoch    uuid NOT NULL,
    business_date date NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('open', 'close', 'z')),
    shift_no      integer NOT NULL,
    last_lane_seq bigint NOT NULL                -- the lane_seq of this event: all before it belong to the shift
);

-- ---------------------------------------------------------------- points ledger (insert-only) and its cache
CREATE TABLE pos.points_entry (
    entry_id    uuid PRIMARY KEY,
    member_id   text NOT NULL,
    delta       bigint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('earn', 'redeem', 'reverse', 'adjust', 'expire')),
    event_id    uuid,
    lane_id     uuid,
    offline     boolean NOT NULL DEFAULT false,
    occurred_at timestamptz NOT NULL,
    server_seq  bigint GENERATED ALWAYS AS IDENTITY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX points_entry_member ON pos.points_entry (member_id, server_seq);

CREATE TABLE pos.member_points (
    member_id       text PRIMARY KEY,
    balance         bigint NOT NULL DEFAULT 0,
    last_server_seq bigint NOT NULL DEFAULT 0,
    change_seq      bigint NOT NULL DEFAULT 0,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id()
);

CREATE TABLE pos.points_exception (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   text NOT NULL,
    entry_id    uuid NOT NULL,
    kind        text NOT NULL,                   -- overdraft
    balance_after bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_by text,
    resolved_at timestamptz
);

-- ---------------------------------------------------------------- card calls (the store's one card worker)
CREATE TABLE pos.card_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id       text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('update', 'consume_sync')),
    trade_no        text UNIQUE,                 -- consume_sync: one per Alipay trade
    lane_body       jsonb,                       -- consume_sync: the body fixed at the lane's commit
    request         jsonb,                       -- written before the first send, re-sent unchanged
    points_after    bigint,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead', 'coalesced')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz
);
CREATE INDEX card_outbox_pending ON pos.card_outbox (state, member_id, id);

-- ---------------------------------------------------------------- store day close
CREATE TABLE pos.store_z (
    business_date date PRIMARY KEY,
    provisional   boolean NOT NULL,
    missing_lanes jsonb NOT NULL,
    override_reason text NOT NULL DEFAULT '',
    closed_by     text NOT NULL,
    figures       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- reference data (pulled by lanes)
CREATE SEQUENCE pos.change_seq;

CREATE TABLE pos.item (
    code            text PRIMARY KEY,
    sku             text NOT NULL DEFAULT '',
    name_zh         text NOT NULL,
    name_en         text NOT NULL,
    price_fen       bigint NOT NULL CHECK (price_fen >= 0),
    unit            text NOT NULL DEFAULT 'each',
    category        text NOT NULL DEFAULT '',
    points_excluded boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,
    deleted         boolean NOT NULL DEFAULT false,
    change_seq      bigint NOT NULL DEFAULT 0,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id()
);

CREATE TABLE pos.member (
    member_id   text PRIMARY KEY,                -- the static card number (external_card_no)
    biz_card_no text,
    name        text NOT NULL,
    phone       text NOT NULL DEFAULT '',
    level       text NOT NULL,
    user_id     text NOT NULL DEFAULT '',
    deleted     boolean NOT NULL DEFAULT false,
    change_seq  bigint NOT NULL DEFAULT 0,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);

CREATE TABLE pos.store_setting (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    change_seq bigint NOT NULL DEFAULT 0,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id()
);

CREATE FUNCTION pos.stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('pos.change_seq');
    NEW.xid := pg_current_xact_id();
    RETURN NEW;
END $$;

CREATE FUNCTION pos.delete_is_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %s SET deleted = true WHERE %I = $1', TG_RELID::regclass, TG_ARGV[0])
        USING (to_jsonb(OLD) ->> TG_ARGV[0]);
    RETURN NULL;
END $$;

CREATE TRIGGER item_stamp BEFORE INSERT OR UPDATE ON pos.item FOR EACH ROW EXECUTE FUNCTION pos.stamp_change();
CREATE TRIGGER member_stamp BEFORE INSERT OR UPDATE ON pos.member FOR EACH ROW EXECUTE FUNCTION pos.stamp_change();
CREATE TRIGGER setting_stamp BEFORE INSERT OR UPDATE ON pos.store_setting FOR EACH ROW EXECUTE FUNCTION pos.stamp_change();
CREATE TRIGGER member_points_stamp BEFORE INSERT OR UPDATE ON pos.member_points FOR EACH ROW EXECUTE FUNCTION pos.stamp_change();
CREATE TRIGGER item_tombstone BEFORE DELETE ON pos.item FOR EACH ROW EXECUTE FUNCTION pos.delete_is_tombstone('code');
CREATE TRIGGER member_tombstone BEFORE DELETE ON pos.member FOR EACH ROW EXECUTE FUNCTION pos.delete_is_tombstone('member_id');
CREATE TRIGGER setting_tombstone BEFORE DELETE ON pos.store_setting FOR EACH ROW EXECUTE FUNCTION pos.delete_is_tombstone('key');

-- ---------------------------------------------------------------- insert-only enforcement
CREATE FUNCTION pos.insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is insert-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['event', 'sale', 'tender', 'refund', 'cash_movement', 'shift_event', 'points_entry']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON pos.%I FOR EACH ROW EXECUTE FUNCTION pos.insert_only()',
                       t || '_insert_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON pos.%I FOR EACH STATEMENT EXECUTE FUNCTION pos.insert_only()',
                       t || '_no_truncate', t);
    END LOOP;
END $$;

-- ---------------------------------------------------------------- about this store database
CREATE TABLE pos.store_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
