-- Idempotency-Key → the bid it created, so a retried POST /api/bid returns the original answer.
-- `request` is the canonical request (product_id|current_cpc|target_roas as received): the same
-- key with a different request is refused (422) instead of silently answering for another bid.
CREATE TABLE idempotency_keys (
    key        text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
    request    text        NOT NULL,
    bid_id     bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The expiry sweep deletes by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
