"""Provider fakes: each behaves like its provider and checks what we send against the provider's published
description (Paraşüt's swagger.json, GİB's XSD and schematron for the UBL inside a SOAP envelope).

Every fake module `tests/fakes/<provider>.py` defines `Fake`, a WSGI application with:
- `credentials() -> dict[str, str]`: what a tenant stores in Secrets Manager to reach it;
- `options() -> dict[str, str]`: the tenant's `ProviderSettings.options` it expects (may be empty);
- what it has received (documents, contacts …), for tests to assert on.

`FakeServer` serves one on 127.0.0.1 and an ephemeral port; the local runtime's `mutabik send --provider`
starts the same fakes (`mutabik_local.fakes`), so a newcomer sees a real flow without credentials.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Protocol

from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["FakeApp", "FakeServer"]


class FakeApp(Protocol):
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any: ...

    def credentials(self) -> dict[str, str]: ...

    def options(self) -> dict[str, str]: ...


class FakeServer:
    """A fake on a loopback port, in a daemon thread; `url` is its base URL. Use as a context manager."""

    def __init__(self, app: FakeApp) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-provider", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
