"""The export provider: writes each document under the tenant's prefix of the payload bucket.

For sellers whose accountant imports files, and as the provider of the demo: no credentials, no network.
The object key is derived from the document key, so writing twice overwrites the same object.

Options (`providers.export.options` of the tenant): `format` is `json` (the canonical document, default) or
`ubl`: sales invoices become UBL-TR 1.2.1 XML under `profile` (default EARSIVFATURA), numbered by us from
the tenant's series and checked against GİB's XSD before anything is written.
"""

from __future__ import annotations

from typing import ClassVar

from mutabik.model.document import Document, DocumentStatus, DocumentType
from mutabik.providers.base import Capability, Outcome, Provider
from mutabik.providers.exceptions import PermanentProviderError

__all__ = ["ExportProvider"]


class ExportProvider(Provider):
    name = "export"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.SALES_INVOICE,
            Capability.RETURN_INVOICE,
            Capability.CANCELLATION,
            Capability.COLLECTION,
            Capability.DESPATCH_ADVICE,
            Capability.JOURNAL_ENTRY,
            Capability.FIND,
        }
    )

    def _as_ubl(self, document: Document) -> bool:
        return self.context.settings.options.get("format") == "ubl" and document.type is DocumentType.SALES_INVOICE

    def object_key(self, document: Document) -> str:
        prefix = self.context.settings.options.get("prefix", "exports")
        extension = "xml" if self._as_ubl(document) else "json"
        return f"{prefix}/{document.tenant}/{document.type.value}/{document.source_ref}.{extension}"

    def numbers(self, document: Document) -> bool:
        return self._as_ubl(document)

    def check(self, document: Document, number: str, invoice: Document | None = None) -> None:
        if self._as_ubl(document):
            self._invoice_xml(document, number)

    def _invoice_xml(self, document: Document, number: str) -> bytes:
        """The invoice as UBL-TR, XSD-valid, or PermanentProviderError with GİB's message and where."""
        from mutabik import ubl
        from mutabik.model.commerce import Order
        from mutabik.tax.errors import TaxError

        seller = self.context.tenant.seller
        if seller is None:
            raise PermanentProviderError("the tenant has no seller configured", provider=self.name)
        try:
            xml = ubl.render_invoice(
                Order.model_validate(document.payload["order"]),
                seller=seller,
                number=number,
                uuid=document.uuid,
                issue_date=document.created_at.date(),
                profile=self.context.settings.options.get("profile", "EARSIVFATURA"),
            )
            ubl.validate_xsd(xml)
        except (TaxError, ubl.UblError) as exc:
            raise PermanentProviderError(str(exc), provider=self.name) from exc
        return xml

    def issue(self, document: Document, invoice: Document | None = None) -> Outcome:
        key = self.object_key(document)
        if self._as_ubl(document):
            self.context.blobs.put(key, self._invoice_xml(document, document.number), "application/xml")
            return Outcome(DocumentStatus.SUBMITTED, {"s3_key": key}, number=document.number)
        self.context.blobs.put_json(
            key,
            {
                "uuid": document.uuid,
                "key": document.key,
                "type": document.type.value,
                "source": document.source,
                "source_ref": document.source_ref,
                "seller": self.context.tenant.seller.model_dump(mode="json") if self.context.tenant.seller else None,
                "content": document.payload,
                # A return, collection or cancellation names the invoice it refers to, as issued.
                "invoice": {"key": invoice.key, "number": invoice.number, "uuid": invoice.uuid} if invoice else None,
            },
        )
        return Outcome(DocumentStatus.SUBMITTED, {"s3_key": key})

    def find(self, document: Document) -> Outcome | None:
        key = self.object_key(document)
        return Outcome(DocumentStatus.SUBMITTED, {"s3_key": key}) if self.context.blobs.exists(key) else None
