"""UBL-TR throughput on one core: documents written + XSD-validated per second, and with GİB's schematron.

Each figure is also given against the baseline of lxml serializing the same, already built tree, so the
numbers travel between machines. Run: `python bench/bench_ubl.py` (part of `make bench`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from lxml import etree
from mutabik.model import Address, Order, Party, document_uuid
from mutabik.ubl import build_invoice, validate_schematron, validate_xsd

ORDER = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ubl" / "orders" / "earsiv_internet_sale.json"
SELLER = Party(
    name="Örnek Ticaret A.Ş.",
    tax_id="1234567890",
    tax_office="Kadıköy",
    address=Address(district="Kadıköy", city="İstanbul"),
)
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))


def _rate(work: Callable[[], object]) -> float:
    """Calls per second of `work`, after one warm-up call, over about SECONDS seconds."""
    work()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS:
        work()
        count += 1
    return count / elapsed


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    order = Order.model_validate_json(ORDER.read_bytes())

    def write() -> bytes:
        return build_invoice(
            order, seller=SELLER, number="ABC2025000000001", uuid=document_uuid("bench"), issue_date=date(2025, 11, 3)
        ).to_bytes()

    def write_and_xsd() -> None:
        validate_xsd(write())

    def write_xsd_and_schematron() -> None:
        xml = write()
        validate_xsd(xml)
        validate_schematron(xml)

    root = build_invoice(
        order, seller=SELLER, number="ABC2025000000001", uuid=document_uuid("bench"), issue_date=date(2025, 11, 3)
    ).root
    started = time.perf_counter()
    write_xsd_and_schematron()  # loads the XSD and compiles the schematron once
    first = time.perf_counter() - started

    baseline = _rate(lambda: etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    figures = [
        ("lxml serializes the built tree (baseline)", baseline),
        ("write (tax engine + lxml tree + serialize)", _rate(write)),
        ("write + XSD", _rate(write_and_xsd)),
        ("write + XSD + GİB schematron", _rate(write_xsd_and_schematron)),
    ]
    print(f"UBL-TR invoice, 3 lines, EARSIVFATURA, one core, {SECONDS:g} s per figure")
    print(f"first document incl. XSD load and schematron compile: {first * 1000:.0f} ms")
    for name, per_second in figures:
        print(f"{name:<45} {per_second:>10,.0f} docs/s  {baseline / per_second:>8.1f}× the baseline's time")


if __name__ == "__main__":
    main()
