"""A mapping is refused when it is wrong, with the field that is; journal entries always balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from mutabik.mapping import MappingConfig, UnbalancedEntryError, journal_entry
from mutabik.store.tenants import TenantConfig
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("mapping", "where", "words"),
    [
        ({"products": {"A": {"kdv_rate": "18"}}}, "products.A.kdv_rate", "not one in force"),
        ({"products": {"A": {"unit": "adet"}}}, "products.A.unit", "pattern"),
        ({"events": {"order.placed": "return_invoice"}}, "events", "can become sales_invoice or null"),
        ({"events": {"order.shipped": "sales_invoice"}}, "events.order.shipped.[key]", "Input should be"),
        ({"sources": {"trendyol": {"events": {"refund.created": "journal_entry"}}}}, "sources.trendyol.events", ""),
        ({"commission": {"treatment": "invoice_line"}}, "commission.treatment", "'ignore' or 'journal'"),
        ({"commission": {"fee_account": "komisyon"}}, "commission.fee_account", "pattern"),
        ({"customers": {"consumers": "everyone"}}, "customers.consumers", ""),
        ({"shiping": {}}, "shiping", "Extra inputs"),
    ],
)
def test_a_wrong_mapping_is_refused_naming_the_field(mapping: dict[str, Any], where: str, words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TenantConfig.model_validate({"tenant": "acme", "mapping": mapping})
    error = refused.value.errors()[0]
    assert ".".join(str(p) for p in error["loc"]) == f"mapping.{where}"
    assert words in error["msg"]


def test_a_stored_tenant_without_a_mapping_reads_with_the_defaults() -> None:
    tenant = TenantConfig.model_validate_json('{"tenant": "acme"}')
    assert tenant.mapping == MappingConfig()
    assert tenant.payroll is None


def test_the_docs_example_mapping_is_valid() -> None:
    """docs/mapping.md's full example is a mapping this code accepts."""
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "mapping.md").read_text()
    example = re.search(r"<!-- example -->\s*```json\n(.*?)```", text, re.S)
    assert example, "docs/mapping.md lost its marked example"
    config = TenantConfig.model_validate({"tenant": "acme", "mapping": json.loads(example.group(1))})
    assert config.mapping.products


class TestJournal:
    def test_lines_on_the_same_account_and_side_are_added_and_zero_lines_dropped(self) -> None:
        entry = journal_entry(
            on=date(2026, 10, 31),
            description="test",
            lines=[
                ("770", Decimal("100"), Decimal(0), "Brüt"),
                ("770", Decimal("50.50"), Decimal(0), "Brüt"),
                ("369", Decimal(0), Decimal(0), "Diğer"),
                ("335", Decimal(0), Decimal("150.50"), "Net"),
            ],
        )
        assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
            ("770", Decimal("150.50"), Decimal(0)),
            ("335", Decimal(0), Decimal("150.50")),
        ]

    def test_a_negative_amount_goes_to_the_other_side(self) -> None:
        entry = journal_entry(
            on=date(2026, 10, 31),
            description="refund larger than the fee",
            lines=[("102", Decimal("-5"), Decimal(0), "x"), ("120", Decimal(0), Decimal("-5"), "y")],
        )
        assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
            ("102", Decimal(0), Decimal("5.00")),
            ("120", Decimal("5.00"), Decimal(0)),
        ]

    def test_an_unbalanced_entry_cannot_be_made(self) -> None:
        with pytest.raises(UnbalancedEntryError, match=r"debits 100.01 and credits 100.00 differ by 0.01"):
            journal_entry(
                on=date(2026, 10, 31),
                description="test",
                lines=[("770", Decimal("100.01"), Decimal(0), ""), ("335", Decimal(0), Decimal("100"), "")],
            )
