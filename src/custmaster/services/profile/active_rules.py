"""The active profile rule set, parsed once per version."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from custmaster.domain.profile_rules import RuleSet, parse_rule_set
from custmaster.domain.profile_rules_default import DEFAULT_RULES
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.rule_ports import StoredRuleSet

#: the version of the shipped rules (migration 0017 stores them as version 1)
DEFAULT_VERSION = 1
DEFAULT = StoredRuleSet(DEFAULT_VERSION, DEFAULT_RULES, "system", datetime(2026, 12, 6, tzinfo=UTC))


@lru_cache(maxsize=16)
def _parsed(version: int, frozen: str) -> RuleSet:
    definition: Any = json.loads(frozen)
    return parse_rule_set(definition)


def compiled(stored: StoredRuleSet) -> RuleSet:
    """``stored`` parsed and compiled (cached by version and content)."""
    return _parsed(stored.version, json.dumps(stored.definition, sort_keys=True))


def active(uow: UnitOfWork) -> StoredRuleSet:
    """The active rule set: the highest stored version, or the shipped defaults when none
    is stored (a database emptied by hand)."""
    return uow.profile_rules.active() or DEFAULT
