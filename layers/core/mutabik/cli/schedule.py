"""`mutabik schedule run NAME`: fire one of template.yaml's schedules now (moto does not fire them)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mutabik.cli._executions import run_execution
from mutabik.cli._target import add_target_arguments, connect, fail

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("schedule", help="fire a schedule of template.yaml now")
    actions = parser.add_subparsers(dest="action", required=True)
    run_parser = actions.add_parser("run", help="start the schedule's target with its input and wait")
    run_parser.add_argument("name", help="the schedule's logical id, e.g. DailyReconciliationSchedule")
    add_target_arguments(run_parser)
    run_parser.set_defaults(handler=run)
    list_parser = actions.add_parser("list", help="the schedules of the running local runtime")
    add_target_arguments(list_parser)
    list_parser.set_defaults(handler=list_schedules)


def list_schedules(args: argparse.Namespace) -> int:
    _, state = connect(args)
    for name, schedule in state.get("schedules", {}).items():
        print(f"{name}: {schedule['expression']} → {schedule['target']}")
    return 0


def run(args: argparse.Namespace) -> int:
    _, state = connect(args)
    schedule = state.get("schedules", {}).get(args.name)
    if schedule is None:
        raise fail(f"no schedule {args.name!r}; known: {', '.join(state.get('schedules', {})) or 'none'}")
    if ":function:" in schedule["target"]:
        return _invoke(schedule["target"], schedule["input"], local=not args.stack)
    result = run_execution(schedule["target"], schedule["input"])
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["status"] == "SUCCEEDED" else 1


def _invoke(function_arn: str, payload: str, *, local: bool) -> int:
    """A Lambda target (the monthly payroll pull): invoke it synchronously, as the scheduler would, and print
    its answer. Locally the runtime's loopback Lambda endpoint (MOTO_PORT) runs our handler."""
    import os

    import boto3

    endpoint = f"http://127.0.0.1:{os.environ['MOTO_PORT']}" if local and os.environ.get("MOTO_PORT") else None
    client = boto3.client("lambda", endpoint_url=endpoint)
    response = client.invoke(FunctionName=function_arn, Payload=payload.encode())
    body = response["Payload"].read().decode() or "null"
    print(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
    return 1 if response.get("FunctionError") else 0
