"""`mutabik ubl`: write a UBL-TR invoice for a canonical order, validate a document as GİB does, preview it."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mutabik.model.party import Party

__all__ = ["DEMO_SELLER", "register"]

#: The seller `render` uses unless given `--seller FILE.json`: a demo company with a checksum-valid VKN.
DEMO_SELLER: dict[str, Any] = {
    "name": "Mutabık Demo Ticaret A.Ş.",
    "tax_id": "1234567890",
    "tax_office": "Kadıköy",
    "address": {"street": "Moda Caddesi No: 1", "district": "Kadıköy", "city": "İstanbul", "postal_code": "34710"},
    "email": "fatura@example.com",
}


def register(commands: Any) -> None:
    group = commands.add_parser("ubl", help="UBL-TR e-Fatura / e-Arşiv documents: render, validate, preview")
    actions = group.add_subparsers(dest="ubl_command", required=True, metavar="ACTION")

    render = actions.add_parser("render", help="print the UBL-TR invoice for a canonical order JSON")
    render.add_argument("order", type=Path, help="canonical Order as JSON")
    render.add_argument("--profile", default="EARSIVFATURA", help="TEMELFATURA, TICARIFATURA, EARSIVFATURA, IHRACAT")
    render.add_argument("--type", dest="invoice_type", default="SATIS", help="SATIS, TEVKIFAT, ISTISNA, …")
    render.add_argument("--seller", type=Path, help="seller Party as JSON (default: a built-in demo seller)")
    render.add_argument("--number", help="invoice ID (default: MTB<year>000000001)")
    render.add_argument("--issue-date", type=date.fromisoformat, help="YYYY-MM-DD (default: today, UTC)")
    render.add_argument("--rate", type=Decimal, help="TRY exchange rate for a foreign-currency order")
    render.add_argument("--incoterm", default="EXW", help="IHRACAT delivery term")
    render.add_argument("--gtip", default="", help="IHRACAT: 12-digit GTİP code for every line")
    render.set_defaults(handler=_render)

    validate = actions.add_parser("validate", help="check a document against GİB's XSD and schematron")
    validate.add_argument("file", type=Path)
    validate.add_argument("--xsd-only", action="store_true", help="skip the schematron")
    validate.set_defaults(handler=_validate)

    preview = actions.add_parser("preview", help="print an HTML page for an invoice (… > out.html)")
    preview.add_argument("file", type=Path)
    preview.set_defaults(handler=_preview)


def _seller(path: Path | None) -> Party:
    from mutabik.model.party import Party

    if path is None:
        return Party.model_validate(DEMO_SELLER)
    return Party.model_validate_json(path.read_bytes())


def _render(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from mutabik import ubl
    from mutabik.model.commerce import Order
    from mutabik.model.document import document_uuid
    from mutabik.tax.errors import TaxError

    try:
        order = Order.model_validate_json(args.order.read_bytes())
        seller = _seller(args.seller)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            print(f"error: {where}: {error['msg']}", file=sys.stderr)
        return 2
    issue_date = args.issue_date or datetime.now(UTC).date()
    export = None
    if args.profile == "IHRACAT":
        export = ubl.ExportDetails(incoterm=args.incoterm, default_customs_code=args.gtip)
    try:
        xml = ubl.render_invoice(
            order,
            seller=seller,
            number=args.number or f"MTB{issue_date.year}000000001",
            uuid=document_uuid(f"cli#ubl#sales_invoice#{order.source_ref}"),
            issue_date=issue_date,
            profile=args.profile,
            invoice_type=args.invoice_type,
            exchange_rate=args.rate,
            export=export,
        )
    except (TaxError, ubl.UblError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(xml.decode("utf-8"))
    sys.stdout.write("\n")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from mutabik import ubl

    xml = args.file.read_bytes()
    xsd = ubl.check_xsd(xml)
    print("XSD: ok" if not xsd else f"XSD: {len(xsd)} error(s)")
    for failure in xsd:
        print(f"  - {failure}")
    if xsd or args.xsd_only:
        return 1 if xsd else 0
    schematron = ubl.check_schematron(xml)
    print("GİB schematron: ok" if not schematron else f"GİB schematron: {len(schematron)} error(s)")
    for failure in schematron:
        print(f"  - {failure.message}\n    at {failure.location}")
    return 1 if schematron else 0


def _preview(args: argparse.Namespace) -> int:
    from mutabik import ubl

    sys.stdout.write(ubl.preview_html(args.file.read_bytes()))
    return 0
