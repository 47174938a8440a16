"""The chart's alert rules and dashboard, checked offline (run through scripts/ci/monitoring-check.sh).

  python -m scripts.ci.monitoring_check [--rules-only] [--binary PATH] [--keep DIR]

1. Renders chart/ with prometheusRule and grafanaDashboard enabled (helm-python-sdk, no helm binary).
2. Every alert has a severity, a summary, a description and a runbook_url whose anchor is a
   "## <alert>" section of docs/operations.md.
3. `promtool check rules`, then `promtool test rules` with chart/tests/prometheus/alerts.test.yaml
   (on a copy of the rules that keeps only the runbook_url annotation).
4. Unless --rules-only, the live check: a real Prometheus on loopback (free port, own temporary
   directory, 1 s scrapes and rule evaluations, rules rendered with rateWindow=20s) scrapes a real
   `bidengine serve` (its own embedded PostgreSQL) and a real `bidengine schedule --metrics-port 0`
   (the nightly audit catches up at once; the poller polls a local products source every 2 s),
   while a load runs and the cluster is stopped and started again. Checks, through Prometheus's
   HTTP API: every metric a rule or a panel names exists; every selector of a rule matches scraped
   series (labels included; failures the run does not cause are exempt); every rule evaluates
   without error;
   BidEngineDatabaseUnavailable is pending or firing during the outage and gone after it; every
   panel query returns a number at the end of the load.

Prints one PASS/FAIL line per check; exit status 0 when all passed, 1 otherwise, 2 on set-up errors.
"""

from __future__ import annotations

import argparse
import http.server
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parents[2]
from scripts.lib.check_report import Report, free_port
from scripts.lib.loadmix import (
    DEFAULT_WEIGHTS,
    LoadMix,
    Service,
    install_signal_cleanup,
    log,
)

CHART = ROOT / "chart"
RELEASE = NAMESPACE = "bidengine"
RULE_TESTS = CHART / "tests" / "prometheus" / "alerts.test.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"
DB_DOWN_ALERT = "BidEngineDatabaseUnavailable"
# The dashboard's $__rate_interval in the live check: a few 1 s scrapes.
RATE_INTERVAL = "20s"
# How long the database stays down.
OUTAGE_SECONDS = 10



# MARK: - Rendering


def render(overrides: dict[str, Any] | None = None) -> tuple[list[dict], dict]:
    """(rule groups, dashboard) of the chart with both monitoring objects enabled."""
    values: dict[str, Any] = {"prometheusRule": {"enabled": True}, "grafanaDashboard": {"enabled": True}}
    for key, value in (overrides or {}).items():
        values["prometheusRule"][key] = value
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    groups, dashboard = None, None
    for template, text in rendered.items():
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            if doc["kind"] == "PrometheusRule":
                groups = doc["spec"]["groups"]
            if doc["kind"] == "ConfigMap" and doc["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
                dashboard = json.loads(doc["data"]["bidengine.json"])
    if groups is None or dashboard is None:
        raise SystemExit("chart rendered no PrometheusRule or no dashboard ConfigMap")
    return groups, dashboard


def alerts(groups: list[dict]) -> list[dict]:
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def panel_queries(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title, expr) of every target, with the dashboard's variables filled in."""
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$namespace", NAMESPACE).replace("$__rate_interval", RATE_INTERVAL)
            queries.append((panel["title"], expr))
    return queries


METRIC = re.compile(r"\b(bidengine_[a-z0-9_]+|up)\b")
SELECTOR = re.compile(r"\b(?:bidengine_[a-z0-9_]+|up)\{[^}]*\}")
# Label matchers of series that exist only once something the live check does not cause happened.
NOT_PROVOKED = ('outcome="failure"', 'status="failed"')
# Series that exist only when API keys are configured; the live server runs without keys
# (the quota tests in Tests/BidServiceTests/QuotaPostgresTests.swift scrape them).
ONLY_WITH_KEYS = ("bidengine_api_",)


def metric_names(expr: str) -> set[str]:
    # Every series this project's rules and panels read is bidengine_* (or Prometheus's own up).
    return set(METRIC.findall(expr))


# MARK: - Static checks and promtool


def check_alert_fields(report: Report, groups: list[dict]) -> None:
    sections = set(re.findall(r"^## (\w+)\s*$", OPERATIONS.read_text(), re.MULTILINE))
    problems = []
    for rule in alerts(groups):
        name = rule["alert"]
        annotations = rule.get("annotations", {})
        if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
            problems.append(f"{name}: severity is not critical or warning")
        for key in ("summary", "description", "runbook_url"):
            if not annotations.get(key):
                problems.append(f"{name}: no {key}")
        if not annotations.get("runbook_url", "").endswith("#" + name.lower()):
            problems.append(f"{name}: runbook_url does not end with #{name.lower()}")
        if name not in sections:
            problems.append(f"{name}: docs/operations.md has no '## {name}' section")
    stale = sorted(sections - {rule["alert"] for rule in alerts(groups)})
    problems += [f"docs/operations.md: section '## {s}' has no alert" for s in stale]
    report.check(not problems, f"alert fields            {len(alerts(groups))} alerts: severity, summary, "
                 "description, runbook section in docs/operations.md", problems)


def promtool(report: Report, groups: list[dict], work: Path) -> None:
    full = work / "rules-full.yaml"
    full.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    result = subprocess.run(["promtool", "check", "rules", str(full)], capture_output=True, text=True)
    report.check(result.returncode == 0, "promtool check rules", (result.stdout + result.stderr).strip().splitlines())

    tests = work / "tests"
    tests.mkdir()
    trimmed = json.loads(json.dumps(groups))
    for rule in alerts(trimmed):
        rule["annotations"] = {"runbook_url": rule["annotations"]["runbook_url"]}
    (tests / "rules.yaml").write_text(yaml.safe_dump({"groups": trimmed}, sort_keys=False))
    shutil.copy(RULE_TESTS, tests / RULE_TESTS.name)
    result = subprocess.run(["promtool", "test", "rules", RULE_TESTS.name], cwd=tests, capture_output=True, text=True)
    cases = len(yaml.safe_load(RULE_TESTS.read_text())["tests"])
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    report.check(result.returncode == 0, f"promtool test rules     {cases} cases", [] if result.returncode == 0 else output)
    untested = sorted({r["alert"] for r in alerts(groups)} - set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text())))
    report.check(not untested, "every alert has promtool cases", [f"untested: {name}" for name in untested])


# MARK: - Live check



class ProductsSource(http.server.ThreadingHTTPServer):
    """A competitor source on loopback: GET /products answers one page of three products."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProductsHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ProductsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        products = [{"id": i, "title": f"Product {i}", "brand": "Acme", "category": "tools", "price": 10 + i}
                    for i in (1, 2, 3)]
        body = json.dumps({"products": products, "total": 3, "skip": 0, "limit": 100}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Process:
    """A child process logging to a file, stopped with SIGTERM (SIGKILL after 20 s) whatever happens."""

    def __init__(self, name: str, args: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.name, self.log_path = name, log_path
        self.logfile = open(log_path, "wb")
        log(f"starting {name}:", " ".join(args))
        self.process = subprocess.Popen(args, stdout=self.logfile, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.logfile.close()


def start_scheduler(binary: Path, service: Service, source: str, work: Path) -> tuple[Process, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLL_", "AUDIT_", "METRICS_"))}
    cluster = service.cluster
    env.update({
        "DATABASE_URL": f"postgresql://postgres@/{cluster.database}?host={cluster.socket_dir}&port={cluster.port}",
        "BIDENGINE_MIGRATIONS_DIR": str(ROOT / "Migrations"),
        "COMPETITOR_SOURCES": source, "POLL_INTERVAL": "2s", "LOG_LEVEL": "info",
    })
    scheduler = Process("bidengine schedule", [str(binary), "schedule", "--metrics-port", "0"],
                        work / "schedule.log", env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if scheduler.process.poll() is not None:
            raise RuntimeError("bidengine schedule exited early:\n" + scheduler.log_text()[-3000:])
        for line in scheduler.log_text().splitlines():
            if "metrics endpoint serving" in line:
                return scheduler, int(json.loads(line)["address"].rsplit(":", 1)[1])
        time.sleep(0.2)
    raise RuntimeError("bidengine schedule did not report its metrics port:\n" + scheduler.log_text()[-3000:])


class Prometheus:
    def __init__(self, work: Path, rules: list[dict], server_port: int, scheduler_port: int):
        self.dir = work / "prometheus"
        self.dir.mkdir()
        (self.dir / "rules.yaml").write_text(yaml.safe_dump({"groups": rules}, sort_keys=False))
        # The job names the chart's ServiceMonitor and PodMonitor give, and their namespace label.
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
            "rule_files": ["rules.yaml"],
            "scrape_configs": [
                {"job_name": f"{RELEASE}-server",
                 "static_configs": [{"targets": [f"127.0.0.1:{server_port}"], "labels": {"namespace": NAMESPACE}}]},
                {"job_name": f"{NAMESPACE}/{RELEASE}-scheduler",
                 "static_configs": [{"targets": [f"127.0.0.1:{scheduler_port}"], "labels": {"namespace": NAMESPACE}}]},
            ],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.process: Process | None = None
        self.port = 0

    def start(self) -> None:
        for _ in range(5):  # the free port may be taken between probing and binding
            self.port = free_port()
            self.process = Process("prometheus", [
                "prometheus", f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle", "--log.level=warn"], self.dir / "prometheus.log")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.process.process.poll() is None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1).read()
                    return
                except OSError:
                    time.sleep(0.3)
            self.process.stop()
        raise RuntimeError("prometheus did not start:\n" + (self.process.log_text()[-3000:] if self.process else ""))

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def alert_state(self, name: str) -> str:
        states = [a["state"] for a in self.api("alerts")["alerts"] if a["labels"].get("alertname") == name]
        return "firing" if "firing" in states else "pending" if "pending" in states else "inactive"

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def wait_for(what: str, predicate, timeout: float, interval: float = 0.5) -> float | None:
    """Seconds until predicate() held, or None after timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    log(f"gave up waiting for {what} after {timeout:.0f}s")
    return None


def live_check(report: Report, binary: Path, work: Path) -> None:
    groups, dashboard = render({"rateWindow": RATE_INTERVAL})
    source = ProductsSource()
    source.thread.start()
    scheduler: Process | None = None
    prometheus: Prometheus | None = None
    with Service(binary, shutdown_timeout=5) as service:
        try:
            service.start_or_exit()
            scheduler, scheduler_port = start_scheduler(binary, service, source.url, work)
            prometheus = Prometheus(work, groups, service.port, scheduler_port)
            prometheus.start()
            live_phases(report, prometheus, service, groups, dashboard)
        finally:
            if prometheus:
                prometheus.stop()
            if scheduler:
                scheduler.stop()
            source.shutdown()


def live_phases(report: Report, prometheus: Prometheus, service: Service, groups: list[dict], dashboard: dict) -> None:
    up = wait_for("both targets up", lambda: len([r for r in prometheus.api("query", query="up == 1")["result"]]) == 2, 30)
    report.check(up is not None, "live: Prometheus scrapes serve and schedule",
                 [json.dumps(t) for t in prometheus.api("targets")["activeTargets"]] if up is None else None)

    # Readiness probes as the kubelet sends them, plus the usual mix; 503s are expected in the outage.
    weights = dict(DEFAULT_WEIGHTS, readyz=6)
    load = LoadMix(service.url, clients=4, rate=120, allow_503=True, weights=weights, seed=20)
    load.start()
    try:
        time.sleep(10)
        quiet = prometheus.alert_state(DB_DOWN_ALERT)
        report.check(quiet == "inactive", f"live: {DB_DOWN_ALERT} inactive before the outage (state {quiet})")

        log("stopping PostgreSQL")
        stopped = service.cluster.pg_ctl("-m", "fast", "-w", "stop")
        if stopped.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {stopped.stdout}{stopped.stderr}")
        try:
            raised = wait_for(f"{DB_DOWN_ALERT} pending", lambda: prometheus.alert_state(DB_DOWN_ALERT) != "inactive", 40)
            report.check(raised is not None, f"live: {DB_DOWN_ALERT} {prometheus.alert_state(DB_DOWN_ALERT)} during "
                         f"the outage" + (f", {raised:.1f}s after the stop" if raised is not None else ""))
            time.sleep(max(0.0, OUTAGE_SECONDS - (raised or 0)))
            still = prometheus.alert_state(DB_DOWN_ALERT)
            report.check(still != "inactive", f"live: {DB_DOWN_ALERT} still {still} {OUTAGE_SECONDS}s into the outage")
        finally:
            log("starting PostgreSQL")
            service.cluster.start()
        cleared = wait_for(f"{DB_DOWN_ALERT} cleared", lambda: prometheus.alert_state(DB_DOWN_ALERT) == "inactive", 90)
        report.check(cleared is not None, f"live: {DB_DOWN_ALERT} cleared after the outage"
                     + (f", {cleared:.1f}s after the restart" if cleared is not None else ""))
        stored = wait_for("competitor prices stored", lambda: bool(prometheus.api(
            "query", query="bidengine_poller_items_stored_total > 0")["result"]), 30)
        report.check(stored is not None, "live: the poller stored competitor prices")
        time.sleep(5)
    finally:
        load.stop()
        summary = load.summary()
        log(f"load: {summary['requests']} requests, by status {summary['by_status']}")
    at = str(time.time())
    time.sleep(2)  # one more scrape and evaluation after the load's last request

    scraped = set(prometheus.api("label/__name__/values"))
    named: dict[str, set[str]] = {}
    for rule in alerts(groups):
        for name in metric_names(rule["expr"]):
            named.setdefault(name, set()).add(rule["alert"])
    for title, expr in panel_queries(dashboard):
        for name in metric_names(expr):
            named.setdefault(name, set()).add(f"panel '{title}'")
    missing = sorted(f"{name} (used by {', '.join(sorted(users))})" for name, users in named.items()
                     if name not in scraped and not name.startswith(ONLY_WITH_KEYS))
    report.check(not missing, f"live: every metric named by a rule or panel is scraped ({len(named)} names)", missing)

    # The selectors must match what was scraped, labels included (job, namespace, exported_job,
    # route, status): a rule can name a real metric and still select nothing. Failures the run
    # does not provoke (a failed audit or poll) are exempt.
    selectors = sorted({m.group(0) for rule in alerts(groups) for m in SELECTOR.finditer(rule["expr"])})
    unmatched = [selector for selector in selectors if not any(event in selector for event in NOT_PROVOKED)
                 and not selector.startswith(ONLY_WITH_KEYS)
                 and not prometheus.api("query", query=f"last_over_time({selector}[10m])", time=at)["result"]]
    report.check(not unmatched, f"live: every rule selector matches scraped series ({len(selectors)} selectors)",
                 unmatched)

    unhealthy = [f"{rule['name']}: {rule.get('lastError')}" for group in prometheus.api("rules")["groups"]
                 for rule in group["rules"] if rule.get("health") != "ok"]
    report.check(not unhealthy, "live: every rule evaluates without error", unhealthy)

    empty = []
    queries = panel_queries(dashboard)
    for title, expr in queries:
        result = prometheus.api("query", query=expr, time=at)["result"]
        values = [float(series["value"][1]) for series in result]
        if not any(not math.isnan(v) for v in values):
            empty.append(f"{title}: {expr} -> {values or 'no series'}")
    report.check(not empty, f"live: every panel query returns data after the load ({len(queries)} queries in "
                 f"{len(dashboard['panels'])} panels)", empty)


# MARK: - Main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-only", action="store_true", help="skip the live check")
    parser.add_argument("--binary", type=Path, default=ROOT / ".build" / "debug" / "bidengine")
    parser.add_argument("--keep", type=Path, help="keep the work files (rules, Prometheus data, logs) in DIR")
    args = parser.parse_args()
    install_signal_cleanup()
    for tool in ("promtool",) + (() if args.rules_only else ("prometheus",)):
        if shutil.which(tool) is None:
            log(f"{tool} not found: install Debian's prometheus package (make test-deps)")
            return 2

    started = time.monotonic()
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="bidmon-", dir="/tmp")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    try:
        groups, _ = render()
        check_alert_fields(report, groups)
        promtool(report, groups, work)
        if not args.rules_only:
            if not args.binary.exists():
                log(f"{args.binary} not found: build it first (make build)")
                return 2
            try:
                live_check(report, args.binary.resolve(), work)
            except RuntimeError as error:
                report.check(False, "live check set-up", str(error).splitlines())
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"monitoring-check: {report.passed} passed, {report.failed} failed in {time.monotonic() - started:.1f}s")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
