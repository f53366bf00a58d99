"""The Lambda Invoke API on a loopback port, so moto's Step Functions executor runs our handlers.

moto's executor calls Lambda at http://localhost:$MOTO_PORT; moto's own Lambda needs Docker to run code, so
the runtime points MOTO_PORT here and answers Invoke itself, as Lambda would (FunctionError on a crash).
"""

from __future__ import annotations

import json
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from mutabik_local.functions import FunctionHost

__all__ = ["LambdaApi"]

_PREFIX = "/2015-03-31/functions/"


class LambdaApi:
    def __init__(self, host: FunctionHost) -> None:
        self.host = host
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.thread = threading.Thread(target=self.server.serve_forever, name="lambda-api", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                if not (self.path.startswith(_PREFIX) and self.path.endswith("/invocations")):
                    self._send(404, {"message": "not found"})
                    return
                name = unquote(self.path[len(_PREFIX) : -len("/invocations")])
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                try:
                    logical = api.host.resolve_name(name)
                except KeyError as exc:
                    self._send(404, {"Type": "User", "message": str(exc)}, error="ResourceNotFoundException")
                    return
                try:
                    result = api.host.invoke(logical, payload)
                except Exception as exc:  # a crash is the function's answer, as on Lambda
                    self._send(
                        200,
                        {
                            "errorMessage": str(exc),
                            "errorType": type(exc).__name__,
                            "stackTrace": traceback.format_tb(exc.__traceback__),
                        },
                        function_error="Unhandled",
                    )
                    return
                self._send(200, result)

            def _send(self, status: int, body: Any, *, function_error: str = "", error: str = "") -> None:
                data = json.dumps(body, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Amz-Executed-Version", "$LATEST")
                if function_error:
                    self.send_header("X-Amz-Function-Error", function_error)
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.end_headers()
                self.wfile.write(data)

        return Handler
