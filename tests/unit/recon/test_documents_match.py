"""Matching a provider's list of the day with our ledger: missing, duplicated and unknown documents are found."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from mutabik.model.document import Document, DocumentStatus, DocumentType, document_uuid
from mutabik.providers.base import ListedDocument
from mutabik.recon.documents import match

DAY = date(2026, 11, 20)


def issued(ref: str, *, number: str = "", at: datetime | None = None) -> Document:
    key = f"acme#parasut#sales_invoice#shopify:{ref}"
    created = at or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    return Document(
        tenant="acme",
        provider="parasut",
        type=DocumentType.SALES_INVOICE,
        source="shopify",
        source_ref=f"shopify:{ref}",
        key=key,
        uuid=str(document_uuid(key)),
        status=DocumentStatus.ACCEPTED,
        created_at=created,
        updated_at=created,
        number=number,
    )


def listed(
    provider_id: str, *, uuid: str = "", number: str = "", reference: str = "", day: date = DAY
) -> ListedDocument:
    return ListedDocument(provider_id, day, number=number, uuid=uuid, reference=reference, total=Decimal("10"))


def test_everything_issued_once_is_ok() -> None:
    a, b = issued("1001", number="KHV2026000000001"), issued("1002")
    result = match([a, b], [listed("p1", number="KHV2026000000001"), listed("p2", uuid=b.uuid.upper())], DAY)

    assert result["ok"]
    assert result["matched"] == 2
    assert result["missing_at_provider"] == result["duplicates"] == result["unknown_at_provider"] == []


def test_a_document_listed_twice_is_a_duplicate_and_fails_the_day() -> None:
    a = issued("1001")
    result = match([a], [listed("p1", reference="1001"), listed("p2", uuid=a.uuid)], DAY)

    assert not result["ok"]
    assert result["duplicates"] == [{"document": a.key, "provider_ids": "p1,p2"}]


def test_ours_not_at_the_provider_is_missing_and_theirs_not_ours_is_unknown() -> None:
    a = issued("1001")
    result = match([a], [listed("p9", number="ELL2026000000007")], DAY)

    assert not result["ok"]
    assert result["missing_at_provider"] == [{"document": a.key, "number": ""}]
    assert result["unknown_at_provider"] == [{"provider_id": "p9", "number": "ELL2026000000007", "status": ""}]


def test_an_invoice_made_after_midnight_in_istanbul_is_matched_across_the_utc_day() -> None:
    """Created 22:30 UTC on the 19th = 01:30 on the 20th in Istanbul: the provider lists it on the 20th."""
    late = issued("1000", at=datetime(2026, 11, 19, 22, 30, tzinfo=UTC))
    result = match([late], [listed("p1", uuid=late.uuid)], DAY)

    assert result["ok"]
    assert result["unknown_at_provider"] == []
    assert result["issued"] == 0  # it is the 19th's document in our ledger; that day's report counts it


def test_an_unknown_document_of_the_next_day_is_left_to_that_days_report() -> None:
    result = match([], [listed("p5", day=date(2026, 11, 21))], DAY)

    assert result["unknown_at_provider"] == []
