"""HTTP API entry point: POST /v1/webhooks/{source}/{tenant}[/{event path}] → verify, dedupe, enqueue, answer in ms."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.pipeline.intake import EVENT_PATH_METHODS, receive
from mutabik.pipeline.services import Services
from mutabik.sources.base import Delivery

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
services = Services()

_BASE = "/v1/webhooks/<source>/<tenant>"


@app.post(_BASE)
def webhook(source: str, tenant: str) -> Response[str]:
    return _receive(source, tenant, path="")


# Senders that call one path per event under the URL they were given (Hepsiburada: `…/orders`,
# `…/packages/{n}/intransit`). A `<name>` never matches a slash, so the rest of the path is a catch-all regex
# (https://docs.powertools.aws.dev/lambda/python/latest/core/event_handler/api_gateway/#catch-all-routes) and
# its value is API Gateway's decoded `{proxy+}`.
@app.route(f"{_BASE}/.+", method=list(EVENT_PATH_METHODS))
def webhook_event(source: str, tenant: str) -> Response[str]:
    event = app.current_event
    proxy = (event.path_parameters or {}).get("proxy")
    if proxy is None:  # an invocation without API Gateway's parameters: the raw path after the tenant
        proxy = event.path.split("/", 5)[5] if event.path.count("/") >= 5 else ""
    return _receive(source, tenant, path=proxy)


@app.route(f"{_BASE}/.+", method=["GET", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def webhook_event_wrong_method(source: str, tenant: str) -> Response[str]:
    body = {"error": "method not allowed", "path": "", "request_id": _request_id()}
    metrics.add_metric(name="Webhook4xx", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=405,
        content_type="application/json",
        body=json.dumps(body),
        headers={"Allow": ", ".join(EVENT_PATH_METHODS)},
    )


def _receive(source: str, tenant: str, path: str) -> Response[str]:
    event = app.current_event
    raw = event.body or ""
    # The signature covers the exact bytes the sender sent: never re-encode a parsed body.
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    delivery = Delivery(
        source=source,
        tenant=tenant,
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        body=body,
        query=dict(event.query_string_parameters or {}),
        received_at=services.clock(),
        path=path.strip("/"),
    )
    answer = receive(delivery, services, request_id=_request_id())
    metrics.add_metric(name=f"Webhook{answer.status_code // 100}xx", unit=MetricUnit.Count, value=1)
    return Response(status_code=answer.status_code, content_type=answer.content_type, body=answer.body)


def _request_id() -> str:
    """API Gateway's request id: the one in its access log, so support can find the call."""
    return str(app.current_event.request_context.request_id or "")


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
