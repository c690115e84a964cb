-- Store day close: which lanes that traded on a date are not yet complete on the server, and the
-- one call that records a store Z (refused while a lane is incomplete unless overridden with a reason).

CREATE FUNCTION pos.incomplete_lanes(p_date date) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pos, pg_temp AS $$
    WITH traded AS (
        SELECT e.lane_id, e.lane_epoch, max(e.lane_seq) AS last_seq
          FROM pos.event e
         WHERE e.business_date = p_date AND e.kind NOT IN ('shift_close', 'z')
         GROUP BY e.lane_id, e.lane_epoch
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object('lane', l.name, 'lane_id', t.lane_id,
                                                 'acked_seq', c.acked_seq, 'last_seq_of_day', t.last_seq)
                              ORDER BY l.name), '[]'::jsonb)
      FROM traded t
      JOIN pos.lane l USING (lane_id)
      LEFT JOIN pos.lane_epoch c ON c.lane_id = t.lane_id AND c.lane_epoch = t.lane_epoch
     WHERE NOT EXISTS (SELECT 1 FROM pos.shift_event s
                        WHERE s.lane_id = t.lane_id AND s.lane_epoch = t.lane_epoch
                          AND s.kind IN ('close', 'z') AND s.last_lane_seq > t.last_seq)
$$;

CREATE FUNCTION pos.store_close_day(p_date date, p_figures jsonb, p_closed_by text, p_override_reason text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pos, pg_temp AS $$
DECLARE v_missing jsonb; v_row pos.store_z%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('pos.store_z'));
    SELECT * INTO v_row FROM pos.store_z WHERE business_date = p_date;
    IF FOUND THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'already_closed', 'created_at', v_row.created_at);
    END IF;
    v_missing := pos.incomplete_lanes(p_date);
    IF jsonb_array_length(v_missing) > 0 AND COALESCE(btrim(p_override_reason), '') = '' THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'incomplete', 'missing_lanes', v_missing);
    END IF;
    INSERT INTO pos.store_z (business_date, provisional, missing_lanes, override_reason, closed_by, figures)
    VALUES (p_date, jsonb_array_length(v_missing) > 0, v_missing, COALESCE(p_override_reason, ''),
            p_closed_by, p_figures);
    RETURN jsonb_build_object('ok', true, 'provisional', jsonb_array_length(v_missing) > 0,
                              'missing_lanes', v_missing);
END $$;

CREATE TRIGGER store_z_insert_only BEFORE UPDATE OR DELETE ON pos.store_z
    FOR EACH ROW EXECUTE FUNCTION pos.insert_only();
