#!/usr/bin/env python3
"""The Dockerfile's runtime image, proven without Docker (make image-check; Python 3.11 stdlib, root).

  python3 -m scripts.ci.image_check [--binary PATH] [--no-build] [--keep DIR]

1. Reads the Dockerfile's final stage: the packages its `apt-get install` names, its
   groupadd/useradd commands, its COPY --from=build lines, its ENV, USER and ENTRYPOINT.
2. Builds a Debian root file system with `debootstrap --variant=minbase` holding exactly those
   packages (cached under .build-image/rootfs-<hash of suite and packages>; DEBIAN_MIRROR, default
   http://deb.debian.org/debian), copies it to a temporary directory, runs the Dockerfile's
   groupadd/useradd there, and lays out the files as the COPY lines do: the binary built exactly as
   the Dockerfile's build stage builds it (swift build -c release --static-swift-stdlib, into
   .build-image/swift), the toolchain's swift-backtrace-static, Migrations/.
3. Under chroot (with /proc mounted, as a container runtime does), as the image's USER, with the image's ENV plus DATABASE_URL (TEST_DATABASE_URL, or
   a throwaway PostgreSQL cluster this script starts on a free loopback port): every shared library
   of the binary resolves (ldd), `bidengine migrate` applies the migrations, and `bidengine serve`
   (ENTRYPOINT + CMD, on a free port) answers GET /readyz 200 and a bid 200, then stops on SIGTERM.

Prints one PASS/FAIL line per check; exit status 0 when all passed, 1 otherwise, 2 on set-up errors.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scripts.lib.check_report import Report, free_port

DOCKERFILE = ROOT / "Dockerfile"
CACHE = ROOT / ".build-image"
SUITE = "bookworm"  # the Dockerfile's DEBIAN_RELEASE default; checked below
BID = b'{"product_id":"42","current_cpc":"1.50","target_roas":"120"}'


def log(*parts: object) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)



# MARK: - The Dockerfile


class FinalStage:
    """What the Dockerfile's last stage puts in the image."""

    def __init__(self, text: str):
        # Join continuation lines and drop comments, as the Dockerfile parser does.
        lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        instructions = re.sub(r"\\\n", " ", "\n".join(lines)).splitlines()
        stages: list[list[str]] = []
        self.args: dict[str, str] = {}
        for instruction in instructions:
            word = instruction.split(None, 1)[0].upper() if instruction.strip() else ""
            if word == "FROM":
                stages.append([])
            if word == "ARG" and not stages:
                name, _, default = instruction.split(None, 1)[1].partition("=")
                self.args[name.strip()] = default.strip()
            if stages and word:
                stages[-1].append(instruction.strip())
        self.build_stage = stages[0]
        final = stages[-1]
        # FROM debian:${DEBIAN_RELEASE}-slim, with the ARG defaults the Dockerfile declares before it.
        self.base = re.sub(r"\$\{(\w+)\}", lambda m: self.args.get(m.group(1), m.group(0)), final[0].split(None, 1)[1])
        self.packages: list[str] = []
        self.setup: list[str] = []  # groupadd / useradd commands, run as they are
        self.copies: list[tuple[str, str]] = []
        self.env: dict[str, str] = {}
        self.user = ""
        self.entrypoint: list[str] = []
        self.cmd: list[str] = []
        for instruction in final[1:]:
            word, _, rest = instruction.partition(" ")
            word = word.upper()
            if word == "RUN":
                for command in (c.strip() for c in rest.split("&&")):
                    if re.match(r"apt-get install\b", command):
                        self.packages += [t for t in shlex.split(command)[2:] if not t.startswith("-")]
                    elif re.match(r"(groupadd|useradd)\b", command):
                        self.setup.append(command)
            elif word == "COPY":
                tokens = shlex.split(rest)
                if not tokens[0].startswith("--from="):
                    raise SystemExit(f"image-check: COPY from the build context is not handled: {instruction}")
                self.copies.append((tokens[1], tokens[2]))
            elif word == "ENV":
                for pair in shlex.split(rest):
                    key, _, value = pair.partition("=")
                    self.env[key] = value
            elif word == "USER":
                self.user = rest.strip()
            elif word == "ENTRYPOINT":
                self.entrypoint = json.loads(rest)
            elif word == "CMD":
                self.cmd = json.loads(rest)

    def staging_source(self, staged: str, binary: Path) -> Path:
        """The file the build stage puts at a /staging path, built or found on this machine."""
        build = " ".join(self.build_stage)
        if staged == "/staging/bin/bidengine" and "--static-swift-stdlib" in build:
            return binary
        if staged == "/staging/bin/swift-backtrace-static" and "swift-backtrace-static /staging/bin/" in build:
            toolchain = Path(shutil.which("swift") or "swift").resolve().parent.parent
            return toolchain / "libexec" / "swift" / "linux" / "swift-backtrace-static"
        if staged == "/staging/Migrations" and "cp -R Migrations /staging/Migrations" in build:
            return ROOT / "Migrations"
        raise SystemExit(f"image-check: the build stage's {staged} is not one this check knows how to make; "
                         "update scripts/ci/image_check.py with the Dockerfile")


# MARK: - Root file system


def rootfs(stage: FinalStage, mirror: str) -> Path:
    """The cached debootstrap root file system for these packages (made when missing)."""
    key = hashlib.sha256(" ".join([SUITE, "minbase", *sorted(stage.packages)]).encode()).hexdigest()[:16]
    cached = CACHE / f"rootfs-{key}"
    if (cached / ".complete").exists():
        log(f"root file system from cache: {cached}")
        return cached
    CACHE.mkdir(exist_ok=True)
    for stale in CACHE.glob("rootfs-*"):
        shutil.rmtree(stale, ignore_errors=True)
    partial = CACHE / f"partial-{key}"
    shutil.rmtree(partial, ignore_errors=True)
    command = ["debootstrap", "--variant=minbase", f"--include={','.join(stage.packages)}", SUITE, str(partial), mirror]
    log("building the root file system:", " ".join(command))
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"debootstrap failed:\n{(result.stdout + result.stderr)[-3000:]}")
    # What the image does not keep either (apt lists are deleted by the Dockerfile's RUN).
    shutil.rmtree(partial / "var" / "cache" / "apt" / "archives", ignore_errors=True)
    (partial / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True)
    (partial / ".complete").write_text(f"{time.monotonic() - started:.0f} s\n")
    partial.rename(cached)
    log(f"root file system built in {time.monotonic() - started:.0f} s")
    return cached


def build_binary() -> Path:
    """The Dockerfile's build command (release, static Swift runtime) into .build-image/swift."""
    command = ["swift", "build", "-c", "release", "--product", "bidengine", "--static-swift-stdlib",
               "--scratch-path", str(CACHE / "swift")]
    log("building:", " ".join(command))
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("swift build failed:\n" + (result.stdout + result.stderr)[-4000:])
    return CACHE / "swift" / "release" / "bidengine"


# MARK: - PostgreSQL



class Cluster:
    """A throwaway cluster on a loopback TCP port (the chroot shares the host's network)."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.port = free_port()
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if not (Path(bindir) / "initdb").exists():
            bindir = str(max(Path("/usr/lib/postgresql").glob("*/bin")))
        self.bin = Path(bindir)
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/bidengine"

    def start(self) -> None:
        self.dir.mkdir(parents=True)
        if self.run_as:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        steps = [
            [str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
            [str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "postgres.log"), "-w", "-o",
             f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off", "start"],
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "bidengine"],
        ]
        for step in steps:
            result = subprocess.run(self.run_as + step, capture_output=True, text=True, cwd="/tmp")
            if result.returncode != 0:
                raise RuntimeError(f"{Path(step[0]).name} failed: {result.stdout}{result.stderr}")

    def stop(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                                          "-w", "stop"], capture_output=True, cwd="/tmp")


# MARK: - The checks


def chroot(root: Path, user: str, env: dict[str, str], argv: list[str]) -> list[str]:
    """argv under chroot as user, with exactly env (as the container runtime would give it)."""
    return (["chroot", f"--userspec={user}", "--", str(root), "/usr/bin/env", "-i"]
            + [f"{k}={v}" for k, v in env.items()] + argv)


def run_checks(report: Report, stage: FinalStage, base: Path, binary: Path, work: Path, database_url: str) -> None:
    root = work / "rootfs"
    log(f"copying the root file system to {root}")
    subprocess.run(["cp", "-a", str(base), str(root)], check=True)
    for command in stage.setup:
        result = subprocess.run(["chroot", str(root), "/bin/sh", "-c", command], capture_output=True, text=True)
        report.check(result.returncode == 0, f"in the image: {command}", result.stderr.strip().splitlines())
    for staged, destination in stage.copies:
        source = stage.staging_source(staged, binary)
        target = root / destination.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    report.check(True, f"laid out as the Dockerfile copies: {', '.join(d for _, d in stage.copies)}")

    # Every container runtime mounts /proc; the Swift runtime reads the arguments of a statically
    # linked program from /proc/self/cmdline (without it, every command line looks empty).
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        run_binary(report, stage, root, work, database_url)
    finally:
        subprocess.run(["umount", "--lazy", str(root / "proc")], check=False)


def run_binary(report: Report, stage: FinalStage, root: Path, work: Path, database_url: str) -> None:

    entry = stage.entrypoint[0]
    result = subprocess.run(["chroot", str(root), "/usr/bin/ldd", entry], capture_output=True, text=True)
    missing = [line.strip() for line in result.stdout.splitlines() if "not found" in line]
    report.check(result.returncode == 0 and not missing, f"every shared library of {entry} resolves in the image "
                 f"({len(result.stdout.splitlines())} libraries)", missing or result.stderr.strip().splitlines())

    env = dict(stage.env, PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               DATABASE_URL=database_url, LOG_LEVEL="info")
    migrate = subprocess.run(chroot(root, stage.user, env, stage.entrypoint + ["migrate"]), capture_output=True,
                             text=True, timeout=120)
    report.check(migrate.returncode == 0, f"as {stage.user}: bidengine migrate (exit {migrate.returncode})",
                 (migrate.stdout + migrate.stderr).strip().splitlines()[-15:])

    port = free_port()
    serve_env = dict(env, HOST="127.0.0.1", PORT=str(port))  # the image listens on 0.0.0.0:8080
    log_path = work / "serve.log"
    with open(log_path, "wb") as output:
        serve = subprocess.Popen(chroot(root, stage.user, serve_env, stage.entrypoint + stage.cmd),
                                 stdout=output, stderr=subprocess.STDOUT)
    try:
        ready, status = wait_ready(port, serve)
        report.check(ready, f"as {stage.user}: {' '.join(stage.entrypoint + stage.cmd)} answers GET /readyz 200 "
                     f"(last status {status})", [] if ready else log_path.read_text(errors="replace").splitlines()[-15:])
        uid = process_uid(serve.pid)
        report.check(uid == stage.user.split(":")[0], f"the server runs as uid {uid} (USER {stage.user})")
        if ready:
            status, body = request(port, "POST", "/api/bid", BID)
            report.check(status == 200 and b'"adjusted_cpc"' in body,
                         f"POST /api/bid: {status} {body[:120].decode(errors='replace')}")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            code = serve.wait()
        report.check(code == 0, f"bidengine serve stops on SIGTERM (exit {code})")


def process_uid(pid: int) -> str:
    """The effective uid of the chroot's child (chroot execs the server as that process)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            if "bidengine" in Path(f"/proc/{pid}/comm").read_text():
                return re.search(r"^Uid:\s+\d+\s+(\d+)", status, re.MULTILINE).group(1)
        except (OSError, AttributeError):
            pass
        time.sleep(0.1)
    return "?"


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> tuple[bool, object]:
    status: object = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, _ = request(port, "GET", "/readyz")
            if status == 200:
                return True, status
        except OSError as error:
            status = type(error).__name__
        time.sleep(0.3)
    return False, status if process.poll() is None else f"exited {process.returncode}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, help="a bidengine built as the Dockerfile builds it")
    parser.add_argument("--keep", type=Path, help="keep the root file system and logs in DIR")
    args = parser.parse_args()
    if os.geteuid() != 0:
        log("needs root (debootstrap, chroot)")
        return 2
    if shutil.which("debootstrap") is None:
        log("debootstrap not found: make test-deps")
        return 2
    stage = FinalStage(DOCKERFILE.read_text())
    if not stage.base.startswith("debian:") or stage.args.get("DEBIAN_RELEASE") != SUITE:
        log(f"the final stage is {stage.base} (DEBIAN_RELEASE {stage.args.get('DEBIAN_RELEASE')}); "
            f"this check builds debian {SUITE}")
        return 2

    started = time.monotonic()
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="bidimage-", dir="/tmp")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    cluster: Cluster | None = None
    try:
        try:
            log(f"final stage {stage.base}: packages {' '.join(stage.packages)}; user {stage.user}")
            base = rootfs(stage, os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian"))
            binary = args.binary or build_binary()
            database_url = os.environ.get("TEST_DATABASE_URL", "")
            if not database_url:
                cluster = Cluster(work / "postgres")
                cluster.start()
                database_url = cluster.url
        except RuntimeError as error:
            log(str(error))
            return 2
        run_checks(report, stage, base, binary.resolve(), work, database_url)
    finally:
        if cluster:
            cluster.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"image-check: {report.passed} passed, {report.failed} failed in {time.monotonic() - started:.1f}s")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
