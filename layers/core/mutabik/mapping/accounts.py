"""Account codes of the Tekdüzen Hesap Planı (the uniform chart of accounts every Turkish ledger uses).

The chart is set by the Muhasebe Sistemi Uygulama Genel Tebliği (MSUGT, Maliye Bakanlığı, 1992): three-digit
main accounts (102 Bankalar, 120 Alıcılar, 335 Personele Borçlar, 360 Ödenecek Vergi ve Fonlar, 361 Ödenecek
Sosyal Güvenlik Kesintileri, 7xx gider hesapları …), which each ledger splits into sub-accounts of its own
(`120.01.003`). A tenant names sub-accounts in its mapping; we only check the shape.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

__all__ = ["ACCOUNT_PATTERN", "AccountCode"]

#: A main account (three digits, 100–999) and up to five sub-account levels joined by `.` or `-`.
ACCOUNT_PATTERN = r"^[1-9][0-9]{2}([.-][0-9A-Za-z]{1,20}){0,5}$"

AccountCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=ACCOUNT_PATTERN)]
