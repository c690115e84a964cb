-- Store schema 9: a new epoch (a new lane, or one restored from an older copy) is told the highest receipt number
-- the store holds of this lane, so its receipts continue after it and are never printed twice.

CREATE INDEX sale_lane_receipt ON pos.sale (lane_id, receipt_no);

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
    RETURN jsonb_build_object('lane_id', v_lane, 'acked_seq', p_base_seq, 'new_epoch', true,
                              'receipt_max', (SELECT max(receipt_no) FROM pos.sale WHERE lane_id = v_lane));
END $$;
