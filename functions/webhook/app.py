"""HTTP API entry point: POST /v1/webhooks/{source}/{tenant} → verify, dedupe, enqueue, answer in ms."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mutabik.pipeline.intake import receive
from mutabik.pipeline.services import Services
from mutabik.sources.base import Delivery

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
services = Services()


@app.post("/v1/webhooks/<source>/<tenant>")
def webhook(source: str, tenant: str) -> Response[str]:
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
    )
    answer = receive(delivery, services)
    metrics.add_metric(name=f"Webhook{answer.status_code // 100}xx", unit=MetricUnit.Count, value=1)
    return Response(status_code=answer.status_code, content_type=answer.content_type, body=answer.body)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
