-- Store schema 6: the heartbeat also answers the event_id the server holds at this epoch's acked_seq, so a lane
-- restored from an older database that has since traded (its highest seq may reach the server's again, with
-- different events) still notices it is not the lane the server knew and starts a new epoch.

CREATE OR REPLACE FUNCTION pos.heartbeat(p_epoch uuid, p_base_seq bigint, p_local_max_seq bigint, p_backlog bigint,
                                         p_lane_clock timestamptz)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pos, pg_temp AS $$
DECLARE
    v_lane uuid := pos.my_lane();
    v_row pos.lane_epoch%ROWTYPE;
    v_old pos.lane_epoch%ROWTYPE;
    v_event uuid;
BEGIN
    PERFORM 1 FROM pos.lane WHERE lane_id = v_lane FOR UPDATE;
    SELECT * INTO v_row FROM pos.lane_epoch WHERE lane_id = v_lane AND lane_epoch = p_epoch;
    IF FOUND THEN
        SELECT event_id INTO v_event FROM pos.event
         WHERE lane_id = v_lane AND lane_epoch = p_epoch AND lane_seq = v_row.acked_seq;
        IF v_row.state <> 'current' OR v_row.acked_seq > p_local_max_seq THEN
            RETURN jsonb_build_object('lane_id', v_lane, 'restored', true, 'acked_seq', v_row.acked_seq);
        END IF;
        UPDATE pos.lane_epoch SET last_seen_at = now(), backlog = p_backlog,
               lane_clock_skew_ms = (extract(epoch FROM (p_lane_clock - now())) * 1000)::bigint
         WHERE lane_id = v_lane AND lane_epoch = p_epoch;
        RETURN jsonb_build_object('lane_id', v_lane, 'acked_seq', v_row.acked_seq, 'acked_event', v_event);
    END IF;
    SELECT * INTO v_old FROM pos.lane_epoch WHERE lane_id = v_lane AND state = 'current';
    IF FOUND THEN
        UPDATE pos.lane_epoch SET state = 'replaced' WHERE lane_id = v_lane AND lane_epoch = v_old.lane_epoch;
        INSERT INTO pos.lane_notice (lane_id, kind, detail) VALUES (v_lane, 'new_epoch', jsonb_build_object(
            'old_epoch', v_old.lane_epoch, 'old_acked_seq', v_old.acked_seq,
            'new_epoch', p_epoch, 'new_epoch_after_seq', p_base_seq, 'lane_had_seq', p_local_max_seq,
            'note', 'lane restarted from an older database (backup restore or reinstall); events the server '
                    'holds from the old epoch that the lane lost exist only on the server'));
    END IF;
    INSERT INTO pos.lane_epoch (lane_id, lane_epoch, base_seq, acked_seq, last_seen_at, backlog)
    VALUES (v_lane, p_epoch, p_base_seq, p_base_seq, now(), p_backlog);
    RETURN jsonb_build_object('lane_id', v_lane, 'acked_seq', p_base_seq, 'new_epoch', true);
END $$;
