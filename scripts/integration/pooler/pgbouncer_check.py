#!/usr/bin/env python3
"""BidEngine behind Debian's PgBouncer in transaction pooling mode (Python 3.11 stdlib; `make pooler-test`,
part of `make test`).

  python3 -m scripts.integration.pooler.pgbouncer_check [--binary PATH] [--seconds 15] [--output FILE] [--keep]
                                                      [--control]

A throwaway cluster (the embedded launcher's layout, migrated directly by `bidengine migrate`) and a real
`pgbouncer` (pool_mode = transaction, two server connections per pool, so client sessions share server
connections, each closed 2 s after it opened, so new ones keep coming) on unix sockets, both as the cluster user. Through the pooler, with DATABASE_POOLER=transaction:
  * `bidengine serve --no-migrate` (two event loops): mixed load (bids, Idempotency-Key first uses and
    replays, history by id and by product) from several clients, bulk requests with keys and their replays:
    no 5xx, no wrong answer, and every acknowledged bid is in `bids` with the price it was answered with;
  * `bidengine audit`: succeeds, reviews every bid of its window;
  * `bidengine poll` against a local products source, twice: both runs succeed (the source's lock is
    released, not stranded on a server connection);
  * `bidengine maintain`, twice: the first deletes the polled prices (aged by 60 days), the second runs too;
    no advisory lock is left on any server connection;
  * `bidengine migrate` and `bidengine schedule` without DATABASE_DIRECT_URL are refused with a message
    that names it; with it, `migrate` succeeds and `schedule` becomes the active scheduler;
  * no warning or error line in any log of the above.
Exit 0 when every check holds, 1 when one fails, 2 when the set-up itself failed.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from scripts.integration.scaleout.scaleout import Database, Process, wait_ready
from scripts.lib.loadmix import (
    ROOT,
    LoadMix,
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


class Bouncer:
    """Debian's pgbouncer in transaction pooling mode on a unix socket only, run as the cluster user."""

    PORT = 6432

    def __init__(self, work: Path, database: Database, pool_size: int, ignore_options: bool = False):
        self.dir = work / "pgbouncer"
        self.dir.mkdir()
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(f"""[databases]
bidengine = host={database.cluster.socket_dir} port={database.cluster.port} dbname=bidengine

[pgbouncer]
listen_addr =
listen_port = {self.PORT}
unix_socket_dir = {self.dir}
auth_type = trust
auth_file = {self.dir}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
server_lifetime = 2
max_client_conn = 200
logfile = {self.dir}/pgbouncer.log
{"ignore_startup_parameters = options" if ignore_options else ""}
pidfile = {self.dir}/pgbouncer.pid
""")
        run_as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            for name in ("userlist.txt", "pgbouncer.ini"):
                shutil.chown(self.dir / name, "postgres", "postgres")
            run_as = ["runuser", "-u", "postgres", "--"]
        self.process = subprocess.Popen(run_as + ["pgbouncer", str(self.dir / "pgbouncer.ini")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not (self.dir / f".s.PGSQL.{self.PORT}").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start: {self.log_text()[-2000:]}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"host={self.dir} port={self.PORT} user=postgres dbname=bidengine"

    def log_text(self) -> str:
        path = self.dir / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ProductsSource:
    """A competitor source on loopback: /products?limit=&skip= over 250 products, prices moving per request."""

    def __init__(self) -> None:
        self.requests = 0
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlparse
                query = parse_qs(urlparse(self.path).query)
                limit, skip = int(query.get("limit", ["100"])[0]), int(query.get("skip", ["0"])[0])
                source.requests += 1
                products = [{"id": i, "title": f"product {i}", "brand": None, "category": "test",
                             "price": round(1 + i / 100 + source.requests / 1000, 2)}
                            for i in range(skip, min(skip + limit, 250))]
                body = json.dumps({"products": products, "total": 250, "skip": skip, "limit": limit}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()


def command(binary: Path, args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    full_env.update({"BIDENGINE_MIGRATIONS_DIR": str(ROOT / "Migrations"), "LOG_LEVEL": "info"})
    full_env.update(env)
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=ROOT)


def complaints(text: str) -> list[str]:
    """Log lines at warning or above (JSON logs), plus anything that is not JSON and mentions an error; the
    warning that no API key is configured (none is, here) is expected."""
    lines = []
    for line in text.splitlines():
        if "NO API KEYS CONFIGURED" in line:
            continue
        try:
            level = json.loads(line).get("level", "")
        except ValueError:
            level = "error" if "error" in line.lower() else ""
        if level in ("warning", "error", "critical"):
            lines.append(line[:300])
    return lines


def bulk_load(port: int, rounds: int, tag: str) -> dict:
    """Bulk requests of 20 bids, every third with an Idempotency-Key that is then replayed."""
    client = _Client("127.0.0.1", port, 15.0)
    acks: dict[int, Decimal] = {}
    failures: list[str] = []
    replays_same = 0
    for n in range(rounds):
        items = [{"product_id": 7000 + (n * 20 + i) % 300, "current_cpc": f"{1 + i}.{n % 100:02d}",
                  "target_roas": str(80 + i * 3)} for i in range(20)]
        body = json.dumps({"bids": items}).encode()
        headers = {"Content-Type": "application/json"}
        if n % 3 == 0:
            headers["Idempotency-Key"] = f"bulk-{tag}-{n}"
        record = client.request("bulk", "POST", "/api/bids/batch", body, headers)
        if record.status != 200:
            failures.append(f"{record.status} {client.last_body[:200]!r}")
            continue
        first = json.loads(client.last_body, parse_float=Decimal)
        for item, result in zip(items, first["results"]):
            acks[int(result["bid_id"])] = Decimal(str(result["adjusted_cpc"]))
            if Decimal(str(result["adjusted_cpc"])) != expected_adjusted(item["current_cpc"], item["target_roas"]):
                failures.append(f"price {result} for {item}")
        if "Idempotency-Key" in headers:
            replay = client.request("bulk_replay", "POST", "/api/bids/batch", body, headers)
            if replay.status == 200 and json.loads(client.last_body, parse_float=Decimal) == first:
                replays_same += 1
            else:
                failures.append(f"replay {replay.status} {client.last_body[:200]!r}")
    client.close()
    return {"acks": acks, "failures": failures, "replays_same": replays_same, "replays": (rounds + 2) // 3}


def control(binary: Path, work: Path, bouncer: Bouncer, primary: Database, seconds: float) -> int:
    """The same load through the pooler with named prepared statements: exit 0 when it fails as expected."""
    serve = Process(binary, work, "serve-control", ["serve", "--port", "0", "--threads", "2", "--no-migrate"],
                    {"DATABASE_URL": bouncer.url, "ACCESS_LOG": "off", "LOG_LEVEL": "info"})
    try:
        port = serve.wait_port("serving")
        wait_ready(port, 30)
        mix = LoadMix(f"http://127.0.0.1:{port}", clients=8,
                      weights={"bid": 50, "idempotent": 12, "history_id": 8, "history_list": 6}, deadline=5.0)
        mix.run_for(seconds)
        summary = mix.summary()
    finally:
        serve.stop()
    errors = [line for line in (primary.cluster.log_file.read_text(errors="replace").splitlines())
              if "ERROR:" in line]
    log(f"control: {summary['requests']} requests, by status {summary['by_status']}")
    for line in errors[:6]:
        log("  postgres: " + line[:200])
    log(f"  ({len(errors)} ERROR lines in the server log; serve log: {serve.log_path})")
    check("control: without DATABASE_POOLER the load through the pooler gets 5xx", summary["server_errors_5xx"] > 0,
          summary["server_errors_5xx"])
    return 0 if summary["server_errors_5xx"] > 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "debug" / "bidengine"))
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the mixed load runs")
    parser.add_argument("--pool-size", type=int, default=2, help="pgbouncer server connections per pool")
    parser.add_argument("--output", help="write the checks as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, clusters)")
    parser.add_argument("--control", action="store_true",
                        help="serve through the pooler WITHOUT DATABASE_POOLER (pgbouncer told to ignore the startup "
                             "options it would refuse): the load must fail, showing what the setting is for")
    args = parser.parse_args()
    install_signal_cleanup()
    binary = Path(args.binary)
    if not binary.exists():
        log(f"no binary at {binary}; build it first (swift build --product bidengine)")
        return 2
    if shutil.which("pgbouncer") is None:
        log("pgbouncer is not installed (apt-get install pgbouncer; make test-deps installs it)")
        return 2
    work = Path(tempfile.mkdtemp(prefix="bidpool-", dir="/tmp"))
    os.chmod(work, 0o755)
    started = time.monotonic()
    primary = Database(binary, work, "primary", 5432)
    bouncer: Bouncer | None = None
    source: ProductsSource | None = None
    serve: Process | None = None
    try:
        try:
            primary.create_primary()
            bouncer = Bouncer(work, primary, args.pool_size, ignore_options=args.control)
        except RuntimeError as error:
            log(f"set-up failed: {error}")
            return 2
        pooled = {"DATABASE_URL": bouncer.url, "DATABASE_POOLER": "transaction"}
        if args.control:
            return control(binary, work, bouncer, primary, args.seconds)
        check("pgbouncer runs in transaction mode", "transaction" in (bouncer.dir / "pgbouncer.ini").read_text())

        # The commands that need a session refuse a pooler unless given a direct connection.
        refused = command(binary, ["migrate"], pooled)
        check("migrate through the pooler without DATABASE_DIRECT_URL is refused, naming it",
              refused.returncode != 0 and "DATABASE_DIRECT_URL" in refused.stderr, refused.stderr.strip()[-300:])
        refused = command(binary, ["schedule", "--no-migrate"], pooled, timeout=60)
        check("schedule through the pooler without DATABASE_DIRECT_URL is refused, naming it",
              refused.returncode != 0 and "DATABASE_DIRECT_URL" in refused.stderr, refused.stderr.strip()[-300:])
        direct = command(binary, ["migrate"], dict(pooled, DATABASE_DIRECT_URL=primary.url))
        check("migrate with DATABASE_DIRECT_URL succeeds", direct.returncode == 0, direct.stderr.strip()[-300:])
        scheduler = Process(binary, work, "schedule", ["schedule", "--no-migrate"],
                            dict(pooled, DATABASE_DIRECT_URL=primary.url, LOG_LEVEL="info", AUDIT_AT="00:00"))
        try:
            active = scheduler.wait_for("now the active scheduler", 60)
            check("schedule with DATABASE_DIRECT_URL takes the leader lock", active is not None,
                  scheduler.log_text()[-300:] if active is None else f"{active:.1f} s")
        finally:
            scheduler.stop()

        serve = Process(binary, work, "serve", ["serve", "--port", "0", "--threads", "2", "--no-migrate"],
                        dict(pooled, ACCESS_LOG="off", LOG_LEVEL="info"))
        port = serve.wait_port("serving")
        check("serve through the pooler is ready", wait_ready(port, 30))
        weights = {"bid": 50, "idempotent": 12, "history_id": 8, "history_list": 6}
        mix = LoadMix(f"http://127.0.0.1:{port}", clients=8, weights=weights, deadline=5.0)
        bulk: dict = {}
        bulk_thread = threading.Thread(target=lambda: bulk.update(bulk_load(port, 60, str(os.getpid()))))
        bulk_thread.start()
        mix.run_for(args.seconds)
        bulk_thread.join()
        summary = mix.summary()
        check("mixed load through the pooler: no 5xx", summary["server_errors_5xx"] == 0,
              f"{summary['requests']} requests, by status {summary['by_status']}")
        check("…no wrong answer and none unanswered", summary["wrong_answers"] == 0 and summary["no_answer"] == 0,
              summary["wrong_answer_examples"][:3] or summary["no_answer_examples"][:3] or "")
        check("…idempotent replays answered", summary["by_kind"].get("idem_replay", {}).get("200", 0) > 0,
              summary["by_kind"].get("idem_replay", {}))
        check("bulk requests through the pooler: all stored, replays identical",
              not bulk["failures"] and bulk["replays_same"] == bulk["replays"],
              bulk["failures"][:3] or f"{len(bulk['acks'])} bids, {bulk['replays_same']} replays")
        acks = mix.acknowledged()
        acks.update(bulk["acks"])
        rows = rowcheck(primary.cluster, acks)
        check("every acknowledged bid is in the table with its price",
              rows["missing_rows"] == 0 and rows["mismatched_adjusted_cpc"] == 0 and rows["acknowledged"] > 0,
              {k: rows[k] for k in ("acknowledged", "missing_rows", "mismatched_adjusted_cpc")})

        as_of = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
        time.sleep(1.2)
        audit = command(binary, ["audit", "--no-migrate", "--as-of", as_of, "--format", "json"], pooled)
        expected = primary.psql(f"SELECT count(*) FROM bids WHERE calculated_at >= '{as_of}'::timestamptz "
                                f"- interval '7 days' AND calculated_at < '{as_of}'")
        reviewed = primary.psql(f"SELECT status || ' ' || bids_reviewed FROM audit_runs WHERE as_of = '{as_of}'")
        check("audit through the pooler succeeds and reviews every bid of its window",
              audit.returncode == 0 and reviewed == f"succeeded {expected}",
              f"exit {audit.returncode}, run {reviewed!r}, window {expected}: {audit.stderr.strip()[-300:]}")

        source = ProductsSource()
        polls = [command(binary, ["poll", "--no-migrate", "--source", source.url], pooled) for _ in range(2)]
        check("two polls through the pooler both succeed (the source's lock is released)",
              all(p.returncode == 0 and "status=ok" in p.stdout for p in polls),
              [(p.returncode, p.stdout.strip()[:160], p.stderr.strip()[-200:]) for p in polls])

        # Poll prices made 60 days old: the first pass deletes them through the pooler, the second runs too.
        aged = int(primary.psql("WITH aged AS (UPDATE competitor_prices SET observed_at = observed_at - interval "
                                "'60 days' RETURNING 1) SELECT count(*) FROM aged"))
        primary.psql("UPDATE poll_runs SET started_at = started_at - interval '60 days'")
        passes = [command(binary, ["maintain", "--no-migrate", "--format", "json"],
                          dict(pooled, COMPETITOR_PRICES_RETENTION="30d")) for _ in range(2)]
        reports = []
        for p in passes:
            try:
                reports.append(json.loads(p.stdout))
            except ValueError:
                reports.append({})
        deleted = sum(a["rows"] for a in reports[0].get("actions", []) if a["table"] == "competitor_prices")
        check("maintenance through the pooler: the first pass deletes the aged prices",
              passes[0].returncode == 0 and reports[0].get("skipped") is False and deleted == aged > 0,
              f"aged {aged}, deleted {deleted}: {passes[0].stderr.strip()[-200:]}")
        check("…and a second pass runs too (the first one's lock was released)",
              passes[1].returncode == 0 and reports[1].get("skipped") is False, passes[1].stdout.strip()[:200])
        left = primary.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        check("no advisory lock left behind on any server connection", left == "0", left)

        serve.stop()
        logs = {"serve": serve.log_text(), "audit": audit.stderr, "maintain": passes[0].stderr + passes[1].stderr,
                "poll": polls[0].stderr + polls[1].stderr}
        found = {name: complaints(text) for name, text in logs.items() if complaints(text)}
        check("no warning or error in the logs of serve, audit, maintain and poll", not found,
              {k: v[:3] for k, v in found.items()} or "")
    finally:
        if serve:
            serve.stop()
        if source:
            source.stop()
        if bouncer:
            bouncer.stop()
        primary.stop()
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = [c for c in CHECKS if not c["ok"]]
    log(f"{len(CHECKS) - len(failed)}/{len(CHECKS)} checks passed in {time.monotonic() - started:.0f} s")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({"checks": CHECKS, "seconds": round(time.monotonic() - started, 1)},
                                                indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
