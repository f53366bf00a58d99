"""Per-tenant field mapping, as data: the `mapping` section of a tenant's configuration and how it is applied.

- `config`    — the mapping's schema (products, shipping, event → document table, commission, customer rules);
- `lines`     — SKU → provider product code, name, unit and KDV rate; the shipping line;
- `customers` — which contact (cari hesap) a sale is booked to;
- `fees`      — commission and PSP fees as journal entries, or left to the marketplace's invoice;
- `journal`   — balanced journal entries (yevmiye fişi) on Tekdüzen accounts;
- `accounts`  — the shape of a Tekdüzen account code.

The mapper (`mutabik.pipeline.mapping`) applies it when it plans a document, so what the pusher and the
provider see is already mapped. docs/mapping.md is the guide.
"""

from mutabik.mapping.config import (
    DEFAULT_EVENT_DOCUMENTS,
    CommissionMapping,
    CommissionTreatment,
    ConsumerAccounts,
    CustomerRules,
    MappingConfig,
    ProductMapping,
    ShippingMapping,
    SourceMapping,
)
from mutabik.mapping.journal import JournalEntry, JournalLine, UnbalancedEntryError, journal_entry

__all__ = [
    "DEFAULT_EVENT_DOCUMENTS",
    "CommissionMapping",
    "CommissionTreatment",
    "ConsumerAccounts",
    "CustomerRules",
    "JournalEntry",
    "JournalLine",
    "MappingConfig",
    "ProductMapping",
    "ShippingMapping",
    "SourceMapping",
    "UnbalancedEntryError",
    "journal_entry",
]
