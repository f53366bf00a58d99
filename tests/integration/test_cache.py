"""The table cache against moto: values expire when they say, conditional puts pick one winner, leases exclude."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mutabik.store.cache import Cache


@pytest.fixture
def clock() -> list[datetime]:
    return [datetime(2026, 11, 21, 9, 0, tzinfo=UTC)]


@pytest.fixture
def cache(runtime: Any, clock: list[datetime]) -> Cache:
    return Cache(runtime.resource("LedgerTable"), clock=lambda: clock[0])


def _ns() -> str:
    return f"test/{uuid.uuid4().hex[:8]}"


def test_a_value_is_gone_when_its_time_is_up_whatever_the_sweeper_did(cache: Cache, clock: list[datetime]) -> None:
    ns = _ns()
    cache.put(ns, "3880000006", {"registered": True}, ttl=timedelta(hours=24))

    assert cache.get(ns, "3880000006") == {"registered": True}
    clock[0] += timedelta(hours=24, seconds=1)
    assert cache.get(ns, "3880000006") is None


def test_concurrent_put_if_absent_has_one_winner_everyone_sees(cache: Cache) -> None:
    """Eight pushers create the same buyer's contact at once: all end up with the one id that was stored."""
    ns = _ns()
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda n: cache.put_if_absent(ns, "buyer", {"contact_id": n}), range(8)))

    stored = cache.get(ns, "buyer")
    assert stored is not None
    assert seen == [stored] * 8


def test_put_if_absent_replaces_an_expired_value(cache: Cache, clock: list[datetime]) -> None:
    ns = _ns()
    cache.put(ns, "k", "old", ttl=timedelta(minutes=1))
    clock[0] += timedelta(minutes=2)

    assert cache.put_if_absent(ns, "k", "new") == "new"
    assert cache.get(ns, "k") == "new"


def test_a_lease_excludes_others_until_released_or_expired(cache: Cache, clock: list[datetime]) -> None:
    ns, lease = _ns(), timedelta(seconds=30)
    take: Callable[[str], bool] = lambda owner: cache.claim(ns, "refresh", owner, lease)  # noqa: E731

    assert take("pusher-a")
    assert not take("pusher-b")
    assert take("pusher-a"), "the holder may renew its own lease"
    cache.release(ns, "refresh", "pusher-b")  # not b's to give back
    assert not take("pusher-b")
    cache.release(ns, "refresh", "pusher-a")
    assert take("pusher-b")
    clock[0] += timedelta(seconds=31)  # b died holding it
    assert take("pusher-c")


def test_scopes_keep_tenants_apart(cache: Cache) -> None:
    ns = _ns()
    cache.scoped("tenant-a", "parasut").put(ns, "buyer", "111")
    assert cache.scoped("tenant-b", "parasut").get(ns, "buyer") is None
    assert cache.scoped("tenant-a", "parasut").get(ns, "buyer") == "111"
