"""`mutabik local`: run the whole system on this machine (moto on 127.0.0.1), seed a demo tenant, show it work."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("local", help="run the local runtime (moto + our handlers) with a demo tenant")
    parser.add_argument("--root", type=Path, default=Path("."), help="the project folder (template.yaml, events/)")
    parser.add_argument("--port", type=int, default=3000, help="loopback port of the HTTP API (0: any free one)")
    parser.add_argument("--once", action="store_true", help="run the demo, exit 0 only if every document is final")
    parser.add_argument("--no-demo", action="store_true", help="start without sending the sample order")
    parser.add_argument(
        "--event",
        type=Path,
        action="append",
        help="sample event(s) for --once (default: events/shopify/orders-paid.json)",
    )
    parser.add_argument(
        "--provider",
        action="append",
        help="serve this provider's fake with a demo tenant demo-<provider> (repeatable; default: every fake); "
        "with --once the demo goes to these instead of the export provider",
    )
    parser.add_argument("--no-fakes", action="store_true", help="serve no provider fakes")
    parser.add_argument("--time-scale", type=float, default=1.0, help="shrink visibility timeouts (0.01: 180 s → 2 s)")
    parser.add_argument("--verbose", action="store_true", help="show the functions' logs")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mutabik_local.demo import DEMO_TENANT, seed_demo_tenant
    from mutabik_local.runtime import LocalRuntime

    from mutabik.pipeline.services import Services

    root = args.root.resolve()
    runtime = LocalRuntime(
        root,
        api_port=args.port,
        time_scale=args.time_scale,
        log_level="INFO" if args.verbose else "WARNING",
    ).start()
    servers: dict[str, Any] = {}
    senders: dict[str, Any] = {}
    try:
        services = Services()
        config = seed_demo_tenant(root, services)
        servers = _serve_fakes(root, services, [] if args.no_fakes else args.provider or ["all"])
        runtime.extra_state["providers"] = {
            name: {"url": server.url, "tenant": demo_tenant_name(name)} for name, server in servers.items()
        }
        senders = (
            {} if args.no_fakes else _serve_sender_fakes(root, services, [DEMO_TENANT, *map(demo_tenant_name, servers)])
        )
        runtime.extra_state["sender_apis"] = {name: {"url": server.url} for name, server in senders.items()}
        state = runtime.write_state()
        secret = services.secrets.source_secret(DEMO_TENANT, "shopify") if "shopify" in config.sources else ""
        print(f"mutabik local runtime on {runtime.http.url}  (moto at {runtime.endpoint}, state in {state})")
        print(
            f"  webhook URL : {runtime.webhook_base}/<source>/{DEMO_TENANT}   e.g. {runtime.webhook_base}/shopify/demo"
        )
        print(f"  Shopify secret to sign with: {secret}")
        print("  try: mutabik send events/shopify/orders-paid.json && mutabik documents")
        for name, server in servers.items():
            print(f"  provider fake {name:<12} at {server.url}  tenant {demo_tenant_name(name)}")
        for name, server in senders.items():
            print(f"  sender API fake {name:<10} at {server.url}  (every demo tenant's {name} API)")
        if servers:
            print(f"  try: mutabik send --provider {next(iter(servers))} events/shopify/orders-paid.json")
        events = args.event or [root / "events/shopify/orders-paid.json"]
        # `--provider all` shows every flow: the export demo and each fake's; named providers show theirs.
        everything = not args.provider or "all" in args.provider
        tenants = [DEMO_TENANT] if everything else []
        tenants += [demo_tenant_name(n) for n in servers] if args.provider else []
        ok = True if args.no_demo else all([_demo(runtime, services, events, tenant) for tenant in tenants])
        if args.once:
            return 0 if ok else 1
        print("serving; Ctrl-C to stop")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        return 0
    finally:
        for server in [*servers.values(), *senders.values()]:
            server.stop()
        runtime.stop()
        (root / ".local/runtime.json").unlink(missing_ok=True)


def _serve_fakes(root: Path, services: Any, names: list[str]) -> dict[str, Any]:
    from mutabik_local.fakes import available_fakes, start_fakes

    if not names:
        return {}
    available = available_fakes(root)
    wanted = available if "all" in names else names
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise SystemExit(f"mutabik: no fake for {', '.join(unknown)} (there are: {', '.join(available) or 'none'})")
    return start_fakes(root, wanted, services)


def _serve_sender_fakes(root: Path, services: Any, tenants: list[str]) -> dict[str, Any]:
    """The sender API fakes, and every demo tenant's senders pointed at them."""
    from mutabik_local.fakes import connect_sender_apis, start_sender_fakes

    senders = start_sender_fakes(root)
    for tenant in tenants:
        connect_sender_apis(services, services.tenants.get(tenant), senders)
    return senders


def demo_tenant_name(provider: str) -> str:
    from mutabik_local.fakes import demo_tenant_name as name

    return name(provider)


def _demo(runtime: Any, services: Any, events: list[Path], tenant: str) -> bool:
    """Send the sample events, wait for the pipeline to settle, print the documents; True if all are final."""
    from mutabik_local.demo import post_event

    from mutabik.cli.documents import print_documents, todays_documents
    from mutabik.providers import is_settled

    print(f"  demo tenant {tenant}:")
    for path in events:
        response = post_event(runtime.webhook_base, json.loads(path.read_text()), services, tenant)
        print(f"  sent {path.name}: {response.status_code} {response.text}")
    runtime.settle(timeout=60)
    documents = todays_documents(services, tenant)
    print_documents(documents)
    ok = bool(documents) and all(is_settled(d) for d in documents)
    print("demo: every document reached its final status" if ok else "demo: documents are not final", file=sys.stderr)
    return ok
