"""The embedded cluster of a Service: psql over its unix socket, pg_ctl restart and stop/start,
pg_terminate_backend of the service's backends, SIGSTOP/SIGCONT of every process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

CHECKER_APP_NAME = "bidengine-reliability-check"


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
