"""A tenant's payroll settings: where its HR system is, and which accounts the payroll is posted to.

The `payroll` section of the tenant's configuration (`TenantConfig.payroll`). Credentials are not here: they
are in Secrets Manager under `keys.source_secret_name(prefix, tenant, "payroll")`. docs/payroll.md explains it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mutabik.mapping.accounts import AccountCode

__all__ = ["ELEKTRAWEB_URL", "PayrollAccounts", "PayrollSettings"]

#: Elektraweb's web (cloud) address for the HR module's accounting integration; only on-premises
#: installations differ (https://ikkilavuz-yeni.elektraweb.com/16.-muhasebe-entegrasyonu).
ELEKTRAWEB_URL = "https://3013.hoteladvisor.net"


class PayrollAccounts(BaseModel):
    """Tekdüzen accounts of the accrual entry (bordro tahakkuk fişi). Any may be a sub-account (770.01)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: 770 Genel Yönetim Giderleri: gross wages and the employer's contributions, unless the department says
    #: otherwise (720 Direkt İşçilik Giderleri for production staff, 730 Genel Üretim Giderleri, 760 Pazarlama).
    expense: AccountCode = "770"
    expense_by_department: dict[str, AccountCode] = Field(default_factory=dict)
    net_pay: AccountCode = "335"  # 335 Personele Borçlar: what is paid to the employees
    taxes: AccountCode = "360"  # 360 Ödenecek Vergi ve Fonlar: income tax (less AGİ) and stamp tax
    social_security: AccountCode = "361"  # 361 Ödenecek Sosyal Güvenlik Kesintileri: SGK and unemployment, both shares
    other_deductions: AccountCode = "369"  # 369 Ödenecek Diğer Yükümlülükler: icra, nafaka, BES …


class PayrollSettings(BaseModel):
    """Where the tenant's payroll comes from and where it goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: Literal["elektraweb"] = "elektraweb"
    base_url: str = ELEKTRAWEB_URL
    #: Elektraweb: `tenant` (the HR module's RemoteTenantId / hotel id), `firma_id` (the company inside the HR
    #: module; one integration per company), and optionally `object` (the payroll export procedure).
    options: dict[str, str] = Field(default_factory=dict)
    accounts: PayrollAccounts = Field(default_factory=PayrollAccounts)
    #: The provider that posts the entry; empty: the tenant's route for journal entries.
    provider: str = ""
