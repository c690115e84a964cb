-- Store schema 41 (issue 13, store X for a day at 1.3 M sales): which lanes traded on a day, and the last lane_seq
-- of each lane epoch's events of that day (shift closes and Zs aside), kept by a statement trigger on pos.event in the
-- ingest's transaction, as schema 40's rollups are. pos.incomplete_lanes (store X and the store Z's completeness
-- check) read it instead of every event of the day (≈ 65 000 at 50 lanes; most of a day's store X, and the first
-- call of a session also compiled that scan with JIT). pos.event is insert-only, so the maximum only grows.

CREATE TABLE pos.day_lane_seq (
    business_date date NOT NULL,
    lane_id       uuid NOT NULL,
    lane_epoch    uuid NOT NULL,
    last_seq      bigint NOT NULL,
    PRIMARY KEY (business_date, lane_id, lane_epoch)
);

CREATE FUNCTION pos.roll_up_events() RETURNS trigger LANGUAGE plpgsql
SET search_path = pos, pg_temp AS $$
BEGIN
    INSERT INTO pos.day_lane_seq AS t (business_date, lane_id, lane_epoch, last_seq)
    SELECT business_date, lane_id, lane_epoch, max(lane_seq)
      FROM new_events WHERE kind NOT IN ('shift_close', 'z')
     GROUP BY business_date, lane_id, lane_epoch ORDER BY business_date, lane_id, lane_epoch
    ON CONFLICT (business_date, lane_id, lane_epoch) DO UPDATE SET last_seq = GREATEST(t.last_seq, excluded.last_seq);
    RETURN NULL;
END $$;

CREATE TRIGGER event_roll_up AFTER INSERT ON pos.event REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION pos.roll_up_events();

INSERT INTO pos.day_lane_seq
SELECT business_date, lane_id, lane_epoch, max(lane_seq) FROM pos.event WHERE kind NOT IN ('shift_close', 'z')
 GROUP BY business_date, lane_id, lane_epoch;

CREATE OR REPLACE FUNCTION pos.incomplete_lanes(p_date date) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pos, pg_temp AS $$
    SELECT COALESCE(jsonb_agg(jsonb_build_object('lane', l.name, 'lane_id', t.lane_id,
                                                 'acked_seq', c.acked_seq, 'last_seq_of_day', t.last_seq)
                              ORDER BY l.name), '[]'::jsonb)
      FROM pos.day_lane_seq t
      JOIN pos.lane l USING (lane_id)
      LEFT JOIN pos.lane_epoch c ON c.lane_id = t.lane_id AND c.lane_epoch = t.lane_epoch
     WHERE t.business_date = p_date
       AND NOT EXISTS (SELECT 1 FROM pos.shift_event s
                        WHERE s.lane_id = t.lane_id AND s.lane_epoch = t.lane_epoch
                          AND s.kind IN ('close', 'z') AND s.last_lane_seq > t.last_seq)
$$;

-- the completeness check looks up each traded lane's closes and Zs after that day's last event
CREATE INDEX shift_event_close ON pos.shift_event (lane_id, lane_epoch, last_lane_seq) WHERE kind IN ('close', 'z');
