"""RSS, open descriptors and threads of one process, sampled from /proc."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


class Sampler(threading.Thread):
    """RSS (kB) and open descriptors of one process every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 10.0):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples: list[dict] = []
        self._halt = threading.Event()
        self.started = time.monotonic()

    def sample(self) -> dict | None:
        try:
            rss_kb = None
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb = int(line.split()[1])
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
            threads = len(os.listdir(f"/proc/{self.pid}/task"))
        except (OSError, ValueError):
            return None
        return {"t": round(time.monotonic() - self.started, 2), "rss_kb": rss_kb, "fds": fds, "threads": threads}

    def run(self) -> None:
        while not self._halt.is_set():
            sample = self.sample()
            if sample:
                self.samples.append(sample)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        sample = self.sample()
        if sample:
            self.samples.append(sample)
