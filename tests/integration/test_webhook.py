"""The webhook function against moto: what it answers, and what it enqueues (or, refusing, does not)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import drain, drain_all, shopify_delivery, shopify_order


def call(runtime: Any, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> dict[str, Any]:
    _, event = runtime.http.event(method, path, headers, body)
    return runtime.host.invoke("WebhookFunction", event)


@pytest.fixture(autouse=True)
def _empty_queues(runtime: Any) -> Iterator[None]:
    drain_all(runtime)
    yield
    drain_all(runtime)


def test_signed_delivery_is_accepted_and_enqueued_once(runtime: Any, tenant: Any) -> None:
    body, headers = shopify_delivery(shopify_order())
    first = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)
    again = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)

    assert (first["statusCode"], json.loads(first["body"])) == (202, {"status": "accepted"})
    assert (again["statusCode"], json.loads(again["body"])) == (202, {"status": "duplicate"})
    messages = drain(runtime, "IngestQueue")
    assert len(messages) == 1
    assert messages[0]["delivery_id"] == headers["x-shopify-webhook-id"]
    assert "x-shopify-hmac-sha256" in messages[0]["headers"]


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        (lambda body, headers: (body + b" ", headers), 401),
        (lambda body, headers: (body, {**headers, "x-shopify-hmac-sha256": "AAAA"}), 401),
        (lambda body, headers: (body, {k: v for k, v in headers.items() if k != "x-shopify-hmac-sha256"}), 401),
    ],
    ids=["tampered body", "wrong signature", "missing signature"],
)
def test_refused_deliveries_enqueue_nothing(runtime: Any, tenant: Any, tamper: Any, status: int) -> None:
    body, headers = tamper(*shopify_delivery(shopify_order()))
    response = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)
    assert response["statusCode"] == status
    assert json.loads(response["body"])["error"]
    assert drain(runtime, "IngestQueue") == []


def test_wrong_secret_is_401(runtime: Any, tenant: Any) -> None:
    body, headers = shopify_delivery(shopify_order(), secret="not-the-shops-secret")
    assert call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)["statusCode"] == 401


def test_unknown_tenant_and_unknown_source_are_404(runtime: Any, tenant: Any) -> None:
    body, headers = shopify_delivery(shopify_order())
    assert call(runtime, "/v1/webhooks/shopify/nobody", body, headers)["statusCode"] == 404
    assert call(runtime, f"/v1/webhooks/nosuchshop/{tenant.tenant}", body, headers)["statusCode"] == 404
    assert call(runtime, f"/v1/webhooks/base/{tenant.tenant}", body, headers)["statusCode"] == 404
    assert drain(runtime, "IngestQueue") == []


def test_a_body_shopify_would_not_send_is_422_with_the_field(runtime: Any, tenant: Any) -> None:
    order = shopify_order()
    order["line_items"][0]["quantity"] = -1
    body, headers = shopify_delivery(order)
    response = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["path"] == "line_items.0.quantity"
    assert drain(runtime, "IngestQueue") == []


def test_not_json_is_422(runtime: Any, tenant: Any) -> None:
    body, headers = shopify_delivery(b"<order/>")
    response = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)
    assert response["statusCode"] == 422
    assert "not JSON" in json.loads(response["body"])["error"]


def test_a_body_over_the_message_limit_goes_to_s3(runtime: Any, tenant: Any, services: Any) -> None:
    order = shopify_order(note="x" * 300_000)  # a long note: valid, and too big for one SQS message
    body, headers = shopify_delivery(order)
    assert call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)["statusCode"] == 202
    (message,) = drain(runtime, "IngestQueue")
    assert "body_b64" not in message
    assert services.blobs.get(message["payload_ref"]) == body


def test_a_body_over_the_source_limit_is_413(runtime: Any, tenant: Any) -> None:
    body, headers = shopify_delivery(b"{" + b" " * (6 * 1024 * 1024) + b"}")
    assert call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)["statusCode"] == 413
    assert drain(runtime, "IngestQueue") == []


def test_a_delivery_recorded_but_never_enqueued_is_enqueued_on_retry(runtime: Any, tenant: Any, services: Any) -> None:
    """A crash between the dedupe record and the queue must not turn the sender's retry into a loss."""
    from datetime import UTC, datetime

    from mutabik.store.deliveries import DeliveryRecord, DeliveryState

    body, headers = shopify_delivery(shopify_order())
    services.deliveries.record(
        DeliveryRecord(
            tenant=tenant.tenant,
            source="shopify",
            delivery_id=headers["x-shopify-webhook-id"],
            state=DeliveryState.RECEIVED,
            received_at=datetime.now(UTC),
        )
    )
    assert call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)["statusCode"] == 202
    assert len(drain(runtime, "IngestQueue")) == 1


def test_the_webhook_never_overwrites_what_the_mapper_recorded_first(runtime: Any, tenant: Any, services: Any) -> None:
    """The mapper can map a delivery before the webhook has marked it ENQUEUED: MAPPED must stay."""
    from datetime import UTC, datetime

    from mutabik.store.deliveries import DeliveryRecord, DeliveryState

    record, _ = services.deliveries.record(
        DeliveryRecord(
            tenant=tenant.tenant,
            source="shopify",
            delivery_id="raced",
            state=DeliveryState.RECEIVED,
            received_at=datetime.now(UTC),
        )
    )
    services.deliveries.update(record, state=DeliveryState.MAPPED, documents=("k",))
    assert services.deliveries.update(record, only_if=DeliveryState.RECEIVED, state=DeliveryState.ENQUEUED) is None
    assert services.deliveries.get(tenant.tenant, "shopify", "raced").state is DeliveryState.MAPPED


def test_a_sender_that_never_calls_over_http_is_404(runtime: Any, tenant: Any) -> None:
    """Amazon SP-API notifications come through EventBridge; an HTTP post claiming to be one is refused."""
    response = call(runtime, f"/v1/webhooks/amazon/{tenant.tenant}", b'{"NotificationType": "ORDER_CHANGE"}', {})
    assert response["statusCode"] == 404
    assert drain(runtime, "IngestQueue") == []


# Senders that call one path per event under their URL (Hepsiburada), through `{proxy+}`.
HEPSIBURADA = {"username": "hb-user", "password": "hb-secret"}


@pytest.fixture
def hepsiburada_tenant(services: Any, tenant: Any) -> Any:
    from mutabik.store import keys
    from mutabik.store.tenants import SourceSettings

    name = keys.source_secret_name(services.secrets.prefix, tenant.tenant, "hepsiburada")
    services.secrets.put(name, json.dumps(HEPSIBURADA))
    config = tenant.model_copy(update={"sources": {**tenant.sources, "hepsiburada": SourceSettings()}})
    services.tenants.put(config)
    return config


def hepsiburada_call(runtime: Any, tenant: str, method: str, rest: str, body: dict[str, Any]) -> dict[str, Any]:
    from mutabik.sources.base import basic_auth_header

    headers = {"authorization": basic_auth_header(HEPSIBURADA["username"], HEPSIBURADA["password"])}
    return call(runtime, f"/v1/webhooks/hepsiburada/{tenant}/{rest}", json.dumps(body).encode(), headers, method)


IN_TRANSIT = {"orderNumber": "4523871234", "trackingNumber": "ARAS7788990011", "cargoCompany": "Aras Kargo"}


def test_the_event_path_reaches_the_queue_and_the_mapper_parses_it(
    runtime: Any, hepsiburada_tenant: Any, services: Any
) -> None:
    from mutabik.model.document import DocumentType
    from mutabik.store import keys

    first = hepsiburada_call(runtime, hepsiburada_tenant.tenant, "PUT", "packages/013105889/intransit", IN_TRANSIT)
    again = hepsiburada_call(runtime, hepsiburada_tenant.tenant, "PUT", "packages/013105889/intransit", IN_TRANSIT)

    assert (first["statusCode"], json.loads(first["body"])) == (202, {"status": "accepted"})
    assert json.loads(again["body"]) == {"status": "duplicate"}
    (message,) = drain(runtime, "IngestQueue")
    assert message["path"] == "packages/013105889/intransit"
    assert message["topic"] == "package.in_transit"
    assert "authorization" not in message["headers"]

    # The mapper parses the queued delivery with its path: the package in transit is a despatch advice.
    message.pop("_attributes")
    runtime.sqs.send_message(QueueUrl=runtime.resource("IngestQueue"), MessageBody=json.dumps(message))
    assert runtime.pollers["MapperFunction"].poll_once() == 1
    key = keys.document_key(
        hepsiburada_tenant.tenant, "export", DocumentType.DESPATCH_ADVICE, "hepsiburada:013105889:intransit"
    )
    document = services.documents.get(key)
    assert document is not None
    assert document.payload["shipment"]["order_ref"] == "4523871234"


def test_each_event_path_is_its_own_delivery(runtime: Any, hepsiburada_tenant: Any) -> None:
    """The same body at two event paths is two events (a cancel and a package status say different things)."""
    body = {"orderNumber": "4523871234"}
    assert (
        hepsiburada_call(runtime, hepsiburada_tenant.tenant, "PUT", "orders/4523871234/cancel", body)["statusCode"]
        == 202
    )
    assert (
        hepsiburada_call(runtime, hepsiburada_tenant.tenant, "PUT", "packages/1/delivered", body)["statusCode"] == 202
    )
    assert sorted(m["topic"] for m in drain(runtime, "IngestQueue")) == ["order.cancelled", "package.status"]


def test_an_event_path_with_wrong_credentials_is_401(runtime: Any, hepsiburada_tenant: Any) -> None:
    headers = {"authorization": "Basic aGItdXNlcjp3cm9uZw=="}  # hb-user:wrong
    response = call(runtime, f"/v1/webhooks/hepsiburada/{hepsiburada_tenant.tenant}/orders", b"{}", headers, "POST")
    assert response["statusCode"] == 401
    assert drain(runtime, "IngestQueue") == []


def test_a_sender_without_event_paths_refuses_one(runtime: Any, tenant: Any) -> None:
    body, headers = shopify_delivery(shopify_order())
    response = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}/orders/paid", body, headers)
    assert response["statusCode"] == 404
    assert drain(runtime, "IngestQueue") == []


def test_other_methods_on_an_event_path_are_405(runtime: Any, hepsiburada_tenant: Any) -> None:
    response = call(runtime, f"/v1/webhooks/hepsiburada/{hepsiburada_tenant.tenant}/orders", b"", {}, "GET")
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST, PUT"
    assert json.loads(response["body"])["error"] == "method not allowed"


def test_error_bodies_name_the_request_for_support(runtime: Any, tenant: Any) -> None:
    body, headers = shopify_delivery(shopify_order(), secret="not-the-shops-secret")
    _, event = runtime.http.event("POST", f"/v1/webhooks/shopify/{tenant.tenant}", headers, body)
    response = runtime.host.invoke("WebhookFunction", event)
    assert json.loads(response["body"])["request_id"] == event["requestContext"]["requestId"]


@pytest.mark.parametrize(
    ("path", "route", "parameters"),
    [
        ("/v1/webhooks/shopify/acme", "POST /v1/webhooks/{source}/{tenant}", {"source": "shopify", "tenant": "acme"}),
        (
            "/v1/webhooks/hepsiburada/acme/packages/0131%2F05/intransit",
            "ANY /v1/webhooks/{source}/{tenant}/{proxy+}",
            {"source": "hepsiburada", "tenant": "acme", "proxy": "packages/0131/05/intransit"},
        ),
    ],
)
def test_local_http_api_routes_as_api_gateway_does(
    runtime: Any, path: str, route: str, parameters: dict[str, str]
) -> None:
    """`{proxy+}` takes the rest of the path; path parameters arrive decoded."""
    matched = runtime.http.match("POST", path)
    assert matched is not None
    assert (matched[0], matched[2]) == (route, parameters)


def test_an_over_long_delivery_id_is_kept_as_its_digest(runtime: Any, tenant: Any) -> None:
    """Found by schemathesis: a signed delivery whose id outgrows a table key was a 500."""
    body, headers = shopify_delivery(shopify_order(), webhook_id="x" * 3000)
    first = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)
    again = call(runtime, f"/v1/webhooks/shopify/{tenant.tenant}", body, headers)
    assert [json.loads(r["body"])["status"] for r in (first, again)] == ["accepted", "duplicate"]
    (message,) = drain(runtime, "IngestQueue")
    assert message["delivery_id"].startswith("sha256:")
