"""Shared by the Python check scripts: one PASS/FAIL/SKIP line per check, a free loopback port, and
the end of a run that records its checks as JSON."""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path


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


def finish_checks(checks: list[dict], started: float, output: str | None, log: Callable[[str], None]) -> int:
    """Logs how many of `checks` passed since `started` (a `time.monotonic()` reading), writes them
    as JSON to `output` when given, and returns the exit status: 1 when any failed."""
    failed = [c for c in checks if not c["ok"]]
    log(f"{len(checks) - len(failed)}/{len(checks)} checks passed in {time.monotonic() - started:.0f} s")
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps({"checks": checks, "seconds": round(time.monotonic() - started, 1)},
                                           indent=2))
    return 1 if failed else 0


def remove_work(work: Path, keep: bool, log: Callable[[str], None]) -> None:
    """Removes a run's work directory, or with `keep` leaves it and says where it is."""
    if keep:
        log(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--output and --keep, for a harness that ends with `finish_checks` and `remove_work`."""
    parser.add_argument("--output", help="write the checks as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, clusters)")


def built_binary(path: str, log: Callable[[str], None]) -> Path | None:
    """The bidengine binary at `path`, or None (said) when it has not been built."""
    binary = Path(path)
    if not binary.exists():
        log(f"no binary at {binary}; build it first (swift build --product bidengine)")
        return None
    return binary
