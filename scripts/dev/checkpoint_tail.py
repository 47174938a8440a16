#!/usr/bin/env python3
"""The write path's tail across checkpoints, one PostgreSQL configuration against another, interleaved.

  python3 -m scripts.dev.checkpoint_tail [--binary .build/release/bidengine] [--seconds 150] [--rounds 2]
                                     [--rows 1000000] [--connections 16] [--delay-ms 10]
                                     [--config NAME='setting=value setting=value' ...] [--output FILE]
                                     [--lock FILE]

A template cluster is made once (initdb, the migrations, `--rows` bids over 2^20 products, VACUUM ANALYZE:
indexes large enough that the first change to a page after a checkpoint writes a full-page image). Each run
copies it, starts it with the embedded launcher's options (max_connections=200, shared_buffers=256MB, wal_compression=lz4),
`log_checkpoints=on` and the configuration's settings, starts `bidengine serve` (release build, 2 loops) on
it, CHECKPOINTs, and offers bids for `--seconds` with wrk: `--connections` keep-alive connections, each
waiting `--delay-ms` between its requests (random products, 4,000 distinct CPC/ROAS pairs). Reported per run:
bids/s, latency p50/p99/p99.9/max from wrk's histogram (every request; non-2xx counted), checkpoints started
and completed during the window (from the server log), WAL bytes per bid. Configurations run in turn within
each round (A B C, A B C, …), so a noisy neighbour hits them alike; the median per configuration is printed.
Default configurations: the launcher's settings with a checkpoint every minute (`ckpt60`: at a
thousand bids per second the launcher's own checkpoint_timeout=5min and max_wal_size=1GB put no
checkpoint in a 2-minute window), and the same without WAL compression (`ckpt60-uncompressed`). `--config
embedded=''` measures the launcher's settings as they are (`EmbeddedPostgres.serverSettings`).
`--lock FILE` takes an exclusive flock on FILE for each run only (not while the template is made), so that a
long comparison shares a measurement lock with other people in slices of one run each.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER_OPTIONS = ["max_connections=200", "shared_buffers=256MB", "wal_compression=lz4"]  # EmbeddedPostgres.serverSettings
DEFAULT_CONFIGS = {
    "ckpt60": "checkpoint_timeout=60s",
    "ckpt60-uncompressed": "checkpoint_timeout=60s wal_compression=off",
}

WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "10")
local counter = 0
request = function()
    counter = counter + 1
    local product = math.random(1, 1048576)
    local cpc = string.format("%d.%02d", math.random(0, 40), math.random(0, 99))
    local roas = tostring(math.random(80, 180))
    return wrk.format(nil, "/api/bid", nil,
        '{"product_id":' .. product .. ',"current_cpc":"' .. cpc .. '","target_roas":"' .. roas .. '"}')
end
delay = function() return delay_ms end
done = function(summary, latency, requests)
    local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout
    io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f %.1f %.1f\n", summary.requests, errors,
        summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
        latency.mean))
end
"""


def log(*parts: object) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def pg_bin() -> str:
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    return out if os.access(out + "/pg_ctl", os.X_OK) else max(Path("/usr/lib/postgresql").glob("*/bin")).as_posix()


RUN_AS = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Cluster:
    def __init__(self, data: Path, socket_dir: Path, port: int):
        self.data, self.socket_dir, self.port = data, socket_dir, port
        self.bin = pg_bin()

    @property
    def url(self) -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname=postgres"

    def start(self, settings: list[str], niceness: int = 0) -> None:
        """`niceness` > 0 runs the server (and so every backend) at that lower priority."""
        options = f"-c listen_addresses='' -k {self.socket_dir} -p {self.port} " + " ".join(f"-c {s}" for s in settings)
        lower = ["nice", "-n", str(niceness)] if niceness > 0 else []
        result = subprocess.run(RUN_AS + lower + [self.bin + "/pg_ctl", "-D", str(self.data), "-w", "-t", "120", "-l",
                                          str(self.data.parent / "server.log"), "-o", options, "start"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start: {result.stdout}{result.stderr}")

    def stop(self) -> None:
        subprocess.run(RUN_AS + [self.bin + "/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"],
                       capture_output=True, text=True)

    def psql(self, sql: str, timeout: float = 1200) -> str:
        result = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", self.url, "-c", sql],
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"psql: {result.stderr.strip()}")
        return result.stdout.strip()


def make_template(work: Path, rows: int) -> Path:
    root = work / "template"
    (root / "run").mkdir(parents=True)
    if os.geteuid() == 0:
        for path in (root, root / "run"):
            shutil.chown(path, "postgres", "postgres")
    cluster = Cluster(root / "data", root / "run", 5433)
    subprocess.run(RUN_AS + [cluster.bin + "/initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust",
                             "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    cluster.start(LAUNCHER_OPTIONS, niceness=19)  # seeding is not measured: leave the CPU to whoever measures
    try:
        for migration in sorted((ROOT / "Migrations").glob("*.sql")):
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", cluster.url, "-f", str(migration)],
                           check=True, capture_output=True)
        cluster.psql("INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) "
                     "SELECT (g::bigint * 7919) % 1048576 + 1, (g % 4000 + 50) / 100.0, 100 + g % 80, "
                     "round((g % 4000 + 50) / 100.0 * (100 + g % 80) / 100, 2), "
                     f"now() - interval '1 minute' - (g % 500000) * interval '1 second' "
                     f"FROM generate_series(1, {rows}) g")
        cluster.psql("VACUUM ANALYZE bids")
    finally:
        cluster.stop()
    return root


@contextlib.contextmanager
def locked(path: str | None):
    """Holds an exclusive flock on `path` (when given) for the body."""
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def one_run(binary: Path, template: Path, work: Path, name: str, settings: str, seconds: float, connections: int,
            delay_ms: int, index: int) -> dict:
    root = work / f"run-{index}-{name}"
    subprocess.run(["cp", "-a", str(template), str(root)], check=True)  # owners kept: the server runs as postgres
    cluster = Cluster(root / "data", root / "run", 5434)
    (root / "server.log").unlink(missing_ok=True)
    cluster.start(LAUNCHER_OPTIONS + ["log_checkpoints=on"] + settings.split())
    server = None
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BIDENGINE_API"))}
        env.update({"DATABASE_URL": cluster.url, "ACCESS_LOG": "off", "LOG_LEVEL": "notice",
                    "BIDENGINE_MIGRATIONS_DIR": str(ROOT / "Migrations")})
        server_log = open(root / "serve.log", "wb")
        server = subprocess.Popen([str(binary), "serve", "--port", "0", "--threads", "2", "--no-migrate"],
                                  stdout=server_log, stderr=subprocess.STDOUT, env=env)
        port = 0
        deadline = time.monotonic() + 60
        while not port and time.monotonic() < deadline:
            for line in (root / "serve.log").read_text(errors="replace").splitlines():
                if '"msg":"serving"' in line:
                    port = int(json.loads(line)["address"].rsplit(":", 1)[1])
            time.sleep(0.1)
        if not port:
            raise RuntimeError("serve did not start: " + (root / "serve.log").read_text()[-1000:])
        cluster.psql("CHECKPOINT")
        log_before = (root / "server.log").read_text(errors="replace")
        wal_before = cluster.psql("SELECT pg_current_wal_lsn() - '0/0'")
        script = root / "bid.lua"
        script.write_text(WRK_SCRIPT)
        wrk = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s", "-s",
                              str(script), f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                             env=dict(os.environ, WRK_DELAY_MS=str(delay_ms)), timeout=seconds + 60)
        wal_after = cluster.psql("SELECT pg_current_wal_lsn() - '0/0'")
        during = (root / "server.log").read_text(errors="replace")[len(log_before):]
        match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", wrk.stdout)
        if not match:
            raise RuntimeError("wrk: " + wrk.stdout + wrk.stderr)
        requests, errors, duration_us = (int(match.group(i)) for i in (1, 2, 3))
        p50, p99, p999, worst, mean = (float(match.group(i)) / 1000 for i in (4, 5, 6, 7, 8))
        return {
            "config": name, "settings": settings, "bids_per_s": round(requests / (duration_us / 1e6)),
            "errors": errors, "p50_ms": p50, "p99_ms": p99, "p999_ms": p999, "max_ms": worst, "mean_ms": round(mean, 3),
            "checkpoints_started": len(re.findall(r"checkpoint starting", during)),
            "checkpoints_completed": len(re.findall(r"checkpoint complete", during)),
            "wal_bytes_per_bid": round((int(wal_after) - int(wal_before)) / max(requests, 1)),
            "load_average": os.getloadavg()[0],
        }
    finally:
        if server and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "bidengine"))
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--delay-ms", type=int, default=10)
    parser.add_argument("--config", action="append", default=[], help="NAME='setting=value …' (repeatable)")
    parser.add_argument("--output")
    parser.add_argument("--lock", help="flock this file around each run (a shared measurement lock)")
    args = parser.parse_args()
    configs = dict(c.split("=", 1) for c in args.config) if args.config else DEFAULT_CONFIGS
    work = Path(tempfile.mkdtemp(prefix="ckpt-tail-", dir="/tmp"))
    os.chmod(work, 0o755)
    results: list[dict] = []
    try:
        started = time.monotonic()
        template = make_template(work, args.rows)
        log(f"template with {args.rows} bids in {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
        for round_number in range(args.rounds):
            for index, (name, settings) in enumerate(configs.items()):
                with locked(args.lock):
                    result = one_run(Path(args.binary), template, work, name, settings, args.seconds,
                                     args.connections, args.delay_ms, round_number * 100 + index)
                result["round"] = round_number + 1
                results.append(result)
                log(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'config':<12} {'bids/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>9} {'max ms':>8} "
          f"{'ckpts':>6} {'WAL B/bid':>9}  (median of {args.rounds} interleaved runs of {args.seconds:.0f} s)")
    for name in configs:
        mine = [r for r in results if r["config"] == name]

        def med(key: str, mine: list[dict] = mine) -> float:
            return statistics.median(r[key] for r in mine)
        print(f"{name:<12} {med('bids_per_s'):>7.0f} {med('p50_ms'):>7.2f} {med('p99_ms'):>7.2f} {med('p999_ms'):>9.2f} "
              f"{med('max_ms'):>8.1f} {med('checkpoints_completed'):>6.1f} {med('wal_bytes_per_bid'):>9.0f}")
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
