"""`mutabik documents`: a tenant's documents of a day with their status, number and the provider's words."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from mutabik.cli._target import add_target_arguments, connect
from mutabik.model.document import Document
from mutabik.pipeline.services import Services

__all__ = ["print_documents", "register", "todays_documents"]


def register(commands: Any) -> None:
    parser = commands.add_parser("documents", help="list documents with their status")
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--date", type=date.fromisoformat, help="UTC day, YYYY-MM-DD (default: today)")
    parser.add_argument("--json", action="store_true", help="one JSON document per line")
    add_target_arguments(parser)
    parser.set_defaults(handler=run)


def todays_documents(services: Services, tenant: str, day: date | None = None) -> list[Document]:
    return services.documents.list_day(tenant, day or services.clock().date())


def print_documents(documents: list[Document]) -> None:
    if not documents:
        print("no documents")
        return
    print(f"{'STATUS':<11} {'TYPE':<15} {'PROVIDER':<10} {'SOURCE REF':<24} {'NUMBER':<17} UUID")
    for d in documents:
        print(f"{d.status:<11} {d.type:<15} {d.provider:<10} {d.source_ref:<24} {d.number or '-':<17} {d.uuid}")
        refs = ", ".join(f"{k}={v}" for k, v in d.provider_refs.items())
        if refs:
            print(f"{'':<11} {refs}")
        if d.error:
            print(f"{'':<11} error: {d.error}")


def run(args: argparse.Namespace) -> int:
    services, _ = connect(args)
    documents = todays_documents(services, args.tenant, args.date)
    if args.json:
        for document in documents:
            print(document.model_dump_json(exclude={"payload"}))
    else:
        print_documents(documents)
    return 0
