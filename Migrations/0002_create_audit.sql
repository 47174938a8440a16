-- The nightly bid audit (bidengine audit / bidengine schedule): one row per audited instant, the
-- bids it flagged, and two small summaries computed once per run so that reports and the API never
-- aggregate millions of flags on request.

-- One row per as_of. Auditing the same instant again replaces that run's results (same id) in one
-- transaction, so readers see either the old results or the new ones, never a mix or a duplicate.
-- "window" is a reserved word in PostgreSQL, hence window_seconds: a fixed length on the UTC time
-- line (7 days = 604800), not calendar days.
CREATE TABLE audit_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of          timestamptz NOT NULL UNIQUE,
    window_seconds bigint      NOT NULL CHECK (window_seconds > 0),
    threshold      numeric     NOT NULL CHECK (threshold >= 0),
    triggered_by   text        NOT NULL CHECK (triggered_by IN ('schedule', 'manual')),
    status         text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    bids_reviewed  bigint      CHECK (bids_reviewed >= 0),
    bids_flagged   bigint      CHECK (bids_flagged >= 0 AND bids_flagged <= bids_reviewed),
    error          text,
    CHECK (status <> 'succeeded' OR (bids_reviewed IS NOT NULL AND bids_flagged IS NOT NULL AND finished_at IS NOT NULL))
);

-- The flagged bids of a run, with the values they were judged on (bids may later be purged).
-- No foreign key to bids for that reason; none to audit_runs either, because the audit writes
-- hundreds of thousands of flags per run with COPY and a per-row referential check would double
-- that cost: results are only ever written and deleted by the audit, inside the transaction that
-- holds the run row locked.
CREATE TABLE audit_flags (
    run_id        bigint  NOT NULL,
    bid_id        bigint  NOT NULL,
    product_id    numeric NOT NULL,
    current_cpc   numeric NOT NULL,
    adjusted_cpc  numeric NOT NULL,
    -- adjusted_cpc - current_cpc, signed and exact.
    deviation     numeric NOT NULL,
    -- deviation / current_cpc * 100, rounded half away from zero to 2 places; NULL when current_cpc = 0.
    deviation_pct numeric,
    PRIMARY KEY (run_id, bid_id)
);

-- No index on abs(deviation) for the reports' "worst N first": measured with 420,206 flags, it made
-- writing them slower (COPY 2.4 s -> 3.0 s for a new run, 1.8 s -> 4.4 s when replacing one), while
-- reading the worst 1,000 without it is a top-N heapsort over the run's rows (~0.1 s).

-- Per product and run: how many flags, and the worst one (largest absolute deviation).
CREATE TABLE audit_products (
    run_id              bigint  NOT NULL,
    product_id          numeric NOT NULL,
    flags               bigint  NOT NULL CHECK (flags > 0),
    worst_bid_id        bigint  NOT NULL,
    worst_deviation     numeric NOT NULL,
    worst_deviation_pct numeric,
    PRIMARY KEY (run_id, product_id)
);

-- Every reviewed bid (not only flagged ones) counted in fixed deviation-percentage bands, for the
-- distribution chart. band is the chart position (see AuditDeviationBand), label its meaning.
CREATE TABLE audit_deviation_bands (
    run_id bigint   NOT NULL,
    band   smallint NOT NULL,
    label  text     NOT NULL,
    bids   bigint   NOT NULL CHECK (bids >= 0),
    PRIMARY KEY (run_id, band)
);
