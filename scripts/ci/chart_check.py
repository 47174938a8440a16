"""Offline checks of the BidEngine Helm chart (run through scripts/ci/chart-check.sh).

Without a helm binary or a cluster: helm-python-sdk (Helm v4's Go SDK) lints and renders the
chart, kubernetes-validate checks every rendered object against the Kubernetes OpenAPI schemas
(strict: unknown fields are errors), a few invariants of this chart are asserted on the rendered
objects, and the values schema must reject chart/tests/bad-*.yaml. Cases: the default values,
chart/examples/*.yaml and the other chart/tests/*.yaml (e.g. all-features.yaml).

Then the security scans, each of which must find nothing (findings accepted on purpose carry an
inline skip with a one-line reason: checkov.io/skipN annotations from the chart's
"bidengine.checkovSkips", "# checkov:skip=" and "# hadolint ignore=" in the Dockerfile,
"pragma: allowlist secret" comments): checkov on every rendered case and on the Dockerfile,
hadolint on the Dockerfile, detect-secrets on the repository's tracked files. --no-scans skips them.

Prints one PASS/FAIL/SKIP line per check and closes with
"chart-check: N passed, N failed, N skipped" (SKIP: custom resources kubernetes-validate has no
schema for, such as the ServiceMonitor).
Exit status: 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate.utils as kv
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scripts.lib.check_report import Report

CHART = ROOT / "chart"
RELEASE = "bidengine"
NAMESPACE = "bidengine"

# API groups of custom resources: kubernetes-validate ships only the built-in schemas, so these
# are reported as skipped instead of validated. A built-in kind without a schema is a failure
# (for example an API version that was removed).
CRD_GROUPS = {"monitoring.coreos.com"}

# MARK: - Values and rendering

def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """What successive -f files do: maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_values(path: Path) -> dict[str, Any]:
    """Parse a values file the way `helm -f` does."""
    return helm.values_from_yaml(path.read_text())


def render(chart: helm.Chart, values: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """`helm template`: (template path, object) for every non-empty rendered document."""
    objects = []
    for template, text in sorted(chart.render(values, name=RELEASE, namespace=NAMESPACE).items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append((template.split("/templates/", 1)[-1], doc))
    return objects


def kube_versions() -> list[str]:
    """The chart's minimum Kubernetes (Chart.yaml kubeVersion) and the newest schemas shipped."""
    env = os.environ.get("CHART_CHECK_KUBE_VERSIONS")
    if env:
        return env.split()
    chart_yaml = yaml.safe_load((CHART / "Chart.yaml").read_text())
    floor = re.search(r"(\d+\.\d+)", str(chart_yaml.get("kubeVersion", "")))
    latest = kv.major_minor(kv.latest_version())
    return sorted({floor.group(1), latest} if floor else {latest}, key=lambda v: tuple(map(int, v.split("."))))


def speed_up_kubernetes_validate() -> None:
    """kubernetes-validate re-reads its 1.8 MB definitions file for every object; cache it."""
    original = getattr(kv, "schema_contents", None)
    if callable(original) and not hasattr(original, "cache_info"):
        kv.schema_contents = functools.lru_cache(maxsize=None)(original)


# MARK: - Invariants of this chart

def pod_specs(objects: list[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for template, obj in objects:
        if obj.get("kind") in ("Deployment", "Job"):
            pod = obj["spec"]["template"]
            yield f"{obj['kind']}/{obj['metadata']['name']}", pod.get("metadata", {}), pod["spec"]


def hook_info(obj: dict[str, Any]) -> tuple[set[str], int] | None:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    if "helm.sh/hook" not in annotations:
        return None
    events = {e.strip() for e in annotations["helm.sh/hook"].split(",")}
    return events, int(annotations.get("helm.sh/hook-weight", "0"))


def invariant_problems(objects: list[tuple[str, dict[str, Any]]]) -> list[str]:
    problems: list[str] = []
    by_kind_name = {(o["kind"], o["metadata"]["name"]): o for _, o in objects}

    for name, meta, spec in pod_specs(objects):
        psc = spec.get("securityContext") or {}
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: automountServiceAccountToken is not false")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec.get("containers", []):
            sc = c.get("securityContext") or {}
            where = f"{name}/{c['name']}"
            if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
                problems.append(f"{where}: runAsNonRoot not set")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
                problems.append(f"{where}: capabilities do not drop ALL")
            seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{where}: no RuntimeDefault seccomp profile")
            tmp = [m for m in c.get("volumeMounts", []) if m.get("mountPath") == "/tmp"]
            if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
                problems.append(f"{where}: /tmp is not an emptyDir")

    for _, obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        spec = obj.get("spec", {})
        if kind == "Deployment":
            annotations = spec["template"].get("metadata", {}).get("annotations") or {}
            for key in ("checksum/config", "checksum/secret"):
                if key not in annotations:
                    problems.append(f"Deployment/{name}: pod annotation {key} missing")
        if kind == "Deployment" and name.endswith("-server"):
            pod = spec["template"]["spec"]
            config = next((o for (k, _), o in by_kind_name.items() if k == "ConfigMap"), {})
            shutdown = int((config.get("data") or {}).get("SHUTDOWN_TIMEOUT", "10"))
            pre_stop = (pod["containers"][0].get("lifecycle") or {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
            grace = pod.get("terminationGracePeriodSeconds", 30)
            if grace <= pre_stop + shutdown:
                problems.append(f"Deployment/{name}: terminationGracePeriodSeconds {grace} <= preStop {pre_stop} + SHUTDOWN_TIMEOUT {shutdown}")
        if kind == "Job":
            problems += hook_problems(obj, by_kind_name)
    return problems


# Settings every container that runs bidengine must get, from these values (the binary reads
# them in every subcommand: serve, schedule with its maintenance, the migration hook).
EVERY_CONTAINER_SETTINGS = {"CONNECT_TIMEOUT": ("config", "connectTimeout")}


def container_env(container: dict[str, Any], by_kind_name: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    """The container's environment as Kubernetes builds it: envFrom ConfigMaps first, then env
    (which wins); values from Secrets show as "<secret>"."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            config = by_kind_name.get(("ConfigMap", source["configMapRef"]["name"])) or {}
            env.update({k: str(v) for k, v in (config.get("data") or {}).items()})
    for item in container.get("env", []):
        env[item["name"]] = str(item["value"]) if "value" in item else "<secret>"
    return env


def setting_problems(objects: list[tuple[str, dict[str, Any]]], values: dict[str, Any]) -> list[str]:
    """Each of EVERY_CONTAINER_SETTINGS reaches every container of every Deployment and Job with
    the value the values ask for (chart defaults merged with the case's values)."""
    merged = deep_merge(load_values(CHART / "values.yaml"), values)
    by_kind_name = {(o["kind"], o["metadata"]["name"]): o for _, o in objects}
    problems: list[str] = []
    containers = 0
    for name, _, spec in pod_specs(objects):
        for c in spec.get("containers", []):
            containers += 1
            env = container_env(c, by_kind_name)
            for variable, path in EVERY_CONTAINER_SETTINGS.items():
                wanted = merged
                for key in path:
                    wanted = wanted[key]
                if env.get(variable) != str(wanted):
                    problems.append(f"{name}/{c['name']}: {variable} is {env.get(variable)!r}, values ask for {wanted!r}")
    if containers == 0:
        problems.append("no Deployment or Job containers rendered")
    return problems


def hook_problems(job: dict[str, Any], by_kind_name: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """A hook Job may only use chart objects that are hooks of the same events created before it."""
    name = f"Job/{job['metadata']['name']}"
    info = hook_info(job)
    if info is None or not {"pre-install", "pre-upgrade"} <= info[0]:
        return [f"{name}: not a pre-install,pre-upgrade hook"]
    events, weight = info
    policy = job["metadata"]["annotations"].get("helm.sh/hook-delete-policy", "")
    problems = [] if "before-hook-creation" in policy else [f"{name}: hook-delete-policy lacks before-hook-creation"]

    pod = job["spec"]["template"]["spec"]
    needed: set[tuple[str, str]] = set()
    for c in pod.get("containers", []):
        for env in c.get("env", []):
            ref = (env.get("valueFrom") or {})
            if "secretKeyRef" in ref:
                needed.add(("Secret", ref["secretKeyRef"]["name"]))
            if "configMapKeyRef" in ref:
                needed.add(("ConfigMap", ref["configMapKeyRef"]["name"]))
        for source in c.get("envFrom", []):
            if "secretRef" in source:
                needed.add(("Secret", source["secretRef"]["name"]))
            if "configMapRef" in source:
                needed.add(("ConfigMap", source["configMapRef"]["name"]))
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            needed.add(("Secret", volume["secret"]["secretName"]))
        if "configMap" in volume:
            needed.add(("ConfigMap", volume["configMap"]["name"]))
    needed.add(("ServiceAccount", pod.get("serviceAccountName", "default")))

    for kind, dep in sorted(needed):
        obj = by_kind_name.get((kind, dep))
        if obj is None:
            continue  # made outside the chart (existingSecret, "default" ServiceAccount): exists before install
        dep_info = hook_info(obj)
        if dep_info is None:
            problems.append(f"{name}: uses {kind}/{dep}, which the release creates only after its pre-install hooks")
        elif not events <= dep_info[0] or dep_info[1] >= weight:
            problems.append(f"{name}: {kind}/{dep} is not a hook of the same events with a lower weight")
    return problems


# MARK: - Checks

def check_case(report: Report, chart: helm.Chart, label: str, values: dict[str, Any],
               versions: list[str], out: Path | None) -> None:
    lint = helm.lint(CHART, values, strict=True)
    findings = [m for m in lint.get("messages", []) if m.get("severity", 0) >= 2]
    report.check(not findings and not lint.get("errors"), f"helm lint --strict      {label}",
                 [f"{m['path']}: {m['error'].strip()}" for m in findings] + list(lint.get("errors", [])))

    try:
        objects = render(chart, values)
    except helm.HelmError as error:
        report.check(False, f"helm template           {label}", str(error).strip().splitlines())
        return
    kinds = sorted({o["kind"] for _, o in objects})
    report.check(bool(objects), f"helm template           {label}: {len(objects)} objects ({', '.join(kinds)})")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / (label.replace("/", "-").removesuffix(".yaml") + ".yaml")).write_text(yaml.safe_dump_all([o for _, o in objects], sort_keys=False))

    for version in versions:
        errors: list[str] = []
        validated = 0
        for template, obj in objects:
            kn = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            group = obj.get("apiVersion", "").rpartition("/")[0]
            try:
                kv.validate(obj, version, strict=True)
                validated += 1
            except kv.SchemaNotFoundError:
                if group in CRD_GROUPS:
                    report.skip(f"kubernetes-validate     {label} k8s {version}: {kn} ({obj['apiVersion']}) is a custom resource; no schema shipped, not validated")
                else:
                    errors.append(f"{template}: {kn}: no schema for {obj.get('apiVersion')} in Kubernetes {version}")
            except kv.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                errors.append(f"{template}: {kn}: {path}: {error.message}")
        report.check(not errors, f"kubernetes-validate     {label} k8s {version}: {validated} objects, strict", errors)

    problems = invariant_problems(objects)
    report.check(not problems, f"chart invariants        {label}", problems)
    problems = setting_problems(objects, values)
    report.check(not problems, f"settings in every pod   {label}: {', '.join(EVERY_CONTAINER_SETTINGS)}", problems)


def check_bad_values(report: Report, chart: helm.Chart, path: Path) -> None:
    """The values schema must make both the render and the lint fail on this file."""
    label = f"{CHART.name}/{path.relative_to(CHART)}"
    values = load_values(path)
    try:
        chart.render(values, name=RELEASE, namespace=NAMESPACE)
    except helm.HelmValuesError as error:
        lines = [line for line in str(error).strip().splitlines() if line.strip().startswith("- at")]
        report.check(True, f"schema rejects          {label}: {len(lines)} violations", lines)
    except helm.HelmError as error:
        report.check(False, f"schema rejects          {label}: render failed, but not on the schema",
                     str(error).strip().splitlines())
    else:
        report.check(False, f"schema rejects          {label}: render SUCCEEDED; values.schema.json let it through")
    lint = helm.lint(CHART, values, strict=True)
    report.check(bool(lint.get("errors")), f"helm lint reports error {label}")


def leaf_keys(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from leaf_keys(value, path + ".")
        else:
            yield path


def check_readme(report: Report, chart: helm.Chart) -> None:
    """Every value is in the README's "## Values" table (a row may cover a whole map); no row is stale."""
    readme = CHART / "README.md"
    text = readme.read_text() if readme.exists() else ""
    table = text.split("\n## Values\n", 1)[1] if "\n## Values\n" in text else ""
    documented = set(re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE))
    leaves = list(leaf_keys(chart.values))
    missing = [leaf for leaf in leaves
               if not any(leaf == row or leaf.startswith(row + ".") for row in documented)]
    stale = sorted(row for row in documented
                   if not any(leaf == row or leaf.startswith(row + ".") for leaf in leaves))
    report.check(not missing and not stale, f"README values table     {len(documented)} rows",
                 [f"undocumented: {m}" for m in missing] + [f"not a value: {s}" for s in stale])


# MARK: - Security scans


def scan(report: Report, what: str, command: list[str]) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    report.check(result.returncode == 0, f"{what:<23} ({time.monotonic() - started:.0f}s)",
                 [] if result.returncode == 0 else lines[-60:])
    return result


def security_scans(report: Report, rendered: Path) -> None:
    tools = Path(sys.executable).parent
    # --skip-download: no Prisma Cloud look-ups (offline); the built-in checks are all local.
    checkov = [str(tools / "checkov"), "--skip-download", "--quiet", "--compact"]
    cases = ", ".join(sorted(p.stem for p in rendered.glob("*.yaml")))
    scan(report, f"checkov chart [{cases}]", checkov + ["-d", str(rendered), "--framework", "kubernetes"])
    scan(report, "checkov Dockerfile", checkov + ["-f", str(ROOT / "Dockerfile"), "--framework", "dockerfile"])
    scan(report, "hadolint Dockerfile", [str(tools / "hadolint"), "--no-color", str(ROOT / "Dockerfile")])
    result = subprocess.run([str(tools / "detect-secrets"), "scan"], cwd=ROOT, capture_output=True, text=True)
    try:
        found = [f"{path}:{hit['line_number']}: {hit['type']}"
                 for path, hits in json.loads(result.stdout)["results"].items() for hit in hits]
    except (ValueError, KeyError):
        found = [f"detect-secrets failed: {result.stderr.strip()[-500:]}"]
    report.check(not found, "detect-secrets          tracked files", found)


def main() -> int:
    global CHART
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chart", type=Path, help="chart directory (default: chart/)")
    parser.add_argument("--out", type=Path, help="write each case's rendered objects to DIR/<case>.yaml")
    parser.add_argument("--no-scans", action="store_true", help="skip checkov, hadolint and detect-secrets")
    args = parser.parse_args()
    scratch = None
    if args.out is None and not args.no_scans:
        scratch = args.out = Path(tempfile.mkdtemp(prefix="chart-check-"))
    if args.chart:
        CHART = args.chart.resolve()

    started = time.monotonic()
    speed_up_kubernetes_validate()
    versions = kube_versions()
    print(f"chart-check: Helm SDK {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__}), "
          f"kubernetes-validate {kv.__version__}, Kubernetes {', '.join(versions)}")

    report = Report()
    with helm.Chart.load(CHART) as chart:
        cases: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
        good = sorted((CHART / "examples").glob("*.yaml")) + sorted(
            p for p in (CHART / "tests").glob("*.yaml") if not p.name.startswith("bad-"))
        for path in good:
            cases.append((str(path.relative_to(CHART)), load_values(path)))
        for label, values in cases:
            check_case(report, chart, label, values, versions, args.out)

        check_readme(report, chart)

        bad_files = sorted((CHART / "tests").glob("bad-*.yaml"))
        report.check(bool(bad_files), f"bad values fixtures     {len(bad_files)} in chart/tests")
        for path in bad_files:
            check_bad_values(report, chart, path)

    if not args.no_scans:
        try:
            security_scans(report, args.out)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    print(f"chart-check: finished in {time.monotonic() - started:.1f}s")
    print(f"chart-check: {report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
