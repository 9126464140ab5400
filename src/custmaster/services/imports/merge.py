"""``on_duplicate=update``: what a record changes on the customer it matches.

The record is parsed like a create request (every field and business rule checked), then
laid over the existing customer: **what the file carries replaces, what it lacks stays**.

- master fields present in the command replace the customer's (absent ones stay);
- a child collection the command carries (addresses, contacts, pricing tiers, tax
  profiles) replaces the customer's collection; addresses are replaced by type, so a file
  with only a billing address keeps the shipping address;
- dimensions and overrides merge by key (the file's entity override replaces that
  entity's override, other entities' overrides stay);
- source references are added (never removed).

Id, number, status and creation time stay; the domain's aggregate rules run on the
result. This is a partial "replace" rather than an action-list patch because an export
row says what the record *is*, not what changed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from custmaster.domain.context import ParseContext
from custmaster.domain.model import MASTER_FIELDS, Customer
from custmaster.domain.rules import check_aggregate


def _keep_ids(old: list[Any], new: list[Any]) -> None:
    """The n-th record replacing the n-th one keeps its id: an unchanged record stays
    unchanged (no audit noise), a changed one is an update rather than delete + add."""
    for before, after in zip(old, new, strict=False):
        after.id = before.id


def merged_customer(
    current: Customer,
    parsed: Customer,
    command: Mapping[str, Any],
    *,
    now: datetime,
    ctx: ParseContext,
) -> Customer | None:
    """``current`` with what ``command`` (already parsed into ``parsed``) carries laid
    over it; ``None`` when the result breaks an aggregate rule (errors in ``ctx``)."""
    result = copy.deepcopy(current)
    for name in MASTER_FIELDS:
        if name in command and command[name] is not None:
            setattr(result, name, getattr(parsed, name))
    if "addresses" in command:
        types = {a.type for a in parsed.addresses}
        kept = [a for a in result.addresses if a.type not in types]
        for kind in types:
            old = [a for a in result.addresses if a.type is kind]
            new = [a for a in parsed.addresses if a.type is kind]
            _keep_ids(old, new)
        result.addresses = kept + list(parsed.addresses)
    for name in ("contacts", "pricing_tiers", "tax_profiles"):
        if command.get(name):
            _keep_ids(getattr(result, name), getattr(parsed, name))
            setattr(result, name, list(getattr(parsed, name)))
    result.dimensions = {**result.dimensions, **parsed.dimensions}
    result.overrides = {**result.overrides, **parsed.overrides}
    for ref in parsed.source_refs:
        if ref not in result.source_refs:
            result.source_refs.append(ref)
    check_aggregate(result, ctx)
    if ctx.errors:
        return None
    result.updated_at = now
    return result
