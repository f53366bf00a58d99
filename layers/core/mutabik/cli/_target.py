"""Which system a command talks to: the running local runtime (default) or a deployed stack (--stack)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from mutabik.pipeline.services import Services

__all__ = ["add_target_arguments", "connect", "fail"]

LOCAL_STATE = Path(".local/runtime.json")

#: Stack outputs (template.yaml) → the environment names the pipeline reads.
OUTPUT_ENV = {
    "LedgerTableName": "TABLE_NAME",
    "PayloadBucketName": "PAYLOAD_BUCKET",
    "IngestQueueUrl": "INGEST_QUEUE_URL",
    "IngestDLQUrl": "INGEST_DLQ_URL",
    "PushQueueUrl": "PUSH_QUEUE_URL",
    "PushDLQUrl": "PUSH_DLQ_URL",
    "ReconciliationStateMachineArn": "RECONCILIATION_STATE_MACHINE_ARN",
    "HttpApiUrl": "HTTP_API_URL",
}


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", help="a deployed stack's name (default: the running local runtime)")
    parser.add_argument("--state", type=Path, default=LOCAL_STATE, help=argparse.SUPPRESS)


def fail(message: str) -> SystemExit:
    return SystemExit(f"mutabik: {message}")


def connect(args: argparse.Namespace) -> tuple[Services, dict[str, Any]]:
    """Services for the chosen system, and what is known of it (api URL, resources, schedules)."""
    if getattr(args, "stack", None):
        return _connect_stack(args.stack)
    state_path: Path = args.state
    if not state_path.exists():
        raise fail(f"no local runtime is running here ({state_path} is missing): start one with `make run`")
    state = json.loads(state_path.read_text())
    os.environ.update(state["env"])
    from mutabik.store import clients

    clients.reset()
    return Services(), state


def _connect_stack(stack: str) -> tuple[Services, dict[str, Any]]:
    import boto3

    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    }
    env = {name: outputs[key] for key, name in OUTPUT_ENV.items() if key in outputs}
    os.environ.update(env)
    return Services(), {"api": env.get("HTTP_API_URL", "").rstrip("/"), "stack": stack, "env": env}
