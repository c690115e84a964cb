-- A supervisor at any lane marks a lane notice (e.g. a lane restored from an old backup: new epoch) reviewed.
-- The notice row keeps what it said; only who reviewed it and when are filled in, once.

CREATE FUNCTION pos.review_notice(p_id bigint, p_reviewed_by text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pos, pg_temp AS $$
BEGIN
    IF COALESCE(btrim(p_reviewed_by), '') = '' THEN
        RAISE EXCEPTION 'review_notice: who reviewed it is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE pos.lane_notice SET reviewed_by = p_reviewed_by, reviewed_at = now()
     WHERE id = p_id AND reviewed_at IS NULL;
    RETURN FOUND;
END $$;
