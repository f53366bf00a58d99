"""`mutabik documents`: a tenant's documents of a day with their status, number and the provider's words;
`--retry KEY` replays a REJECTED document after its cause is fixed; `--pdf KEY` fetches its printable form."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from mutabik.cli._target import add_target_arguments, connect, fail
from mutabik.model.document import Document, DocumentStatus
from mutabik.pipeline.services import Services

__all__ = ["print_documents", "register", "todays_documents"]


def register(commands: Any) -> None:
    parser = commands.add_parser("documents", help="list documents with their status")
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--date", type=date.fromisoformat, help="UTC day, YYYY-MM-DD (default: today)")
    parser.add_argument("--json", action="store_true", help="one JSON document per line")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--retry", metavar="KEY", help="send a REJECTED document again (after fixing the cause)")
    action.add_argument("--pdf", metavar="KEY", help="fetch the document's PDF (or link) from its provider")
    parser.add_argument("-o", "--output", type=Path, help="with --pdf: where to write it (default: <uuid>.pdf)")
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
    if args.retry:
        return retry(services, args.retry)
    if args.pdf:
        return fetch_pdf(services, args.pdf, args.output)
    documents = todays_documents(services, args.tenant, args.date)
    if args.json:
        for document in documents:
            print(document.model_dump_json(exclude={"payload"}))
    else:
        print_documents(documents)
    return 0


def retry(services: Services, key: str) -> int:
    """REJECTED → PENDING and back on the push queue: the same key, so the same ETTN and number."""
    document = services.documents.get(key)
    if document is None:
        raise fail(f"no document {key}")
    if document.status is not DocumentStatus.REJECTED:
        raise fail(f"{key} is {document.status}; only a REJECTED document is retried")
    services.documents.transition(document, DocumentStatus.PENDING, error="")
    services.push_queue.send({"key": key})
    print(f"{key}: PENDING again, queued for the pusher")
    return 0


def _pdf_when_ready(provider: Any, document: Document, wait: float = 30.0) -> Any:
    """Providers render PDFs on request (Paraşüt answers 204 until it is ready): ask again, for `wait` s."""
    import time

    from mutabik.providers.exceptions import ProviderError, RetryableProviderError

    deadline = time.monotonic() + wait
    while True:
        try:
            return provider.pdf(document)
        except RetryableProviderError as exc:
            pause = min(5.0, exc.retry_after or 1.0)
            if time.monotonic() + pause > deadline:
                raise fail(f"{exc} (asked for {wait:.0f} s)") from exc
            time.sleep(pause)
        except ProviderError as exc:
            raise fail(str(exc)) from exc


def fetch_pdf(services: Services, key: str, output: Path | None) -> int:
    from mutabik.pipeline.pushing import build_provider
    from mutabik.providers.base import Capability

    document = services.documents.get(key)
    if document is None:
        raise fail(f"no document {key}")
    provider = build_provider(document, services)
    if not provider.supports(Capability.PDF):
        raise fail(f"{provider.name} serves no PDF")
    file = _pdf_when_ready(provider, document)
    if file.url and not file.content:
        print(file.url)
        return 0
    extension = "pdf" if file.content_type == "application/pdf" else "html"
    target = output or Path(f"{document.uuid}.{extension}")
    target.write_bytes(file.content)
    print(f"{target} ({len(file.content)} bytes, {file.content_type})")
    return 0
