"""`mutabik send EVENT.json`: post a sample event to the running webhook, signed with the tenant's secret."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mutabik.cli._target import add_target_arguments, connect

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("send", help="send a sample event (events/<source>/<topic>.json) to the webhook")
    parser.add_argument("events", type=Path, nargs="+", help="API Gateway v2 event files")
    parser.add_argument("--tenant", help="send to this tenant instead of the event's")
    add_target_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mutabik_local.demo import post_event

    services, state = connect(args)
    failures = 0
    for path in args.events:
        response = post_event(f"{state['api']}/v1/webhooks", json.loads(path.read_text()), services, args.tenant)
        print(f"{path}: {response.status_code} {response.text}")
        failures += response.status_code >= 300
    return 1 if failures else 0
