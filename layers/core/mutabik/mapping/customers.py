"""Which contact (cari hesap) a sale is booked to, by the tenant's customer rules.

The invoice itself always names the buyer as the sender gave them: GİB wants the buyer's name and address on an
e-Arşiv internet sale, and a buyer without a VKN/TCKN already carries GİB's 11111111111 (nihai tüketici,
`mutabik.sources._common.buyer`). The *account* is the accounting side: adapters that keep contacts (Paraşüt,
Logo …) book the invoice to `payload["account"]` instead of making a contact per buyer when the tenant asks
for a single retail contact.

An account is {"kind", "key", "name", "code"}:
- `company`  — the buyer has a VKN: a B2B sale, one contact per VKN (key `vkn:<VKN>`); the pusher decides
  e-Fatura or e-Arşiv from GİB's user list;
- `consumer` — a person (TCKN or 11111111111), one contact per buyer; the key is a hash, never the TCKN;
- `foreign`  — a buyer abroad (GİB's 2222222222 or a non-TR address), one contact per buyer;
- `retail`   — every consumer of a sender in one contact, when `customers.consumers` is `retail`.
"""

from __future__ import annotations

import hashlib

from mutabik.mapping.config import ConsumerAccounts, CustomerRules
from mutabik.model.commerce import Order
from mutabik.model.party import FOREIGN_BUYER_VKN, Party, PartyKind

__all__ = ["account_for"]


def _buyer_key(prefix: str, buyer: Party) -> str:
    # A stable key without personal data in it: the same buyer gets the same contact, and the key can be
    # logged or cached safely.
    basis = "|".join((buyer.tax_id, (buyer.email or "").strip().lower(), buyer.name.strip().lower()))
    return f"{prefix}:{hashlib.sha256(basis.encode()).hexdigest()[:20]}"


def account_for(order: Order, rules: CustomerRules) -> dict[str, str]:
    """The contact the tenant books this order to."""
    buyer = order.buyer
    if buyer.kind is PartyKind.COMPANY and buyer.tax_id != FOREIGN_BUYER_VKN:
        return {"kind": "company", "key": f"vkn:{buyer.tax_id}", "name": buyer.name, "code": ""}
    if buyer.is_foreign:
        return {"kind": "foreign", "key": _buyer_key("foreign", buyer), "name": buyer.name, "code": ""}
    if rules.consumers is ConsumerAccounts.RETAIL:
        return {
            "kind": "retail",
            "key": f"retail:{order.source}",
            "name": f"{rules.retail_name} ({order.source})",
            "code": rules.retail_codes.get(order.source, ""),
        }
    return {"kind": "consumer", "key": _buyer_key("consumer", buyer), "name": buyer.name, "code": ""}
