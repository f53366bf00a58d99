"""Shared pieces of the UBL tests: parties, the fixture orders, and a check that runs GİB's XSD and schematron."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from mutabik.model import Address, Order, Party
from mutabik.ubl import check_schematron, check_xsd

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ubl"
#: A fixed past date: GİB's schematron refuses issue dates after today (TimeCheck), tests never read the clock.
ISSUE_DATE = date(2025, 11, 3)


@pytest.fixture(scope="session")
def seller() -> Party:
    return Party(
        name="Örnek Ticaret A.Ş.",
        tax_id="1234567890",
        tax_office="Kadıköy",
        address=Address(street="Moda Caddesi 1", district="Kadıköy", city="İstanbul", postal_code="34710"),
    )


@pytest.fixture(scope="session")
def company() -> Party:
    return Party(
        name="Anadolu Yapı Ltd.",
        tax_id="1000000000",
        tax_office="Ulus",
        address=Address(district="Ulus", city="Ankara"),
    )


@pytest.fixture(scope="session")
def consumer() -> Party:
    return Party(
        name="Ayşe Yılmaz",
        tax_id="10000000146",
        address=Address(district="Çankaya", city="Ankara", postal_code="06420"),
    )


@pytest.fixture(scope="session")
def load_order() -> Callable[[str], Order]:
    def load(name: str) -> Order:
        return Order.model_validate_json((FIXTURES / "orders" / f"{name}.json").read_bytes())

    return load


@pytest.fixture(scope="session")
def assert_gib_valid() -> Callable[[bytes], None]:
    def check(xml: bytes) -> None:
        xsd = check_xsd(xml)
        assert not xsd, "\n".join(map(str, xsd))
        schematron = check_schematron(xml)
        assert not schematron, "\n".join(map(str, schematron))

    return check
