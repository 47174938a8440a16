#!/usr/bin/env python3
"""Soak: the release `bidengine serve` on its embedded PostgreSQL under a steady mixed load.

  python3 -m scripts.integration.reliability.soak [--duration 600] [--rate 300] [--clients 8]
                                      [--output soak.json] [--svg soak.svg] [--binary PATH | --no-build]

Builds `swift build -c release --scratch-path .build-soak --product bidengine` (unless --binary or
--no-build), serves on a free port over a temporary embedded cluster, drives the mix of
scripts/lib/loadmix/ (valid bids, invalid requests of every kind, idempotent retries and
conflicts, history queries, health, metrics) for --duration seconds, and samples the service's RSS
(VmRSS) and open descriptors every --interval (10) seconds.

Passes when, after the warm-up (--warmup, default 20 % of the duration, i.e. 2 minutes of 10):
  * RSS grows less than --max-growth (5 %): last sample under load vs. the first after warm-up;
  * descriptors stay flat: the median of the last minute is within --fd-tolerance (3) of the median
    of the first minute after warm-up. Medians, because a client whose connection the server
    closes (413 answers close it) is briefly between sockets when a sample is taken; a leak of one
    descriptor per request or per reconnect would be thousands;
  * no 5xx, no request without an answer (client timeout 15 s), no wrong answer;
  * every 200 has its row in `bids` with exactly the adjusted_cpc returned.
With --non-reader, one more client pipelines `GET /metrics` for the whole run and never reads the
replies (nonreader.py's NonReader, reconnecting whenever the server closes it): the same checks
must hold beside it, so its connections must cost the server nothing that grows.
Writes a JSON result (--output) and an SVG plot of RSS and descriptors (--svg). Exit 1 on failure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scripts.integration.reliability.nonreader import NonReader
from scripts.lib.loadmix import (
    LoadMix,
    Sampler,
    Service,
    install_signal_cleanup,
    log,
    release_binary,
    rowcheck,
    svg_plot,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--warmup", type=float, help="seconds excluded from the growth check (default 20%%)")
    parser.add_argument("--rate", type=float, default=300, help="scenarios per second, all clients (default 300)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--interval", type=float, default=10.0, help="sampling interval in seconds")
    parser.add_argument("--max-growth", type=float, default=5.0, help="allowed RSS growth after warm-up, %%")
    parser.add_argument("--fd-tolerance", type=int, default=3)
    parser.add_argument("--binary", help="a release bidengine to use instead of building one")
    parser.add_argument("--scratch-path", default=".build-soak")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--output", help="JSON result path")
    parser.add_argument("--svg", help="SVG plot path")
    parser.add_argument("--non-reader", action="store_true",
                        help="add a client that pipelines GET /metrics and never reads")
    args = parser.parse_args()
    install_signal_cleanup()
    warmup = args.warmup if args.warmup is not None else 0.2 * args.duration

    binary = release_binary(args.binary, args.no_build, args.scratch_path)

    failures: list[str] = []
    with Service(binary, env={"LOG_LEVEL": "info"}) as service:
        service.start_or_exit()
        pid = service.pid
        sampler = Sampler(pid, args.interval)
        sampler.start()
        mix = LoadMix(service.url, clients=args.clients, rate=args.rate, deadline=1.0, allow_503=False)
        log(f"soak: {args.duration:.0f}s at {args.rate:.0f} scenarios/s, warm-up {warmup:.0f}s")
        mix.start()
        non_reader = NonReader(service.port) if args.non_reader else None
        if non_reader:
            non_reader.start()
        started = time.monotonic()
        try:
            next_report = started + 60
            while time.monotonic() - started < args.duration:
                time.sleep(1)
                if not service.alive():
                    failures.append("the service died")
                    break
                if time.monotonic() >= next_report:
                    next_report += 60
                    last = sampler.samples[-1] if sampler.samples else {}
                    log(f"  {time.monotonic() - started:.0f}s: {len(mix.records)}+ requests, "
                        f"rss {last.get('rss_kb', 0) / 1024:.1f} MiB, fds {last.get('fds')}")
        finally:
            under_load = list(sampler.samples)
            if non_reader:
                non_reader.stop()
                log(f"non-reader: {non_reader.connections} connections, {non_reader.sent} bytes sent, "
                    f"closed after {non_reader.lifetimes[:10]} s")
            mix.stop()
            sampler.stop()
        rows = rowcheck(service.cluster, mix.acknowledged())
        rows.pop("rows_never_acknowledged_at")  # per-row times matter only to chaos.py
        summary = mix.summary()
        alive = service.alive() and service.pid == pid
        exit_code = service.stop()

    # MARK: Verdict
    loaded = [s for s in under_load if s["t"] <= args.duration + args.interval]
    after = [s for s in loaded if s["t"] >= warmup]
    figures: dict = {}
    if len(after) >= 2:
        first, last = after[0], after[-1]
        growth = 100.0 * (last["rss_kb"] - first["rss_kb"]) / first["rss_kb"]
        window = max(1, int(60 / args.interval))
        fd_start = statistics.median(s["fds"] for s in after[:window])
        fd_end = statistics.median(s["fds"] for s in after[-window:])
        figures = {
            "rss_start_kb": loaded[0]["rss_kb"], "rss_after_warmup_kb": first["rss_kb"], "rss_end_kb": last["rss_kb"],
            "rss_max_after_warmup_kb": max(s["rss_kb"] for s in after), "rss_growth_pct": round(growth, 2),
            "fds_start": loaded[0]["fds"], "fds_after_warmup_median": fd_start, "fds_end_median": fd_end,
            "fds_min": min(s["fds"] for s in loaded), "fds_max": max(s["fds"] for s in loaded),
            "threads": sorted({s["threads"] for s in loaded}),
        }
        if growth >= args.max_growth:
            failures.append(f"RSS grew {growth:.2f}% after warm-up (limit {args.max_growth}%)")
        if abs(fd_end - fd_start) > args.fd_tolerance:
            failures.append(f"descriptors moved from {fd_start} to {fd_end} (tolerance {args.fd_tolerance})")
    else:
        failures.append("too few samples after warm-up: run longer")
    if summary["server_errors_5xx"]:
        failures.append(f"{summary['server_errors_5xx']} answers were 5xx")
    if summary["no_answer"]:
        failures.append(f"{summary['no_answer']} requests got no answer: {summary['no_answer_examples']}")
    if summary["wrong_answers"]:
        failures.append(f"{summary['wrong_answers']} wrong answers: {summary['wrong_answer_examples']}")
    if rows["missing_rows"] or rows["mismatched_adjusted_cpc"]:
        failures.append(f"acknowledged bids without their exact row: {rows}")
    if not alive:
        failures.append("the service did not survive the soak under the same PID")

    result = {
        "check": "soak", "binary": str(binary), "duration_s": args.duration, "warmup_s": warmup,
        "rate_scenarios_per_s": args.rate, "clients": args.clients, "interval_s": args.interval,
        "figures": figures, "requests": summary["requests"], "by_status": summary["by_status"],
        "by_kind": summary["by_kind"], "latency_ms": summary["latency_ms"], "late_over_1s": summary["late"],
        "rowcheck": rows, "abandoned_complete_bids": summary["abandoned_complete_bids"],
        "service_exit_status": exit_code, "samples": under_load,
        "failures": failures, "passed": not failures,
    }
    text = json.dumps(result, indent=2)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    if args.svg:
        title = (f"bidengine soak: {args.duration / 60:.0f} min, {summary['requests']} requests, "
                 f"RSS growth after warm-up {figures.get('rss_growth_pct', '?')}%")
        Path(args.svg).parent.mkdir(parents=True, exist_ok=True)
        Path(args.svg).write_text(svg_plot(under_load, title, warmup_s=warmup))
    brief = {k: result[k] for k in ("figures", "requests", "by_status", "latency_ms", "failures", "passed")}
    brief["rowcheck"] = {k: rows[k] for k in ("acknowledged", "rows", "missing_rows", "mismatched_adjusted_cpc",
                                              "rows_never_acknowledged")}
    log("soak " + ("PASSED" if not failures else "FAILED") + "\n" + json.dumps(brief, indent=2))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
