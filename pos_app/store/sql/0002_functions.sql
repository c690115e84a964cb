-- Store server functions. Lane roles may EXECUTE these (SECURITY DEFINER: they run as the owner)
-- and nothing else that writes. A lane is identified by the role it logged in as (session_user).

CREATE FUNCTION pos.my_lane() RETURNS uuid LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pos, pg_temp AS $$
DECLARE v uuid;
BEGIN
    SELECT lane_id INTO v FROM pos.lane WHERE role_name = session_user;
    IF v IS NULL THEN
        RAISE EXCEPTION 'role % is not a registered lane (pos-app store lane add NAME)', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN v;
END $$;

-- Apply a change to a member's balance: caller holds no lock yet; this takes the row lock, so per
-- member the card_outbox order is the commit order. Returns the new balance.
CREATE FUNCTION pos.apply_points(p_member text, p_entry uuid, p_delta bigint, p_offline boolean)
RETURNS bigint LANGUAGE plpgsql SET search_path = pos, pg_temp AS $$
DECLARE v_bal bigint; v_seq bigint;
BEGIN
    INSERT INTO pos.member_points AS m (member_id, balance) VALUES (p_member, 0) ON CONFLICT (member_id) DO NOTHING;
    SELECT server_seq INTO v_seq FROM pos.points_entry WHERE entry_id = p_entry;
    UPDATE pos.member_points SET balance = balance + p_delta, last_server_seq = v_seq
     WHERE member_id = p_member RETURNING balance INTO v_bal;
    IF v_bal < 0 AND p_delta < 0 THEN
        INSERT INTO pos.points_exception (member_id, entry_id, kind, balance_after)
        VALUES (p_member, p_entry, CASE WHEN p_offline THEN 'overdraft' ELSE 'negative' END, v_bal);
    END IF;
    -- one pending, not yet claimed card.update per member is enough: it is built from the balance at send time
    IF NOT EXISTS (SELECT 1 FROM pos.card_outbox WHERE member_id = p_member AND kind = 'update'
                   AND state = 'pending' AND request IS NULL) THEN
        INSERT INTO pos.card_outbox (member_id, kind) VALUES (p_member, 'update');
    END IF;
    RETURN v_bal;
END $$;

CREATE FUNCTION pos.points_kind(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p WHEN 'reverse_earn' THEN 'reverse' WHEN 'restore_redeem' THEN 'reverse' ELSE p END
$$;

-- The uplink's one call. rows: [{"event_id","seq","kind","business_date","occurred_at","body"}, ...]
-- in lane_seq order starting at p_first_seq. Returns {"acked_seq": n, "inserted": k, "resent": r}
-- or {"resend_from": n} (a gap) or {"error": "unknown_epoch"|"replaced_epoch"}.
CREATE FUNCTION pos.ingest_batch(p_epoch uuid, p_first_seq bigint, p_rows jsonb, p_lane_clock timestamptz)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pos, pg_temp AS $$
DECLARE
    v_lane uuid := pos.my_lane();
    v_cur pos.lane_epoch%ROWTYPE;
    r jsonb; b jsonb; t jsonb;
    v_seq bigint; v_expect bigint; v_ins uuid; v_inserted int := 0; v_resent int := 0; n int;
    v_date date; v_at timestamptz; v_entry uuid; v_member text;
BEGIN
    SELECT * INTO v_cur FROM pos.lane_epoch WHERE lane_id = v_lane AND lane_epoch = p_epoch FOR UPDATE;
    IF NOT FOUND THEN RETURN jsonb_build_object('error', 'unknown_epoch'); END IF;
    IF v_cur.state <> 'current' THEN RETURN jsonb_build_object('error', 'replaced_epoch'); END IF;
    IF p_first_seq > v_cur.acked_seq + 1 THEN
        RETURN jsonb_build_object('resend_from', v_cur.acked_seq + 1);
    END IF;
    v_expect := p_first_seq;
    FOR r IN SELECT value FROM jsonb_array_elements(p_rows) LOOP
        v_seq := (r ->> 'seq')::bigint;
        EXIT WHEN v_seq <> v_expect;                  -- only a contiguous run counts
        v_expect := v_expect + 1;
        IF v_seq <= v_cur.acked_seq THEN v_resent := v_resent + 1; CONTINUE; END IF;
        v_date := (r ->> 'business_date')::date;
        v_at := (r ->> 'occurred_at')::timestamptz;
        b := r -> 'body';
        INSERT INTO pos.event (event_id, lane_id, lane_epoch, lane_seq, kind, business_date, occurred_at, body)
        VALUES ((r ->> 'event_id')::uuid, v_lane, p_epoch, v_seq, r ->> 'kind', v_date, v_at, b)
        ON CONFLICT (event_id) DO NOTHING RETURNING event_id INTO v_ins;
        IF v_ins IS NULL THEN v_resent := v_resent + 1; CONTINUE; END IF;
        v_inserted := v_inserted + 1;
        IF EXISTS (SELECT 1 FROM pos.store_z WHERE business_date = v_date) THEN
            INSERT INTO pos.lane_notice (lane_id, kind, detail)
            VALUES (v_lane, 'late_after_close', jsonb_build_object('event_id', v_ins, 'business_date', v_date));
        END IF;
        CASE r ->> 'kind'
        WHEN 'sale' THEN
            INSERT INTO pos.sale VALUES (v_ins, v_lane, v_date, b ->> 'receipt_no', (b ->> 'shift_no')::int,
                b ->> 'cashier', NULLIF(b ->> 'member_id', ''), (b ->> 'gross_fen')::bigint,
                (b ->> 'discount_fen')::bigint, (b ->> 'total_fen')::bigint, (b ->> 'points_earned')::bigint,
                (b ->> 'points_redeemed')::bigint, v_at);
            n := 0;
            FOR t IN SELECT value FROM jsonb_array_elements(COALESCE(b -> 'tenders', '[]'::jsonb)) LOOP
                n := n + 1;
                INSERT INTO pos.tender VALUES (v_ins, n, v_lane, v_date, t ->> 'kind', (t ->> 'amount_fen')::bigint,
                                               COALESCE(t ->> 'trade_no', ''));
            END LOOP;
        WHEN 'refund' THEN
            INSERT INTO pos.refund VALUES (v_ins, v_lane, v_date, b ->> 'receipt_no', b ->> 'method',
                                           (b ->> 'amount_fen')::bigint, b ->> 'out_request_no');
        WHEN 'cash' THEN
            INSERT INTO pos.cash_movement VALUES (v_ins, v_lane, v_date, b ->> 'kind', (b ->> 'amount_fen')::bigint);
        WHEN 'shift_open', 'shift_close', 'z' THEN
            INSERT INTO pos.shift_event VALUES (v_ins, v_lane, p_epoch, v_date,
                CASE r ->> 'kind' WHEN 'shift_open' THEN 'open' WHEN 'shift_close' THEN 'close' ELSE 'z' END,
                (b ->> 'shift_no')::int, v_seq);
        WHEN 'points' THEN
            v_entry := COALESCE((b ->> 'entry_id')::uuid, v_ins);
            v_member := b ->> 'member_id';
            INSERT INTO pos.points_entry (entry_id, member_id, delta, kind, event_id, lane_id, offline, occurred_at)
            VALUES (v_entry, v_member, (b ->> 'delta')::bigint, pos.points_kind(b ->> 'kind'), v_ins, v_lane,
                    COALESCE((b ->> 'offline')::boolean, false), v_at)
            ON CONFLICT (entry_id) DO NOTHING;
            IF FOUND THEN   -- an online redemption already applied this entry: no second increment
                PERFORM pos.apply_points(v_member, v_entry, (b ->> 'delta')::bigint,
                                         COALESCE((b ->> 'offline')::boolean, false));
            END IF;
        WHEN 'card_call' THEN
            IF b ->> 'kind' = 'consume_sync' AND COALESCE(b ->> 'trade_no', '') <> '' THEN
                INSERT INTO pos.card_outbox (member_id, kind, trade_no, lane_body)
                VALUES (b ->> 'member_id', 'consume_sync', b ->> 'trade_no', b -> 'body')
                ON CONFLICT (trade_no) DO NOTHING;
            END IF;
        ELSE
            NULL;  -- other kinds are kept in pos.event only
        END CASE;
    END LOOP;
    UPDATE pos.lane_epoch
       SET acked_seq = GREATEST(acked_seq, v_expect - 1), last_seen_at = now(),
           backlog = GREATEST(0, backlog - GREATEST(0, v_expect - 1 - acked_seq)),
           lane_clock_skew_ms = (extract(epoch FROM (p_lane_clock - now())) * 1000)::bigint,
           resends = resends + v_resent
     WHERE lane_id = v_lane AND lane_epoch = p_epoch;
    RETURN jsonb_build_object('acked_seq', GREATEST(v_cur.acked_seq, v_expect - 1), 'inserted', v_inserted,
                              'resent', v_resent);
END $$;

-- Heartbeat and hello in one: registers a lane's epoch the first time it is seen (its lane_seq values
-- start after p_base_seq: 0 for a new lane, the lane's last seq for a restored one); tells a lane that
-- was restored from an old backup (the server holds more of this epoch than the lane does) to start
-- a new epoch. Returns {"lane_id","acked_seq"} or {"restored": true, "acked_seq": n}.
CREATE FUNCTION pos.heartbeat(p_epoch uuid, p_base_seq bigint, p_local_max_seq bigint, p_backlog bigint,
                              p_lane_clock timestamptz)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pos, pg_temp AS $$
DECLARE
    v_lane uuid := pos.my_lane();
    v_row pos.lane_epoch%ROWTYPE;
    v_old pos.lane_epoch%ROWTYPE;
BEGIN
    PERFORM 1 FROM pos.lane WHERE lane_id = v_lane FOR UPDATE;
    SELECT * INTO v_row FROM pos.lane_epoch WHERE lane_id = v_lane AND lane_epoch = p_epoch;
    IF FOUND THEN
        IF v_row.state <> 'current' OR v_row.acked_seq > p_local_max_seq THEN
            RETURN jsonb_build_object('lane_id', v_lane, 'restored', true, 'acked_seq', v_row.acked_seq);
        END IF;
        UPDATE pos.lane_epoch SET last_seen_at = now(), backlog = p_backlog,
               lane_clock_skew_ms = (extract(epoch FROM (p_lane_clock - now())) * 1000)::bigint
         WHERE lane_id = v_lane AND lane_epoch = p_epoch;
        RETURN jsonb_build_object('lane_id', v_lane, 'acked_seq', v_row.acked_seq);
    END IF;
    SELECT * INTO v_old FROM pos.lane_epoch WHERE lane_id = v_lane AND state = 'current';
    IF FOUND THEN
        UPDATE pos.lane_epoch SET state = 'replaced' WHERE lane_id = v_lane AND lane_epoch = v_old.lane_epoch;
        INSERT INTO pos.lane_notice (lane_id, kind, detail) VALUES (v_lane, 'new_epoch', jsonb_build_object(
            'old_epoch', v_old.lane_epoch, 'old_acked_seq', v_old.acked_seq,
            'new_epoch', p_epoch, 'lane_had_seq', p_local_max_seq,
            'note', 'lane restarted from an older database (backup restore or reinstall); the events the '
                    'server holds beyond lane_had_seq exist only on the server'));
    END IF;
    INSERT INTO pos.lane_epoch (lane_id, lane_epoch, base_seq, acked_seq, last_seen_at, backlog)
    VALUES (v_lane, p_epoch, p_base_seq, p_base_seq, now(), p_backlog);
    RETURN jsonb_build_object('lane_id', v_lane, 'acked_seq', p_base_seq, 'new_epoch', true);
END $$;

-- Online redemption: locks the member's balance row and inserts the redeem entry only if the balance
-- covers it. The same entry_id arriving later in the sale's journal batch is a no-op.
CREATE FUNCTION pos.redeem_points(p_member text, p_points bigint, p_entry uuid)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pos, pg_temp AS $$
DECLARE v_lane uuid := pos.my_lane(); v_bal bigint;
BEGIN
    IF p_points <= 0 THEN RAISE EXCEPTION 'points to redeem must be positive, not %', p_points; END IF;
    IF EXISTS (SELECT 1 FROM pos.points_entry WHERE entry_id = p_entry) THEN
        SELECT balance INTO v_bal FROM pos.member_points WHERE member_id = p_member;
        RETURN jsonb_build_object('ok', true, 'balance', v_bal, 'again', true);
    END IF;
    INSERT INTO pos.member_points (member_id, balance) VALUES (p_member, 0) ON CONFLICT (member_id) DO NOTHING;
    SELECT balance INTO v_bal FROM pos.member_points WHERE member_id = p_member FOR UPDATE;
    IF v_bal < p_points THEN
        RETURN jsonb_build_object('ok', false, 'balance', v_bal);
    END IF;
    INSERT INTO pos.points_entry (entry_id, member_id, delta, kind, lane_id, occurred_at)
    VALUES (p_entry, p_member, -p_points, 'redeem', v_lane, now());
    v_bal := pos.apply_points(p_member, p_entry, -p_points, false);
    RETURN jsonb_build_object('ok', true, 'balance', v_bal);
END $$;

-- Supervisors' adjustments and member opening balances (admin only, not granted to lanes).
CREATE FUNCTION pos.adjust_points(p_member text, p_delta bigint, p_entry uuid)
RETURNS bigint LANGUAGE plpgsql SET search_path = pos, pg_temp AS $$
BEGIN
    INSERT INTO pos.points_entry (entry_id, member_id, delta, kind, occurred_at)
    VALUES (p_entry, p_member, p_delta, 'adjust', now()) ON CONFLICT (entry_id) DO NOTHING;
    IF NOT FOUND THEN RETURN (SELECT balance FROM pos.member_points WHERE member_id = p_member); END IF;
    RETURN pos.apply_points(p_member, p_entry, p_delta, false);
END $$;
