"""`bidengine serve` on a free port over its own embedded cluster, and the signal handling that
lets `with Service` clean up on SIGTERM/SIGHUP."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from .build import ROOT
from .cluster import Cluster
from .log import log


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
