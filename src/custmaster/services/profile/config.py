"""The profile's configuration (``custmaster/profile.yaml`` or the file a setting names):
reporting rates, the credit-check rule and the KPI sets; validated when loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from custmaster.domain.credit import CreditRule
from custmaster.domain.fx import Rates
from custmaster.domain.kpis import KpiDefinition, KpiError, KpiSet
from custmaster.services.settings import ConfigurationError

DEFAULT_RESOURCE = "profile.yaml"


@dataclass(frozen=True, slots=True)
class ProfileConfig:
    rates: Rates = field(default_factory=Rates)
    credit_rule: CreditRule = field(default_factory=CreditRule)
    kpi_sets: tuple[KpiSet, ...] = ()


def _credit_rule(raw: Any) -> CreditRule:
    if raw is None:
        return CreditRule()
    if not isinstance(raw, dict):
        raise ConfigurationError("profile config: credit_check must be a mapping")
    known = set(CreditRule.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigurationError(f"profile config: unknown credit_check keys {sorted(unknown)}")
    return CreditRule(**raw)


def _kpi_sets(raw: Any) -> tuple[KpiSet, ...]:
    sets = []
    for item in raw or []:
        try:
            kpis = tuple(KpiDefinition(**k) for k in item["kpis"])
            sets.append(KpiSet(str(item["name"]), tuple(map(str, item["customer_groups"])), kpis))
        except (KeyError, TypeError, KpiError) as exc:
            raise ConfigurationError(f"profile config: KPI set {item!r}: {exc}") from None
    return tuple(sets)


def parse_profile_config(raw: Any) -> ProfileConfig:
    if not isinstance(raw, dict):
        raise ConfigurationError("profile config: a mapping is expected")
    rates = raw.get("reporting_rates") or {}
    if not all(isinstance(v, int | float) and v > 0 for v in rates.values()):
        raise ConfigurationError("profile config: reporting_rates must be positive numbers")
    return ProfileConfig(
        rates=Rates({str(k): float(v) for k, v in rates.items()}),
        credit_rule=_credit_rule(raw.get("credit_check")),
        kpi_sets=_kpi_sets(raw.get("kpi_sets")),
    )


_current: list[ProfileConfig] = []


def current_config() -> ProfileConfig:
    """The configuration the application loaded last (the shipped one before that): for
    use cases reached without it, e.g. a merge moving activity."""
    return _current[-1] if _current else load_profile_config(remember=False)


def load_profile_config(path: Path | None = None, *, remember: bool = True) -> ProfileConfig:
    if path is None:
        text = resources.files("custmaster").joinpath(DEFAULT_RESOURCE).read_text("utf-8")
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigurationError(f"profile config {path}: {exc}") from None
    config = parse_profile_config(yaml.safe_load(text))
    if remember:
        _current[:] = [config]
    return config
