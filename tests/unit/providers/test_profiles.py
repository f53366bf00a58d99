"""e-Fatura or e-Arşiv for returns: an İADE goes the way its invoice went, except that TICARIFATURA has no İADE."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mutabik.model.document import Document, DocumentType
from mutabik.pipeline.profiles import ProfileChooser
from mutabik.providers import provider_class
from mutabik.providers.base import ProviderContext, return_profile
from mutabik.store.blobs import BlobStore
from mutabik.store.cache import Cache
from mutabik.store.secrets import SecretStore
from mutabik.store.tenants import ProviderSettings, TenantConfig

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def _document(doc_type: DocumentType, profile: str = "") -> Document:
    key = f"t#qnb_efinans#{doc_type.value}#pos:1"
    return Document(
        tenant="t",
        provider="qnb_efinans",
        type=doc_type,
        source="generic",
        source_ref="pos:1",
        key=key,
        uuid="00000000-0000-5000-8000-000000000001",
        created_at=NOW,
        updated_at=NOW,
        profile=profile,
    )


@pytest.mark.parametrize(
    ("went", "returned"),
    [("TICARIFATURA", "TEMELFATURA"), ("TEMELFATURA", "TEMELFATURA"), ("EARSIVFATURA", "EARSIVFATURA")],
)
def test_a_return_goes_the_way_its_invoice_went_but_never_as_ticarifatura(went: str, returned: str) -> None:
    context = ProviderContext(
        tenant=TenantConfig(tenant="t"),
        settings=ProviderSettings(options={"efatura_profile": "TICARIFATURA"}),
        secrets=SecretStore(),
        blobs=BlobStore("unused"),
    )
    provider = provider_class("qnb_efinans")(context)
    chooser = ProfileChooser(Cache("unused"))  # not asked: the invoice already says how it went

    invoice = _document(DocumentType.SALES_INVOICE, went)
    chosen = chooser.choose(_document(DocumentType.RETURN_INVOICE), invoice, provider)

    assert chosen == returned == return_profile(went)
