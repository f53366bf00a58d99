"""TCMB exchange rates for foreign-currency invoices: the central bank's daily XML, fetched once per day and cached.

VUK (213) m.280 values foreign-currency amounts at the TCMB buying rate (döviz alış kuru); TCMB publishes it
as `ForexBuying` per `Unit` units of the currency (100 for JPY). Days without a bulletin (weekends, holidays)
use the last published one, as the law does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from mutabik.ubl.errors import UblError
from mutabik.ubl.xml import parse

if TYPE_CHECKING:
    import httpx

__all__ = ["TCMB_URL", "DailyRates", "ExchangeRateError", "TcmbRates", "parse_tcmb"]

TCMB_URL = "https://www.tcmb.gov.tr/kurlar"
#: How far back to look for the last bulletin (the longest Turkish holiday run is 9 days).
_LOOKBACK_DAYS = 10
_TIMEOUT = 5.0


class ExchangeRateError(UblError):
    """No TCMB rate for the currency and day (unknown currency, no bulletin, TCMB unreachable)."""


@dataclass(frozen=True, slots=True)
class DailyRates:
    day: date  # the bulletin's own date
    rates: dict[str, Decimal]  # TRY per one unit of the currency (TCMB's ForexBuying ÷ Unit)


def parse_tcmb(xml: bytes) -> DailyRates:
    """Read a TCMB bulletin (today.xml or kurlar/YYYYMM/DDMMYYYY.xml)."""
    root = parse(xml)
    day = datetime.strptime(root.get("Tarih", ""), "%d.%m.%Y").date()
    rates = {}
    for currency in root.iter("Currency"):
        code = currency.get("CurrencyCode") or currency.get("Kod") or ""
        buying = (currency.findtext("ForexBuying") or "").strip()
        if not code or not buying:
            continue  # XDR and some others carry no forex buying rate
        try:
            rates[code] = Decimal(buying) / Decimal((currency.findtext("Unit") or "1").strip())
        except (InvalidOperation, ArithmeticError) as exc:
            raise ExchangeRateError(f"TCMB bulletin of {day} has a bad rate for {code}: {buying!r}") from exc
    return DailyRates(day, rates)


class TcmbRates:
    """Rates by day over an injectable httpx client; each bulletin is fetched once per process."""

    def __init__(self, client: httpx.Client | None = None, *, base_url: str = TCMB_URL) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._cache: dict[date, DailyRates | None] = {}
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=_TIMEOUT, follow_redirects=True)
        return self._client

    def _fetch(self, day: date) -> DailyRates | None:
        import httpx

        url = f"{self._base_url}/{day:%Y%m}/{day:%d%m%Y}.xml"
        try:
            response = self._http().get(url, timeout=_TIMEOUT)
        except httpx.HTTPError as exc:
            raise ExchangeRateError(f"TCMB unreachable for {day}: {exc}") from exc
        if response.status_code == 404:
            return None  # no bulletin that day
        if response.status_code != 200:
            raise ExchangeRateError(f"TCMB answered {response.status_code} for {day}")
        return parse_tcmb(response.content)

    def bulletin(self, day: date) -> DailyRates:
        """The bulletin in force on `day`: that day's, or the last one before it."""
        for back in range(_LOOKBACK_DAYS):
            candidate = day - timedelta(days=back)
            with self._lock:
                known = candidate in self._cache
                rates = self._cache.get(candidate)
            if not known:
                rates = self._fetch(candidate)
                with self._lock:
                    self._cache[candidate] = rates
            if rates is not None:
                return rates
        raise ExchangeRateError(f"no TCMB bulletin in the {_LOOKBACK_DAYS} days up to {day}")

    def rate(self, currency: str, day: date) -> Decimal:
        """TRY per one unit of `currency` on `day` (1 for TRY)."""
        if currency == "TRY":
            return Decimal(1)
        rates = self.bulletin(day)
        try:
            return rates.rates[currency]
        except KeyError:
            raise ExchangeRateError(f"TCMB publishes no rate for {currency} (bulletin of {rates.day})") from None
