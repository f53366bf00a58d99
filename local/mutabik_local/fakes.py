"""Provider fakes in the local runtime: `mutabik local` serves the fakes of tests/fakes on loopback ports and
gives each a demo tenant (`demo-<provider>`) routed to it, so `mutabik send --provider parasut …` shows the
whole flow — contact, invoice, e-document, its verdict — with no credentials.

The fakes live with the tests (they are how the tests check what we send); the runtime runs from a clone, so
it imports them from the project folder. Without tests/fakes (an installed wheel) there are simply none.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mutabik.pipeline.services import Services
from mutabik.providers import available_providers, document_types
from mutabik.store import keys
from mutabik.store.tenants import ProviderSettings, SourceSettings, TenantConfig

__all__ = ["available_fakes", "connect_sender_apis", "demo_tenant_name", "start_fakes", "start_sender_fakes"]


def demo_tenant_name(provider: str) -> str:
    return f"demo-{provider}"


def _fakes_package(root: Path) -> Any | None:
    if not (root / "tests" / "fakes" / "__init__.py").exists():
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("tests.fakes")


def available_fakes(root: Path) -> list[str]:
    """Providers that have a fake in `root`/tests/fakes."""
    package = _fakes_package(root)
    if package is None:
        return []
    names = {m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")}
    return sorted(names & available_providers())


def _sender_fake_modules(root: Path) -> dict[str, Any]:
    """Fakes of senders' APIs (a module with `SENDER = "<source>"`), by sender."""
    package = _fakes_package(root)
    if package is None:
        return {}
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in available_providers():
            continue
        module = importlib.import_module(f"tests.fakes.{info.name}")
        sender = getattr(module, "SENDER", "")
        if isinstance(sender, str) and sender:
            found[sender] = module
    return found


def start_sender_fakes(root: Path) -> dict[str, Any]:
    """Serve the fake of every sender API there is (Amazon SP-API, Etsy, iyzico, Stripe …), by sender: the
    demo tenants complete deliveries without amounts from them, as a real tenant does from the sender."""
    package = _fakes_package(root)
    servers: dict[str, Any] = {}
    if package is None:
        return servers
    for sender, module in sorted(_sender_fake_modules(root).items()):
        servers[sender] = package.FakeServer(module.Fake()).start()
    return servers


def connect_sender_apis(services: Services, tenant: TenantConfig, servers: dict[str, Any]) -> TenantConfig:
    """Point the tenant's senders at the running sender API fakes: `api_url`, options, and the credentials in
    the sender-apis secret, as an operator does for the real APIs (docs/sender-apis.md)."""
    import json

    sources = dict(tenant.sources)
    for sender, server in servers.items():
        if sender not in sources:
            continue
        fake = server.app
        sources[sender] = sources[sender].model_copy(update={"api_url": server.url, "options": fake.options()})
        name = services.secrets.sender_api_secret_name(tenant.tenant, sender)
        services.secrets.put(name, json.dumps(fake.credentials()))
    config = tenant.model_copy(update={"sources": sources})
    services.tenants.put(config)
    return config


def start_fakes(
    root: Path, names: list[str], services: Services, tenant_of: Callable[[str], str] = demo_tenant_name
) -> dict[str, Any]:
    """Serve each named fake and seed its demo tenant (`tenant_of(provider)`); returns the running servers."""
    package = _fakes_package(root)
    if package is None:
        raise RuntimeError(f"no provider fakes under {root / 'tests/fakes'}")
    servers: dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(f"tests.fakes.{name}")
        app = module.Fake()
        if hasattr(app, "auto_sign_after"):
            # The portal waits for the seller's SMS signature; in the demo the fake "seller" signs after 3 s.
            app.auto_sign_after = 3.0
        server = package.FakeServer(app).start()
        servers[name] = server
        seed_provider_tenant(root, services, name, server.url, app.credentials(), app.options(), tenant_of(name))
    return servers


def seed_provider_tenant(
    root: Path,
    services: Services,
    provider: str,
    base_url: str,
    credentials: dict[str, str],
    options: dict[str, str],
    tenant: str,
) -> TenantConfig:
    """A demo tenant: the demo seller and senders, every document type the provider supports routed to it."""
    import json

    from mutabik_local.demo import DEMO_MAPPING, DEMO_SELLER, demo_secrets

    secrets = demo_secrets(root)
    for source, value in secrets.items():
        services.secrets.put(keys.source_secret_name(services.secrets.prefix, tenant, source), value)
    services.secrets.put(services.secrets.provider_secret_name(tenant, provider), json.dumps(credentials))
    config = TenantConfig(
        tenant=tenant,
        name=f"Kahve Dükkanı (demo, {provider})",
        seller=DEMO_SELLER,
        sources={source: SourceSettings() for source in secrets},
        routes=dict.fromkeys(document_types(provider), provider),
        providers={provider: ProviderSettings(base_url=base_url, options=options)},
        mapping=DEMO_MAPPING,
        invoice_series="KHV",
    )
    services.tenants.put(config)
    return config
