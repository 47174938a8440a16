"""Where the repository is, and `swift build` of the bidengine product into a scratch path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .log import log

# The repository: scripts/lib/loadmix/ is three levels below it.
ROOT = Path(__file__).resolve().parents[3]


def swift_build(scratch: str, *flags: str, configuration: str = "debug") -> Path:
    """`swift build --product bidengine` into its own scratch path; exits 2 when the build fails."""
    command = ["swift", "build", "-c", configuration, "--scratch-path", scratch, *flags, "--product", "bidengine"]
    log("building:", " ".join(command))
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise SystemExit(2)
    return ROOT / scratch / configuration / "bidengine"


def release_binary(binary: str | None, no_build: bool, scratch: str) -> Path:
    """--binary as given, the existing release build with --no-build, or a fresh release build."""
    if binary:
        return Path(binary)
    if no_build:
        return ROOT / scratch / "release" / "bidengine"
    return swift_build(scratch, configuration="release")
