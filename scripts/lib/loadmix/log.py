"""One timestamped line on stderr per event."""

from __future__ import annotations

import sys
import time


def log(*parts: object) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)
