"""Drives an already running server:
  python3 -m scripts.lib.loadmix --url http://127.0.0.1:8080 --duration 30 --clients 8
"""

from __future__ import annotations

import argparse
import json
import sys

from .load import LoadMix


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0, help="total requests/s (0 = unthrottled)")
    parser.add_argument("--deadline", type=float, default=3.0)
    parser.add_argument("--allow-503", action="store_true")
    args = parser.parse_args()
    mix = LoadMix(args.url, clients=args.clients, rate=args.rate, deadline=args.deadline, allow_503=args.allow_503)
    mix.run_for(args.duration)
    print(json.dumps(mix.summary(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
