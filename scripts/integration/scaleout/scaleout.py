#!/usr/bin/env python3
"""Scale-out checks against real processes (Python 3.11 stdlib only; `make scale-test`, part of `make test`).

  python3 -m scripts.integration.scaleout.scaleout [--part replica,processes] [--binary PATH] [--output FILE]

Part "replica": a primary cluster (the embedded launcher's layout, created by `bidengine migrate`) and
a real hot standby made from it with `pg_basebackup -R`, both as the cluster user, on unix sockets.
  * `bidengine serve` with DATABASE_READ_URL = the standby and READ_MAX_LAG = 1 s: reads go to the
    replica while it keeps up; with replay paused (pg_wal_replay_pause) they fall back to the primary
    (a bid acknowledged during the pause is readable at once) and the fallback is counted in /metrics;
  * with replay paused and bids acknowledged, `bidengine audit` with AUDIT_REPLICA_BEHIND=fail fails
    loudly (exit 1, the error recorded in audit_runs), with =primary it counts every bid (scanned on
    the primary); after pg_wal_replay_resume it scans the replica and counts every bid again;
  * a bid stamped before as_of whose transaction commits 1.5 s later is counted because the audit
    waits for as_of + AUDIT_SETTLE_MS; the same run with AUDIT_SETTLE_MS=0 misses it (the control
    that shows the check can fail).
Part "processes": two `bidengine serve` and two `bidengine schedule` on one PostgreSQL.
  * bids spread over both servers; the same Idempotency-Key sent to both at once gives one bid and
    the same answer from both;
  * kill -9 of the active scheduler in the middle of its audit: the standby takes over within 15 s,
    completes the run, and there is exactly one succeeded run for that as_of, with the flag count
    and the reviewed count equal to what SQL computes from the table (no duplicated flags);
  * kill -9 of a server under load: every acknowledged bid is in `bids` with its adjusted_cpc.
Exit 0 when every check holds, 1 when one fails, 2 when the set-up itself failed.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.dont_write_bytecode = True
from scripts.lib.check_report import (
    add_run_options,
    built_binary,
    finish_checks,
    remove_work,
)
from scripts.lib.loadmix import (
    ROOT,
    Cluster,
    expected_adjusted,
    install_signal_cleanup,
    log,
    rowcheck,
)
from scripts.lib.loadmix.load import _Client

CHECKS: list[dict] = []


def check(name: str, ok: bool, detail: object = "") -> bool:
    CHECKS.append({"check": name, "ok": bool(ok), "detail": detail if isinstance(detail, (int, float, str)) else str(detail)})
    log(("PASS " if ok else "FAIL ") + name + (f": {detail}" if detail != "" else ""))
    return ok


def utc_text(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# MARK: Clusters


class Database:
    """A cluster in the embedded launcher's layout under <state>/postgres, started with its options."""

    def __init__(self, binary: Path, work: Path, name: str, port: int):
        self.state = work / name
        self.state.mkdir(parents=True)
        os.chmod(self.state, 0o755)
        self.cluster = Cluster(self.state, port=port)
        self.binary = binary

    @property
    def url(self) -> str:
        return f"host={self.cluster.socket_dir} port={self.cluster.port} user=postgres dbname=bidengine"

    def create_primary(self) -> None:
        # The launcher creates, starts, migrates and (having started it) stops the cluster.
        run([str(self.binary), "migrate", "--state-dir", str(self.state)], env={"DATABASE_URL": ""})
        self.cluster.start()

    def create_standby_of(self, primary: Database) -> None:
        root = self.cluster.root
        root.mkdir()
        self.cluster.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
            shutil.chown(self.cluster.socket_dir, "postgres", "postgres")
        os.chmod(self.cluster.socket_dir, 0o700)
        run(self.cluster.run_as + [self.cluster.bin + "/pg_basebackup", "-D", str(self.cluster.data), "-R",
                                   "-X", "stream", "-c", "fast", "-h", str(primary.cluster.socket_dir),
                                   "-p", str(primary.cluster.port), "-U", "postgres"])
        self.cluster.start()

    def psql(self, sql: str, timeout: float = 120) -> str:
        return self.cluster.psql(sql, timeout=timeout).strip()

    def stop(self) -> None:
        self.cluster.force_stop()

    def hold_share_lock(self, table: str) -> subprocess.Popen:
        """An open psql session holding a SHARE lock on `table` until `release_lock`: writers of it
        wait, readers do not."""
        session = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", self.cluster.conninfo()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert session.stdin and session.stdout
        session.stdin.write(f"BEGIN;\nLOCK TABLE {table} IN SHARE MODE;\nSELECT 'locked';\n")
        session.stdin.flush()
        if session.stdout.readline().strip() != "locked":
            raise RuntimeError(f"could not lock {table}")
        return session

    @staticmethod
    def release_lock(session: subprocess.Popen) -> None:
        assert session.stdin
        session.stdin.write("COMMIT;\n")
        session.stdin.close()
        session.wait(timeout=30)


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.setdefault("BIDENGINE_MIGRATIONS_DIR", str(ROOT / "Migrations"))
    full_env.update(env or {})
    result = subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result


# MARK: Processes


class Process:
    """One bidengine process with its own log; `port` read from its startup log line."""

    def __init__(self, binary: Path, work: Path, name: str, args: list[str], env: dict[str, str]):
        self.name = name
        self.log_path = work / f"{name}.log"
        full_env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "THREADS")}
        full_env.setdefault("BIDENGINE_MIGRATIONS_DIR", str(ROOT / "Migrations"))
        full_env.pop("BIDENGINE_API_KEYS", None)
        full_env.pop("BIDENGINE_API_KEYS_FILE", None)
        full_env.update(env)
        self.logfile = open(self.log_path, "wb")
        self.process = subprocess.Popen([str(binary), *args], stdout=self.logfile, stderr=subprocess.STDOUT,
                                        env=full_env, cwd=ROOT)
        self.port = 0

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> float | None:
        """Seconds until `pattern` appears in the log (regex), or None."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if re.search(pattern, self.log_text()):
                return time.monotonic() - started
            if self.process.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def wait_port(self, message: str, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_text().splitlines():
                if f'"msg":"{message}"' in line:
                    self.port = int(json.loads(line)["address"].rsplit(":", 1)[1])
                    return self.port
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no '{message}' within {timeout}s:\n{self.log_text()[-3000:]}")

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.logfile.close()


def http_get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(port: int, timeout: float = 60, contains: bytes = b"") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, body = http_get(port, "/readyz")
            if status == 200 and contains in body:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def metric(port: int, name: str, labels: str = "") -> float:
    _, body = http_get(port, "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name) and labels in line and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Bidder:
    """Sends bids to a server over one keep-alive connection; remembers what was acknowledged."""

    def __init__(self, port: int):
        self.client = _Client("127.0.0.1", port, 10.0)
        self.acks: dict[int, Decimal] = {}

    def bid(self, product: int, cpc: str, roas: str, key: str | None = None) -> tuple[int, dict | None]:
        body = json.dumps({"product_id": product, "current_cpc": cpc, "target_roas": roas}).encode()
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        record = self.client.request("bid", "POST", "/api/bid", body, headers)
        if record.status != 200:
            return record.status, None
        answer = json.loads(self.client.last_body)
        self.acks[answer["bid_id"]] = Decimal(str(answer["adjusted_cpc"]))
        return 200, answer


def audit(binary: Path, primary: Database, as_of: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update({"DATABASE_URL": primary.url, "LOG_LEVEL": "info",
                     "BIDENGINE_MIGRATIONS_DIR": str(ROOT / "Migrations")})
    full_env.update(env)
    return subprocess.run([str(binary), "audit", "--as-of", as_of, "--format", "json", "--no-migrate"],
                          capture_output=True, text=True, env=full_env, timeout=300, cwd=ROOT)


def run_row(primary: Database, as_of: str) -> tuple[str, int | None, str]:
    out = primary.psql(f"SELECT status, bids_reviewed, coalesce(error, '') FROM audit_runs WHERE as_of = '{as_of}'")
    if not out:
        return ("missing", None, "")
    status, reviewed, error = out.split("|", 2)
    return status, int(reviewed) if reviewed else None, error


def count_before(primary: Database, as_of: str) -> int:
    return int(primary.psql(f"SELECT count(*) FROM bids WHERE calculated_at >= '{as_of}'::timestamptz - interval '7 days' "
                            f"AND calculated_at < '{as_of}'"))


# MARK: Part 1: the hot standby


def part_replica(binary: Path, work: Path, primary: Database) -> None:
    standby = Database(binary, work, "standby", 5433)
    serve: Process | None = None
    try:
        standby.create_standby_of(primary)
        check("standby is in recovery", standby.psql("SELECT pg_is_in_recovery()") == "t")
        serve = Process(binary, work, "serve-replica", ["serve", "--port", "0", "--threads", "2", "--no-migrate"],
                        {"DATABASE_URL": primary.url, "DATABASE_READ_URL": standby.url, "READ_MAX_LAG": "1",
                         "ACCESS_LOG": "off"})
        port = serve.wait_port("serving")
        bidder = Bidder(port)
        check("reads go to the replica while it keeps up (/readyz)", wait_ready(port, 30, b'"reads":"replica"'))
        time.sleep(1.5)  # /readyz answered from one loop; let every loop measure the lag once
        for i in range(100):
            bidder.bid(1000 + i % 10, "1.50", "150")
        last = max(bidder.acks)
        fallbacks_before = metric(port, "bidengine_db_read_fallbacks_total")
        deadline = time.monotonic() + 10
        status, reads = 0, 0
        while time.monotonic() < deadline and status != 200:
            status, _ = http_get(port, f"/api/bids/{last}")
            reads += 1
            time.sleep(0.05)
        for _ in range(20):
            http_get(port, "/api/bids?product_id=1001&limit=5")
        fallbacks_after = metric(port, "bidengine_db_read_fallbacks_total")
        check("a bid is readable through the replica once replayed", status == 200, status)
        check("every read went to the replica (no fallback counted)", fallbacks_after == fallbacks_before,
              f"{reads + 20} reads, fallbacks {fallbacks_before} → {fallbacks_after}")

        standby.psql("SELECT pg_wal_replay_pause()")
        paused_at = len(bidder.acks)
        for i in range(200):
            bidder.bid(2000 + i % 10, "10.00", "125" if i % 2 else "100")
        acked = len(bidder.acks)
        check("bids acknowledged while replay is paused", acked == paused_at + 200, acked - paused_at)
        newest = max(bidder.acks)
        check("replica lag exceeds READ_MAX_LAG → reads on the primary (/readyz)",
              wait_ready(port, 15, b'"reads":"primary (replica_lagging)"'))
        # /readyz answered from one loop; every loop measures its own replica lag once a second.
        time.sleep(1.5)
        statuses = [http_get(port, f"/api/bids/{newest}")[0] for _ in range(8)]
        check("a bid acknowledged during the pause is readable on every loop (primary fallback)",
              statuses == [200] * 8, statuses)
        fallbacks = metric(port, "bidengine_db_read_fallbacks_total", 'reason="replica_lagging"')
        check("fallbacks counted in /metrics", fallbacks > 0, fallbacks)
        not_replayed = standby.psql(f"SELECT count(*) FROM bids WHERE id = {newest}")
        check("the standby really lacks the newest bid", not_replayed == "0", not_replayed)

        as_of = utc_text(time.time())
        failing = audit(binary, primary, as_of, {"DATABASE_READ_URL": standby.url, "AUDIT_REPLICA_WAIT": "2",
                                                 "AUDIT_REPLICA_BEHIND": "fail"})
        state = run_row(primary, as_of)
        check("replica behind + AUDIT_REPLICA_BEHIND=fail → exit 1", failing.returncode == 1, failing.returncode)
        check("…with a clear error", "read replica still behind" in failing.stderr, failing.stderr.strip()[-300:])
        check("…recorded as failed in audit_runs", state[0] == "failed" and "replica still behind" in state[2], state)
        fallback = audit(binary, primary, as_of, {"DATABASE_READ_URL": standby.url, "AUDIT_REPLICA_WAIT": "2"})
        state = run_row(primary, as_of)
        expected = count_before(primary, as_of)
        check("replica behind + AUDIT_REPLICA_BEHIND=primary → the scan runs on the primary",
              fallback.returncode == 0 and "scans the primary instead" in fallback.stderr, fallback.returncode)
        check("…and counts every acknowledged bid", state == ("succeeded", acked, "") and expected == acked,
              f"reviewed {state[1]}, acknowledged {acked}, in table {expected}")

        standby.psql("SELECT pg_wal_replay_resume()")
        for i in range(50):
            bidder.bid(3000 + i % 10, "2.00", "90")
        as_of = utc_text(time.time())
        caught_up = audit(binary, primary, as_of, {"DATABASE_READ_URL": standby.url, "AUDIT_REPLICA_WAIT": "20",
                                                   "AUDIT_REPLICA_BEHIND": "fail"})
        state = run_row(primary, as_of)
        check("replay resumed → the audit waits for the replica and scans it",
              caught_up.returncode == 0 and "scanning it" in caught_up.stderr, caught_up.stderr.strip()[-300:])
        check("…counting every acknowledged bid", state == ("succeeded", len(bidder.acks), ""),
              f"reviewed {state[1]}, acknowledged {len(bidder.acks)}")
        check("reads return to the replica (/readyz)", wait_ready(port, 15, b'"reads":"replica"'))

        # A bid stamped before as_of whose transaction commits after it.
        for settle, expect_counted in (("0", False), ("3000", True)):
            late = subprocess.Popen(
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", primary.cluster.conninfo()], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            late.stdin.write("BEGIN;\nINSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) "
                             "VALUES (4242, 1, 100, 1);\nSELECT pg_sleep(1.5);\nCOMMIT;\n")
            late.stdin.close()
            time.sleep(0.4)
            as_of = utc_text(time.time())
            result = audit(binary, primary, as_of, {"AUDIT_SETTLE_MS": settle})
            late.wait(timeout=30)
            state = run_row(primary, as_of)
            expected = count_before(primary, as_of)
            counted = state[1] == expected
            if expect_counted:
                check("a bid committing 1.5 s after as_of is counted (AUDIT_SETTLE_MS=3000)",
                      result.returncode == 0 and counted, f"reviewed {state[1]}, in table {expected}")
            else:
                check("control: without the settle wait the same bid is missed (the check can fail)",
                      result.returncode == 0 and state[1] == expected - 1, f"reviewed {state[1]}, in table {expected}")
    finally:
        if serve:
            serve.stop()
        standby.stop()


# MARK: Part 2: many processes


def part_processes(binary: Path, work: Path, primary: Database, audit_rows: int) -> None:
    processes: list[Process] = []
    try:
        # Old bids for the audit to review: its window holds a quarter of a million.
        primary.psql(
            "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) "
            "SELECT g % 997 + 1, (g % 500 + 1) / 100.0, 100 + g % 50, "
            "round((g % 500 + 1) / 100.0 * (100 + g % 50) / 100, 2), "
            f"now() - interval '1 minute' - (g % 500000) * interval '1 second' FROM generate_series(1, {audit_rows}) g",
            timeout=300)
        primary.psql("ANALYZE bids")
        env = {"DATABASE_URL": primary.url, "ACCESS_LOG": "off", "LOG_LEVEL": "info"}
        servers = [Process(binary, work, f"serve-{n}", ["serve", "--port", "0", "--threads", "1"], env) for n in "ab"]
        processes += servers
        ports = [server.wait_port("serving") for server in servers]
        for port in ports:
            check(f"server on {port} ready", wait_ready(port))

        # The audit's first write (emptying its results for a re-run) waits behind this lock, so
        # the run is certainly still running when its scheduler is killed, however fast the scan.
        results_lock = primary.hold_share_lock("audit_deviation_bands")
        minute = time.strftime("%H:%M", time.gmtime())
        sched_env = dict(env, AUDIT_AT=minute, AUDIT_TZ="UTC", METRICS_PORT="0")
        active = Process(binary, work, "schedule-a", ["schedule", "--no-migrate"], sched_env)
        processes.append(active)
        check("first scheduler becomes active", active.wait_for("now the active scheduler", 60) is not None)
        standby = Process(binary, work, "schedule-b", ["schedule", "--no-migrate"], sched_env)
        processes.append(standby)
        check("second scheduler stands by", standby.wait_for("standing by", 60) is not None)
        check("the active scheduler starts the missed audit", active.wait_for('"job started"', 30) is not None)
        as_of = ""
        deadline = time.monotonic() + 30
        while not as_of and time.monotonic() < deadline:
            as_of = primary.psql("SELECT to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
                                 "FROM audit_runs WHERE status = 'running'")
            time.sleep(0.05)
        check("an audit run is in progress", bool(as_of), as_of)

        # Load on both servers from now on (every bid is after as_of, outside the audited window).
        halt = threading.Event()
        bidders: list[list[Bidder]] = [[], []]
        def load(index: int, n: int) -> None:
            bidder = Bidder(ports[index])
            bidders[index].append(bidder)
            i = 0
            while not halt.is_set():
                i += 1
                bidder.bid(10_000 + n * 1000 + i % 100, f"{1 + i % 97}.{i % 100:02d}", str(80 + i % 90))
        threads = [threading.Thread(target=load, args=(i % 2, i), daemon=True) for i in range(4)]
        for thread in threads:
            thread.start()

        # kill -9 the active scheduler mid-audit.
        status = primary.psql(f"SELECT status FROM audit_runs WHERE as_of = '{as_of}'")
        check("the audit is still running when its scheduler is killed", status == "running", status)
        active.kill9()
        killed = time.monotonic()
        Database.release_lock(results_lock)
        took_over = standby.wait_for("now the active scheduler", 30)
        check("the standby takes over within 15 s", took_over is not None and took_over <= 15,
              f"{took_over:.1f} s" if took_over is not None else "never")
        # The same Idempotency-Key to both servers at once.
        same, replies = 0, []
        for k in range(20):
            key = f"scaleout-{os.getpid()}-{k}"
            barrier = threading.Barrier(2)
            answers: list = [None, None]
            def send(index: int) -> None:
                bidder = Bidder(ports[index])
                barrier.wait()  # noqa: B023 (both threads are joined before the next iteration)
                answers[index] = bidder.bid(900_000 + k, "3.33", "133", key=key)  # noqa: B023
            pair = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
            for thread in pair:
                thread.start()
            for thread in pair:
                thread.join()
            replies.append(answers)
            rows = int(primary.psql(f"SELECT count(*) FROM bids WHERE product_id = {900_000 + k}"))
            if (answers[0][0] == answers[1][0] == 200 and answers[0][1] == answers[1][1] and rows == 1
                    and Decimal(str(answers[0][1]["adjusted_cpc"])) == expected_adjusted("3.33", "133")):
                same += 1
        check("one Idempotency-Key sent to both servers at once → one bid, the same answer (20 keys)", same == 20,
              f"{same}/20; first pair {replies[0]}")

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if primary.psql(f"SELECT status FROM audit_runs WHERE as_of = '{as_of}'") == "succeeded":
                break
            time.sleep(0.2)
        row = primary.psql(f"SELECT count(*), sum(bids_reviewed), sum(bids_flagged), min(id) FROM audit_runs "
                           f"WHERE as_of = '{as_of}' AND status = 'succeeded'")
        runs, reviewed, flagged, run_id = (row.split("|") + ["", "", "", ""])[:4]
        check("the interrupted run is completed: exactly one succeeded run for that as_of", runs == "1",
              f"{row}; {time.monotonic() - killed:.1f} s after the kill")
        if runs == "1":
            expected_reviewed = count_before(primary, as_of)
            expected_flagged = int(primary.psql(
                f"SELECT count(*) FROM bids WHERE calculated_at >= '{as_of}'::timestamptz - interval '7 days' "
                f"AND calculated_at < '{as_of}' AND abs(adjusted_cpc - current_cpc) > 0.20 * current_cpc"))
            # The run's flags as the reports read them: its window's bids at its flagged pairs.
            flags = primary.psql(
                "SELECT count(*), count(DISTINCT b.id) FROM audit_runs r "
                "JOIN audit_flag_pairs p ON p.run_id = r.id "
                "JOIN bids b ON b.current_cpc = p.current_cpc AND b.adjusted_cpc = p.adjusted_cpc "
                "AND b.calculated_at >= r.as_of - r.window_seconds * interval '1 second' AND b.calculated_at < r.as_of "
                f"AND b.id BETWEEN r.first_bid_id AND r.last_bid_id WHERE r.id = {run_id}")
            check("…reviewed every bid of the window", int(reviewed) == expected_reviewed,
                  f"{reviewed} vs {expected_reviewed}")
            check("…no duplicated flags, the count SQL computes", flags == f"{expected_flagged}|{expected_flagged}"
                  and int(flagged) == expected_flagged, f"flags {flags}, run says {flagged}, SQL {expected_flagged}")

        # kill -9 one server under load; the other keeps serving.
        time.sleep(1.0)
        servers[0].kill9()
        time.sleep(2.0)
        halt.set()
        for thread in threads:
            thread.join(timeout=20)
        acks: dict[int, Decimal] = {}
        per_server = []
        for group in bidders:
            count = 0
            for bidder in group:
                acks.update(bidder.acks)
                count += len(bidder.acks)
            per_server.append(count)
        check("load spread over both servers", min(per_server) > 100, per_server)
        rows = rowcheck(primary.cluster, acks)
        check("kill -9 of a server under load: every acknowledged bid is in the table",
              rows["missing_rows"] == 0 and rows["mismatched_adjusted_cpc"] == 0,
              {k: rows[k] for k in ("acknowledged", "missing_rows", "mismatched_adjusted_cpc")})
        status, _ = http_get(ports[1], "/readyz")
        check("the surviving server is still ready", status == 200, status)
    finally:
        for process in processes:
            process.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", default="replica,processes")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "debug" / "bidengine"))
    parser.add_argument("--audit-rows", type=int, default=250_000,
                        help="old bids loaded so the audit lasts long enough to be interrupted")
    add_run_options(parser)
    args = parser.parse_args()
    install_signal_cleanup()
    binary = built_binary(args.binary, log)
    if binary is None:
        return 2
    work = Path(tempfile.mkdtemp(prefix="bidscale-", dir="/tmp"))
    os.chmod(work, 0o755)
    started = time.monotonic()
    primary = Database(binary, work, "primary", 5432)
    try:
        try:
            primary.create_primary()
        except RuntimeError as error:
            log(f"set-up failed: {error}")
            return 2
        log(f"primary cluster ready in {time.monotonic() - started:.1f} s")
        for part in args.part.split(","):
            log(f"== part {part} ==")
            try:
                {"replica": lambda: part_replica(binary, work, primary),
                 "processes": lambda: part_processes(binary, work, primary, args.audit_rows)}[part]()
            except RuntimeError as error:
                log(f"set-up failed: {error}")
                check(f"part {part} set up", False, str(error)[-500:])
    finally:
        primary.stop()
        remove_work(work, args.keep, log)
    return finish_checks(CHECKS, started, args.output, log)


if __name__ == "__main__":
    sys.exit(main())
