#!/usr/bin/env python3
"""Leak check: `bidengine serve` built with AddressSanitizer/LeakSanitizer under a scripted mix.

  python3 -m scripts.integration.reliability.leaks [--requests 4000] [--output result.json] [--no-build]

1. Builds `bidengine` with -sanitize=address into .build-asan (its own scratch path; the swiftc
   driver links the ASan/LSan runtime, no extra linker flags needed).
2. Serves it on its own embedded PostgreSQL (temporary --state-dir), drives --requests mixed
   requests (valid bids, every kind of invalid request, idempotent retries and conflicts, history
   queries, health and metrics) while it injects database faults mid-run: pg_terminate_backend of
   the service's backends (--terminations times), pg_ctl restart (--restarts times) and one
   stop / 2 s down / start, so the reconnect path, PGresult handling and error replies all run.
3. Waits for the service to reconnect, checks every acknowledged bid's row, then stops the service
   with SIGTERM (graceful shutdown) so LeakSanitizer reports at exit.

Fails (exit 1) on any LeakSanitizer or AddressSanitizer report, a missing or wrong row, an answer
that is wrong for its request, or a service that dies. Suppressions (scripts/integration/reliability/lsan.supp)
cover only leaks proven to be in third-party runtime code. Exit 2: setup failure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scripts.lib.loadmix import (
    ROOT,
    LoadMix,
    Service,
    install_signal_cleanup,
    log,
    rowcheck,
    swift_build,
)

HERE = Path(__file__).resolve().parent


def inject_faults(service: Service, mix: LoadMix, total: int, terminations: int, restarts: int,
                  faults: list[dict], failures: list[str]) -> None:
    """Faults at fixed fractions of the requests issued, so they happen mid-run whatever the speed."""
    plan: list[tuple[float, str]] = []
    steps = terminations + restarts + 1
    kinds = ["terminate"] * terminations + ["restart"] * restarts
    # Interleave: terminate, restart, terminate, …, then one stop/down/start near the end.
    ordered = []
    while kinds:
        for kind in ("terminate", "restart"):
            if kind in kinds:
                kinds.remove(kind)
                ordered.append(kind)
    ordered.append("stop_start")
    for index, kind in enumerate(ordered):
        plan.append(((index + 1) / (steps + 1), kind))
    cluster = service.cluster
    for fraction, kind in plan:
        while mix._issued < fraction * total:
            if mix._halt.is_set():
                return
            time.sleep(0.05)
        started = time.monotonic()
        at_request = mix._issued
        try:
            if kind == "terminate":
                count = cluster.terminate_service_backends()
                faults.append({"type": kind, "backends": count, "at_request": at_request})
            elif kind == "restart":
                took = cluster.restart()
                faults.append({"type": kind, "seconds": round(took, 2), "at_request": at_request})
            else:
                took = cluster.stop_wait_start(2.0)
                faults.append({"type": kind, "seconds": round(took, 2), "at_request": at_request})
            log(f"fault {kind} at request {mix._issued} ({time.monotonic() - started:.2f}s)")
        except Exception as error:  # noqa: BLE001 — reported, then the check fails
            failures.append(f"fault {kind} failed: {error}")
            log(f"fault {kind} failed: {error}")


def wait_ready(service: Service, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service._ready():
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000,
                        help="scenarios to run (default 4000; an idempotent one sends 3 requests)")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--rate", type=float, default=150,
                        help="scenarios per second (default 150: the faults land well inside the run)")
    parser.add_argument("--terminations", type=int, default=4)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--scratch-path", default=".build-asan")
    parser.add_argument("--no-build", action="store_true", help="use the existing .build-asan binary")
    parser.add_argument("--output", help="write the JSON result here")
    parser.add_argument("--keep-state", action="store_true", help="keep the temporary state dir (log) for inspection")
    args = parser.parse_args()
    install_signal_cleanup()
    wall_started = time.monotonic()

    build_seconds = 0.0
    if not args.no_build:
        swift_build(args.scratch_path, "-Xswiftc", "-sanitize=address")
        build_seconds = time.monotonic() - wall_started
    binary = ROOT / args.scratch_path / "debug" / "bidengine"
    if not binary.exists():
        log(f"no binary at {binary}")
        return 2
    suppressions = HERE / "lsan.supp"
    env = {
        # halt_on_error: a memory error kills the service (seen as no answers and a failed check).
        # atexit=1 prints "AddressSanitizer exit stats" from the exit hooks: proof that the process
        # left through exit() and so that the leak check (another exit hook) ran.
        "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:atexit=1",
        "LSAN_OPTIONS": f"suppressions={suppressions}:print_suppressions=1:report_objects=0",
        "LOG_LEVEL": "info",
    }
    failures: list[str] = []
    faults: list[dict] = []
    result: dict = {"check": "leaks", "requests_planned": args.requests}
    run_started = time.monotonic()
    with Service(binary, env=env, keep_state=args.keep_state) as service:
        service.start_or_exit()
        pid = service.pid
        # Faults make 503s legitimate for the database routes; everything else must be exact.
        mix = LoadMix(service.url, clients=args.clients, rate=args.rate, deadline=5.0, allow_503=True, seed=1)
        mix.start(max_requests=args.requests)
        injector = threading.Thread(target=inject_faults,
                                    args=(service, mix, args.requests, args.terminations, args.restarts, faults,
                                          failures), daemon=True)
        injector.start()
        mix.wait()
        injector.join(timeout=120)
        load_seconds = time.monotonic() - run_started
        if not wait_ready(service, 30):
            failures.append("service not ready again 30 s after the load")
        rows = rowcheck(service.cluster, mix.acknowledged())
        rows.pop("rows_never_acknowledged_at")  # per-row times matter only to chaos.py
        summary = mix.summary()
        if not service.alive() or service.pid != pid:
            failures.append("the service died during the run")
        exit_code = service.stop()
        log_text = service.log_path.read_text(errors="replace")
        if args.keep_state:
            log(f"log kept at {service.log_path}")

    reconnect_failures = log_text.count('"msg":"database connection failed"')
    connects = log_text.count('"msg":"database connected"')
    loops = re.search(r'"msg":"serving".*?"threads":"(\d+)"', log_text)
    loops_count = int(loops.group(1)) if loops else 0
    leak_report = "ERROR: LeakSanitizer" in log_text
    asan_error = re.search(r"ERROR: AddressSanitizer: (?!.*leak)", log_text) is not None
    summary_line = re.findall(r"SUMMARY: AddressSanitizer: .*", log_text)
    suppressed = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\S+)$", log_text.split("Suppressions used:")[-1], re.MULTILINE) \
        if "Suppressions used:" in log_text else []
    # A leak report ends the process from the leak check itself, before the stats are printed.
    exit_hooks_ran = "AddressSanitizer exit stats" in log_text or leak_report
    if not exit_hooks_ran:
        failures.append("no 'AddressSanitizer exit stats' in the log: the process did not exit normally, "
                        "so LeakSanitizer never ran")
    if '"msg":"stopped"' not in log_text:
        failures.append("the service did not log 'stopped' after SIGTERM (no graceful shutdown)")
    if leak_report:
        failures.append("LeakSanitizer reported leaks: " + "; ".join(summary_line))
        # The report, without the access log, for whoever reads the failure.
        report = log_text[log_text.index("ERROR: LeakSanitizer"):]
        sys.stderr.write(report[:20000] + "\n")
    if asan_error:
        failures.append("AddressSanitizer reported a memory error")
        sys.stderr.write(log_text[log_text.index("ERROR: AddressSanitizer"):][:20000] + "\n")
    if exit_code not in (0,) and not leak_report:
        failures.append(f"service exit status {exit_code} after SIGTERM")
    if rows["missing_rows"] or rows["mismatched_adjusted_cpc"]:
        failures.append(f"acknowledged bids without their row: {rows}")
    if summary["wrong_answers"]:
        failures.append(f"{summary['wrong_answers']} wrong answers: {summary['wrong_answer_examples']}")
    if summary["no_answer"]:
        failures.append(f"{summary['no_answer']} requests without an answer: {summary['no_answer_examples']}")

    result.update({
        "requests": summary["requests"],
        "by_kind": summary["by_kind"],
        "by_status": summary["by_status"],
        "latency_ms": summary["latency_ms"],
        "abandoned_complete_bids": summary["abandoned_complete_bids"],
        "faults": faults,
        "database_connection_failures_logged": reconnect_failures,
        "database_connects_logged": connects,
        # Every connect after each loop's first one is a reconnect.
        "reconnects": max(0, connects - loops_count),
        "rowcheck": rows,
        "service_exit_status": exit_code,
        "leak_check_ran": exit_hooks_ran,
        "leak_report": leak_report,
        "suppressions_used": [{"count": int(c), "bytes": int(b), "pattern": p} for c, b, p in suppressed],
        "build_seconds": round(build_seconds, 1),
        "run_seconds": round(time.monotonic() - run_started, 1),
        "load_seconds": round(load_seconds, 1),
        "wall_seconds": round(time.monotonic() - wall_started, 1),
        "failures": failures,
        "passed": not failures,
    })
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    log("leak check " + ("PASSED" if not failures else "FAILED: " + " | ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
