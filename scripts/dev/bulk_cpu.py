#!/usr/bin/env python3
"""Section 8 (bulk, closed loop) of several server binaries in turn, with the CPU each run used.

  python3 -m scripts.dev.bulk_cpu --binary old=OLD_BIN --binary new=NEW_BIN [--runs 6]
                                  [--benchmarks .build/release/Benchmarks] [--duration 8]
                                  [--migrations NAME=DIR ...] [--lock FILE] [--output DIR]

Runs `Benchmarks --server-binary BIN --skip micro,http,db,audit,slowloris,isolation --rounds 1
--duration D --rate-duration 2` for each binary in turn, `--runs` times (the order alternates each
time: A B, B A, ...), always with the same Benchmarks binary. While a run goes on, the CPU of the
server, of the PostgreSQL cluster (the postmaster, its children, and the children it reaped) and
of the load generator is read from /proc every 0.25 s, and the server's `GET /metrics` is read at
both ends of each closed-loop window (its statement-size histogram). Reported per run and shape:
bids/s, cores used and µs of CPU per bid by each, the cores that other processes niced to 19 took
meanwhile (a run they took more than 0.15 cores from is marked `*`), statements and bids per
statement. Then, per binary, the medians of bulk100's figures. `--lock FILE` takes an exclusive
flock on FILE for each run only, so that a long comparison shares a measurement lock in slices.
`--migrations NAME=DIR` gives a binary its own migrations (an older build refuses newer ones).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")
SHAPE_LINE = re.compile(r"· (single|bulk10|bulk100): closed loop, (\d+) connections, round (\d+)")


def proc_stat(pid: int | None) -> tuple[int, int, int] | None:
    """(ppid, own CPU ticks, reaped children's CPU ticks), or None when the process is gone."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def cmdline(pid: str | int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read().replace("\0", " ")
    except OSError:
        return ""


def machine_ticks() -> list[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


class Run:
    """One Benchmarks invocation, sampled."""

    def __init__(self, benchmarks: str, binary: str, label: str, output: str, duration: float, env: dict):
        self.label, self.output, self.duration = label, output, duration
        self.state = f"/tmp/bulk-cpu-{os.getpid()}-{label}"
        self.report_path = f"{output}/{label}.json"
        options = ["--skip", "micro,http,db,audit,slowloris,isolation", "--rounds", "1", "--duration", str(duration)]
        options += ["--rate-duration", "2", "--state-dir", self.state, "--json", self.report_path]
        self.process = subprocess.Popen(
            [benchmarks, "--server-binary", binary, *options],
            stdout=open(f"{output}/{label}.txt", "w"), stderr=subprocess.PIPE, text=True, env={**os.environ, **env},
        )
        self.lines: list[tuple[float, str]] = []
        self.metrics: dict[tuple[str, int, str], str] = {}
        self.server: int | None = None

    def scrape(self, key: tuple[str, int], start: float) -> None:
        for tag, at in (("a", start + 1.4), ("b", start + 1 + self.duration - 0.1)):
            time.sleep(max(0.0, at - time.monotonic()))
            port = re.search(r" --port (\d+)", cmdline(self.server or 0))
            if port:
                with contextlib.suppress(OSError):
                    url = f"http://127.0.0.1:{port.group(1)}/metrics"
                    self.metrics[(*key, tag)] = urllib.request.urlopen(url, timeout=2).read().decode()

    def read_progress(self) -> None:
        for line in self.process.stderr:
            now = time.monotonic()
            self.lines.append((now, line.rstrip()))
            if match := SHAPE_LINE.match(line):
                key = (match.group(1), int(match.group(2)))
                threading.Thread(target=self.scrape, args=(key, now), daemon=True).start()

    def sample(self) -> list[dict]:
        threading.Thread(target=self.read_progress, daemon=True).start()
        samples, postmaster, children, scanned = [], None, [], 0.0
        while self.process.poll() is None:
            now = time.monotonic()
            if now - scanned > 0.5:
                scanned = now
                pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
                if proc_stat(self.server) is None:
                    self.server = next(
                        (p for p in pids if (proc_stat(p) or (0,))[0] == self.process.pid and " serve " in cmdline(p)),
                        None,
                    )
                if proc_stat(postmaster) is None:
                    postmaster = next((p for p in pids if f"-D {self.state}/" in cmdline(p)), None)
                children = [p for p in pids if postmaster and (proc_stat(p) or (0,))[0] == postmaster]
            server, pg, generator = proc_stat(self.server), proc_stat(postmaster), proc_stat(self.process.pid)
            pg_ticks = None
            if pg:
                pg_ticks = pg[1] + pg[2] + sum((s or (0, 0))[1] for s in map(proc_stat, children))
            samples.append({
                "t": now, "server": server and server[1], "pg": pg_ticks,
                "generator": generator and generator[1], "machine": machine_ticks(),
            })
            time.sleep(0.25)
        return samples


def at(samples: list[dict], key: str, t: float):
    """A cumulative counter at time t, interpolated between samples."""
    before = None
    for sample in samples:
        value = sample[key]
        if value is None:
            continue
        if sample["t"] >= t:
            if before is None:
                return value
            t0, v0 = before
            share = (t - t0) / (sample["t"] - t0)
            if isinstance(value, list):
                return [a + (b - a) * share for a, b in zip(v0, value)]
            return v0 + (value - v0) * share
        before = (sample["t"], value)
    return before[1] if before else None


def histogram(text: str | None) -> tuple[float, float]:
    """Statements and bids from `bidengine_bid_batch_size`."""
    values = dict.fromkeys(("count", "sum"), 0.0)
    for line in (text or "").splitlines():
        for name in values:
            if line.startswith(f"bidengine_bid_batch_size_{name} "):
                values[name] = float(line.split()[1])
    return values["count"], values["sum"]


def analyse(run: Run, samples: list[dict]) -> list[dict]:
    with open(run.report_path) as f:
        runs = json.load(f)["bulk"]["runs"]
    rows = []
    for started, line in run.lines:
        match = SHAPE_LINE.match(line)
        figures = match and next(
            (r for r in runs if (r["name"], r["connections"], r["round"]) == (match[1], int(match[2]), int(match[3]))),
            None,
        )
        if not figures:
            continue
        a, b = started + 1.4, started + 1 + run.duration - 0.1
        cores = {}
        for key in ("server", "pg", "generator"):
            first, last = at(samples, key, a), at(samples, key, b)
            cores[key] = (last - first) / TICK / (b - a) if first is not None and last is not None else float("nan")
        ticks = [y - x for x, y in zip(at(samples, "machine", a), at(samples, "machine", b))]
        key = (match[1], int(match[2]))
        count_a, bids_a = histogram(run.metrics.get((*key, "a")))
        count_b, bids_b = histogram(run.metrics.get((*key, "b")))
        statements = count_b - count_a
        rate = figures["bidsPerSecond"]
        rows.append({
            "run": run.label, "shape": match[1], "connections": int(match[2]), "bids_per_s": rate,
            **{f"{k}_cores": v for k, v in cores.items()}, **{f"{k}_us": v * 1e6 / rate for k, v in cores.items()},
            "nice_cores": os.cpu_count() * ticks[1] / sum(ticks),
            "statements": statements, "bids_per_statement": (bids_b - bids_a) / statements if statements else None,
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", action="append", required=True, help="NAME=PATH of a server binary")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--benchmarks", default=".build/release/Benchmarks")
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--migrations", action="append", default=[], help="NAME=DIR: that binary's migrations")
    parser.add_argument("--lock", help="flock this file around each run")
    parser.add_argument("--output", default=f"/tmp/bulk-cpu-{os.getpid()}")
    args = parser.parse_args()
    binaries = [tuple(b.split("=", 1)) for b in args.binary]
    migrations = dict(m.split("=", 1) for m in args.migrations)
    os.makedirs(args.output, exist_ok=True)
    rows = []
    for number in range(1, args.runs + 1):
        for name, binary in binaries if number % 2 else reversed(binaries):
            env = {"BIDENGINE_MIGRATIONS_DIR": migrations[name]} if name in migrations else {}
            with open(args.lock or os.devnull) as lock:
                if args.lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                run = Run(args.benchmarks, binary, f"{name}-{number}", args.output, args.duration, env)
                samples = run.sample()
            if run.process.returncode != 0:
                print(f"{run.label}: Benchmarks exited {run.process.returncode}", file=sys.stderr)
                continue
            for row in analyse(run, samples):
                rows.append(row)
                mark = "*" if row["nice_cores"] > 0.15 else " "
                print(
                    f"{row['run']:<10} {row['shape']:<8} {row['connections']:>3} {row['bids_per_s']:>9,.0f}{mark} "
                    f"server {row['server_cores']:.2f} cores {row['server_us']:6.2f} µs/bid  "
                    f"PostgreSQL {row['pg_cores']:.2f} cores {row['pg_us']:6.2f} µs/bid  "
                    f"generator {row['generator_us']:5.2f} µs/bid  nice {row['nice_cores']:.2f}  "
                    f"{row['bids_per_statement'] or 0:5.0f} bids/statement",
                    flush=True,
                )
    with open(f"{args.output}/rows.json", "w") as f:
        json.dump(rows, f, indent=1)
    print("\nbulk100, medians of the runs (* runs included)")
    for name, _ in binaries:
        for connections in (16, 64):
            mine = [r for r in rows if r["run"].startswith(f"{name}-") and r["shape"] == "bulk100"
                    and r["connections"] == connections]
            if mine:
                median = {k: statistics.median(r[k] for r in mine) for k in ("bids_per_s", "server_us", "pg_us")}
                print(f"  {name:<12} {connections:>3} connections: {median['bids_per_s']:>9,.0f} bids/s, server "
                      f"{median['server_us']:.2f} µs/bid, PostgreSQL {median['pg_us']:.2f} µs/bid ({len(mine)} runs)")
    print(f"reports: {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
