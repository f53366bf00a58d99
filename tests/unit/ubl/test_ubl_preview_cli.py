"""The HTML preview and the `mutabik ubl` commands."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from mutabik.cli import main
from mutabik.model import Line, Money, Order, Party, document_uuid
from mutabik.ubl import preview_html, render_invoice

ORDERS = Path(__file__).resolve().parents[2] / "fixtures" / "ubl" / "orders"


def _render(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["ubl", "render", *args, "--issue-date", "2025-11-03"])
    out = capsys.readouterr().out
    assert code == 0
    return out


def test_render_validate_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = _render(capsys, str(ORDERS / "earsiv_internet_sale.json"))
    assert "<cbc:ProfileID>EARSIVFATURA</cbc:ProfileID>" in xml
    invoice = tmp_path / "invoice.xml"
    invoice.write_text(xml, encoding="utf-8")

    assert main(["ubl", "validate", str(invoice)]) == 0
    assert "GİB schematron: ok" in capsys.readouterr().out

    assert main(["ubl", "preview", str(invoice)]) == 0
    html = capsys.readouterr().out
    assert "YALNIZ YEDİ YÜZ SEKSEN DÖRT TL YETMİŞ SEKİZ KURUŞ" in html
    assert "Pamuklu Tişört" in html


def test_validate_reports_gibs_message_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = _render(capsys, str(ORDERS / "company_net_prices.json"), "--profile", "TICARIFATURA")
    broken = tmp_path / "broken.xml"
    broken.write_text(xml.replace("MTB2025000000001", "MTB25000000001"), encoding="utf-8")
    assert main(["ubl", "validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "cbc:ID elemanı 'ABC2009123456789' formatında olmalıdır" in out
    assert "at /*[local-name()='Invoice'" in out


def test_render_refuses_bad_input_with_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ubl", "render", str(ORDERS / "tevkifat_cleaning.json"), "--issue-date", "2025-11-03"])
    assert code == 2
    assert "line 1, withholding_code" in capsys.readouterr().err


def test_preview_escapes_what_it_prints(seller: Party, consumer: Party) -> None:
    order = Order(
        source="t",
        source_ref="o",
        ordered_at=datetime(2025, 11, 1, tzinfo=UTC),
        buyer=consumer,
        lines=(Line(name="<script>alert(1)</script>", quantity=1, unit_price=Decimal(12)),),
        total_paid=Money(amount=Decimal(12)),
    )
    xml = render_invoice(
        order, seller=seller, number="ABC2025000000001", uuid=document_uuid("x"), issue_date=date(2025, 11, 3)
    )
    html = preview_html(xml)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
