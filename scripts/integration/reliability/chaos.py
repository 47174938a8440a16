#!/usr/bin/env python3
"""Database chaos: load on `bidengine serve` while PostgreSQL is restarted, its backends killed
and the whole cluster frozen, round after round.

  python3 -m scripts.integration.reliability.chaos [--rounds 4] [--gap 8] [--freeze 3] [--rate 150]
                                       [--output chaos.json] [--binary PATH | --no-build]

Builds the release binary into .build-soak (shared with soak.py) unless --binary/--no-build, serves
it on a temporary embedded cluster with --database-timeout-ms (1000), drives the loadmix mix,
and in each round, separated by --gap seconds of normal load, injects in turn:
  restart    pg_ctl restart -m fast (every backend dies, the socket disappears, then comes back);
  terminate  pg_terminate_backend on every client backend but the checker's own (by application_name);
  freeze     SIGSTOP the postmaster and every child for --freeze seconds (longer than the database
             deadline), then SIGCONT: a server that accepts connections and never answers;
  stop       pg_ctl stop, --down seconds with no server at all, pg_ctl start.

Checks (exit 1 when one fails):
  * every request got an answer within the deadline: the database timeout + --slack (0.5 s; every
    bid carries its own deadline from arrival, also while it waits behind a stuck batch in
    BidWriter); a client-side timeout (15 s) or a dropped connection is a failure, counted as
    no_answer. Answers slower than the database timeout + 250 ms (the README's promise) are
    counted per kind and per fault; --strict fails on them too;
  * no wrong answer (503 is allowed on database routes only, and must carry Retry-After);
  * no acknowledged bid lacks its row, or has another adjusted_cpc (lost acknowledgements = 0);
    rows that were never acknowledged (a commit racing a timeout) are counted, not failed;
  * after every fault, a bid is acknowledged again within --recovery seconds, and the service
    keeps its PID throughout (no restart).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scripts.lib.loadmix import (
    LoadMix,
    Service,
    install_signal_cleanup,
    log,
    release_binary,
    rowcheck,
)

FAULTS = ("restart", "terminate", "freeze", "stop")


def inject(service: Service, kind: str, args: argparse.Namespace) -> dict:
    cluster = service.cluster
    started = time.monotonic()
    event: dict = {"type": kind, "started": started, "wall_started": time.time()}
    if kind == "restart":
        event["pg_ctl_seconds"] = round(cluster.restart(), 2)
    elif kind == "terminate":
        event["backends_terminated"] = cluster.terminate_service_backends()
    elif kind == "freeze":
        pids = cluster.freeze()
        event["processes_frozen"] = len(pids)
        try:
            time.sleep(args.freeze)
        finally:
            cluster.thaw(pids)
    elif kind == "stop":
        event["outage_seconds"] = round(cluster.stop_wait_start(args.down), 2)
    event["ended"] = time.monotonic()
    return event


def recovery(mix: LoadMix, after: float) -> float | None:
    """Seconds from the end of a fault to the end of the first acknowledged bid sent after it."""
    ends = [r.ended for r in list(mix.records) if r.kind in ("bid", "idem_first") and r.status == 200
            and r.started >= after]
    return round(min(ends) - after, 3) if ends else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4, help="rounds; each injects every fault once")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated subset of {FAULTS}")
    parser.add_argument("--gap", type=float, default=8.0, help="seconds of normal load between faults")
    parser.add_argument("--freeze", type=float, default=3.0, help="seconds the cluster stays SIGSTOPped")
    parser.add_argument("--down", type=float, default=3.0, help="seconds the cluster stays stopped")
    parser.add_argument("--database-timeout-ms", type=int, default=1000)
    parser.add_argument("--slack", type=float, default=0.5,
                        help="seconds of slack on the answer deadline (2 shared cores: scheduling spikes)")
    parser.add_argument("--strict", action="store_true",
                        help="also fail on answers slower than DATABASE_TIMEOUT_MS + 250 ms (the README's promise)")
    parser.add_argument("--recovery", type=float, default=10.0, help="seconds allowed to acknowledge bids again")
    parser.add_argument("--rate", type=float, default=150, help="scenarios per second, all clients")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None, help="fault order shuffle seed (default: fixed order)")
    parser.add_argument("--binary")
    parser.add_argument("--scratch-path", default=".build-soak")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--output", help="JSON result path")
    args = parser.parse_args()
    install_signal_cleanup()
    kinds = [k for k in args.faults.split(",") if k]
    if any(k not in FAULTS for k in kinds):
        parser.error(f"unknown fault in {kinds}")

    binary = release_binary(args.binary, args.no_build, args.scratch_path)

    deadline = args.database_timeout_ms / 1000 + args.slack
    failures: list[str] = []
    events: list[dict] = []
    with Service(binary, extra_args=["--database-timeout-ms", str(args.database_timeout_ms)],
                 env={"LOG_LEVEL": "info"}) as service:
        service.start_or_exit()
        pid = service.pid
        mix = LoadMix(service.url, clients=args.clients, rate=args.rate, deadline=deadline, allow_503=True)
        mix.start()
        t0 = time.monotonic()
        pid_changes = 0
        try:
            time.sleep(args.gap)
            for round_index in range(args.rounds):
                order = list(kinds)
                if args.seed is not None:
                    random.Random(args.seed + round_index).shuffle(order)
                for kind in order:
                    event = inject(service, kind, args)
                    event["round"] = round_index + 1
                    events.append(event)
                    log(f"round {round_index + 1}: {kind} done in {event['ended'] - event['started']:.2f}s "
                        + json.dumps({k: v for k, v in event.items()
                                      if k not in ("started", "ended", "type", "wall_started")}))
                    time.sleep(args.gap)
                    if not service.alive() or service.pid != pid:
                        pid_changes += 1
                        failures.append(f"the service died after {kind} in round {round_index + 1}")
                        raise KeyboardInterrupt("service died")
        except KeyboardInterrupt as interrupt:
            if not failures:
                raise
            log(str(interrupt))
        finally:
            mix.stop()
        # Let the service reconnect after the last fault before counting rows.
        ready_deadline = time.monotonic() + 30
        while time.monotonic() < ready_deadline and not service._ready():
            time.sleep(0.2)
        rows = rowcheck(service.cluster, mix.acknowledged())
        summary = mix.summary()
        alive = service.alive() and service.pid == pid
        log_text = service.log_path.read_text(errors="replace")
        exit_code = service.stop()

    # MARK: Verdict
    per_fault: dict[str, dict] = {}
    budget = args.database_timeout_ms / 1000 + 0.25
    records = sorted(mix.records, key=lambda r: r.started)
    for index, event in enumerate(events):
        event["recovery_s"] = recovery(mix, event["ended"])
        # What the clients saw from the fault's start to the next fault's start.
        until = events[index + 1]["started"] if index + 1 < len(events) else float("inf")
        window = [r for r in records if event["started"] <= r.started < until]
        event["requests"] = len(window)
        event["status_503"] = sum(1 for r in window if r.status == 503)
        event["max_latency_s"] = round(max((r.latency for r in window), default=0.0), 3)
        event["answers_over_db_timeout"] = sum(1 for r in window if r.status and r.latency > budget)
        event["t"] = round(event.pop("started") - t0, 2)
        event["duration_s"] = round(event.pop("ended") - t0 - event["t"], 2)
        stats = per_fault.setdefault(event["type"], {"count": 0, "recovery_s": []})
        stats["count"] += 1
        stats["recovery_s"].append(event["recovery_s"])
        for key in ("requests", "status_503", "answers_over_db_timeout"):
            stats[key] = stats.get(key, 0) + event[key]
        stats["max_latency_s"] = max(stats.get("max_latency_s", 0.0), event["max_latency_s"])
        if event["recovery_s"] is None or event["recovery_s"] > args.recovery:
            failures.append(f"no acknowledged bid within {args.recovery}s after {event['type']} "
                            f"in round {event['round']} (recovery {event['recovery_s']})")
    # Rows nobody acknowledged (a commit that raced a kill or a timeout): charge each to the
    # fault that was under way or had just ended when the row was written.
    for at in rows.pop("rows_never_acknowledged_at"):
        before = [e for e in events if e["wall_started"] <= at + 0.5]
        kind = before[-1]["type"] if before else "none"
        stats = per_fault.setdefault(kind, {"count": 0, "recovery_s": []})
        stats["rows_never_acknowledged"] = stats.get("rows_never_acknowledged", 0) + 1
    for event in events:
        event.pop("wall_started")
    for stats in per_fault.values():
        known = [r for r in stats["recovery_s"] if r is not None]
        stats["recovery_max_s"] = max(known) if known else None
    late = [r for r in mix.records if r.late and r.status]
    if summary["no_answer"]:
        failures.append(f"{summary['no_answer']} requests got no answer: {summary['no_answer_examples']}")
    if late:
        worst = max(late, key=lambda r: r.latency)
        failures.append(f"{len(late)} answers after the {deadline:.2f}s deadline (worst {worst.latency:.2f}s, "
                        f"{worst.kind} {worst.status})")
    if summary["wrong_answers"]:
        failures.append(f"{summary['wrong_answers']} wrong answers: {summary['wrong_answer_examples']}")
    over_timeout = sum(1 for r in mix.records if r.status and r.latency > budget)
    if args.strict and over_timeout:
        failures.append(f"{over_timeout} answers took longer than the database timeout + 250 ms")
    if rows["missing_rows"] or rows["mismatched_adjusted_cpc"]:
        failures.append(f"lost acknowledgements: {rows}")
    if not alive:
        failures.append("the service did not keep its PID through the run")
    late_by_kind: dict[str, int] = {}
    for record in late:
        late_by_kind[record.kind] = late_by_kind.get(record.kind, 0) + 1

    # The README promises a 503 "within DATABASE_TIMEOUT_MS": count answers that took longer.
    over_budget: dict[str, dict] = {}
    for record in mix.records:
        if record.status and record.latency > budget:
            entry = over_budget.setdefault(record.kind, {"count": 0, "max_s": 0.0, "statuses": {}})
            entry["count"] += 1
            entry["max_s"] = round(max(entry["max_s"], record.latency), 3)
            entry["statuses"][str(record.status)] = entry["statuses"].get(str(record.status), 0) + 1

    result = {
        "check": "chaos", "binary": str(binary), "database_timeout_ms": args.database_timeout_ms,
        "answer_deadline_s": deadline, "freeze_s": args.freeze, "down_s": args.down, "gap_s": args.gap,
        "rounds": args.rounds, "faults": per_fault, "events": events,
        "requests": summary["requests"], "by_status": summary["by_status"], "by_kind": summary["by_kind"],
        "latency_ms": summary["latency_ms"], "late": len(late), "late_by_kind": late_by_kind,
        "over_database_timeout_plus_250ms": over_budget,
        "no_answer": summary["no_answer"], "wrong_answers": summary["wrong_answers"],
        "lost_acknowledgements": rows["missing_rows"] + rows["mismatched_adjusted_cpc"],
        # Complete bids whose client hung up before the answer: rows nobody acknowledged, by design.
        "abandoned_complete_bids": summary["abandoned_complete_bids"],
        "rowcheck": rows, "same_pid_throughout": alive and pid_changes == 0, "service_pid": pid,
        "database_connection_failures_logged": log_text.count('"msg":"database connection failed"'),
        "service_exit_status": exit_code, "failures": failures, "passed": not failures,
    }
    text = json.dumps(result, indent=2, default=str)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    print(text)
    log("chaos " + ("PASSED" if not failures else "FAILED: " + " | ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
