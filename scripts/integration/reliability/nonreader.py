#!/usr/bin/env python3
"""Non-reading clients against a real `bidengine serve`: its memory must stay bounded.

  python3 -m scripts.integration.reliability.nonreader [--duration 30] [--path /metrics] [--read-rate 0]
                                           [--max-growth-mib 64] [--binary PATH | --no-build]

Starts the release `bidengine serve` on a free port over a temporary embedded cluster (as soak.py
does), measures its idle RSS (VmRSS), then for --duration seconds:
  * one client pipelines `GET <path>` at full speed on one keep-alive connection
    (`send(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" * 200)` over and over) and never reads,
    or with --read-rate N reads N bytes a second; when the server closes the connection it
    reconnects and goes on, counting the closures;
  * another client posts a valid bid every 50 ms on its own keep-alive connection, each of which
    must be answered 200 within one second;
and samples the RSS every 0.5 s.

Passes when the peak RSS stays under the idle RSS plus --max-growth-mib (64) and every bid was
answered 200 in time. Prints the figures (and writes them as JSON with --output). Exit 1 on failure.
NonReader is also used by soak.py (--non-reader).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scripts.lib.loadmix import (
    Sampler,
    Service,
    install_signal_cleanup,
    log,
    release_binary,
)


class NonReader(threading.Thread):
    """Pipelines `GET path` on one connection and reads `read_rate` bytes a second (0: never)."""

    def __init__(self, port: int, path: str = "/metrics", read_rate: int = 0):
        super().__init__(daemon=True)
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * 200
        self.read_rate = read_rate
        self.sent = 0
        self.received = 0
        self.connections = 0
        # Seconds each connection lived before the server closed it.
        self.lifetimes: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                time.sleep(0.1)
                continue
            self.connections += 1
            opened = time.monotonic()
            sock.setblocking(False)
            closed = False
            next_read = time.monotonic()
            # Where the next send resumes: a partial send must not cut a request in two.
            offset = 0
            while not self._halt.is_set() and not closed:
                try:
                    sent = sock.send(memoryview(self.request)[offset:])
                    self.sent += sent
                    offset = (offset + sent) % len(self.request)
                except BlockingIOError:
                    time.sleep(0.01)
                except OSError:
                    closed = True
                if self.read_rate and time.monotonic() >= next_read:
                    next_read += 0.1
                    try:
                        data = sock.recv(max(1, self.read_rate // 10))
                        if not data:
                            closed = True
                        self.received += len(data)
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed = True
                if not closed and not self.read_rate:
                    closed = self._closed_by_peer(sock)
            if closed:
                self.lifetimes.append(round(time.monotonic() - opened, 2))
            sock.close()

    @staticmethod
    def _closed_by_peer(sock: socket.socket) -> bool:
        """Whether the server has reset the connection, without reading a byte of its replies."""
        try:
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError:
            return True
        return error != 0

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


class BidClient(threading.Thread):
    """A valid bid every `interval` seconds on one keep-alive connection; counts what came back."""

    def __init__(self, port: int, interval: float = 0.05, deadline: float = 1.0):
        super().__init__(daemon=True)
        self.port = port
        self.interval = interval
        self.deadline = deadline
        self.ok = 0
        self.failures: list[str] = []
        self.slowest = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.deadline)
        product = 0
        while not self._halt.is_set():
            product += 1
            body = f'{{"product_id":{product},"current_cpc":"1.25","target_roas":150}}'.encode()
            started = time.monotonic()
            try:
                conn.request("POST", "/api/bid", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                elapsed = time.monotonic() - started
                self.slowest = max(self.slowest, elapsed)
                if response.status == 200 and elapsed <= self.deadline:
                    self.ok += 1
                else:
                    self.failures.append(f"{response.status} after {elapsed:.3f}s")
            except OSError as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.deadline)
            self._halt.wait(self.interval)
        conn.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--path", default="/metrics")
    parser.add_argument("--read-rate", type=int, default=0, help="bytes a second the non-reader reads (0: none)")
    parser.add_argument("--max-growth-mib", type=float, default=64)
    parser.add_argument("--abort-above-mib", type=float, default=1024,
                        help="stop early once RSS grows past this, to spare the machine (default 1024)")
    parser.add_argument("--binary", help="a release bidengine to use instead of building one")
    parser.add_argument("--scratch-path", default=".build-soak")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--output", help="JSON result path")
    args = parser.parse_args()
    install_signal_cleanup()
    binary = release_binary(args.binary, args.no_build, args.scratch_path)

    failures: list[str] = []
    with Service(binary, env={"LOG_LEVEL": "info", "ACCESS_LOG": "false"}) as service:
        service.start_or_exit()
        sampler = Sampler(service.pid, 0.5)
        time.sleep(2)
        idle = []
        for _ in range(3):
            idle.append(sampler.sample()["rss_kb"])
            time.sleep(0.2)
        idle_kb = sorted(idle)[1]
        sampler.start()
        bids = BidClient(service.port)
        reader = NonReader(service.port, args.path, args.read_rate)
        bids.start()
        reader.start()
        log(f"non-reader: {args.duration:.0f}s of GET {args.path}, reading {args.read_rate} B/s; idle RSS {idle_kb} kB")
        started = time.monotonic()
        while time.monotonic() - started < args.duration and service.alive():
            time.sleep(0.5)
            last = sampler.samples[-1]["rss_kb"] if sampler.samples else idle_kb
            if (last - idle_kb) / 1024 > args.abort_above_mib:
                failures.append(f"RSS passed idle + {args.abort_above_mib} MiB after "
                                f"{time.monotonic() - started:.1f}s; stopped early")
                break
        reader.stop()
        bids.stop()
        sampler.stop()
        if not service.alive():
            failures.append("the service died")
        peak_kb = max(s["rss_kb"] for s in sampler.samples if s.get("rss_kb"))
        growth_mib = (peak_kb - idle_kb) / 1024
        result = {
            "path": args.path, "duration_s": round(time.monotonic() - started, 1), "read_rate": args.read_rate,
            "idle_rss_kb": idle_kb, "peak_rss_kb": peak_kb, "growth_mib": round(growth_mib, 1),
            "last_rss_kb": sampler.samples[-1]["rss_kb"], "bytes_sent": reader.sent,
            "bytes_received": reader.received, "connections": reader.connections,
            "closed_after_s": reader.lifetimes[:20], "bids_ok": bids.ok, "bid_failures": bids.failures[:20],
            "slowest_bid_s": round(bids.slowest, 3),
        }
        log(json.dumps(result))
        if growth_mib >= args.max_growth_mib:
            failures.append(f"RSS grew {growth_mib:.1f} MiB (limit {args.max_growth_mib})")
        if bids.failures or bids.ok == 0:
            failures.append(f"bids: {bids.ok} ok, failures {bids.failures[:5]}")
        result["failures"] = failures
        if args.output:
            Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    for failure in failures:
        log("FAIL:", failure)
    if not failures:
        log("PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
