#!/usr/bin/env python3
"""The storage, WAL, audit and replica figures of docs/scaling.md, measured on this machine.

  python3 -m scripts.integration.scaleout.measure [--binary .build/release/bidengine] [--bids 20000] [--rows 1000000]

Starts a primary (the embedded launcher's layout) and a hot standby (pg_basebackup -R), then:
  1. served bids: `bidengine serve` (THREADS=2) takes --bids bids from 32 keep-alive clients, right
     after a CHECKPOINT (so full-page images are counted as a busy server pays them after each
     checkpoint); WAL bytes, records and full-page images per bid from pg_stat_wal and
     pg_current_wal_lsn(); CPU seconds of the server and of every PostgreSQL process (from /proc)
     per bid (the Python load generator is far slower than the Benchmarks one, so batches are
     small: this is the expensive end);
  2. stored size: --rows bids inserted with INSERT … SELECT (the value distribution of docs/audit.md),
     VACUUM ANALYZE, then table, TOAST and index bytes per bid;
  3. replica apply rate: replay paused on the standby, --rows more bids inserted on the primary,
     replay resumed: seconds until pg_last_wal_replay_lsn() reaches the primary's position, as
     MB/s and bids/s;
  4. audit: `bidengine audit` (text report) over the window holding the 2 × --rows bids, wall seconds
     per million;
  5. steady state: step 1 again into the 2 × --rows table (full-page images of the history
     index's leaf pages after a checkpoint), then again with wal_compression = lz4.
Prints one JSON object; docs/scaling.md quotes it. Timing figures depend on what else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
from scripts.integration.scaleout.scaleout import (
    ROOT,
    Bidder,
    Database,
    Process,
    http_get,
    utc_text,
    wait_ready,
)


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, and the CPU of reaped children (the postmaster's exited backends).
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            pass
    return total / ticks


def wal_stats(db: Database) -> tuple[int, int, int]:
    lsn_bytes, records, fpi = db.psql(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, wal_records, wal_fpi FROM pg_stat_wal").split("|")
    return int(lsn_bytes), int(records), int(fpi)


# The distribution of docs/audit.md's 10-million-bid run: CPCs 0.05–20.04, 95 % of bids within
# 85–116 % ROAS, 5 % at 30–285 % (about 4 % flagged); here over 2^20 products.
INSERT_ROWS = ("INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) "
               "SELECT p, c, r, round(c * r / 100, 2), now() - interval '1 hour' - g * interval '1 millisecond' "
               "FROM (SELECT g, (1 + (hashint4(g) & 1048575))::numeric AS p, "
               "round((5 + (hashint4(g * 7) & 1999))::numeric / 100, 2) AS c, "
               "CASE WHEN (hashint4(g * 13) & 1023) < 51 THEN (30 + (hashint4(g * 17) & 255))::numeric "
               "ELSE (85 + (hashint4(g * 19) & 31))::numeric END AS r "
               "FROM generate_series({start}, {end}) g) s")


def served_bids(binary: Path, work: Path, primary: Database, count: int, clients: int, name: str) -> dict:
    """`count` bids through a real server right after a CHECKPOINT: WAL, full-page images, CPU per bid."""
    serve = Process(binary, work, name, ["serve", "--port", "0", "--threads", "2", "--no-migrate"],
                    {"DATABASE_URL": primary.url, "ACCESS_LOG": "off"})
    try:
        port = serve.wait_port("serving")
        wait_ready(port)
        before_rows = int(primary.psql("SELECT count(*) FROM bids"))
        primary.psql("CHECKPOINT")
        before_wal = wal_stats(primary)
        cpu_before = (cpu_seconds([serve.process.pid]), cpu_seconds(primary.cluster.processes()))
        per_client = count // clients
        def client(n: int) -> None:
            bidder = Bidder(port)
            for i in range(per_client):
                bidder.bid(1 + (n * 7919 + i * 104729 + before_rows) % 1_048_576, f"{1 + i % 40}.{i % 100:02d}",
                           str(85 + i % 32))
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        cpu_after = (cpu_seconds([serve.process.pid]), cpu_seconds(primary.cluster.processes()))
        after_wal = wal_stats(primary)
        stored = int(primary.psql("SELECT count(*) FROM bids")) - before_rows
        served = {
            "table_rows_before": before_rows, "bids": stored, "seconds": round(elapsed, 2),
            "bids_per_second": round(stored / elapsed),
            "wal_compression": primary.psql("SHOW wal_compression"),
            "wal_bytes_per_bid": round((after_wal[0] - before_wal[0]) / stored, 1),
            "wal_records_per_bid": round((after_wal[1] - before_wal[1]) / stored, 2),
            "full_page_images_per_bid": round((after_wal[2] - before_wal[2]) / stored, 3),
            "server_cpu_us_per_bid": round((cpu_after[0] - cpu_before[0]) / stored * 1e6, 1),
            "postgres_cpu_us_per_bid": round((cpu_after[1] - cpu_before[1]) / stored * 1e6, 1),
        }
        _, body = http_get(port, "/metrics")
        sums = {}
        for line in body.decode().splitlines():
            for key in ("bidengine_bid_batch_size_sum", "bidengine_bid_batch_size_count"):
                if line.startswith(key):
                    sums[key] = float(line.split()[-1])
        if sums.get("bidengine_bid_batch_size_count"):
            served["mean_batch"] = round(sums["bidengine_bid_batch_size_sum"] / sums["bidengine_bid_batch_size_count"], 1)
        return served
    finally:
        serve.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "bidengine"))
    parser.add_argument("--bids", type=int, default=20_000, help="bids sent through the server")
    parser.add_argument("--rows", type=int, default=1_000_000, help="bids inserted directly, twice")
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    binary = Path(args.binary)
    work = Path(tempfile.mkdtemp(prefix="bidmeasure-", dir="/tmp"))
    os.chmod(work, 0o755)
    primary = Database(binary, work, "primary", 5432)
    standby = Database(binary, work, "standby", 5433)
    result: dict = {"load_average_at_start": os.getloadavg()[0]}
    try:
        primary.create_primary()
        standby.create_standby_of(primary)

        # 1. Served bids, into a nearly empty table.
        result["served"] = served_bids(binary, work, primary, args.bids, args.clients, "serve-empty")
        # 2. Stored size per bid.
        primary.psql(INSERT_ROWS.format(start=1, end=args.rows), timeout=1800)
        primary.psql("VACUUM ANALYZE bids", timeout=1800)
        rows = int(primary.psql("SELECT count(*) FROM bids"))
        # Sum over the leaves of bids' partition tree: its monthly partitions (a plain table is its own leaf).
        heap, toast, indexes = (int(v) for v in primary.psql(
            "SELECT sum(pg_relation_size(relid)), sum(pg_total_relation_size(relid) - pg_relation_size(relid) "
            "- pg_indexes_size(relid)), sum(pg_indexes_size(relid)) FROM pg_partition_tree('bids') "
            "WHERE isleaf").split("|"))
        per_index = primary.psql(
            "SELECT string_agg(name || '=' || round(bytes::numeric / " + str(rows) + ", 1), ', ') FROM ("
            "SELECT regexp_replace(i.indexrelname, '^bids(_[a-z0-9_]+?)?_(pkey|calculated_at_idx|product_history_idx)$', "
            "'\\2') AS name, sum(pg_relation_size(i.indexrelid)) AS bytes FROM pg_stat_user_indexes i "
            "JOIN pg_partition_tree('bids') t ON t.relid = i.relid GROUP BY 1) s")
        result["stored"] = {"rows": rows, "heap_bytes_per_bid": round(heap / rows, 1),
                            "toast_fsm_vm_bytes_per_bid": round(toast / rows, 1),
                            "index_bytes_per_bid": round(indexes / rows, 1), "per_index": per_index}

        # 3. Replica apply rate.
        standby.psql("SELECT pg_wal_replay_pause()")
        time.sleep(0.5)
        start_lsn = primary.psql("SELECT pg_current_wal_lsn()")
        before_wal = wal_stats(primary)
        primary.psql(INSERT_ROWS.format(start=args.rows + 1, end=2 * args.rows), timeout=1800)
        target = primary.psql("SELECT pg_current_wal_lsn()")
        after_wal = wal_stats(primary)
        wal_bytes = int(primary.psql(f"SELECT pg_wal_lsn_diff('{target}', '{start_lsn}')::bigint"))
        # Wait until the standby has received everything, so only replay is timed.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and standby.psql(
                f"SELECT pg_last_wal_receive_lsn() >= '{target}'::pg_lsn") != "t":
            time.sleep(0.1)
        standby_pids = standby.cluster.processes()
        cpu0 = cpu_seconds(standby_pids)
        started = time.monotonic()
        standby.psql("SELECT pg_wal_replay_resume()")
        while standby.psql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") != "t":
            time.sleep(0.02)
        replay = time.monotonic() - started
        cpu1 = cpu_seconds(standby.cluster.processes())
        result["replica_apply"] = {
            "bids": args.rows, "wal_bytes": wal_bytes, "wal_bytes_per_bid_bulk": round(wal_bytes / args.rows, 1),
            "full_page_images_per_bid_bulk": round((after_wal[2] - before_wal[2]) / args.rows, 3),
            "replay_seconds": round(replay, 2), "mb_per_second": round(wal_bytes / replay / 1e6, 1),
            "bids_per_second": round(args.rows / replay), "standby_cpu_seconds": round(cpu1 - cpu0, 2)}

        # 4. Audit.
        as_of = utc_text(time.time() - 10)  # every bid is older: no settle wait in the timing
        env = dict(os.environ, DATABASE_URL=primary.url, LOG_LEVEL="warning")
        started = time.monotonic()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        pg_before = cpu_seconds(primary.cluster.processes())
        subprocess.run([str(binary), "audit", "--as-of", as_of, "--no-migrate",
                        "--output", str(work / "audit.txt")], env=env, check=True, cwd=ROOT,
                       capture_output=True, timeout=1800)
        audit_seconds = time.monotonic() - started
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        audit_cpu = (children_after.ru_utime + children_after.ru_stime
                     - children_before.ru_utime - children_before.ru_stime)
        pg_audit_cpu = cpu_seconds(primary.cluster.processes()) - pg_before
        reviewed = int(primary.psql(f"SELECT bids_reviewed FROM audit_runs WHERE as_of = '{as_of}'"))
        flagged = int(primary.psql(f"SELECT bids_flagged FROM audit_runs WHERE as_of = '{as_of}'"))
        result["audit"] = {"bids_reviewed": reviewed, "bids_flagged": flagged, "seconds": round(audit_seconds, 2),
                           "seconds_per_million": round(audit_seconds / reviewed * 1e6, 2),
                           "bidengine_cpu_seconds_per_million": round(audit_cpu / reviewed * 1e6, 2),
                           "postgres_cpu_seconds_per_million": round(pg_audit_cpu / reviewed * 1e6, 2)}
        # 5. Steady state: the same served bids into the 2-million-bid table, where each insert
        #    lands on another leaf page of the history index, so the first touch of a page after a
        #    checkpoint writes its full image; then with wal_compression = lz4.
        result["served_full_table"] = served_bids(binary, work, primary, args.bids, args.clients, "serve-full")
        primary.psql("ALTER SYSTEM SET wal_compression = 'lz4'")
        primary.psql("SELECT pg_reload_conf()")
        result["served_full_table_lz4"] = served_bids(binary, work, primary, args.bids, args.clients, "serve-lz4")
        result["history_index_leaf_pages"] = int(primary.psql(
            "SELECT sum(relpages) FROM pg_class WHERE relname LIKE 'bids%product_history_idx'"))
        result["load_average_at_end"] = os.getloadavg()[0]
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
