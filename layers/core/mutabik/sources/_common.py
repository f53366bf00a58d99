"""What several senders need to turn their amounts and buyers into canonical ones: rates, minor units, parties."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError

from mutabik.model import (
    ANONYMOUS_CONSUMER_TCKN,
    FOREIGN_BUYER_VKN,
    KDV_RATES,
    Address,
    Party,
    validate_tax_id,
)
from mutabik.sources.base import payload_error_from
from mutabik.sources.exceptions import PayloadError

__all__ = [
    "TAX_ID_KEYS",
    "address",
    "buyer",
    "from_epoch_millis",
    "from_minor_units",
    "kdv_rate_of",
    "nearest_kdv_rate",
    "tax_id_from",
]

#: Field and metadata names under which Turkish storefronts and marketplaces carry the buyer's VKN/TCKN
#: (lower-cased, leading underscores removed).
TAX_ID_KEYS = frozenset(
    {
        "tckn",
        "vkn",
        "tax_id",
        "taxnumber",
        "tax_number",
        "vergi_no",
        "vergi no",
        "vergino",
        "tc kimlik no",
        "tc_kimlik_no",
        "tckimlikno",
        "tcidentitynumber",
        "turkishidentitynumber",
        "identitynumber",
        "billing_tckn",
        "billing_vkn",
        "billing_tc_kimlik",
        "billing_vergi_no",
        "tckn/vkn",
    }
)

#: ISO 4217 currencies whose minor unit is not 1/100 (Stripe and most PSPs send amounts in minor units).
MINOR_UNIT_EXPONENTS: Mapping[str, int] = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF"),
        0,
    ),
    "XPF": 0,
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}

#: How far (in percentage points) a rate derived from rounded amounts may be from a KDV rate and still be it.
RATE_TOLERANCE = Decimal("0.6")


def from_minor_units(amount: int, currency: str) -> Decimal:
    """An amount in the currency's minor unit (kuruş, cent) as a Decimal in major units: 12345 TRY → 123.45."""
    exponent = MINOR_UNIT_EXPONENTS.get(currency.upper(), 2)
    return Decimal(amount).scaleb(-exponent)


def from_epoch_millis(value: int) -> datetime:
    """A Unix time in milliseconds (Trendyol, iyzico) as an aware UTC datetime; PayloadError out of range."""
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError("timestamp out of range") from exc


def nearest_kdv_rate(percent: Decimal | None, default: Decimal) -> Decimal:
    """The KDV rate in force that `percent` is (within rounding), or `default` when it is none of them."""
    if percent is None:
        return default
    try:
        best = min(KDV_RATES, key=lambda rate: abs(rate - percent))
    except (InvalidOperation, TypeError):
        return default
    return best if abs(best - percent) <= RATE_TOLERANCE else default


def kdv_rate_of(tax: Decimal, net: Decimal, default: Decimal) -> Decimal:
    """The KDV rate that `tax` on `net` (both on the tax-exclusive basis) was charged at."""
    if net <= 0:
        return default
    if tax == 0:
        return Decimal(0)
    return nearest_kdv_rate(tax * 100 / net, default)


def tax_id_from(candidates: Iterable[tuple[str, object]]) -> str:
    """The first valid VKN/TCKN among (name, value) pairs whose name says it is one; "" if none."""
    for name, value in candidates:
        if name.strip().lstrip("_").lower() not in TAX_ID_KEYS or value in (None, ""):
            continue
        try:
            return validate_tax_id(str(value))
        except ValueError:
            continue  # an invalid number is not an identity: fall through to GİB's placeholders
    return ""


def buyer(
    *,
    name: str,
    tax_id: str,
    address: Address,
    tax_office: str = "",
    email: str | None = None,
    phone: str | None = None,
    first_name: str = "",
    family_name: str = "",
    path: str = "",
) -> Party:
    """The buyer as a Party. Without a valid VKN/TCKN, GİB's placeholders stand in: 11111111111 for a
    consumer in Türkiye, 2222222222 for a buyer abroad. Errors name `path`, never the values."""
    number = tax_id
    if number:
        try:
            number = validate_tax_id(number)
        except ValueError:
            number = ""
    if not number:
        number = ANONYMOUS_CONSUMER_TCKN if address.country_code == "TR" else FOREIGN_BUYER_VKN
    try:
        return Party(
            name=name.strip() or "Nihai Tüketici",
            tax_id=number,
            tax_office=tax_office,
            address=address,
            email=email or None,
            phone=phone or None,
            first_name=first_name,
            family_name=family_name,
        )
    except ValidationError as exc:
        raise payload_error_from(exc, path) from exc


def address(
    *,
    street: str | None = None,
    district: str | None = None,
    city: str | None = None,
    postal_code: str | None = None,
    country_code: str | None = None,
    country: str | None = None,
    path: str = "",
) -> Address:
    """A canonical address from a sender's fields; a missing city becomes "-" (GİB needs one, we lack it)."""
    code = (country_code or "TR").strip().upper()
    try:
        return Address(
            street=street or "",
            district=district or "",
            city=city or "-",
            postal_code=postal_code or "",
            country_code=code if len(code) == 2 and code.isalpha() else "TR",
            country=country or ("Türkiye" if code == "TR" else code),
        )
    except ValidationError as exc:
        raise payload_error_from(exc, path) from exc
