"""`mutabik dlq list|redrive`: see what waits in a dead-letter queue, and replay it after the fix."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mutabik.cli._target import add_target_arguments, connect

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("dlq", help="list or replay dead letters")
    actions = parser.add_subparsers(dest="action", required=True)
    for action, handler, text in (("list", list_dead, "show dead letters and why"), ("redrive", redrive, "replay")):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("--queue", choices=("ingest", "push"), default="ingest")
        add_target_arguments(sub)
        sub.set_defaults(handler=handler)
        if action == "redrive":
            sub.add_argument("--limit", type=int, default=1000)


def list_dead(args: argparse.Namespace) -> int:
    services, _ = connect(args)
    dlq = services.ingest_dlq if args.queue == "ingest" else services.push_dlq
    response = dlq.client.receive_message(
        QueueUrl=dlq.url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    )
    messages = response.get("Messages", [])
    for message in messages:
        body = json.loads(message["Body"])
        attributes: dict[str, Any] = dict(message.get("MessageAttributes", {}))
        reason = attributes.get("reason", {}).get("StringValue", "(retries exhausted)")
        ident = _identify(body)
        print(f"{ident}  received {message['Attributes'].get('ApproximateReceiveCount')}×  {reason}")
    print(f"{len(messages)} shown")
    return 0


def redrive(args: argparse.Namespace) -> int:
    from mutabik.pipeline.redrive import redrive as move

    services, _ = connect(args)
    pairs = {"ingest": (services.ingest_dlq, services.ingest_queue), "push": (services.push_dlq, services.push_queue)}
    dlq, target = pairs[args.queue]
    result = move(dlq, target, limit=args.limit)
    print(
        f"moved {result.moved} message(s) back to the {args.queue} queue"
        + (" (more remain)" if result.remaining else "")
    )
    return 0


def _identify(body: dict[str, Any]) -> str:
    """A document key, a delivery (tenant/source/id), or a queue sender's own event as it arrived (Amazon)."""
    if body.get("key"):
        return str(body["key"])
    if "tenant" in body:
        return f"{body.get('tenant')}/{body.get('source')}/{body.get('delivery_id')}"
    kind = body.get("detail-type") or body.get("NotificationType") or "unrecognised message"
    return f"{kind} {body.get('id', '')}".strip()
