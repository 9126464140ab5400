"""API keys: the per-process cache of verified keys."""

from __future__ import annotations

import pytest

from custmaster.domain.permissions import Principal, Role
from custmaster.services import auth
from custmaster.services.auth import KeyCache

ANN = Principal(user_id="ann", name="Ann", roles=frozenset({Role.VIEWER}))


def test_a_verified_key_is_trusted_until_the_cache_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    cache = KeyCache(5)
    assert cache.get("cm_a_b") is None
    cache.put("cm_a_b", ANN)
    assert cache.get("cm_a_b") == ANN
    assert cache.get("cm_a_c") is None
    now[0] += 5.1
    assert cache.get("cm_a_b") is None


def test_a_zero_second_cache_keeps_nothing() -> None:
    cache = KeyCache(0)
    cache.put("cm_a_b", ANN)
    assert cache.get("cm_a_b") is None


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KeyCache, "MAX_ENTRIES", 3)
    cache = KeyCache(60)
    for i in range(4):
        cache.put(f"cm_k{i}_s", ANN)
    assert cache.get("cm_k3_s") == ANN
    assert cache.get("cm_k0_s") is None
