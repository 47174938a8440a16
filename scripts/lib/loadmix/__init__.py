"""The shared load driver of the reliability checks (leaks, soak, chaos). Python 3.11 stdlib only.

Pieces, one module each, used by the reliability and scale-out harnesses and the monitoring and
report checks:
  Service   starts `bidengine serve` on a free port over its own embedded PostgreSQL (temporary
            --state-dir, DATABASE_URL ignored), waits for /readyz, stops it with SIGTERM, and
            always cleans up (service killed, cluster stopped, state removed) — even on failure.
  Cluster   the embedded cluster of a Service: psql over its unix socket, pg_ctl restart,
            pg_terminate_backend of the service's backends, SIGSTOP/SIGCONT of every process.
  LoadMix   N keep-alive client connections in threads sending a weighted mix of valid bids,
            invalid requests (malformed JSON, wrong content type, validation failures, unknown
            routes, oversize bodies), idempotent retries (same key + same body → the original
            answer; same key + other body → 422), history queries, /healthz, /readyz, /metrics,
            and clients that hang up mid-request or before reading the answer.
            Every request is recorded: kind, status, latency, bid id and adjusted_cpc for 200s,
            whether it answered within the deadline, and what was wrong with the answer.
  rowcheck  after the run: every acknowledged bid id is in `bids` with exactly the adjusted_cpc
            the client was told; rows vs. acknowledgements.
  Sampler   RSS (VmRSS of /proc/PID/status) and open descriptors (/proc/PID/fd) every N seconds.
  svg_plot  RSS and descriptors over time as a hand-written SVG.

  (build)   ROOT, swift_build and release_binary; (pricing) expected_adjusted; (log) log.

Run as a module it drives an already running server:
  python3 -m scripts.lib.loadmix --url http://127.0.0.1:8080 --duration 30 --clients 8
"""

from .build import ROOT, release_binary, swift_build
from .cluster import CHECKER_APP_NAME, Cluster
from .load import ABANDONED, DB_KINDS, DEFAULT_WEIGHTS, LoadMix, Record
from .log import log
from .pricing import expected_adjusted
from .report import rowcheck, svg_plot
from .sampler import Sampler
from .service import Service, install_signal_cleanup

__all__ = [
    "ABANDONED", "CHECKER_APP_NAME", "DB_KINDS", "DEFAULT_WEIGHTS", "ROOT", "Cluster", "LoadMix", "Record", "Sampler",
    "Service", "expected_adjusted", "install_signal_cleanup", "log", "release_binary", "rowcheck", "svg_plot",
    "swift_build",
]
