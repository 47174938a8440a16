"""The trace checks of the blocking work (run by scripts/ci/trace_check.py against the same receiver).

1. One-shot commands against the embedded cluster of a `bidengine serve` (tracing off there), each
   with `TRACEPARENT` naming a caller's span and an export interval of a minute, so that their
   spans reach the receiver only because the command flushes before it exits:
   - `bidengine audit` of three seeded bids, two flagged: the root `audit` continues the caller's
     trace with the caller's span as parent, and its steps are its children with bids read,
     flags written, the run id;
   - `bidengine maintain` with retentions: the root `maintenance` and a span per step;
   - `bidengine poll` against a fake competitor of 25 products in pages of 10: the root `poll`,
     one `poll source` with its counters, three `poll page` client spans with page numbers,
     skips, HTTP status 200 and items;
   - `bidengine maintain` with OTEL_SDK_DISABLED=true: nothing exported.
2. `bidengine schedule` with tracing on: its catch-up audit, its maintenance pass and a poll each
   export a trace; its /metrics counts the exported spans.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from scripts.ci.otlp_receiver import Receiver, one, wait_for
from scripts.lib.check_report import Report
from scripts.lib.fake_http import QuietJSONHandler
from scripts.lib.loadmix import Service, log

ROOT = Path(__file__).resolve().parents[2]
AUDIT_TRACE, AUDIT_CALLER = "5bf92f3577b34da6a3ce929d0e0e4736", "10f067aa0ba902b7"  # pragma: allowlist secret (example ids)
MAINTAIN_TRACE, MAINTAIN_CALLER = "6bf92f3577b34da6a3ce929d0e0e4736", "20f067aa0ba902b7"  # pragma: allowlist secret (example ids)
POLL_TRACE, POLL_CALLER = "7bf92f3577b34da6a3ce929d0e0e4736", "30f067aa0ba902b7"  # pragma: allowlist secret (example ids)
# The legacy audit's bids: three in the window ending at AS_OF, two of them flagged at 20 %.
AS_OF = "2026-06-15T02:00:00Z"
BIDS = [(1, "1.00", "1.10", "2026-06-14T10:00:00Z"), (2, "2.00", "3.30", "2026-06-13T10:00:00Z"),
        (4, "5.00", "7.00", "2026-06-10T10:00:00Z")]
PRODUCTS = 25


class Competitor:
    """A products listing of PRODUCTS items on loopback, paged by `limit` and `skip` like DummyJSON."""

    def __init__(self) -> None:
        class Handler(QuietJSONHandler):
            def do_GET(self) -> None:
                query = dict(part.split("=", 1) for part in self.path.partition("?")[2].split("&") if "=" in part)
                skip, limit = int(query.get("skip", "0")), int(query.get("limit", "100"))
                products = [{"id": i, "title": f"Product {i}", "brand": "Acme", "category": "tools", "price": 10 + i}
                            for i in range(1 + skip, 1 + min(PRODUCTS, skip + limit))]
                self.send_json({"products": products, "total": PRODUCTS, "skip": skip, "limit": limit})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()


def command_env(service: Service, receiver: Receiver, extra: dict[str, str]) -> dict[str, str]:
    cluster = service.cluster
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "TRACEPARENT"}
    env.update({
        "DATABASE_URL": f"postgresql://postgres@/{cluster.database}?host={cluster.socket_dir}&port={cluster.port}",
        "BIDENGINE_MIGRATIONS_DIR": str(ROOT / "Migrations"), "LOG_LEVEL": "info",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}", "OTEL_SERVICE_NAME": "trace-check-jobs",
        # A minute between exports: what arrives before the command exits was flushed at its end.
        "OTEL_BSP_SCHEDULE_DELAY": "60000", "COMPETITOR_SOURCES": "",
    })
    env.update(extra)
    return env


def run(binary: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    log("running:", " ".join([str(binary), *args]))
    return subprocess.run([str(binary), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def children(spans: list[dict[str, Any]], parent: dict[str, Any] | None) -> list[str]:
    return [span["name"] for span in spans if parent and span["parent"] == parent["span"]]


def check_commands(report: Report, binary: Path, receiver: Receiver) -> None:
    competitor = Competitor()
    with Service(binary, env={"THREADS": "1"}) as service:
        service.start_or_exit()
        rows = ", ".join(f"({p}, {c}, 100, {a}, '{t}')" for p, c, a, t in BIDS)
        service.cluster.psql(
            f"INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) VALUES {rows}")
        with tempfile.TemporaryDirectory(prefix="trace-check-") as work:
            check_audit(report, binary, receiver, service, Path(work))
        check_maintain(report, binary, receiver, service)
        check_poll(report, binary, receiver, service, competitor)
        before = receiver.requests
        done = run(binary, ["maintain"], command_env(service, receiver, {"OTEL_SDK_DISABLED": "true"}))
        report.check(done.returncode == 0 and receiver.requests == before,
                     "jobs: tracing off      maintain exports nothing",
                     [f"exit {done.returncode}", f"exports {receiver.requests - before}", done.stderr[-500:]])
    competitor.stop()


def check_audit(report: Report, binary: Path, receiver: Receiver, service: Service, work: Path) -> None:
    env = command_env(service, receiver, {"TRACEPARENT": f"00-{AUDIT_TRACE}-{AUDIT_CALLER}-01"})
    done = run(binary, ["audit", "--as-of", AS_OF, "--format", "json", "--output", str(work / "audit.json")], env)
    spans = receiver.trace(AUDIT_TRACE)
    root = one(spans, "audit")
    problems = [] if done.returncode == 0 else [f"exit {done.returncode}: {done.stderr[-1500:]}"]
    expected = ["audit claim run", "audit wait for commits", "audit clear earlier results", "audit read bids",
                "audit write flags", "audit store summary"]
    if not root:
        problems.append(f"spans of the audit's trace: {[s['name'] for s in spans]}")
    else:
        if root["parent"] != AUDIT_CALLER or root["service"] != "trace-check-jobs":
            problems.append(f"root parent {root['parent']}, service {root['service']}")
        if sorted(children(spans, root)) != sorted(expected) or len(spans) != len(expected) + 1:
            problems.append(f"children {children(spans, root)}")
        attributes = root["attributes"]
        run_id = json.loads((work / "audit.json").read_text())["run"]["id"] if done.returncode == 0 else None
        want = {"bidengine.audit.as_of": AS_OF, "bidengine.audit.trigger": "manual",
                "bidengine.audit.bids_reviewed": 3, "bidengine.audit.bids_flagged": 2,
                "bidengine.audit.run_id": run_id, "bidengine.outcome": "succeeded"}
        if any(attributes.get(k) != v for k, v in want.items()):
            problems.append(f"root attributes {attributes}, run id {run_id}")
        read, written = one(spans, "audit read bids"), one(spans, "audit write flags")
        if not read or read["attributes"].get("bidengine.audit.bids_read") != 3:
            problems.append(f"audit read bids {read}")
        if not written or written["attributes"].get("bidengine.audit.flags_written") != 2:
            problems.append(f"audit write flags {written}")
        if any(not (root["start"] <= s["start"] <= s["end"] <= root["end"]) for s in spans if s is not root):
            problems.append("a step outside the run's span")
    report.check(not problems, "jobs: audit            the caller's trace; a span per step under the run, "
                 "bids read and flags written; flushed before exit", problems)


def check_maintain(report: Report, binary: Path, receiver: Receiver, service: Service) -> None:
    env = command_env(service, receiver, {"TRACEPARENT": f"00-{MAINTAIN_TRACE}-{MAINTAIN_CALLER}-01",
                                          "AUDIT_RETENTION": "3650d", "COMPETITOR_PRICES_RETENTION": "3650d"})
    done = run(binary, ["maintain", "--format", "json"], env)
    spans = receiver.trace(MAINTAIN_TRACE)
    root = one(spans, "maintenance")
    problems = [] if done.returncode == 0 else [f"exit {done.returncode}: {done.stderr[-1500:]}"]
    expected = ["maintenance delete audit runs", "maintenance create partitions",
                "maintenance delete competitor prices"]
    if not root:
        problems.append(f"spans of the pass's trace: {[s['name'] for s in spans]}")
    else:
        actions = len(json.loads(done.stdout)["actions"]) if done.returncode == 0 else None
        if root["parent"] != MAINTAIN_CALLER or children(spans, root) != expected or len(spans) != 4:
            problems.append(f"root parent {root['parent']}, children {children(spans, root)}")
        if root["attributes"] != {"bidengine.maintenance.dry_run": False, "bidengine.maintenance.skipped": False,
                                  "bidengine.maintenance.actions": actions, "bidengine.outcome": "succeeded"}:
            problems.append(f"root attributes {root['attributes']}, report actions {actions}")
        if any(s["attributes"].get("bidengine.maintenance.actions") != 0 for s in spans if s is not root):
            problems.append(f"steps {[(s['name'], s['attributes']) for s in spans]}")
    report.check(not problems, "jobs: maintain         the caller's trace; a span per step, each saying "
                 "what it did", problems)


def check_poll(report: Report, binary: Path, receiver: Receiver, service: Service, competitor: Competitor) -> None:
    env = command_env(service, receiver, {"TRACEPARENT": f"00-{POLL_TRACE}-{POLL_CALLER}-01",
                                          "POLL_PAGE_SIZE": "10", "POLL_RATE_PER_MINUTE": "6000"})
    done = run(binary, ["poll", "--source", competitor.url], env)
    spans = receiver.trace(POLL_TRACE)
    root, source = one(spans, "poll"), one(spans, "poll source")
    problems = [] if done.returncode == 0 else [f"exit {done.returncode}: {done.stderr[-1500:]}"]
    if not (root and source):
        problems.append(f"spans of the poll's trace: {[s['name'] for s in spans]}")
    else:
        run_id = re.search(r"run=(\d+)", done.stdout)
        if root["parent"] != POLL_CALLER or source["parent"] != root["span"]:
            problems.append(f"root parent {root['parent']}, source parent {source['parent']}")
        want = {"bidengine.poll.competitor": competitor.url, "bidengine.poll.status": "ok",
                "bidengine.poll.pages": 3, "bidengine.poll.requests": 3, "bidengine.poll.items": PRODUCTS,
                "bidengine.poll.stored": PRODUCTS, "bidengine.poll.rejected": 0, "bidengine.poll.errors": 0,
                "bidengine.poll.run_id": int(run_id.group(1)) if run_id else None}
        if source["attributes"] != want:
            problems.append(f"source attributes {source['attributes']}")
        pages = sorted((s for s in spans if s["name"] == "poll page"), key=lambda s: s["attributes"]["bidengine.poll.page"])
        seen = [(p["parent"] == source["span"], p["kind"], p["attributes"].get("bidengine.poll.page"),
                 p["attributes"].get("bidengine.poll.skip"), p["attributes"].get("http.response.status_code"),
                 p["attributes"].get("bidengine.poll.items"), p["attributes"].get("bidengine.outcome")) for p in pages]
        if seen != [(True, 3, 1, 0, 200, 10, "stored"), (True, 3, 2, 10, 200, 10, "stored"),
                    (True, 3, 3, 20, 200, 5, "stored")]:
            problems.append(f"pages {seen}")
    report.check(not problems, "jobs: poll             the caller's trace; the source, and a client span per "
                 "page with its number, skip, HTTP status and items", problems)


def check_scheduler(report: Report, binary: Path, receiver: Receiver) -> None:
    competitor = Competitor()
    with Service(binary, env={"THREADS": "1"}) as service:
        service.start_or_exit()
        env = command_env(service, receiver, {"OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_SERVICE_NAME": "trace-check-schedule",
                                              "COMPETITOR_SOURCES": competitor.url, "POLL_INTERVAL": "2s",
                                              "POLL_PAGE_SIZE": "10", "POLL_RATE_PER_MINUTE": "6000"})
        log_path = service.state_dir / "schedule.log"
        with open(log_path, "wb") as logfile:
            scheduler = subprocess.Popen([str(binary), "schedule", "--metrics-port", "0"], env=env, cwd=ROOT,
                                         stdout=logfile, stderr=subprocess.STDOUT)
            try:
                def roots(name: str) -> list[dict[str, Any]]:
                    with receiver.lock:
                        return [s for s in receiver.spans
                                if s["name"] == name and s["parent"] == "" and s["service"] == "trace-check-schedule"]
                wait_for(lambda: roots("audit") and roots("maintenance") and roots("poll"), 60)
                port = next((int(json.loads(line)["address"].rsplit(":", 1)[1])
                             for line in log_path.read_text(errors="replace").splitlines()
                             if '"msg":"metrics endpoint serving"' in line), 0)
                metrics = ""
                if port:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("GET", "/metrics")
                    metrics = conn.getresponse().read().decode()
                    conn.close()
            finally:
                scheduler.terminate()
                scheduler.wait(timeout=60)
        problems = []
        audit, maintenance, poll = roots("audit"), roots("maintenance"), roots("poll")
        if not (audit and maintenance and poll):
            problems.append(f"roots: audit {len(audit)}, maintenance {len(maintenance)}, poll {len(poll)}; log:\n"
                            + log_path.read_text(errors="replace")[-2000:])
        else:
            if audit[0]["attributes"].get("bidengine.audit.trigger") != "schedule":
                problems.append(f"audit root {audit[0]['attributes']}")
            for root in (audit[0], maintenance[0], poll[0]):
                if len(receiver.trace(root["trace"])) < 2:
                    problems.append(f"{root['name']}: no step spans")
        exported = re.search(r'^bidengine_trace_spans_total\{outcome="exported"\} (\d+)$', metrics, re.MULTILINE)
        if not (exported and int(exported.group(1)) > 0):
            problems.append("scheduler /metrics: " + str([l for l in metrics.splitlines() if "trace_spans" in l]))
        report.check(not problems, "jobs: schedule         the catch-up audit, the maintenance pass and a poll "
                     "each a trace of its own; /metrics counts exported spans", problems)
    competitor.stop()
