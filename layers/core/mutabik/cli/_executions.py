"""Start a state machine execution and wait for its end (for `schedule run` and `reconcile`)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

__all__ = ["run_execution"]


def run_execution(state_machine_arn: str, payload: str, timeout: float = 300.0) -> dict[str, Any]:
    from mutabik.store import clients

    client = clients.stepfunctions()
    # A unique name: executions are named for the console and for idempotency, not left to the service.
    name = f"cli-{uuid.uuid4().hex}"
    arn = client.start_execution(stateMachineArn=state_machine_arn, input=payload, name=name)["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        execution = client.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} still running after {timeout:.0f} s")
        time.sleep(0.2)
    output = json.loads(execution.get("output") or "null")
    return {
        "status": execution["status"],
        "output": output,
        "error": execution.get("error", ""),
        "cause": execution.get("cause", ""),
        "arn": arn,
    }
