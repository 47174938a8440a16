"""An OTLP/HTTP traces receiver on loopback for the trace checks: it decodes every body as an
`ExportTraceServiceRequest` with opentelemetry-proto (the OTLP JSON encoding: hex ids turned into
protobuf's base64 first, as collectors do), so a body that does not follow the schema is recorded
as an error and answered 400, and keeps every span it decoded."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

ID_FIELDS = {"traceId", "spanId", "parentSpanId"}


def otlp_json_to_proto_json(value: Any) -> Any:
    """OTLP JSON differs from protobuf's JSON mapping in its ids: hex there, base64 here."""
    if isinstance(value, dict):
        return {key: (base64.b64encode(bytes.fromhex(item)).decode() if key in ID_FIELDS and isinstance(item, str)
                      else otlp_json_to_proto_json(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [otlp_json_to_proto_json(item) for item in value]
    return value


class Receiver:
    """An OTLP/HTTP traces endpoint on loopback that keeps every span it decoded."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.requests = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    if self.path != "/v1/traces":
                        raise ValueError(f"path {self.path}")
                    if self.headers.get("Content-Type") != "application/json":
                        raise ValueError(f"Content-Type {self.headers.get('Content-Type')}")
                    request = ExportTraceServiceRequest()
                    json_format.Parse(json.dumps(otlp_json_to_proto_json(json.loads(body))), request)
                    receiver.accept(request)
                    status, reply = 200, b"{}"
                except (ValueError, json_format.ParseError) as error:  # not OTLP: recorded, answered 400
                    with receiver.lock:
                        receiver.errors.append(f"{type(error).__name__}: {error}")
                    status, reply = 400, b'{"error":"bad request"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accept(self, request: ExportTraceServiceRequest) -> None:
        with self.lock:
            self.requests += 1
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append({
                            "service": resource.get("service.name"),
                            "trace": span.trace_id.hex(), "span": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(), "name": span.name, "kind": span.kind,
                            "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                            "state": span.trace_state,
                            "attributes": {a.key: attribute_value(a.value) for a in span.attributes},
                            "links": [(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                            "status": span.status.code,
                        })

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [span for span in self.spans if span["trace"] == trace_id]

    def stop(self) -> None:
        self.server.shutdown()


def attribute_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def one(spans: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    named = [span for span in spans if span["name"] == name]
    return named[0] if len(named) == 1 else None


