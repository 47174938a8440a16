#!/usr/bin/env python3
"""The shared load driver of the reliability checks (leaks, soak, chaos). Python 3.11 stdlib only.

Pieces, used by leaks.py, soak.py and chaos.py:
  Service   starts `bidengine serve` on a free port over its own embedded PostgreSQL (temporary
            --state-dir, DATABASE_URL ignored), waits for /readyz, stops it with SIGTERM, and
            always cleans up (service killed, cluster stopped, state removed) — even on failure.
  Cluster   the embedded cluster of a Service: psql over its unix socket, pg_ctl restart,
            pg_terminate_backend of the service's backends, SIGSTOP/SIGCONT of every process.
  LoadMix   N keep-alive client connections in threads sending a weighted mix of valid bids,
            invalid requests (malformed JSON, wrong content type, validation failures, unknown
            routes, oversize bodies), idempotent retries (same key + same body → the original
            answer; same key + other body → 422), history queries, /healthz, /readyz, /metrics,
            and clients that hang up mid-request or before reading the answer.
            Every request is recorded: kind, status, latency, bid id and adjusted_cpc for 200s,
            whether it answered within the deadline, and what was wrong with the answer.
  rowcheck  after the run: every acknowledged bid id is in `bids` with exactly the adjusted_cpc
            the client was told; rows vs. acknowledgements.
  Sampler   RSS (VmRSS of /proc/PID/status) and open descriptors (/proc/PID/fd) every N seconds.
  svg_plot  RSS and descriptors over time as a hand-written SVG.

Run directly it drives an already running server:
  python3 scripts/reliability/loadmix.py --url http://127.0.0.1:8080 --duration 30 --clients 8
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[2]
CHECKER_APP_NAME = "bidengine-reliability-check"


def log(*parts: object) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# MARK: Pricing (the legacy rule, exactly: round(cpc × roas / 100, 2), half away from zero)


def expected_adjusted(cpc: str, roas: str) -> Decimal:
    with localcontext() as context:
        context.prec = 200
        value = Decimal(cpc) * Decimal(roas) / Decimal(100)
        # Inputs are non-negative here, so half-up is half away from zero.
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# MARK: The embedded cluster


class Cluster:
    """The service's embedded cluster under <state>/postgres (see Sources/Postgres/EmbeddedPostgres.swift)."""

    def __init__(self, state_dir: Path, port: int = 5432, database: str = "bidengine"):
        self.root = state_dir / "postgres"
        self.data = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self.port = port
        self.database = database
        # The launcher falls back to /tmp/bidengine-pg-<hash> for deep paths; our temp dirs are short.
        self.socket_dir = self.root / "run"
        assert len(str(self.socket_dir)) < 90, "state dir too deep for the unix socket path"
        self.bin = self._bin_dir()
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def _bin_dir() -> str:
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
            if os.access(out + "/pg_ctl", os.X_OK):
                return out
        except (OSError, subprocess.CalledProcessError):
            pass
        versions = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")), reverse=True)
        if not versions:
            raise RuntimeError("pg_ctl not found")
        return str(versions[0].parent)

    def conninfo(self) -> str:
        return (
            f"host={self.socket_dir} port={self.port} user=postgres dbname={self.database} "
            f"application_name={CHECKER_APP_NAME}"
        )

    def psql(self, sql: str, timeout: float = 30) -> str:
        """Runs SQL with psql as root over the socket (root may enter the postgres-owned socket dir)."""
        result = subprocess.run(
            ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", self.conninfo(), "-c", sql],
            capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def pg_ctl(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.run_as + [self.bin + "/pg_ctl", "-D", str(self.data), *args],
            capture_output=True, text=True, timeout=timeout,
        )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, walwriter, …)."""
        master = self.postmaster_pid()
        if master is None or not Path(f"/proc/{master}").exists():
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid …: comm may contain spaces, so split after the last ')'.
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                children.append(int(entry.name))
        return [master] + children

    def restart(self) -> float:
        """pg_ctl restart (fast shutdown, then start with the options the launcher gave)."""
        started = time.monotonic()
        result = self.pg_ctl("-m", "fast", "-w", "-t", "60", "-l", str(self.log_file), "restart")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {result.stdout}{result.stderr}")
        return time.monotonic() - started

    def stop_wait_start(self, down_seconds: float) -> float:
        """Stop (fast), stay down for `down_seconds`, start again; returns the total outage."""
        started = time.monotonic()
        result = self.pg_ctl("-m", "fast", "-w", "stop")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {result.stdout}{result.stderr}")
        time.sleep(down_seconds)
        self.start()
        return time.monotonic() - started

    def start(self) -> None:
        """Starts the cluster with the options the launcher uses (EmbeddedPostgres.start)."""
        opts = (f"-c listen_addresses='' -k {self.socket_dir} -p {self.port} -c max_connections=200 "
                "-c shared_buffers=256MB")
        result = self.pg_ctl("-w", "-t", "60", "-l", str(self.log_file), "-o", opts, "start")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {result.stdout}{result.stderr}")

    def service_backends(self) -> list[int]:
        """Client backends of the service: everything in the database but the checker's own sessions."""
        out = self.psql(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
            f"AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM '{CHECKER_APP_NAME}'"
        )
        return [int(line) for line in out.split()]

    def terminate_service_backends(self) -> int:
        out = self.psql(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
            f"AND application_name IS DISTINCT FROM '{CHECKER_APP_NAME}'"
        )
        return int(out.strip() or 0)

    def freeze(self) -> list[int]:
        """SIGSTOP the postmaster first (no new children), then every child; listed twice for stragglers."""
        stopped: list[int] = []
        for _ in range(2):
            for pid in self.processes():
                if pid in stopped:
                    continue
                try:
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
                except ProcessLookupError:
                    pass
        return stopped

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in reversed(pids):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def force_stop(self) -> None:
        """Last-resort cleanup: whatever state the cluster is in (frozen included), stop it."""
        pids = self.processes()
        if pids:
            self.thaw(pids)
            self.pg_ctl("-m", "immediate", "-w", "-t", "20", "stop", timeout=40)
        master = self.postmaster_pid()
        if master and Path(f"/proc/{master}").exists():
            for pid in self.processes():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def bids(self) -> dict[int, tuple[Decimal, float]]:
        """id → (adjusted_cpc, calculated_at as Unix time)."""
        out = self.psql("SELECT id, adjusted_cpc, extract(epoch FROM calculated_at) FROM bids", timeout=300)
        rows: dict[int, tuple[Decimal, float]] = {}
        for line in out.splitlines():
            ident, adjusted, at = line.split("|")
            rows[int(ident)] = (Decimal(adjusted), float(at))
        return rows


# MARK: Building


def swift_build(scratch: str, *flags: str, configuration: str = "debug") -> Path:
    """`swift build --product bidengine` into its own scratch path; exits 2 when the build fails."""
    command = ["swift", "build", "-c", configuration, "--scratch-path", scratch, *flags, "--product", "bidengine"]
    log("building:", " ".join(command))
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise SystemExit(2)
    return ROOT / scratch / configuration / "bidengine"


def release_binary(binary: str | None, no_build: bool, scratch: str) -> Path:
    """--binary as given, the existing release build with --no-build, or a fresh release build."""
    if binary:
        return Path(binary)
    if no_build:
        return ROOT / scratch / "release" / "bidengine"
    return swift_build(scratch, configuration="release")


# MARK: The service


class Service:
    """`bidengine serve` on a free port over its own embedded cluster, cleaned up whatever happens."""

    def __init__(self, binary: Path, extra_args: list[str] | None = None, env: dict[str, str] | None = None,
                 keep_state: bool = False, shutdown_timeout: int = 10):
        self.binary = binary
        self.extra_args = extra_args or []
        self.env = env or {}
        self.keep_state = keep_state
        self.shutdown_timeout = shutdown_timeout
        # /tmp keeps the socket path short; the cluster user must be able to reach the state dir.
        self.state_dir = Path(tempfile.mkdtemp(prefix="bidrel-", dir="/tmp"))
        os.chmod(self.state_dir, 0o755)
        self.log_path = self.state_dir / "serve.log"
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.cluster = Cluster(self.state_dir)
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_or_exit(self, ready_timeout: float = 180) -> None:
        """`start`, or log why not and exit 2 (inside `with`, so the cleanup still runs)."""
        try:
            self.start(ready_timeout)
        except RuntimeError as error:
            log(str(error))
            raise SystemExit(2)

    def start(self, ready_timeout: float = 180) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORT", "HOST", "THREADS")}
        env.update(self.env)
        env.setdefault("BIDENGINE_MIGRATIONS_DIR", str(ROOT / "Migrations"))
        env.pop("BIDENGINE_API_KEYS", None)
        env.pop("BIDENGINE_API_KEYS_FILE", None)
        args = [str(self.binary), "serve", "--port", "0", "--state-dir", str(self.state_dir),
                "--shutdown-timeout", str(self.shutdown_timeout), *self.extra_args]
        log("starting:", " ".join(args))
        self.logfile = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self.logfile, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bidengine exited early ({self.process.returncode}); log {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            if not self.port:
                self.port = self._port_from_log()
            if self.port and self._ready():
                log(f"serving on {self.url}, pid {self.pid}, state {self.state_dir}")
                return
            time.sleep(0.2)
        raise RuntimeError(f"bidengine not ready within {ready_timeout}s; log {self.log_path}")

    def _port_from_log(self) -> int:
        try:
            for line in self.log_path.read_text(errors="replace").splitlines():
                if '"msg":"serving"' in line:
                    return int(json.loads(line)["address"].rsplit(":", 1)[1])
        except (OSError, ValueError, KeyError):
            pass
        return 0

    def _ready(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/readyz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, graceful_timeout: float | None = None) -> int | None:
        """SIGTERM and wait (LeakSanitizer reports at exit, which takes a while); SIGKILL if it hangs."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.process.wait(timeout=graceful_timeout or self.shutdown_timeout + 60)
            except subprocess.TimeoutExpired:
                log("bidengine did not stop after SIGTERM; killing it")
                self.process.kill()
                self.process.wait()
                self.exit_code = None
        else:
            self.exit_code = self.process.returncode
        return self.exit_code

    def cleanup(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        finally:
            try:
                self.cluster.force_stop()
            finally:
                if hasattr(self, "logfile"):
                    self.logfile.close()
                if not self.keep_state:
                    shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def install_signal_cleanup() -> None:
    """SIGTERM/SIGINT/SIGHUP to the checker become KeyboardInterrupt, so `with Service` cleans up."""

    def handler(number: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {number}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


# MARK: Sampling


class Sampler(threading.Thread):
    """RSS (kB) and open descriptors of one process every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 10.0):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples: list[dict] = []
        self._halt = threading.Event()
        self.started = time.monotonic()

    def sample(self) -> dict | None:
        try:
            rss_kb = None
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb = int(line.split()[1])
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
            threads = len(os.listdir(f"/proc/{self.pid}/task"))
        except (OSError, ValueError):
            return None
        return {"t": round(time.monotonic() - self.started, 2), "rss_kb": rss_kb, "fds": fds, "threads": threads}

    def run(self) -> None:
        while not self._halt.is_set():
            sample = self.sample()
            if sample:
                self.samples.append(sample)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        sample = self.sample()
        if sample:
            self.samples.append(sample)


# MARK: Load


@dataclasses.dataclass
class Record:
    kind: str
    started: float  # monotonic
    latency: float
    status: int  # 0: no answer (connection error or client timeout)
    error: str = ""  # what was wrong with the answer, empty when fine
    bid_id: int | None = None
    adjusted: Decimal | None = None  # what the client was told (bids and idempotent 200s)
    late: bool = False
    detail: bytes = b""  # the start of the answer's body, for failure messages

    @property
    def ended(self) -> float:
        return self.started + self.latency


# Weights of each scenario; idempotent runs three requests (first, replay, conflicting body).
DEFAULT_WEIGHTS = {
    "bid": 50, "idempotent": 8, "history_id": 6, "history_list": 4, "malformed_json": 5, "wrong_content_type": 4,
    "validation": 6, "unknown_route": 4, "oversize": 2, "healthz": 4, "readyz": 2, "metrics": 1, "abandoned": 2,
}

# Requests whose client walks away on purpose: no answer is expected (nor counted as missing).
ABANDONED = "abandoned"

# Statuses a database-backed route may answer while the database is unavailable.
DB_KINDS = {"bid", "idem_first", "idem_replay", "idem_conflict", "history_id", "history_list", "readyz"}


class LoadMix:
    def __init__(self, base_url: str, clients: int = 8, rate: float = 0.0, deadline: float = 3.0,
                 client_timeout: float = 15.0, weights: dict[str, int] | None = None, allow_503: bool = False,
                 max_body: int = 65536, seed: int | None = None):
        parsed = urllib.parse.urlparse(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.clients = clients
        self.rate = rate  # total requests/s across clients; 0 = as fast as they can
        self.deadline = deadline
        self.client_timeout = client_timeout
        self.weights = weights or DEFAULT_WEIGHTS
        self.allow_503 = allow_503
        self.max_body = max_body
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._threads: list[threading.Thread] = []
        self.run_id = f"{os.getpid():x}{int(time.time()) & 0xFFFFFF:x}"
        self.max_requests: int | None = None
        self._issued = 0

    # MARK: Running

    def start(self, max_requests: int | None = None) -> None:
        self.max_requests = max_requests
        self.t0 = time.monotonic()
        for index in range(self.clients):
            thread = threading.Thread(target=self._client, args=(index,), daemon=True, name=f"client-{index}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._halt.set()
        for thread in self._threads:
            thread.join(timeout=self.client_timeout + 5)

    def wait(self) -> None:
        for thread in self._threads:
            thread.join()

    def run_for(self, seconds: float) -> None:
        self.start()
        try:
            end = time.monotonic() + seconds
            while time.monotonic() < end and not self._halt.is_set():
                time.sleep(max(0.0, min(1.0, end - time.monotonic())))
        finally:
            self.stop()

    def _take_ticket(self) -> bool:
        with self._lock:
            if self.max_requests is not None and self._issued >= self.max_requests:
                return False
            self._issued += 1
            return True

    def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        client = _Client(self.host, self.port, self.client_timeout)
        kinds = list(self.weights)
        weights = [self.weights[k] for k in kinds]
        recent: list[tuple[int, Decimal]] = []
        local: list[Record] = []
        interval = self.clients / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic() + rng.random() * interval
        counter = 0
        try:
            while not self._halt.is_set():
                if interval:
                    pause = next_at - time.monotonic()
                    if pause > 0:
                        self._halt.wait(pause)
                        if self._halt.is_set():
                            break
                    next_at = max(next_at + interval, time.monotonic() - 1.0)
                if not self._take_ticket():
                    break
                counter += 1
                kind = rng.choices(kinds, weights)[0]
                scenario = getattr(self, "_s_" + kind)
                records = scenario(client, rng, recent, f"{self.run_id}-{index}-{counter}")
                for record in records:
                    if record.kind == ABANDONED:
                        continue
                    record.late = record.status == 0 or record.latency > self.deadline
                    if record.status == 200 and record.bid_id is not None and record.adjusted is not None:
                        recent.append((record.bid_id, record.adjusted))
                        if len(recent) > 50:
                            del recent[:25]
                local.extend(records)
                if len(local) >= 256:
                    with self._lock:
                        self.records.extend(local)
                    local = []
        finally:
            client.close()
            with self._lock:
                self.records.extend(local)

    # MARK: Scenarios (each returns the records of the requests it sent)

    @staticmethod
    def _bid_values(rng: random.Random) -> tuple[str, str, str]:
        product = str(rng.randint(1, 500))
        # Three decimals, so half-away-from-zero rounding to cents is exercised on every bid.
        mills = rng.randint(0, 999999)
        cpc = f"{mills // 1000}.{mills % 1000:03d}"
        roas = f"{rng.randint(1, 90000) // 100}.{rng.randint(0, 99):02d}"
        if Decimal(roas) == 0:
            roas = "100"
        return product, cpc, roas

    @staticmethod
    def _bid_body(product: str, cpc: str, roas: str, rng: random.Random) -> bytes:
        # Numbers as JSON numbers or as strings: both are legacy-valid.
        def enc(v: str) -> str:
            return v if rng.random() < 0.5 else json.dumps(v)

        return f'{{"product_id":{enc(product)},"current_cpc":{enc(cpc)},"target_roas":{enc(roas)}}}'.encode()

    def _allowed(self, kind: str, status: int, normal: set[int]) -> bool:
        return status in normal or (self.allow_503 and status == 503 and kind in DB_KINDS)

    def _post_bid(self, client: _Client, kind: str, body: bytes, expected: Decimal,
                  headers: dict[str, str] | None = None) -> Record:
        record = client.request(kind, "POST", "/api/bid", body, {"Content-Type": "application/json", **(headers or {})})
        if record.status == 200:
            try:
                answer = json.loads(client.last_body, parse_float=Decimal, parse_int=Decimal)
                record.bid_id = int(answer["bid_id"])
                record.adjusted = Decimal(answer["adjusted_cpc"])
                if record.adjusted != expected:
                    record.error = f"adjusted_cpc {record.adjusted} != expected {expected}"
            except (ValueError, KeyError, TypeError) as error:
                record.error = f"bad 200 body: {error}: {client.last_body[:200]!r}"
        elif record.status == 503 and "Retry-After" not in client.last_headers:
            record.error = "503 without Retry-After"
        return record

    def _check(self, record: Record, normal: set[int]) -> Record:
        if record.status and not record.error and not self._allowed(record.kind, record.status, normal):
            excerpt = record.detail[:120].decode(errors="replace")
            record.error = f"unexpected status {record.status}: {excerpt}"
        return record

    def _s_bid(self, client, rng, recent, tag):
        product, cpc, roas = self._bid_values(rng)
        record = self._post_bid(client, "bid", self._bid_body(product, cpc, roas, rng), expected_adjusted(cpc, roas))
        return [self._check(record, {200})]

    def _s_idempotent(self, client, rng, recent, tag):
        product, cpc, roas = self._bid_values(rng)
        key = f"rel-{tag}"
        body = self._bid_body(product, cpc, roas, rng)
        expected = expected_adjusted(cpc, roas)
        first = self._check(self._post_bid(client, "idem_first", body, expected, {"Idempotency-Key": key}), {200})
        out = [first]
        if first.status == 0:
            return out
        replay = self._post_bid(client, "idem_replay", body, expected, {"Idempotency-Key": key})
        if replay.status == 200 and first.status == 200:
            if replay.bid_id != first.bid_id:
                replay.error = f"replay bid_id {replay.bid_id} != original {first.bid_id}"
            elif client.last_headers.get("Idempotent-Replayed", "").lower() != "true":
                replay.error = "replay without Idempotent-Replayed: true"
        out.append(self._check(replay, {200}))
        if replay.status == 0:
            return out
        other_cpc = str(Decimal(cpc) + 1)
        other_body = self._bid_body(product, other_cpc, roas, rng)
        conflict = self._post_bid(client, "idem_conflict", other_body, expected_adjusted(other_cpc, roas),
                                  {"Idempotency-Key": key})
        # The key is certainly claimed once either earlier request got a 200; before that (both 503)
        # the other body may legitimately be the first to claim it.
        claimed = first.status == 200 or replay.status == 200
        out.append(self._check(conflict, {422} if claimed else {200, 422}))
        if conflict.status != 200:
            conflict.bid_id = None
            conflict.adjusted = None
        return out

    def _s_history_id(self, client, rng, recent, tag):
        if not recent:
            return self._s_bid(client, rng, recent, tag)
        bid_id, adjusted = rng.choice(recent)
        record = client.request("history_id", "GET", f"/api/bids/{bid_id}", None, {})
        if record.status == 200:
            try:
                answer = json.loads(client.last_body, parse_float=Decimal, parse_int=Decimal)
                if int(answer["bid_id"]) != bid_id or Decimal(answer["adjusted_cpc"]) != adjusted:
                    record.error = f"history of {bid_id} says {answer}"
            except (ValueError, KeyError, TypeError) as error:
                record.error = f"bad history body: {error}"
        return [self._check(record, {200})]

    def _s_history_list(self, client, rng, recent, tag):
        product = rng.randint(1, 500)
        record = client.request("history_list", "GET", f"/api/bids?product_id={product}&limit={rng.randint(1, 20)}",
                                None, {})
        if record.status == 200 and not client.last_body.startswith(b'{"bids":'):
            record.error = f"bad list body {client.last_body[:100]!r}"
        return [self._check(record, {200})]

    def _s_malformed_json(self, client, rng, recent, tag):
        body = rng.choice([b'{"product_id":1,', b"{not json}", b'{"product_id":1,"current_cpc":1.5,"target_roas":}',
                           b"[1,2", b'"\\ud800"', b"\xff\xfe"])
        return [self._check(client.request("malformed_json", "POST", "/api/bid", body,
                                           {"Content-Type": "application/json"}), {400})]

    def _s_wrong_content_type(self, client, rng, recent, tag):
        content_type = rng.choice(["text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
        body = b'{"product_id":1,"current_cpc":1.5,"target_roas":150}'
        return [self._check(client.request("wrong_content_type", "POST", "/api/bid", body,
                                           {"Content-Type": content_type}), {415})]

    def _s_validation(self, client, rng, recent, tag):
        body = rng.choice([b'{"product_id":0,"current_cpc":1.5,"target_roas":150}',
                           b'{"product_id":1,"current_cpc":-1,"target_roas":150}',
                           b'{"product_id":1,"current_cpc":1.5,"target_roas":0}',
                           b'{"product_id":"0x1A","current_cpc":"1","target_roas":"1"}',
                           b'{"product_id":1,"current_cpc":".","target_roas":150}'])
        record = client.request("validation", "POST", "/api/bid", body, {"Content-Type": "application/json"})
        if record.status == 400 and b'"errors"' not in client.last_body:
            record.error = f"validation 400 without errors: {client.last_body[:100]!r}"
        return [self._check(record, {400})]

    def _s_unknown_route(self, client, rng, recent, tag):
        path = rng.choice(["/api/nope", "/api/bid/extra/x", "/favicon.ico", f"/x/{tag}"])
        method = rng.choice(["GET", "POST"])
        return [self._check(client.request("unknown_route", method, path, b"{}" if method == "POST" else None,
                                           {"Content-Type": "application/json"}), {404})]

    def _s_oversize(self, client, rng, recent, tag):
        size = self.max_body + rng.randint(1, 4096)
        body = b'{"product_id":1,"pad":"' + b"x" * size + b'"}'
        return [self._check(client.request("oversize", "POST", "/api/bid", body,
                                           {"Content-Type": "application/json"}), {413})]

    def _s_abandoned(self, client, rng, recent, tag):
        """A client that hangs up mid-request or before reading the answer, on its own connection:
        the server must drop the exchange cleanly (no leak, no crash, the bid still committed or not)."""
        product, cpc, roas = self._bid_values(rng)
        body = self._bid_body(product, cpc, roas, rng)
        request = (f"POST /api/bid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        cut = rng.choice([len(request), len(request) - len(body) // 2, len(request) // 3])
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.port), timeout=self.client_timeout) as raw:
                raw.sendall(request[:cut])
                if rng.random() < 0.5:
                    # Reset rather than close: the server sees ECONNRESET, not EOF.
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError as error:
            return [Record(ABANDONED, started, time.monotonic() - started, 0, f"connect failed: {error!r}")]
        record = Record(ABANDONED, started, time.monotonic() - started, 0)
        # A complete request may still be recorded: its row then has no acknowledgement, by design.
        record.detail = b"complete" if cut == len(request) else b"partial"
        return [record]

    def _s_healthz(self, client, rng, recent, tag):
        return [self._check(client.request("healthz", "GET", "/healthz", None, {}), {200})]

    def _s_readyz(self, client, rng, recent, tag):
        return [self._check(client.request("readyz", "GET", "/readyz", None, {}), {200})]

    def _s_metrics(self, client, rng, recent, tag):
        return [self._check(client.request("metrics", "GET", "/metrics", None, {}), {200})]

    # MARK: Results

    def acknowledged(self) -> dict[int, Decimal]:
        acks: dict[int, Decimal] = {}
        for record in self.records:
            if record.status == 200 and record.bid_id is not None and record.adjusted is not None:
                acks[record.bid_id] = record.adjusted
        return acks

    def summary(self) -> dict:
        records = self.records
        by_kind: dict[str, Counter] = {}
        for record in records:
            by_kind.setdefault(record.kind, Counter())[str(record.status)] += 1
        statuses = Counter(str(r.status) for r in records)
        latencies = sorted(r.latency for r in records if r.status)
        errors = [r for r in records if r.error and r.kind != ABANDONED]
        late = [r for r in records if r.late]

        def pct(p: float) -> float | None:
            if not latencies:
                return None
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

        return {
            "requests": len(records),
            "by_status": dict(sorted(statuses.items())),
            "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
            "server_errors_5xx": sum(1 for r in records if r.status >= 500),
            "status_503": sum(1 for r in records if r.status == 503),
            "no_answer": sum(1 for r in records if r.status == 0 and r.kind != ABANDONED),
            "late": len(late),
            "deadline_s": self.deadline,
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "p999": pct(0.999),
                           "max": round(latencies[-1] * 1000, 2) if latencies else None},
            "acknowledged_bids": len(self.acknowledged()),
            "abandoned_complete_bids": sum(1 for r in records if r.kind == ABANDONED and r.detail == b"complete"),
            "wrong_answers": len(errors),
            "wrong_answer_examples": [f"{r.kind} {r.status}: {r.error}" for r in errors[:10]],
            "no_answer_examples": [f"{r.kind}: {r.error}" for r in records
                                   if r.status == 0 and r.kind != ABANDONED][:10],
        }


class _Client:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last_body = b""
        self.last_headers: dict[str, str] = {}
        self.reconnects = 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, kind: str, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Record:
        started = time.monotonic()
        self.last_body = b""
        self.last_headers = {}
        for attempt in range(2):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.reconnects += 1
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                self.last_body = response.read()
                self.last_headers = dict(response.getheaders())
                if response.will_close:
                    self.close()
                record = Record(kind, started, time.monotonic() - started, response.status)
                record.detail = self.last_body[:200]
                return record
            except TimeoutError as error:
                self.close()
                return Record(kind, started, time.monotonic() - started, 0, f"client timeout: {error!r}")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self.close()
                # A keep-alive connection the server closed between requests: retry once on a new one.
                if not fresh and attempt == 0 and not isinstance(error, ConnectionResetError):
                    started = time.monotonic()
                    continue
                return Record(kind, started, time.monotonic() - started, 0, f"connection error: {error!r}")
            except (OSError, http.client.HTTPException) as error:
                self.close()
                return Record(kind, started, time.monotonic() - started, 0, f"connection error: {error!r}")
        return Record(kind, started, time.monotonic() - started, 0, "unreachable")


# MARK: Row check


def rowcheck(cluster: Cluster, acks: dict[int, Decimal]) -> dict:
    """Every acknowledged bid is stored with exactly the adjusted_cpc returned; rows vs. acks."""
    stored = cluster.bids()
    rows = {i: adjusted for i, (adjusted, _) in stored.items()}
    missing = [i for i in acks if i not in rows]
    mismatched = [i for i, adjusted in acks.items() if i in rows and rows[i] != adjusted]
    unacknowledged = [i for i in rows if i not in acks]
    return {
        "acknowledged": len(acks),
        "rows": len(rows),
        "missing_rows": len(missing),
        "missing_examples": sorted(missing)[:20],
        "mismatched_adjusted_cpc": len(mismatched),
        "mismatched_examples": [(i, str(acks[i]), str(rows[i])) for i in sorted(mismatched)[:20]],
        "rows_never_acknowledged": len(unacknowledged),
        "rows_never_acknowledged_examples": sorted(unacknowledged)[:20],
        # When they were written (Unix time), so a caller can tell which fault they belong to.
        "rows_never_acknowledged_at": sorted(stored[i][1] for i in unacknowledged),
    }


# MARK: Plot


def svg_plot(samples: list[dict], title: str, warmup_s: float | None = None, width: int = 900,
             height: int = 420) -> str:
    """Two panels, RSS (MiB) above and open descriptors below, against seconds since start."""
    if not samples:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60">'
                '<text x="10" y="30">no samples</text></svg>')
    left, right, top, gap, bottom = 70, 20, 40, 50, 40
    panel = (height - top - gap - bottom) / 2
    t_max = max(s["t"] for s in samples) or 1.0

    def x(t: float) -> float:
        return left + (width - left - right) * t / t_max

    def panel_svg(key: str, scale: float, label: str, y0: float, color: str) -> list[str]:
        values = [s[key] * scale for s in samples]
        lo, hi = min(values), max(values)
        pad = max((hi - lo) * 0.1, hi * 0.02, 1.0)
        lo, hi = max(0.0, lo - pad), hi + pad

        def y(v: float) -> float:
            return y0 + panel - panel * (v - lo) / (hi - lo)

        out = [f'<rect x="{left}" y="{y0}" width="{width - left - right}" height="{panel}" fill="none" stroke="#999"/>']
        for i in range(5):
            v = lo + (hi - lo) * i / 4
            out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.1f}</text>')
            out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        points = " ".join(f"{x(s['t']):.1f},{y(v):.1f}" for s, v in zip(samples, values))
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{points}"/>')
        out.append(f'<text x="{left + 6}" y="{y0 + 14}" font-size="12" fill="{color}">{label}</text>')
        if warmup_s:
            out.append(f'<line x1="{x(warmup_s):.1f}" x2="{x(warmup_s):.1f}" y1="{y0}" y2="{y0 + panel}" '
                       'stroke="#c60" stroke-dasharray="4,3"/>')
        return out

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" font-family="sans-serif">'),
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{width / 2}" y="22" font-size="14" text-anchor="middle">{_xml(title)}</text>']
    parts += panel_svg("rss_kb", 1 / 1024, "RSS (MiB)", top, "#1f5fbf")
    parts += panel_svg("fds", 1, "open descriptors", top + panel + gap, "#2a8a2a")
    base = height - bottom
    for i in range(6):
        t = t_max * i / 5
        parts.append(f'<text x="{x(t):.1f}" y="{base + 16}" font-size="11" text-anchor="middle">{t:.0f}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" font-size="12" text-anchor="middle">seconds since start'
                 + (' (dashed: end of warm-up)' if warmup_s else '') + '</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# MARK: CLI (drive an already running server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0, help="total requests/s (0 = unthrottled)")
    parser.add_argument("--deadline", type=float, default=3.0)
    parser.add_argument("--allow-503", action="store_true")
    args = parser.parse_args()
    mix = LoadMix(args.url, clients=args.clients, rate=args.rate, deadline=args.deadline, allow_503=args.allow_503)
    mix.run_for(args.duration)
    print(json.dumps(mix.summary(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
