"""API Gateway HTTP API on a loopback port: each request becomes a payload-format-2.0 event for its route."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mutabik_local.functions import FunctionHost

__all__ = ["HttpApi"]

#: API Gateway's payload limit for HTTP APIs.
MAX_PAYLOAD = 10 * 1024 * 1024


class HttpApi:
    def __init__(self, host: FunctionHost, routes: list[tuple[str, str, str]], port: int = 0) -> None:
        self.host = host
        self.routes = [(method, path, _pattern(path), function) for method, path, function in routes]
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self.thread = threading.Thread(target=self.server.serve_forever, name="http-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def match(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        """The route for a raw (still percent-encoded) path, and its path parameters decoded, as API Gateway
        gives them. `{source}` matches one segment; a greedy `{proxy+}` the rest of the path."""
        for route_method, template, pattern, function in self.routes:
            found = pattern.fullmatch(path)
            if found and route_method in (method, "ANY"):
                return f"{route_method} {template}", function, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def event(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[str, dict[str, Any]]:
        parts = urlsplit(target)
        matched = self.match(method, parts.path)
        if matched is None:
            raise LookupError(parts.path)
        route_key, function, params = matched
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        now = datetime.now(UTC)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": parts.path,
            "rawQueryString": parts.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": self.url.removeprefix("http://"),
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": parts.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "pathParameters": params,
            "isBase64Encoded": encoded,
        }
        if parts.query:
            event["queryStringParameters"] = dict(parse_qsl(parts.query, keep_blank_values=True))
        if body:
            event["body"] = text
        return function, event

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm a keep-alive client waits for the
            # delayed ACK (~40 ms) before it sees the body.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_PAYLOAD:
                    self._send(413, {"message": "Request Entity Too Large"})
                    return
                body = self.rfile.read(length) if length else b""
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    key = name.lower()  # API Gateway lower-cases names and joins repeats with commas
                    headers[key] = f"{headers[key]},{value}" if key in headers else value
                try:
                    function, event = api.event(self.command, self.path, headers, body)
                except LookupError:
                    self._send(404, {"message": "Not Found"})
                    return
                try:
                    result = api.host.invoke(function, event)
                except Exception:  # API Gateway answers a crashed integration with 500
                    self._send(500, {"message": "Internal Server Error"})
                    return
                self._respond(result)

            def __getattr__(self, name: str) -> Any:
                # The stdlib serves a method through `do_<METHOD>` and answers 501 to any it lacks; API Gateway
                # takes every method and answers those no route has with 404.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def _respond(self, result: Any) -> None:
                if not isinstance(result, dict) or "statusCode" not in result:
                    self._send(200, result)  # payload 2.0: a bare value is a 200 JSON body
                    return
                body = result.get("body") or ""
                data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
                self.send_response(int(result["statusCode"]))
                for name, value in (result.get("headers") or {}).items():
                    self.send_header(name, str(value))
                for name, values in (result.get("multiValueHeaders") or {}).items():
                    for value in values:
                        self.send_header(name, str(value))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        return Handler


def _pattern(path: str) -> re.Pattern[str]:
    """`/v1/webhooks/{source}/{tenant}/{proxy+}` → a regex with one named group per path parameter: `{name}`
    is one segment, `{name+}` (API Gateway's greedy parameter, last in a path) one or more."""
    pieces = re.split(r"\{(\w+\+?)\}", path)  # literal, name, literal, name, …
    regex = "".join(
        re.escape(p) if i % 2 == 0 else f"(?P<{p[:-1]}>.+)" if p.endswith("+") else f"(?P<{p}>[^/]+)"
        for i, p in enumerate(pieces)
    )
    return re.compile(regex)
