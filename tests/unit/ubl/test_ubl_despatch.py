"""e-İrsaliye: a shipment becomes a DespatchAdvice GİB accepts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from mutabik.model import Address, Party, Shipment, ShipmentLine, document_uuid
from mutabik.ubl import Carrier, DocumentRuleError, render_despatch_advice

SHIPMENT = Shipment(
    source="shopify",
    source_ref="f-1",
    order_ref="#1001",
    shipped_at=datetime(2025, 11, 3, 9, 30, tzinfo=UTC),
    carrier_name="Yurtiçi Kargo",
    tracking_number="YK123456",
    lines=(
        ShipmentLine(sku="TS-1", name="Tişört", quantity=Decimal(2)),
        ShipmentLine(name="Un", quantity=Decimal("2.5"), unit="KGM"),
    ),
)
CARRIER = Carrier("Yurtiçi Kargo A.Ş.", "9860008925")


def test_a_shipment_passes_gib_checks(
    seller: Party, consumer: Party, assert_gib_valid: Callable[[bytes], None]
) -> None:
    xml = render_despatch_advice(
        SHIPMENT, seller=seller, buyer=consumer, carrier=CARRIER, number="IRS2025000000001", uuid=document_uuid("d")
    )
    assert_gib_valid(xml)
    assert b"<cbc:DespatchAdviceTypeCode>SEVK</cbc:DespatchAdviceTypeCode>" in xml


def test_gib_needs_a_turkish_postal_code_on_the_delivery_address(seller: Party, consumer: Party) -> None:
    with pytest.raises(DocumentRuleError) as caught:
        render_despatch_advice(
            SHIPMENT,
            seller=seller,
            buyer=consumer,
            carrier=CARRIER,
            number="IRS2025000000001",
            uuid=document_uuid("d"),
            delivery_address=Address(district="Çankaya", city="Ankara"),
        )
    assert caught.value.field == "delivery_address.postal_code"
