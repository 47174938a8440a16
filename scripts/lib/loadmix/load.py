"""The load: keep-alive clients in threads sending a weighted mix of valid, invalid, idempotent
and abandoned requests, each answer recorded and judged."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.parse
from collections import Counter
from decimal import Decimal

from .pricing import expected_adjusted


@dataclasses.dataclass
class Record:
    kind: str
    started: float  # monotonic
    latency: float
    status: int  # 0: no answer (connection error or client timeout)
    error: str = ""  # what was wrong with the answer, empty when fine
    bid_id: int | None = None
    adjusted: Decimal | None = None  # what the client was told (bids and idempotent 200s)
    late: bool = False
    detail: bytes = b""  # the start of the answer's body, for failure messages

    @property
    def ended(self) -> float:
        return self.started + self.latency


# Weights of each scenario; idempotent runs three requests (first, replay, conflicting body).
DEFAULT_WEIGHTS = {
    "bid": 50, "idempotent": 8, "history_id": 6, "history_list": 4, "malformed_json": 5, "wrong_content_type": 4,
    "validation": 6, "unknown_route": 4, "oversize": 2, "healthz": 4, "readyz": 2, "metrics": 1, "abandoned": 2,
}

# Requests whose client walks away on purpose: no answer is expected (nor counted as missing).
ABANDONED = "abandoned"

# Statuses a database-backed route may answer while the database is unavailable.
DB_KINDS = {"bid", "idem_first", "idem_replay", "idem_conflict", "history_id", "history_list", "readyz"}


class LoadMix:
    def __init__(self, base_url: str, clients: int = 8, rate: float = 0.0, deadline: float = 3.0,
                 client_timeout: float = 15.0, weights: dict[str, int] | None = None, allow_503: bool = False,
                 max_body: int = 65536, seed: int | None = None):
        parsed = urllib.parse.urlparse(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.clients = clients
        self.rate = rate  # total requests/s across clients; 0 = as fast as they can
        self.deadline = deadline
        self.client_timeout = client_timeout
        self.weights = weights or DEFAULT_WEIGHTS
        self.allow_503 = allow_503
        self.max_body = max_body
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._threads: list[threading.Thread] = []
        self.run_id = f"{os.getpid():x}{int(time.time()) & 0xFFFFFF:x}"
        self.max_requests: int | None = None
        self._issued = 0

    # MARK: Running

    def start(self, max_requests: int | None = None) -> None:
        self.max_requests = max_requests
        self.t0 = time.monotonic()
        for index in range(self.clients):
            thread = threading.Thread(target=self._client, args=(index,), daemon=True, name=f"client-{index}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._halt.set()
        for thread in self._threads:
            thread.join(timeout=self.client_timeout + 5)

    def wait(self) -> None:
        for thread in self._threads:
            thread.join()

    def run_for(self, seconds: float) -> None:
        self.start()
        try:
            end = time.monotonic() + seconds
            while time.monotonic() < end and not self._halt.is_set():
                time.sleep(max(0.0, min(1.0, end - time.monotonic())))
        finally:
            self.stop()

    def _take_ticket(self) -> bool:
        with self._lock:
            if self.max_requests is not None and self._issued >= self.max_requests:
                return False
            self._issued += 1
            return True

    def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        client = _Client(self.host, self.port, self.client_timeout)
        kinds = list(self.weights)
        weights = [self.weights[k] for k in kinds]
        recent: list[tuple[int, Decimal]] = []
        local: list[Record] = []
        interval = self.clients / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic() + rng.random() * interval
        counter = 0
        try:
            while not self._halt.is_set():
                if interval:
                    pause = next_at - time.monotonic()
                    if pause > 0:
                        self._halt.wait(pause)
                        if self._halt.is_set():
                            break
                    next_at = max(next_at + interval, time.monotonic() - 1.0)
                if not self._take_ticket():
                    break
                counter += 1
                kind = rng.choices(kinds, weights)[0]
                scenario = getattr(self, "_s_" + kind)
                records = scenario(client, rng, recent, f"{self.run_id}-{index}-{counter}")
                for record in records:
                    if record.kind == ABANDONED:
                        continue
                    record.late = record.status == 0 or record.latency > self.deadline
                    if record.status == 200 and record.bid_id is not None and record.adjusted is not None:
                        recent.append((record.bid_id, record.adjusted))
                        if len(recent) > 50:
                            del recent[:25]
                local.extend(records)
                if len(local) >= 256:
                    with self._lock:
                        self.records.extend(local)
                    local = []
        finally:
            client.close()
            with self._lock:
                self.records.extend(local)

    # MARK: Scenarios (each returns the records of the requests it sent)

    @staticmethod
    def _bid_values(rng: random.Random) -> tuple[str, str, str]:
        product = str(rng.randint(1, 500))
        # Three decimals, so half-away-from-zero rounding to cents is exercised on every bid.
        mills = rng.randint(0, 999999)
        cpc = f"{mills // 1000}.{mills % 1000:03d}"
        roas = f"{rng.randint(1, 90000) // 100}.{rng.randint(0, 99):02d}"
        if Decimal(roas) == 0:
            roas = "100"
        return product, cpc, roas

    @staticmethod
    def _bid_body(product: str, cpc: str, roas: str, rng: random.Random) -> bytes:
        # Numbers as JSON numbers or as strings: both are legacy-valid.
        def enc(v: str) -> str:
            return v if rng.random() < 0.5 else json.dumps(v)

        return f'{{"product_id":{enc(product)},"current_cpc":{enc(cpc)},"target_roas":{enc(roas)}}}'.encode()

    def _allowed(self, kind: str, status: int, normal: set[int]) -> bool:
        return status in normal or (self.allow_503 and status == 503 and kind in DB_KINDS)

    def _post_bid(self, client: _Client, kind: str, body: bytes, expected: Decimal,
                  headers: dict[str, str] | None = None) -> Record:
        record = client.request(kind, "POST", "/api/bid", body, {"Content-Type": "application/json", **(headers or {})})
        if record.status == 200:
            try:
                answer = json.loads(client.last_body, parse_float=Decimal, parse_int=Decimal)
                record.bid_id = int(answer["bid_id"])
                record.adjusted = Decimal(answer["adjusted_cpc"])
                if record.adjusted != expected:
                    record.error = f"adjusted_cpc {record.adjusted} != expected {expected}"
            except (ValueError, KeyError, TypeError) as error:
                record.error = f"bad 200 body: {error}: {client.last_body[:200]!r}"
        elif record.status == 503 and "Retry-After" not in client.last_headers:
            record.error = "503 without Retry-After"
        return record

    def _check(self, record: Record, normal: set[int]) -> Record:
        if record.status and not record.error and not self._allowed(record.kind, record.status, normal):
            excerpt = record.detail[:120].decode(errors="replace")
            record.error = f"unexpected status {record.status}: {excerpt}"
        return record

    def _s_bid(self, client, rng, recent, tag):
        product, cpc, roas = self._bid_values(rng)
        record = self._post_bid(client, "bid", self._bid_body(product, cpc, roas, rng), expected_adjusted(cpc, roas))
        return [self._check(record, {200})]

    def _s_idempotent(self, client, rng, recent, tag):
        product, cpc, roas = self._bid_values(rng)
        key = f"rel-{tag}"
        body = self._bid_body(product, cpc, roas, rng)
        expected = expected_adjusted(cpc, roas)
        first = self._check(self._post_bid(client, "idem_first", body, expected, {"Idempotency-Key": key}), {200})
        out = [first]
        if first.status == 0:
            return out
        replay = self._post_bid(client, "idem_replay", body, expected, {"Idempotency-Key": key})
        if replay.status == 200 and first.status == 200:
            if replay.bid_id != first.bid_id:
                replay.error = f"replay bid_id {replay.bid_id} != original {first.bid_id}"
            elif client.last_headers.get("Idempotent-Replayed", "").lower() != "true":
                replay.error = "replay without Idempotent-Replayed: true"
        out.append(self._check(replay, {200}))
        if replay.status == 0:
            return out
        other_cpc = str(Decimal(cpc) + 1)
        other_body = self._bid_body(product, other_cpc, roas, rng)
        conflict = self._post_bid(client, "idem_conflict", other_body, expected_adjusted(other_cpc, roas),
                                  {"Idempotency-Key": key})
        # The key is certainly claimed once either earlier request got a 200; before that (both 503)
        # the other body may legitimately be the first to claim it.
        claimed = first.status == 200 or replay.status == 200
        out.append(self._check(conflict, {422} if claimed else {200, 422}))
        if conflict.status != 200:
            conflict.bid_id = None
            conflict.adjusted = None
        return out

    def _s_history_id(self, client, rng, recent, tag):
        if not recent:
            return self._s_bid(client, rng, recent, tag)
        bid_id, adjusted = rng.choice(recent)
        record = client.request("history_id", "GET", f"/api/bids/{bid_id}", None, {})
        if record.status == 200:
            try:
                answer = json.loads(client.last_body, parse_float=Decimal, parse_int=Decimal)
                if int(answer["bid_id"]) != bid_id or Decimal(answer["adjusted_cpc"]) != adjusted:
                    record.error = f"history of {bid_id} says {answer}"
            except (ValueError, KeyError, TypeError) as error:
                record.error = f"bad history body: {error}"
        return [self._check(record, {200})]

    def _s_history_list(self, client, rng, recent, tag):
        product = rng.randint(1, 500)
        record = client.request("history_list", "GET", f"/api/bids?product_id={product}&limit={rng.randint(1, 20)}",
                                None, {})
        if record.status == 200 and not client.last_body.startswith(b'{"bids":'):
            record.error = f"bad list body {client.last_body[:100]!r}"
        return [self._check(record, {200})]

    def _s_malformed_json(self, client, rng, recent, tag):
        body = rng.choice([b'{"product_id":1,', b"{not json}", b'{"product_id":1,"current_cpc":1.5,"target_roas":}',
                           b"[1,2", b'"\\ud800"', b"\xff\xfe"])
        return [self._check(client.request("malformed_json", "POST", "/api/bid", body,
                                           {"Content-Type": "application/json"}), {400})]

    def _s_wrong_content_type(self, client, rng, recent, tag):
        content_type = rng.choice(["text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
        body = b'{"product_id":1,"current_cpc":1.5,"target_roas":150}'
        return [self._check(client.request("wrong_content_type", "POST", "/api/bid", body,
                                           {"Content-Type": content_type}), {415})]

    def _s_validation(self, client, rng, recent, tag):
        body = rng.choice([b'{"product_id":0,"current_cpc":1.5,"target_roas":150}',
                           b'{"product_id":1,"current_cpc":-1,"target_roas":150}',
                           b'{"product_id":1,"current_cpc":1.5,"target_roas":0}',
                           b'{"product_id":"0x1A","current_cpc":"1","target_roas":"1"}',
                           b'{"product_id":1,"current_cpc":".","target_roas":150}'])
        record = client.request("validation", "POST", "/api/bid", body, {"Content-Type": "application/json"})
        if record.status == 400 and b'"errors"' not in client.last_body:
            record.error = f"validation 400 without errors: {client.last_body[:100]!r}"
        return [self._check(record, {400})]

    def _s_unknown_route(self, client, rng, recent, tag):
        path = rng.choice(["/api/nope", "/api/bid/extra/x", "/favicon.ico", f"/x/{tag}"])
        method = rng.choice(["GET", "POST"])
        return [self._check(client.request("unknown_route", method, path, b"{}" if method == "POST" else None,
                                           {"Content-Type": "application/json"}), {404})]

    def _s_oversize(self, client, rng, recent, tag):
        size = self.max_body + rng.randint(1, 4096)
        body = b'{"product_id":1,"pad":"' + b"x" * size + b'"}'
        return [self._check(client.request("oversize", "POST", "/api/bid", body,
                                           {"Content-Type": "application/json"}), {413})]

    def _s_abandoned(self, client, rng, recent, tag):
        """A client that hangs up mid-request or before reading the answer, on its own connection:
        the server must drop the exchange cleanly (no leak, no crash, the bid still committed or not)."""
        product, cpc, roas = self._bid_values(rng)
        body = self._bid_body(product, cpc, roas, rng)
        request = (f"POST /api/bid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        cut = rng.choice([len(request), len(request) - len(body) // 2, len(request) // 3])
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.port), timeout=self.client_timeout) as raw:
                raw.sendall(request[:cut])
                if rng.random() < 0.5:
                    # Reset rather than close: the server sees ECONNRESET, not EOF.
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError as error:
            return [Record(ABANDONED, started, time.monotonic() - started, 0, f"connect failed: {error!r}")]
        record = Record(ABANDONED, started, time.monotonic() - started, 0)
        # A complete request may still be recorded: its row then has no acknowledgement, by design.
        record.detail = b"complete" if cut == len(request) else b"partial"
        return [record]

    def _s_healthz(self, client, rng, recent, tag):
        return [self._check(client.request("healthz", "GET", "/healthz", None, {}), {200})]

    def _s_readyz(self, client, rng, recent, tag):
        return [self._check(client.request("readyz", "GET", "/readyz", None, {}), {200})]

    def _s_metrics(self, client, rng, recent, tag):
        return [self._check(client.request("metrics", "GET", "/metrics", None, {}), {200})]

    # MARK: Results

    def acknowledged(self) -> dict[int, Decimal]:
        acks: dict[int, Decimal] = {}
        for record in self.records:
            if record.status == 200 and record.bid_id is not None and record.adjusted is not None:
                acks[record.bid_id] = record.adjusted
        return acks

    def summary(self) -> dict:
        records = self.records
        by_kind: dict[str, Counter] = {}
        for record in records:
            by_kind.setdefault(record.kind, Counter())[str(record.status)] += 1
        statuses = Counter(str(r.status) for r in records)
        latencies = sorted(r.latency for r in records if r.status)
        errors = [r for r in records if r.error and r.kind != ABANDONED]
        late = [r for r in records if r.late]

        def pct(p: float) -> float | None:
            if not latencies:
                return None
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

        return {
            "requests": len(records),
            "by_status": dict(sorted(statuses.items())),
            "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
            "server_errors_5xx": sum(1 for r in records if r.status >= 500),
            "status_503": sum(1 for r in records if r.status == 503),
            "no_answer": sum(1 for r in records if r.status == 0 and r.kind != ABANDONED),
            "late": len(late),
            "deadline_s": self.deadline,
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "p999": pct(0.999),
                           "max": round(latencies[-1] * 1000, 2) if latencies else None},
            "acknowledged_bids": len(self.acknowledged()),
            "abandoned_complete_bids": sum(1 for r in records if r.kind == ABANDONED and r.detail == b"complete"),
            "wrong_answers": len(errors),
            "wrong_answer_examples": [f"{r.kind} {r.status}: {r.error}" for r in errors[:10]],
            "no_answer_examples": [f"{r.kind}: {r.error}" for r in records
                                   if r.status == 0 and r.kind != ABANDONED][:10],
        }


class _Client:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last_body = b""
        self.last_headers: dict[str, str] = {}
        self.reconnects = 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, kind: str, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Record:
        started = time.monotonic()
        self.last_body = b""
        self.last_headers = {}
        for attempt in range(2):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.reconnects += 1
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                self.last_body = response.read()
                self.last_headers = dict(response.getheaders())
                if response.will_close:
                    self.close()
                record = Record(kind, started, time.monotonic() - started, response.status)
                record.detail = self.last_body[:200]
                return record
            except TimeoutError as error:
                self.close()
                return Record(kind, started, time.monotonic() - started, 0, f"client timeout: {error!r}")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self.close()
                # A keep-alive connection the server closed between requests: retry once on a new one.
                if not fresh and attempt == 0 and not isinstance(error, ConnectionResetError):
                    started = time.monotonic()
                    continue
                return Record(kind, started, time.monotonic() - started, 0, f"connection error: {error!r}")
            except (OSError, http.client.HTTPException) as error:
                self.close()
                return Record(kind, started, time.monotonic() - started, 0, f"connection error: {error!r}")
        return Record(kind, started, time.monotonic() - started, 0, "unreachable")
