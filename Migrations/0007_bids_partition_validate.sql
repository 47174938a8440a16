-- Partitioning bids, step 2 of 3: one scan of the table under SHARE UPDATE EXCLUSIVE, so bids keep
-- being written while it runs (this file is its own transaction).
ALTER TABLE bids VALIDATE CONSTRAINT bids_partition_bound;
