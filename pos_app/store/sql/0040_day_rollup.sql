-- Store schema 40 (issue 13, the reports at 50 lanes × 30 days ≈ 1.3 M sales): per-day rollups of the sales and
-- tenders, kept by statement triggers IN THE SAME TRANSACTION as the rows they count (so a report read from them in
-- one snapshot is exact, never behind), and filled from the existing rows here. Store X / Z / the 30-day report read
-- these instead of scanning every sale. pos.sale and pos.tender only ever get INSERTs (their triggers reject UPDATE
-- and DELETE), so counting inserted rows is all there is to keep.
--
-- Keys: every rollup but day_member has the lane in its key, so the lanes' concurrent ingests never touch the same
-- row (each lane's ingests are serialised by its lane_epoch row already). day_member only records that a member
-- bought on a day (for "distinct members over N days"); its rows are inserted in member order with ON CONFLICT DO
-- NOTHING, which never locks an existing row and cannot deadlock two lanes' batches.

CREATE TABLE pos.day_lane (
    business_date   date NOT NULL,
    lane_id         uuid NOT NULL,
    sales           bigint NOT NULL,
    total_fen       bigint NOT NULL,
    member_sales    bigint NOT NULL,      -- sales with a member
    points_earned   bigint NOT NULL,      -- over sales with a member (as the report counts them)
    points_redeemed bigint NOT NULL,
    PRIMARY KEY (business_date, lane_id)
);

CREATE TABLE pos.day_cashier (
    business_date date NOT NULL,
    lane_id       uuid NOT NULL,
    cashier       text NOT NULL,
    sales         bigint NOT NULL,
    total_fen     bigint NOT NULL,
    PRIMARY KEY (business_date, lane_id, cashier)
);

CREATE TABLE pos.day_tender (
    business_date date NOT NULL,
    lane_id       uuid NOT NULL,
    kind          text NOT NULL,
    amount_fen    bigint NOT NULL,
    PRIMARY KEY (business_date, lane_id, kind)
);

CREATE TABLE pos.day_member (
    business_date date NOT NULL,
    member_id     text NOT NULL,
    PRIMARY KEY (business_date, member_id)
);

CREATE FUNCTION pos.roll_up_sales() RETURNS trigger LANGUAGE plpgsql
SET search_path = pos, pg_temp AS $$
BEGIN
    INSERT INTO pos.day_lane AS t (business_date, lane_id, sales, total_fen, member_sales, points_earned,
                                   points_redeemed)
    SELECT business_date, lane_id, count(*), sum(total_fen), count(member_id),
           coalesce(sum(points_earned) FILTER (WHERE member_id IS NOT NULL), 0),
           coalesce(sum(points_redeemed) FILTER (WHERE member_id IS NOT NULL), 0)
      FROM new_sales GROUP BY business_date, lane_id ORDER BY business_date, lane_id
    ON CONFLICT (business_date, lane_id) DO UPDATE
       SET sales = t.sales + excluded.sales, total_fen = t.total_fen + excluded.total_fen,
           member_sales = t.member_sales + excluded.member_sales,
           points_earned = t.points_earned + excluded.points_earned,
           points_redeemed = t.points_redeemed + excluded.points_redeemed;
    INSERT INTO pos.day_cashier AS t (business_date, lane_id, cashier, sales, total_fen)
    SELECT business_date, lane_id, cashier, count(*), sum(total_fen)
      FROM new_sales GROUP BY business_date, lane_id, cashier ORDER BY business_date, lane_id, cashier
    ON CONFLICT (business_date, lane_id, cashier) DO UPDATE
       SET sales = t.sales + excluded.sales, total_fen = t.total_fen + excluded.total_fen;
    INSERT INTO pos.day_member (business_date, member_id)
    SELECT DISTINCT business_date, member_id FROM new_sales WHERE member_id IS NOT NULL ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION pos.roll_up_tenders() RETURNS trigger LANGUAGE plpgsql
SET search_path = pos, pg_temp AS $$
BEGIN
    INSERT INTO pos.day_tender AS t (business_date, lane_id, kind, amount_fen)
    SELECT business_date, lane_id, kind, sum(amount_fen)
      FROM new_tenders GROUP BY business_date, lane_id, kind ORDER BY business_date, lane_id, kind
    ON CONFLICT (business_date, lane_id, kind) DO UPDATE SET amount_fen = t.amount_fen + excluded.amount_fen;
    RETURN NULL;
END $$;

CREATE TRIGGER sale_roll_up AFTER INSERT ON pos.sale REFERENCING NEW TABLE AS new_sales
    FOR EACH STATEMENT EXECUTE FUNCTION pos.roll_up_sales();
CREATE TRIGGER tender_roll_up AFTER INSERT ON pos.tender REFERENCING NEW TABLE AS new_tenders
    FOR EACH STATEMENT EXECUTE FUNCTION pos.roll_up_tenders();

-- what is there already (this migration runs in one transaction; lanes' ingests wait for it)
INSERT INTO pos.day_lane
SELECT business_date, lane_id, count(*), sum(total_fen), count(member_id),
       coalesce(sum(points_earned) FILTER (WHERE member_id IS NOT NULL), 0),
       coalesce(sum(points_redeemed) FILTER (WHERE member_id IS NOT NULL), 0)
  FROM pos.sale GROUP BY business_date, lane_id;
INSERT INTO pos.day_cashier
SELECT business_date, lane_id, cashier, count(*), sum(total_fen) FROM pos.sale GROUP BY business_date, lane_id, cashier;
INSERT INTO pos.day_member SELECT DISTINCT business_date, member_id FROM pos.sale WHERE member_id IS NOT NULL;
INSERT INTO pos.day_tender
SELECT business_date, lane_id, kind, sum(amount_fen) FROM pos.tender GROUP BY business_date, lane_id, kind;
