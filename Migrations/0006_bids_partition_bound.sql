-- Partitioning bids by month, step 1 of 3 (0006-0008). The existing table becomes the partition of
-- everything before a bound; this step only declares that bound as a CHECK constraint, NOT VALID,
-- so it takes its lock for a moment and scans nothing. 0007 validates it without blocking writers
-- (its own transaction, SHARE UPDATE EXCLUSIVE); 0008 then attaches the table without a scan.
--
-- The bound is the first UTC month start after both tomorrow and the newest bid, so that no bid
-- arriving while 0007 runs can fall at or after it (rows arriving meanwhile are checked already).
DO $$
DECLARE
    bound timestamp;
BEGIN
    SELECT date_trunc('month', greatest(now() + interval '1 day', max(calculated_at)) AT TIME ZONE 'UTC')
           + interval '1 month'
      INTO bound FROM bids;
    EXECUTE format(
        'ALTER TABLE bids ADD CONSTRAINT bids_partition_bound CHECK (calculated_at < %L::timestamptz) NOT VALID',
        to_char(bound, 'YYYY-MM-DD HH24:MI:SS') || '+00');
END $$;
