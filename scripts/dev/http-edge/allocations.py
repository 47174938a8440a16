#!/usr/bin/env python3
"""Heap allocations per request of `bidengine serve --bench-endpoints` binaries (docs/http-edge.md).

    python3 scripts/dev/http-edge/allocations.py [--requests N] BIN [BIN...]

Each binary runs twice under an LD_PRELOAD malloc counter (malloc-count.c, built with cc): once
answering no request, once answering N keep-alive `POST /bench/ceiling`; the difference of the two
process-wide counts, divided by N, is the allocations per request (startup cancels out). The
binaries take turns, so drift on the machine hits them alike.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

BODY = b'{"product_id":1,"current_cpc":"1.50","target_roas":150}'


def run(binary, requests, counter, workdir):
    state = tempfile.mkdtemp(dir=workdir)
    os.chmod(state, 0o755)  # the embedded cluster runs as the postgres user when this runs as root
    count_file = os.path.join(state, "count")
    env = dict(os.environ, LD_PRELOAD=counter, MALLOC_COUNT_FILE=count_file, THREADS="1", ACCESS_LOG="off")
    log = open(os.path.join(state, "log"), "w")
    proc = subprocess.Popen([binary, "serve", "--bench-endpoints", "--port", "0", "--state-dir", state + "/s"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    port = None
    for _ in range(600):
        time.sleep(0.1)
        text = open(os.path.join(state, "log")).read()
        found = re.search(r'"msg":"serving".*?"address":"127\.0\.0\.1:(\d+)"', text)
        if found and text.count('"database connected"') >= 1:
            port = int(found.group(1))
            break
    if port is None:
        proc.kill()
        sys.exit(f"{binary} did not start; see {state}/log")
    sock = socket.create_connection(("127.0.0.1", port))
    request = (b"POST /bench/ceiling HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
    buffered = b""
    for _ in range(requests):
        sock.sendall(request)
        while True:
            head_end = buffered.find(b"\r\n\r\n")
            if head_end >= 0:
                length = int(re.search(rb"Content-Length: (\d+)", buffered[:head_end]).group(1))
                if len(buffered) >= head_end + 4 + length:
                    buffered = buffered[head_end + 4 + length:]
                    break
            buffered += sock.recv(65536)
    sock.close()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    counts = [int(line.split()[1]) for line in open(count_file) if line.startswith("malloc-count")]
    # The serving process allocates the most; helper processes (initdb, pg_ctl) write lines too.
    return max(counts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("binaries", nargs="+")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="http-edge-allocs-", dir="/var/tmp")
    os.chmod(workdir, 0o755)
    counter = os.path.join(workdir, "malloc-count.so")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "malloc-count.c")
    subprocess.check_call(["cc", "-O2", "-shared", "-fPIC", "-o", counter, source, "-ldl"])
    results = {binary: [] for binary in args.binaries}
    for _ in range(args.rounds):
        for binary in args.binaries:
            idle = run(binary, 0, counter, workdir)
            busy = run(binary, args.requests, counter, workdir)
            results[binary].append((busy - idle) / args.requests)
            print(f"{binary}: idle {idle}, after {args.requests} requests {busy}: "
                  f"{(busy - idle) / args.requests:.2f} allocations/request", flush=True)
    print(json.dumps({b: sorted(v)[len(v) // 2] for b, v in results.items()}))


if __name__ == "__main__":
    main()
