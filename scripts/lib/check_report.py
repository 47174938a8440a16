"""Shared by the Python check scripts: one PASS/FAIL/SKIP line per check, and a free loopback port."""

from __future__ import annotations

import socket


class Report:
    """Counts and prints checks: "PASS  what" or "FAIL  what", then the details indented."""

    def __init__(self, max_details: int = 40) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.max_details = max_details

    def check(self, ok: bool, what: str, details: list[str] | None = None) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'}  {what}", flush=True)
        for line in (details or [])[: self.max_details]:
            print(f"      {line}", flush=True)
        return ok

    def skip(self, what: str) -> None:
        self.skipped += 1
        print(f"SKIP  {what}", flush=True)


def free_port() -> int:
    """A loopback port free right now (another process may take it before the caller binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
