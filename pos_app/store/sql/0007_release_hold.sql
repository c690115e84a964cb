-- Store schema 7: points held at the till before payment (issue 13). A lane that gives up a hold it asked the
-- store for sends a reverse entry with "reverses": <the hold's entry_id>; it is applied only if the store holds
-- that entry (the lane may not know: its redeem_points call timed out). Otherwise as schema 5.

CREATE OR REPLACE FUNCTION pos.ingest_batch(p_epoch uuid, p_first_seq bigint, p_rows jsonb, p_lane_clock timestamptz)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pos, pg_temp AS $$
DECLARE
    v_lane uuid := pos.my_lane();
    v_cur pos.lane_epoch%ROWTYPE;
    v_n bigint;            -- length of the contiguous run
    v_inserted int; v_points jsonb; p jsonb;
    v_new_acked bigint;
BEGIN
    SELECT * INTO v_cur FROM pos.lane_epoch WHERE lane_id = v_lane AND lane_epoch = p_epoch FOR UPDATE;
    IF NOT FOUND THEN RETURN jsonb_build_object('error', 'unknown_epoch'); END IF;
    IF v_cur.state <> 'current' THEN RETURN jsonb_build_object('error', 'replaced_epoch'); END IF;
    IF p_first_seq > v_cur.acked_seq + 1 THEN
        RETURN jsonb_build_object('resend_from', v_cur.acked_seq + 1);
    END IF;
    -- the run stops at the first row whose seq is not the next one
    SELECT coalesce(min(x.ord) - 1, jsonb_array_length(p_rows)) INTO v_n
      FROM jsonb_array_elements(p_rows) WITH ORDINALITY x(value, ord)
     WHERE (x.value ->> 'seq')::bigint <> p_first_seq + x.ord - 1;

    WITH run AS (
        SELECT (x.value ->> 'event_id')::uuid AS event_id, (x.value ->> 'seq')::bigint AS seq, x.value ->> 'kind' AS kind,
               (x.value ->> 'business_date')::date AS d, (x.value ->> 'occurred_at')::timestamptz AS at,
               x.value -> 'body' AS b
          FROM jsonb_array_elements(p_rows) WITH ORDINALITY x(value, ord)
         WHERE x.ord <= v_n AND (x.value ->> 'seq')::bigint > v_cur.acked_seq
    ), ins AS (
        INSERT INTO pos.event (event_id, lane_id, lane_epoch, lane_seq, kind, business_date, occurred_at, body)
        SELECT event_id, v_lane, p_epoch, seq, kind, d, at, b FROM run ORDER BY seq
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id, lane_seq, kind, business_date AS d, occurred_at AS at, body AS b
    ), sale AS (
        INSERT INTO pos.sale
        SELECT event_id, v_lane, d, b ->> 'receipt_no', (b ->> 'shift_no')::int, b ->> 'cashier',
               NULLIF(b ->> 'member_id', ''), (b ->> 'gross_fen')::bigint, (b ->> 'discount_fen')::bigint,
               (b ->> 'total_fen')::bigint, (b ->> 'points_earned')::bigint, (b ->> 'points_redeemed')::bigint, at
          FROM ins WHERE kind = 'sale'
    ), tender AS (
        INSERT INTO pos.tender
        SELECT i.event_id, t.n, v_lane, i.d, t.value ->> 'kind', (t.value ->> 'amount_fen')::bigint,
               coalesce(t.value ->> 'trade_no', '')
          FROM ins i, jsonb_array_elements(coalesce(i.b -> 'tenders', '[]'::jsonb)) WITH ORDINALITY t(value, n)
         WHERE i.kind = 'sale'
    ), refund AS (
        INSERT INTO pos.refund
        SELECT event_id, v_lane, d, b ->> 'receipt_no', b ->> 'method', (b ->> 'amount_fen')::bigint,
               b ->> 'out_request_no' FROM ins WHERE kind = 'refund'
    ), cash AS (
        INSERT INTO pos.cash_movement
        SELECT event_id, v_lane, d, b ->> 'kind', (b ->> 'amount_fen')::bigint FROM ins WHERE kind = 'cash'
    ), shift AS (
        INSERT INTO pos.shift_event
        SELECT event_id, v_lane, p_epoch, d,
               CASE kind WHEN 'shift_open' THEN 'open' WHEN 'shift_close' THEN 'close' ELSE 'z' END,
               (b ->> 'shift_no')::int, lane_seq
          FROM ins WHERE kind IN ('shift_open', 'shift_close', 'z')
    ), card AS (
        INSERT INTO pos.card_outbox (member_id, kind, trade_no, lane_body)
        SELECT b ->> 'member_id', 'consume_sync', b ->> 'trade_no', b -> 'body'
          FROM ins WHERE kind = 'card_call' AND b ->> 'kind' = 'consume_sync' AND coalesce(b ->> 'trade_no', '') <> ''
        ON CONFLICT (trade_no) DO NOTHING
    ), late AS (
        INSERT INTO pos.lane_notice (lane_id, kind, detail)
        SELECT v_lane, 'late_after_close', jsonb_build_object('event_id', i.event_id, 'business_date', i.d)
          FROM ins i JOIN pos.store_z z ON z.business_date = i.d
    ), pts AS (
        INSERT INTO pos.points_entry (entry_id, member_id, delta, kind, event_id, lane_id, offline, occurred_at)
        SELECT coalesce((b ->> 'entry_id')::uuid, event_id), b ->> 'member_id', (b ->> 'delta')::bigint,
               pos.points_kind(b ->> 'kind'), event_id, v_lane, coalesce((b ->> 'offline')::boolean, false), at
          FROM ins WHERE kind = 'points'
           AND (b ->> 'reverses' IS NULL      -- a hold given up: reversed only if the store took it
                OR EXISTS (SELECT 1 FROM pos.points_entry e WHERE e.entry_id = (b ->> 'reverses')::uuid))
         ORDER BY lane_seq
        ON CONFLICT (entry_id) DO NOTHING   -- an online redemption already applied this entry
        RETURNING entry_id, member_id, delta, offline, event_id
    )
    SELECT (SELECT count(*) FROM ins),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('e', p.entry_id, 'm', p.member_id, 'd', p.delta,
                                                         'o', p.offline) ORDER BY i.lane_seq), '[]'::jsonb)
              FROM pts p JOIN ins i ON i.event_id = p.event_id)
      INTO v_inserted, v_points;

    -- balances: members in a fixed order (no deadlock between two lanes' batches), entries in lane order
    FOR p IN SELECT value FROM jsonb_array_elements(v_points) WITH ORDINALITY x(value, ord)
             ORDER BY value ->> 'm', ord LOOP
        PERFORM pos.apply_points(p ->> 'm', (p ->> 'e')::uuid, (p ->> 'd')::bigint, (p ->> 'o')::boolean);
    END LOOP;

    v_new_acked := GREATEST(v_cur.acked_seq, p_first_seq + v_n - 1);
    UPDATE pos.lane_epoch
       SET acked_seq = v_new_acked, last_seen_at = now(),
           backlog = GREATEST(0, backlog - (v_new_acked - v_cur.acked_seq)),
           lane_clock_skew_ms = (extract(epoch FROM (p_lane_clock - now())) * 1000)::bigint,
           resends = resends + (v_n - v_inserted)
     WHERE lane_id = v_lane AND lane_epoch = p_epoch;
    RETURN jsonb_build_object('acked_seq', v_new_acked, 'inserted', v_inserted, 'resent', v_n - v_inserted);
END $$;
