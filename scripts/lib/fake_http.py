"""Shared by the checks that stand in for a remote HTTP server (a competitor's products API)."""

from __future__ import annotations

import http.server
import json


class QuietJSONHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that answers JSON and keeps its access log off the check's output."""

    def send_json(self, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass
