"""The XML vocabulary of UBL-TR: namespaces, a safe parser, and small helpers to write elements with lxml."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree

from mutabik.model.money import round_kurus
from mutabik.model.party import Address, Party, PartyKind, validate_tax_id
from mutabik.ubl.errors import PartyError

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = [
    "CAC",
    "CBC",
    "EXT",
    "NSMAP",
    "address",
    "amount",
    "check_party",
    "decimal_text",
    "parse",
    "party",
    "safe_parser",
    "signature",
    "sub",
    "unsigned_extensions",
]

CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
DESPATCH_NS = "urn:oasis:names:specification:ubl:schema:xsd:DespatchAdvice-2"
#: Where the signer's ds:Signature will go; until then a placeholder element in this namespace holds its place.
UNSIGNED_NS = "urn:mutabik:unsigned"
CAC, CBC, EXT = f"{{{CAC_NS}}}", f"{{{CBC_NS}}}", f"{{{EXT_NS}}}"
NSMAP = {"cac": CAC_NS, "cbc": CBC_NS, "ext": EXT_NS}
XPATH_NS = {**NSMAP, "inv": INVOICE_NS, "desp": DESPATCH_NS}


def safe_parser() -> etree.XMLParser:
    """No entity expansion, no network: documents come from outside and must not reach out (XXE)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)


def parse(xml: bytes) -> _Element:
    return etree.fromstring(xml, parser=safe_parser())


def sub(parent: _Element, tag: str, text: str | None = None, **attributes: str) -> _Element:
    element = etree.SubElement(parent, tag, attrib=attributes or None)
    if text is not None:
        element.text = text
    return element


def decimal_text(value: Decimal) -> str:
    """A decimal as XML wants it: never exponent notation, no trailing zeros after the point."""
    return format(value.normalize(), "f")


def amount(parent: _Element, tag: str, value: Decimal, currency: str) -> _Element:
    """A monetary amount with two decimals (GİB's decimalCheck: at most 2 after the point)."""
    return sub(parent, tag, format(round_kurus(value), "f"), currencyID=currency)


def address(parent: _Element, tag: str, where: Address) -> _Element:
    node = sub(parent, tag)
    if where.street:
        sub(node, CBC + "StreetName", where.street)
    if where.building:
        sub(node, CBC + "BuildingNumber", where.building)
    # CitySubdivisionName (ilçe) and CityName (il) are mandatory in GİB's XSD, even when empty.
    sub(node, CBC + "CitySubdivisionName", where.district)
    sub(node, CBC + "CityName", where.city)
    if where.postal_code:
        sub(node, CBC + "PostalZone", where.postal_code)
    country = sub(node, CAC + "Country")
    sub(country, CBC + "IdentificationCode", where.country_code)
    sub(country, CBC + "Name", where.country)
    return node


def party(parent: _Element, who: Party, *, website: str = "") -> _Element:
    """A cac:Party as GİB reads it: VKN with a name, TCKN with a person (PartyIdentificationPartyNamePersonCheck)."""
    node = sub(parent, CAC + "Party")
    if website:
        sub(node, CBC + "WebsiteURI", website)
    scheme = "TCKN" if who.kind is PartyKind.PERSON else "VKN"
    sub(sub(node, CAC + "PartyIdentification"), CBC + "ID", who.tax_id, schemeID=scheme)
    sub(sub(node, CAC + "PartyName"), CBC + "Name", who.name)
    address(node, CAC + "PostalAddress", who.address)
    if who.tax_office:
        sub(sub(sub(node, CAC + "PartyTaxScheme"), CAC + "TaxScheme"), CBC + "Name", who.tax_office)
    if who.phone or who.email:
        contact = sub(node, CAC + "Contact")
        if who.phone:
            sub(contact, CBC + "Telephone", who.phone)
        if who.email:
            sub(contact, CBC + "ElectronicMail", who.email)
    if who.kind is PartyKind.PERSON:
        person = sub(node, CAC + "Person")
        sub(person, CBC + "FirstName", who.first_name)
        sub(person, CBC + "FamilyName", who.family_name)
    return node


def check_party(who: Party, role: str) -> None:
    # Party validates on construction; a model_construct()ed or deserialised-unchecked party is caught here.
    try:
        validate_tax_id(who.tax_id)
    except ValueError as exc:
        raise PartyError(str(exc), field=f"{role}.tax_id") from exc


def unsigned_extensions(root: _Element) -> None:
    # GİB's XSD requires ext:UBLExtensions with one element inside ExtensionContent; an empty one fails, and so
    # does leaving it out. The signer (integrator or our signing step) replaces the placeholder with ds:Signature.
    content = sub(sub(sub(root, EXT + "UBLExtensions"), EXT + "UBLExtension"), EXT + "ExtensionContent")
    etree.SubElement(content, f"{{{UNSIGNED_NS}}}Unsigned", nsmap={"mtb": UNSIGNED_NS})


def signature(root: _Element, seller: Party, number: str) -> None:
    # cac:Signature is mandatory in the XSD; it names who signs and where the XAdES signature will be.
    signature = sub(root, CAC + "Signature")
    sub(signature, CBC + "ID", seller.tax_id, schemeID="VKN_TCKN")
    signatory = sub(signature, CAC + "SignatoryParty")
    scheme = "TCKN" if len(seller.tax_id) == 11 else "VKN"
    sub(sub(signatory, CAC + "PartyIdentification"), CBC + "ID", seller.tax_id, schemeID=scheme)
    address(signatory, CAC + "PostalAddress", seller.address)
    attachment = sub(sub(signature, CAC + "DigitalSignatureAttachment"), CAC + "ExternalReference")
    sub(attachment, CBC + "URI", f"#Signature_{number}")
