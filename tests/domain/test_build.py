"""Parsing create requests and patches into the aggregate (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from custmaster.domain.build import new_customer, patched_customer
from custmaster.domain.context import ParseContext, RefKind
from custmaster.domain.effective import effective_view
from custmaster.domain.snapshot import diff, snapshot
from tests.factories import acme

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _build(body: dict[str, Any]) -> tuple[Any, ParseContext]:
    ctx = ParseContext()
    return new_customer(body, customer_id=uuid4(), number="C1", now=NOW, ctx=ctx), ctx


def test_the_design_example_parses_and_names_every_reference_to_check() -> None:
    customer, ctx = _build(acme())
    assert customer is not None and not ctx.errors
    kinds = {(r.kind, r.code) for r in ctx.refs}
    assert (RefKind.DIMENSION_VALUE, "department:SALES") in kinds
    assert (RefKind.LEGAL_ENTITY, "DE01") in kinds
    assert (RefKind.PAYMENT_TERMS, "NET45") in kinds


def test_all_problems_are_reported_at_once() -> None:
    _, ctx = _build(acme(name="", email="nope", credit_limit="-5", currency="EURO"))
    assert {e.field for e in ctx.errors.errors} == {"name", "email", "credit_limit", "currency"}


def test_patch_never_modifies_the_current_aggregate() -> None:
    customer, _ = _build(acme())
    assert customer is not None
    before = snapshot(customer)
    ctx = ParseContext()
    patched = patched_customer(customer, {"notes": "x", "name": None}, now=NOW, ctx=ctx)
    assert patched is None and ctx.errors
    assert snapshot(customer) == before


def test_effective_view_of_an_entity_without_override_is_the_master() -> None:
    customer, _ = _build(acme())
    view = effective_view(customer, "GB01")
    assert view.overridden_fields == []
    assert view.data["credit_limit"] == "50000"


@given(
    st.dictionaries(
        st.sampled_from(["notes", "website", "account_tier"]),
        st.one_of(st.none(), st.text(alphabet="abc.", min_size=1, max_size=8)),
    )
)
def test_diff_lists_exactly_the_changed_master_fields(changes: dict[str, str | None]) -> None:
    customer, _ = _build(acme())
    ctx = ParseContext()
    patch = {k: (f"https://{v}.example" if k == "website" and v else v) for k, v in changes.items()}
    patched = patched_customer(customer, patch, now=NOW, ctx=ctx)
    assert patched is not None, ctx.errors.errors
    changed = {c["field"] for c in diff(snapshot(customer), snapshot(patched))}
    before = snapshot(customer)
    assert changed == {k for k, v in patch.items() if before[k] != v}
