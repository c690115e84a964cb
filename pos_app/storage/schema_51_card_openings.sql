-- Cards opened through the opening endpoint (migration 51, area "card"): one row per Alipay request,
-- so a retried request gets the same card and a member is never created twice.
CREATE TABLE card_openings (
    request_id   TEXT PRIMARY KEY,              -- Alipay's request id (express) or the callback's request_id
    mode         TEXT NOT NULL CHECK (mode IN ('express', 'callback')),
    template_id  TEXT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',      -- the customer's 2088... user id
    card_no      TEXT NOT NULL REFERENCES members (card_no),
    biz_card_no  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX card_openings_user ON card_openings (user_id);
