"""The canonical model refuses what no invoice can carry, and says which field is wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from mutabik.model import Address, Line, Money, Order, Party, document_uuid
from mutabik.model.document import TRANSITIONS, DocumentStatus, DocumentType, is_allowed_transition
from mutabik.store import keys
from pydantic import ValidationError

ISTANBUL = Address(city="İstanbul", district="Kadıköy")


def _party(tax_id: str) -> Party:
    return Party(name="Ayşe Yılmaz", tax_id=tax_id, address=ISTANBUL)


class TestMoney:
    def test_rounds_half_up_to_kurus(self) -> None:
        assert Money(amount="10.005").rounded().amount == Decimal("10.01")
        assert Money(amount="-10.005").rounded().amount == Decimal("-10.01")
        assert Money(amount="10.004").rounded().amount == Decimal("10.00")

    def test_floats_keep_their_decimal_meaning(self) -> None:
        # 0.1 + 0.2 as floats is 0.30000000000000004; as amounts it is 0.3.
        assert (Money(amount=0.1) + Money(amount=0.2)).amount == Decimal("0.3")

    def test_lira_is_iso_try_even_when_a_provider_says_trl(self) -> None:
        assert Money(amount=1, currency="trl").currency == "TRY"

    def test_refuses_mixing_currencies(self) -> None:
        with pytest.raises(ValueError, match="cannot combine TRY with EUR"):
            Money(amount=1) + Money(amount=1, currency="EUR")

    @pytest.mark.parametrize("bad", ["NaN", "Infinity", "12,50", True])
    def test_refuses_what_is_not_an_amount(self, bad: object) -> None:
        with pytest.raises(ValidationError) as error:
            Money(amount=bad)
        assert error.value.errors()[0]["loc"] == ("amount",)


class TestParty:
    def test_accepts_valid_vkn_and_tckn(self) -> None:
        assert _party("3880000006").kind == "company"
        person = _party("10000000146")
        assert (person.kind, person.first_name, person.family_name) == ("person", "Ayşe", "Yılmaz")

    def test_accepts_gibs_placeholders_explicitly(self) -> None:
        assert _party("11111111111").is_anonymous
        assert _party("2222222222").is_foreign

    @pytest.mark.parametrize(
        ("tax_id", "message"),
        [
            ("3880000007", "invalid VKN"),
            ("10000000147", "invalid TCKN"),
            ("123", "got 3 digits"),
            ("38800000AB", "non-digits"),
        ],
    )
    def test_refuses_bad_numbers_naming_the_field(self, tax_id: str, message: str) -> None:
        with pytest.raises(ValidationError, match=message) as error:
            _party(tax_id)
        assert error.value.errors()[0]["loc"] == ("tax_id",)


class TestLineAndOrder:
    def test_refuses_a_kdv_rate_not_in_force(self) -> None:
        with pytest.raises(ValidationError, match="KDV rate 18 % is not one in force") as error:
            Line(name="Kahve", quantity=1, unit_price=100, kdv_rate=18)
        assert error.value.errors()[0]["loc"] == ("kdv_rate",)

    def test_refuses_a_discount_larger_than_the_line(self) -> None:
        with pytest.raises(ValidationError, match="discount is larger"):
            Line(name="Kahve", quantity=2, unit_price=10, discount=21)

    def test_an_order_error_names_the_line_and_field(self) -> None:
        with pytest.raises(ValidationError) as error:
            Order(
                source="shopify",
                source_ref="1",
                ordered_at=datetime(2026, 1, 1, tzinfo=UTC),
                buyer=_party("11111111111"),
                lines=({"name": "Kahve", "quantity": 0, "unit_price": 10},),  # type: ignore[arg-type]
                total_paid=Money(amount=10),
            )
        assert error.value.errors()[0]["loc"] == ("lines", 0, "quantity")

    def test_models_are_frozen(self) -> None:
        line = Line(name="Kahve", quantity=1, unit_price=100)
        with pytest.raises(ValidationError):
            line.quantity = Decimal(2)  # type: ignore[misc]


class TestDocumentKeys:
    def test_key_is_tenant_provider_type_reference(self) -> None:
        key = keys.document_key("acme", "parasut", DocumentType.SALES_INVOICE, "shopify:1001")
        assert key == "acme#parasut#sales_invoice#shopify:1001"
        assert keys.parse_document_key(key) == ("acme", "parasut", DocumentType.SALES_INVOICE, "shopify:1001")

    def test_a_separator_inside_a_part_is_refused(self) -> None:
        with pytest.raises(ValueError, match="source reference"):
            keys.document_key("acme", "parasut", DocumentType.SALES_INVOICE, "1#2")

    def test_uuid_is_the_same_for_the_same_key_and_differs_otherwise(self) -> None:
        a = document_uuid("acme#parasut#sales_invoice#shopify:1")
        assert a == document_uuid("acme#parasut#sales_invoice#shopify:1")
        assert a != document_uuid("acme#parasut#sales_invoice#shopify:2")
        assert a.version == 5


class TestTransitions:
    @pytest.mark.parametrize(
        ("current", "target"),
        [
            ("PENDING", "SUBMITTING"),
            ("SUBMITTING", "SUBMITTED"),
            ("SUBMITTING", "SUBMITTING"),
            ("SUBMITTED", "ACCEPTED"),
            ("SUBMITTED", "REJECTED"),
            ("REJECTED", "PENDING"),
        ],
    )
    def test_allowed(self, current: str, target: str) -> None:
        assert is_allowed_transition(DocumentStatus(current), DocumentStatus(target))

    @pytest.mark.parametrize(
        ("current", "target"),
        [("PENDING", "SUBMITTED"), ("ACCEPTED", "PENDING"), ("ACCEPTED", "REJECTED"), ("SUBMITTED", "PENDING")],
    )
    def test_refused(self, current: str, target: str) -> None:
        assert not is_allowed_transition(DocumentStatus(current), DocumentStatus(target))

    def test_nothing_leaves_accepted(self) -> None:
        assert TRANSITIONS[DocumentStatus.ACCEPTED] == frozenset()
