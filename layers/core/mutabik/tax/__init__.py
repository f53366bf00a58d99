"""Turkish tax rules as data: KDV decomposition to the kuruş, tevkifat and exemption codes, amounts in words."""

from mutabik.tax.codes import (
    KDV_TAX_TYPE,
    Exemption,
    ExemptionKind,
    TaxType,
    Withholding,
    exemption,
    exemptions,
    tax_type,
    tax_types,
    withholding,
    withholdings,
)
from mutabik.tax.decompose import (
    KdvSubtotal,
    TaxBreakdown,
    TaxedLine,
    WithholdingSubtotal,
    allocate,
    decompose,
    decompose_order,
)
from mutabik.tax.errors import (
    ExemptionRequiredError,
    TaxError,
    TaxRuleError,
    TotalMismatchError,
    UnknownTaxCodeError,
)
from mutabik.tax.words import amount_in_words, number_in_words

__all__ = [
    "KDV_TAX_TYPE",
    "Exemption",
    "ExemptionKind",
    "ExemptionRequiredError",
    "KdvSubtotal",
    "TaxBreakdown",
    "TaxError",
    "TaxRuleError",
    "TaxType",
    "TaxedLine",
    "TotalMismatchError",
    "UnknownTaxCodeError",
    "Withholding",
    "WithholdingSubtotal",
    "allocate",
    "amount_in_words",
    "decompose",
    "decompose_order",
    "exemption",
    "exemptions",
    "number_in_words",
    "tax_type",
    "tax_types",
    "withholding",
    "withholdings",
]
