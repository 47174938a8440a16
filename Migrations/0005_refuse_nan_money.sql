-- No money column holds NaN. PostgreSQL's numeric has a NaN that sorts above every number, so
-- `CHECK (price >= 0)` admits it; a stored competitor price of 'NaN' then made every listing that
-- contained it answer 500. Each money column (and the other numeric amounts a CHECK guards) now
-- refuses it explicitly.
--
-- A NaN competitor price can only be garbage from a source, and it already breaks every listing
-- that shows it: such rows are removed first. Bids, audit rows and thresholds are written only
-- from parsed decimals, so there a NaN would mean corruption: the constraint then fails this
-- migration loudly instead of deleting anything.
DELETE FROM competitor_prices WHERE price = 'NaN';
DELETE FROM competitor_price_latest WHERE price = 'NaN';

ALTER TABLE bids
    ADD CONSTRAINT bids_current_cpc_not_nan CHECK (current_cpc <> 'NaN'),
    ADD CONSTRAINT bids_target_roas_not_nan CHECK (target_roas <> 'NaN'),
    ADD CONSTRAINT bids_adjusted_cpc_not_nan CHECK (adjusted_cpc <> 'NaN');

ALTER TABLE audit_runs
    ADD CONSTRAINT audit_runs_threshold_not_nan CHECK (threshold <> 'NaN');

ALTER TABLE audit_flags
    ADD CONSTRAINT audit_flags_current_cpc_not_nan CHECK (current_cpc <> 'NaN'),
    ADD CONSTRAINT audit_flags_adjusted_cpc_not_nan CHECK (adjusted_cpc <> 'NaN'),
    ADD CONSTRAINT audit_flags_deviation_not_nan CHECK (deviation <> 'NaN');

ALTER TABLE audit_products
    ADD CONSTRAINT audit_products_worst_deviation_not_nan CHECK (worst_deviation <> 'NaN');

ALTER TABLE competitor_prices
    ADD CONSTRAINT competitor_prices_price_not_nan CHECK (price <> 'NaN');

ALTER TABLE competitor_price_latest
    ADD CONSTRAINT competitor_price_latest_price_not_nan CHECK (price <> 'NaN');
