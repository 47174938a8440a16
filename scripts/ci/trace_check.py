"""Traces end to end against a real OTLP/HTTP receiver (run through scripts/ci/trace-check.sh).

  python -m scripts.ci.trace_check [--binary PATH]

1. An OTLP/HTTP receiver on loopback (a free port) takes `POST /v1/traces` with JSON bodies and
   decodes each as an `ExportTraceServiceRequest` with opentelemetry-proto (the OTLP JSON
   encoding: hex ids turned into protobuf's base64 first, as collectors do), so a body that does
   not follow the schema fails the check.
2. A real `bidengine serve` (its own embedded PostgreSQL) exports to it with the standard
   variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER) and answers:
   a bid with the client's `traceparent`; a bulk request of three bids with another; a bid with
   an unsampled `traceparent` (parent-based sampling: nothing exported); a bid without one.
3. Checks: the bid's request span continues the client's trace with the client's span as parent,
   its queue and statement spans are children of it, with the batch size, rows, loop and outcome;
   the bulk request has one trace with one statement of three bids; the unsampled trace is absent;
   the access log carries the same trace and span ids; answers carry Server-Timing; /metrics counts
   the exported spans.
4. Tracing off (OTEL_SDK_DISABLED=true with the endpoint still set): a second server exports
   nothing while its access log still has trace ids.
5. The blocking work: `bidengine audit`, `maintain` and `poll` as one-shot commands, and
   `bidengine schedule`, each exporting a trace of its steps or pages (scripts/ci/trace_check_jobs.py
   says what is checked).

Prints one PASS/FAIL line per check; exit status 0 when all passed, 1 otherwise, 2 on set-up errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from scripts.ci.otlp_receiver import Receiver, one, wait_for
from scripts.ci.trace_check_jobs import check_commands, check_scheduler
from scripts.lib.check_report import Report
from scripts.lib.loadmix import Service, install_signal_cleanup, log

ROOT = Path(__file__).resolve().parents[2]

BID = b'{"product_id":123,"current_cpc":1.5,"target_roas":150}'
BULK = json.dumps({"bids": [{"product_id": 200 + i, "current_cpc": "1.50", "target_roas": "150"}
                            for i in range(3)]}).encode()
SERVER_TIMING = re.compile(r"^queue;dur=\d+\.\d\d, db;dur=\d+\.\d\d, total;dur=\d+\.\d\d$")


# MARK: - Requests


def post(service: Service, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def get(service: Service, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    conn.request("GET", path)
    text = conn.getresponse().read().decode()
    conn.close()
    return text


def access_lines(service: Service) -> list[dict[str, Any]]:
    lines = []
    for line in service.log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("type") == "access":
            lines.append(entry)
    return lines


# MARK: - Checks


def check_traced(report: Report, binary: Path, receiver: Receiver) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}", "OTEL_SERVICE_NAME": "trace-check",
           "OTEL_TRACES_SAMPLER": "parentbased_always_on", "OTEL_BSP_SCHEDULE_DELAY": "200", "ACCESS_LOG": "true",
           "THREADS": "1"}
    with Service(binary, env=env) as service:
        service.start_or_exit()
        bid_trace, bid_parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"  # pragma: allowlist secret (W3C example ids)
        bulk_trace, bulk_parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"  # pragma: allowlist secret (W3C example ids)
        quiet_trace = "11111111111111111111111111111111"
        status, headers, _ = post(service, "/api/bid", BID,
                                  {"traceparent": f"00-{bid_trace}-{bid_parent}-01", "tracestate": "vendor=opaque"})
        report.check(status == 200 and bool(SERVER_TIMING.match(headers.get("server-timing", ""))),
                     "bid answer             200 with Server-Timing queue, db, total",
                     [f"status {status}", f"server-timing {headers.get('server-timing')}"])
        status, headers, _ = post(service, "/api/bids/batch", BULK, {"traceparent": f"00-{bulk_trace}-{bulk_parent}-01"})
        report.check(status == 200 and bool(SERVER_TIMING.match(headers.get("server-timing", ""))),
                     "bulk answer            200 with Server-Timing", [f"status {status}", f"{headers}"])
        post(service, "/api/bid", BID, {"traceparent": f"00-{quiet_trace}-{bid_parent}-00"})
        post(service, "/api/bid", BID, {"traceparent": "00-not-a-traceparent-01"})

        wait_for(lambda: len(receiver.trace(bid_trace)) >= 3 and len(receiver.trace(bulk_trace)) >= 3
                 and len(receiver.spans) >= 9, 15)
        report.check(not receiver.errors, "OTLP bodies            every export decodes as ExportTraceServiceRequest",
                     receiver.errors)

        spans = receiver.trace(bid_trace)
        request, queue, statement = one(spans, "POST /api/bid"), one(spans, "bid write queue"), one(spans, "INSERT bids")
        problems = []
        if not (request and queue and statement):
            problems.append(f"spans of the bid's trace: {[s['name'] for s in spans]}")
        else:
            if request["parent"] != bid_parent:
                problems.append(f"request span's parent {request['parent']}, sent {bid_parent}")
            if request["kind"] != 2 or request["attributes"].get("http.response.status_code") != 200:
                problems.append(f"request span {request}")
            if request["attributes"].get("http.route") != "/api/bid" or request["state"] != "vendor=opaque":
                problems.append(f"request span route/state {request}")
            if request["service"] != "trace-check":
                problems.append(f"service.name {request['service']}")
            for child in (queue, statement):
                if child["parent"] != request["span"]:
                    problems.append(f"{child['name']}: parent {child['parent']}, request span {request['span']}")
                if not (request["start"] <= child["start"] <= child["end"] <= request["end"] + 1_000_000):
                    problems.append(f"{child['name']} not within the request span")
            attributes = statement["attributes"]
            expected = {"bidengine.batch.bids": 1, "db.response.returned_rows": 1, "bidengine.outcome": "committed",
                        "db.system.name": "postgresql", "bidengine.loop": attributes.get("bidengine.loop")}
            if any(attributes.get(k) != v for k, v in expected.items()) or not attributes.get("bidengine.loop"):
                problems.append(f"statement attributes {attributes}")
            if statement["kind"] != 3 or queue["links"] != [(bid_trace, statement["span"])]:
                problems.append(f"statement kind {statement['kind']}, queue links {queue['links']}")
        report.check(not problems, "bid spans              request (client's trace and parent), queue and "
                     "statement children with batch size, rows, loop, outcome", problems)

        spans = receiver.trace(bulk_trace)
        request, queue, statement = (one(spans, "POST /api/bids/batch"), one(spans, "bid write queue"),
                                     one(spans, "INSERT bids"))
        problems = []
        if not (request and queue and statement) or len(spans) != 3:
            problems.append(f"spans of the bulk trace: {[s['name'] for s in spans]}")
        else:
            if request["parent"] != bulk_parent:
                problems.append(f"request span's parent {request['parent']}")
            if queue["parent"] != request["span"] or statement["parent"] != request["span"]:
                problems.append("queue or statement not a child of the request span")
            if statement["attributes"].get("bidengine.batch.bids") != 3 or \
                    statement["attributes"].get("db.response.returned_rows") != 3 or \
                    queue["attributes"].get("bidengine.bids") != 3:
                problems.append(f"statement {statement['attributes']}, queue {queue['attributes']}")
            if request["attributes"].get("bidengine.stored") != "3":
                problems.append(f"request attributes {request['attributes']}")
        report.check(not problems, "bulk spans             one trace, one statement of 3 bids under the request",
                     problems)

        report.check(not receiver.trace(quiet_trace), "unsampled parent       nothing exported for flags 00",
                     [f"{len(receiver.trace(quiet_trace))} spans"])
        fresh = [s for s in receiver.spans if s["name"] == "POST /api/bid" and s["parent"] == ""]
        report.check(len(fresh) == 1, "malformed traceparent  a new root trace", [f"{len(fresh)} root bid spans"])

        lines = access_lines(service)
        by_trace = {line.get("trace_id"): line for line in lines if line.get("path") in ("/api/bid", "/api/bids/batch")}
        bid_request = one(receiver.trace(bid_trace), "POST /api/bid")
        problems = []
        for trace_id in (bid_trace, bulk_trace, quiet_trace):
            if trace_id not in by_trace:
                problems.append(f"no access line with trace_id {trace_id}")
        if bid_request and by_trace.get(bid_trace, {}).get("span_id") != bid_request["span"]:
            problems.append(f"access span_id {by_trace.get(bid_trace, {}).get('span_id')}, span {bid_request['span']}")
        if any(not re.fullmatch(r"[0-9a-f]{32}", l.get("trace_id", "")) or
               not re.fullmatch(r"[0-9a-f]{16}", l.get("span_id", "")) for l in lines):
            problems.append("an access line without trace_id and span_id")
        report.check(not problems, "access log             every line has trace_id and span_id; the same ids as "
                     "the spans", problems)

        metrics = get(service, "/metrics")
        exported = re.search(r'^bidengine_trace_spans_total\{outcome="exported"\} (\d+)$', metrics, re.MULTILINE)
        dropped = re.search(r'^bidengine_trace_spans_total\{outcome="dropped"\} (\d+)$', metrics, re.MULTILINE)
        report.check(bool(exported and int(exported.group(1)) >= 9 and dropped and dropped.group(1) == "0"),
                     "metrics                exported spans counted, none dropped",
                     [line for line in metrics.splitlines() if "trace_spans" in line])


def check_off(report: Report, binary: Path, receiver: Receiver) -> None:
    before = receiver.requests
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}", "OTEL_SDK_DISABLED": "true",
           "OTEL_BSP_SCHEDULE_DELAY": "200", "ACCESS_LOG": "true", "THREADS": "1"}
    with Service(binary, env=env) as service:
        service.start_or_exit()
        trace_id = "22222222222222222222222222222222"
        status, _, _ = post(service, "/api/bid", BID, {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        time.sleep(1.5)
        lines = [line for line in access_lines(service) if line.get("trace_id") == trace_id]
        report.check(status == 200 and receiver.requests == before and len(lines) == 1,
                     "tracing off            nothing exported; the access log still names the trace",
                     [f"status {status}", f"exports {receiver.requests - before}", f"access lines {len(lines)}"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, default=ROOT / ".build" / "debug" / "bidengine")
    args = parser.parse_args()
    if not args.binary.exists():
        log(f"no binary at {args.binary}: make build first")
        return 2
    install_signal_cleanup()
    report = Report()
    receiver = Receiver()
    try:
        check_traced(report, args.binary, receiver)
        check_off(report, args.binary, receiver)
        check_commands(report, args.binary, receiver)
        check_scheduler(report, args.binary, receiver)
    finally:
        receiver.stop()
    print(f"trace-check: {report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
