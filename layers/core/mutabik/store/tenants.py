"""Tenant configuration: which senders a tenant has, which provider receives which document, its seller, how its
fields are mapped (docs/mapping.md) and where its payroll comes from (docs/payroll.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from mutabik.mapping.config import MappingConfig
from mutabik.model.document import DocumentType
from mutabik.model.party import Party
from mutabik.payroll.settings import PayrollSettings
from mutabik.store import clients, keys
from mutabik.store.exceptions import TenantNotFoundError
from mutabik.store.table import string_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["ProviderSettings", "SourceSettings", "TenantConfig", "TenantDirectory"]


class SourceSettings(BaseModel):
    """One sender of a tenant. Its secret is in Secrets Manager under keys.source_secret_name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    default_kdv_rate: Decimal = Decimal(20)
    #: The sender's account, for deliveries that name no tenant (Amazon's SellerId on the ingest queue):
    #: saving the tenant routes that account's deliveries to it.
    account: str = ""
    #: The sender's API, for deliveries the mapper completes from it (amounts a notification does not carry):
    #: empty for the sender's production URL, else a sandbox or a test fake. Credentials are in
    #: Secrets Manager under keys.sender_api_secret_name.
    api_url: str = ""
    #: Sender-specific API settings (the LWA token URL, a marketplace …); each sender module documents its own.
    options: dict[str, str] = Field(default_factory=dict)


class ProviderSettings(BaseModel):
    """Where a provider is reached for this tenant (sandbox, production, a test fake) and its options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = ""
    options: dict[str, str] = Field(default_factory=dict)


class TenantConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str
    name: str = ""
    seller: Party | None = None
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    #: Which provider issues each document type; a type with no route is not issued.
    routes: dict[DocumentType, str] = Field(default_factory=dict)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    invoice_series: str = Field(default="MTB", pattern=r"^[A-Z0-9]{3}$")
    #: SKUs, statuses, shipping, commission and customer accounts, as data; defaults change nothing.
    mapping: MappingConfig = Field(default_factory=MappingConfig)
    #: Where the tenant's payroll is pulled from, and its accounts; None: the tenant has no payroll pulls.
    payroll: PayrollSettings | None = None


class TenantDirectory:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or clients.dynamodb()

    def get(self, tenant: str) -> TenantConfig:
        try:
            key = keys.tenant_key(tenant)
        except ValueError as exc:
            raise TenantNotFoundError(f"unknown tenant {tenant[:40]!r}") from exc
        response = self.client.get_item(TableName=self.table_name, Key=string_attributes(key))
        item = response.get("Item")
        if not item:
            raise TenantNotFoundError(f"unknown tenant {tenant!r}")
        return TenantConfig.model_validate_json(item["body"]["S"])

    def put(self, config: TenantConfig) -> None:
        from mutabik.store.cache import Cache

        self.client.put_item(
            TableName=self.table_name,
            Item={**string_attributes(keys.tenant_key(config.tenant)), "body": {"S": config.model_dump_json()}},
        )
        accounts = Cache(self.table_name, client=self._client)
        for source, settings in config.sources.items():
            if settings.account:
                accounts.put(keys.account_namespace(source), settings.account, {"tenant": config.tenant})

    def list(self) -> list[str]:
        """Every configured tenant (a scan: tenants are few and this runs once a day)."""
        tenants: list[str] = []
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="sk = :config AND begins_with(pk, :tenant)",
            ExpressionAttributeValues={":config": {"S": "CONFIG"}, ":tenant": {"S": f"TENANT{keys.SEP}"}},
            ProjectionExpression="pk",
        ):
            tenants.extend(i["pk"]["S"].split(keys.SEP, 1)[1] for i in page.get("Items", []))
        return sorted(tenants)
