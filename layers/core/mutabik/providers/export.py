"""The export provider: writes each document as JSON under the tenant's prefix of the payload bucket.

For sellers whose accountant imports files, and as the provider of the demo: no credentials, no network.
The object key is derived from the document key, so writing twice overwrites the same object.
"""

from __future__ import annotations

from typing import ClassVar

from mutabik.model.document import Document, DocumentStatus
from mutabik.providers.base import Capability, Outcome, Provider

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

    def object_key(self, document: Document) -> str:
        prefix = self.context.settings.options.get("prefix", "exports")
        return f"{prefix}/{document.tenant}/{document.type.value}/{document.source_ref}.json"

    def issue(self, document: Document) -> Outcome:
        key = self.object_key(document)
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
            },
        )
        return Outcome(DocumentStatus.SUBMITTED, {"s3_key": key})

    def find(self, document: Document) -> Outcome | None:
        key = self.object_key(document)
        return Outcome(DocumentStatus.SUBMITTED, {"s3_key": key}) if self.context.blobs.exists(key) else None
