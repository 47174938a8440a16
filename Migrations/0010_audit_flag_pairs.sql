-- The audit's flags stored per price pair: one row per run and flagged (current_cpc, adjusted_cpc)
-- pair instead of one row per flagged bid. Whether a bid is flagged, and its percentage, depend on
-- its two prices alone, so a run's flagged bids are the bids of its window, between its first and
-- last flagged bid id, whose pair is here; reports read them by join, with each bid's own product
-- and digits. A run that flags 1,250,000 bids of eight price classes writes eight rows here
-- instead of 1,250,000 into audit_flags (docs/audit.md, "Storage").
--
-- The join needs the window's bids: maintenance removes a run together with the bids of its window.
-- Runs audited before this migration, and runs whose window has nearly as many price pairs as bids
-- (the audit's "by bid" way), keep one row per flag in audit_flags (their bid bounds are NULL).
CREATE TABLE audit_flag_pairs (
    run_id        bigint  NOT NULL,
    current_cpc   numeric NOT NULL,
    adjusted_cpc  numeric NOT NULL,
    -- The percentage of every bid of the pair (AuditSetScan.percentage), the same for every
    -- spelling of the two prices (1.5 and 1.50); NULL when current_cpc is 0.
    deviation_pct numeric,
    -- The window's bids at this pair when it was audited.
    bids          bigint  NOT NULL CHECK (bids > 0)
);
-- A run's pairs, and one pair of a run: a page of flags in bid order probes it once per bid.
CREATE INDEX audit_flag_pairs_run_pair_idx ON audit_flag_pairs (run_id, current_cpc, adjusted_cpc);

-- The lowest and highest id of the run's flagged bids: bids written into the window later (a
-- backfill) get larger ids and are not the run's. NULL when the flags are in audit_flags, or
-- there are none.
ALTER TABLE audit_runs ADD COLUMN first_bid_id bigint, ADD COLUMN last_bid_id bigint;
