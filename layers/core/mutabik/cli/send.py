"""`mutabik send EVENT.json`: post a sample event to the running webhook, signed with the tenant's secret.

With `--provider NAME` the events go to the demo tenant of that provider's fake (`demo-NAME`, served by
`mutabik local`), and the command waits for the documents they make to settle and prints them: the same flow a
seller's real provider would see, without credentials.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from mutabik.cli._target import add_target_arguments, connect, fail

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("send", help="send a sample event (events/<source>/<topic>.json) to the webhook")
    parser.add_argument("events", type=Path, nargs="+", help="API Gateway v2 event files")
    parser.add_argument("--tenant", help="send to this tenant instead of the event's")
    parser.add_argument(
        "--provider", help="send to the demo tenant of this provider's fake (parasut, gib_portal, qnb_efinans …)"
    )
    parser.add_argument("--wait", type=float, default=60.0, help="with --provider: seconds to wait for documents")
    add_target_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mutabik_local.demo import post_event

    services, state = connect(args)
    tenant = args.tenant
    if args.provider:
        fakes = state.get("providers", {})
        if args.provider not in fakes:
            known = ", ".join(sorted(fakes)) or "none"
            raise fail(f"the local runtime serves no fake for {args.provider!r} (it serves: {known})")
        tenant = fakes[args.provider]["tenant"]
    failures = 0
    for path in args.events:
        response = post_event(f"{state['api']}/v1/webhooks", json.loads(path.read_text()), services, tenant)
        print(f"{path}: {response.status_code} {response.text}")
        failures += response.status_code >= 300
    if args.provider and not failures:
        failures += not _show_documents(services, tenant, args.wait)
    return 1 if failures else 0


def _show_documents(services: Any, tenant: str, wait: float) -> bool:
    """Wait (bounded) until the tenant's documents of today have settled; print them. True if all did."""
    from mutabik.cli.documents import print_documents, todays_documents
    from mutabik.providers import is_settled

    deadline = time.monotonic() + wait
    documents = todays_documents(services, tenant)
    while time.monotonic() < deadline and not (documents and all(is_settled(d) for d in documents)):
        time.sleep(0.5)
        documents = todays_documents(services, tenant)
    print_documents(documents)
    settled = bool(documents) and all(is_settled(d) for d in documents)
    if not settled:
        print(f"not all documents settled within {wait:.0f} s; follow them with `mutabik documents --tenant {tenant}`")
    return settled
