-- A bulk request (POST /api/bids/batch) claims one key for all its bids: bid_ids holds their ids in
-- item order so that a repeat answers with the same ids. NULL for a single bid's key (bid_id says
-- it); bid_id is the group's first bid. Nullable and without a default: adding it rewrites nothing,
-- and a server of the previous version keeps working against the new schema.
ALTER TABLE idempotency_keys ADD COLUMN bid_ids bigint[];
