"""The e-İrsaliye writer: a canonical shipment becomes a UBL-TR DespatchAdvice (TEMELIRSALIYE, SEVK)."""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from lxml import etree

from mutabik.model.commerce import Shipment
from mutabik.model.party import Address, Party
from mutabik.ubl.errors import DocumentRuleError
from mutabik.ubl.xml import (
    CAC,
    CBC,
    DESPATCH_NS,
    NSMAP,
    address,
    check_party,
    decimal_text,
    party,
    signature,
    sub,
    unsigned_extensions,
)

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = ["Carrier", "build_despatch_advice", "render_despatch_advice"]

_NUMBER = re.compile(r"^[A-Z0-9]{3}20\d{2}\d{9}$")
#: GİB's DespatchAddressCheck: a Turkish postal code, 01000–81999.
_POSTAL_CODE = re.compile(r"^((0[1-9])|([1-7][0-9])|(8[0-1]))[0-9]{3}$")


@dataclass(frozen=True, slots=True)
class Carrier:
    """Who carries the goods: GİB asks for a carrier party or a driver on every despatch advice."""

    name: str
    tax_id: str  # VKN of the cargo company


def build_despatch_advice(
    shipment: Shipment,
    *,
    seller: Party,
    buyer: Party,
    carrier: Carrier,
    number: str,
    uuid: uuidlib.UUID | str,
    delivery_address: Address | None = None,
    issue_date: date | None = None,
) -> _Element:
    """A DespatchAdvice tree for `shipment`; the delivery address defaults to the buyer's."""
    if not _NUMBER.match(number):
        raise DocumentRuleError(f"despatch ID {number!r} must look like ABC2026000000001", field="number")
    if not shipment.lines:
        raise DocumentRuleError("a despatch advice needs at least one line", field="lines")
    check_party(seller, "seller")
    check_party(buyer, "buyer")
    where = delivery_address or buyer.address
    if not where.district:
        raise DocumentRuleError("GİB needs the delivery district (ilçe)", field="delivery_address.district")
    if not _POSTAL_CODE.match(where.postal_code):
        raise DocumentRuleError("GİB needs a Turkish postal code (01000–81999)", field="delivery_address.postal_code")
    shipped: datetime = shipment.shipped_at
    namespaces: dict[str | None, str] = {None: DESPATCH_NS}
    namespaces.update(NSMAP)
    root = etree.Element(f"{{{DESPATCH_NS}}}DespatchAdvice", nsmap=namespaces)
    unsigned_extensions(root)
    sub(root, CBC + "UBLVersionID", "2.1")
    sub(root, CBC + "CustomizationID", "TR1.2.1")
    sub(root, CBC + "ProfileID", "TEMELIRSALIYE")
    sub(root, CBC + "ID", number)
    sub(root, CBC + "CopyIndicator", "false")
    sub(root, CBC + "UUID", str(uuid).upper())
    sub(root, CBC + "IssueDate", (issue_date or shipped.date()).isoformat())
    sub(root, CBC + "IssueTime", shipped.time().replace(microsecond=0).isoformat())
    sub(root, CBC + "DespatchAdviceTypeCode", "SEVK")
    if shipment.tracking_number:
        sub(root, CBC + "Note", f"Gönderi takip no: {shipment.tracking_number}")
    sub(root, CBC + "LineCountNumeric", str(len(shipment.lines)))
    if shipment.order_ref:
        order = sub(root, CAC + "OrderReference")
        sub(order, CBC + "ID", shipment.order_ref)
        sub(order, CBC + "IssueDate", shipped.date().isoformat())
    signature(root, seller, number)
    party(sub(root, CAC + "DespatchSupplierParty"), seller)
    party(sub(root, CAC + "DeliveryCustomerParty"), buyer)
    shipment_node = sub(root, CAC + "Shipment")
    sub(shipment_node, CBC + "ID", shipment.tracking_number or shipment.source_ref)
    delivery = sub(shipment_node, CAC + "Delivery")
    address(delivery, CAC + "DeliveryAddress", where)
    carrier_node = sub(delivery, CAC + "CarrierParty")
    scheme = "TCKN" if len(carrier.tax_id) == 11 else "VKN"
    sub(sub(carrier_node, CAC + "PartyIdentification"), CBC + "ID", carrier.tax_id, schemeID=scheme)
    sub(sub(carrier_node, CAC + "PartyName"), CBC + "Name", carrier.name or shipment.carrier_name)
    address(carrier_node, CAC + "PostalAddress", Address(city=""))
    despatch = sub(delivery, CAC + "Despatch")
    sub(despatch, CBC + "ActualDespatchDate", shipped.date().isoformat())
    sub(despatch, CBC + "ActualDespatchTime", shipped.time().replace(microsecond=0).isoformat())
    for number_in_list, line in enumerate(shipment.lines, start=1):
        node = sub(root, CAC + "DespatchLine")
        sub(node, CBC + "ID", str(number_in_list))
        sub(node, CBC + "DeliveredQuantity", decimal_text(line.quantity), unitCode=line.unit)
        sub(sub(node, CAC + "OrderLineReference"), CBC + "LineID", str(number_in_list))
        item = sub(node, CAC + "Item")
        sub(item, CBC + "Name", line.name)
        if line.sku:
            sub(sub(item, CAC + "SellersItemIdentification"), CBC + "ID", line.sku)
    return root


def render_despatch_advice(
    shipment: Shipment,
    *,
    seller: Party,
    buyer: Party,
    carrier: Carrier,
    number: str,
    uuid: uuidlib.UUID | str,
    delivery_address: Address | None = None,
    issue_date: date | None = None,
) -> bytes:
    """The DespatchAdvice's XML (UTF-8 bytes); see `build_despatch_advice`."""
    root = build_despatch_advice(
        shipment,
        seller=seller,
        buyer=buyer,
        carrier=carrier,
        number=number,
        uuid=uuid,
        delivery_address=delivery_address,
        issue_date=issue_date,
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
