"""TCMB rates: a stored bulletin, served through httpx's MockTransport (no network)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from mutabik.ubl import ExchangeRateError, TcmbRates
from mutabik.ubl.fx import parse_tcmb

BULLETIN = Path(__file__).resolve().parents[2] / "fixtures" / "ubl" / "tcmb" / "20112026.xml"


def _rates(calls: list[str]) -> TcmbRates:
    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/kurlar/202611/20112026.xml":
            return httpx.Response(200, content=BULLETIN.read_bytes())
        return httpx.Response(404)

    return TcmbRates(httpx.Client(transport=httpx.MockTransport(answer)), base_url="https://tcmb.test/kurlar")


def test_the_bulletin_is_read_as_forex_buying_per_unit() -> None:
    bulletin = parse_tcmb(BULLETIN.read_bytes())
    assert bulletin.day == date(2026, 11, 20)
    assert bulletin.rates["USD"] == Decimal("42.3512")
    assert bulletin.rates["JPY"] == Decimal("0.271334")  # 27.1334 per 100 yen


def test_a_weekend_uses_fridays_bulletin_fetched_once() -> None:
    calls: list[str] = []
    rates = _rates(calls)
    assert rates.rate("EUR", date(2026, 11, 22)) == Decimal("48.9137")  # Sunday → Friday 20 November
    assert rates.rate("USD", date(2026, 11, 22)) == Decimal("42.3512")
    assert calls == ["/kurlar/202611/22112026.xml", "/kurlar/202611/21112026.xml", "/kurlar/202611/20112026.xml"]


def test_try_is_one_and_unknown_currencies_are_refused() -> None:
    rates = _rates([])
    assert rates.rate("TRY", date(2026, 11, 20)) == 1
    with pytest.raises(ExchangeRateError, match="ZZZ"):
        rates.rate("ZZZ", date(2026, 11, 20))


def test_tcmb_errors_are_exchange_rate_errors() -> None:
    failing = TcmbRates(httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(503))))
    with pytest.raises(ExchangeRateError, match="503"):
        failing.rate("USD", date(2026, 11, 20))
