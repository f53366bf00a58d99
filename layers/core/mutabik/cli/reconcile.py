"""`mutabik reconcile --date D`: run the reconciliation state machine for a day and print its report."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from mutabik.cli._executions import run_execution
from mutabik.cli._target import add_target_arguments, connect, fail

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("reconcile", help="reconcile a day's deliveries against documents")
    parser.add_argument("--date", required=True, help="YYYY-MM-DD, 'today' or 'yesterday'")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    add_target_arguments(parser)
    parser.set_defaults(handler=run)


def _state_machine(state: dict[str, Any]) -> str:
    for logical, physical in state.get("resources", {}).items():
        if logical.endswith("StateMachine") and "Reconciliation" in logical:
            return str(physical["Arn"])
    arn = state.get("env", {}).get("RECONCILIATION_STATE_MACHINE_ARN")
    if not arn:
        raise fail("no reconciliation state machine found")
    return str(arn)


def run(args: argparse.Namespace) -> int:
    if args.date not in ("today", "yesterday"):
        date.fromisoformat(args.date)  # refuse a malformed date here, not inside the state machine
    services, state = connect(args)
    result = run_execution(_state_machine(state), json.dumps({"date": args.date}))
    if result["status"] != "SUCCEEDED":
        print(json.dumps(result, indent=2))
        return 1
    written = result["output"]["report"]
    report = json.loads(services.blobs.get(written["key"]))
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report, written["key"])
    return 0 if report["ok"] else 2


def print_report(report: dict[str, Any], key: str) -> None:
    print(f"reconciliation {report['date']}: {'OK' if report['ok'] else 'ATTENTION'}  (s3://…/{key})")
    for tenant in report["tenants"]:
        states = ", ".join(f"{k} {v}" for k, v in sorted(tenant["delivery_states"].items())) or "none"
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(tenant["document_statuses"].items())) or "none"
        print(f"  {tenant['tenant']}: {tenant['deliveries']} deliveries ({states}); documents: {statuses}")
        for item in tenant["dead_lettered"]:
            print(f"    dead-lettered {item['source']} {item['delivery_id']}: {item['reason']}")
        for item in tenant["not_final"]:
            print(f"    not final     {item['document']}: {item['status']}")
        for item in tenant["unaccounted"]:
            print(f"    UNACCOUNTED   {item['source']} {item['delivery_id']} ({item['state']}) {item['last_error']}")
    for item in report.get("unrouted", []):
        what = f"{item['source']} account {item['account']} {item['delivery_id']}" if item["source"] else "a message"
        print(f"  NO TENANT for {what} (dead-lettered {item['dead_lettered_at']}): {item['reason']}")
