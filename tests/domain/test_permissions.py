from __future__ import annotations

from pathlib import Path

import pytest

from custmaster.domain.approvals import Operation
from custmaster.domain.approvals.submission import render_operations_markdown
from custmaster.domain.errors import Forbidden
from custmaster.domain.permissions import (
    PERMISSION_DESCRIPTIONS,
    PERMISSION_MATRIX,
    Permission,
    PermissionDenied,
    Principal,
    Role,
    can_see_entities,
    can_see_entity,
    filter_entities,
    permissions_of,
    render_matrix_markdown,
    require,
    require_any,
    require_entity,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def principal(*roles: Role, entities: frozenset[str] | None = None) -> Principal:
    return Principal("u1", "Uma", frozenset(roles), entities)


def test_every_role_has_a_row_and_every_permission_a_description() -> None:
    assert set(PERMISSION_MATRIX) == set(Role)
    assert set(PERMISSION_DESCRIPTIONS) == set(Permission)


def test_admin_holds_every_permission() -> None:
    assert PERMISSION_MATRIX[Role.ADMIN] == frozenset(Permission)


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (Role.VIEWER, Permission.CUSTOMER_READ, Permission.CUSTOMER_PROPOSE),
        (Role.SALES_REP, Permission.CUSTOMER_PROPOSE, Permission.CUSTOMER_UPDATE),
        (Role.DATA_STEWARD, Permission.REFERENCE_MANAGE, Permission.USER_MANAGE),
        (Role.AR_MANAGER, Permission.CHANGEREQUEST_APPROVE, Permission.CUSTOMER_DELETE),
        (Role.CONTROLLER, Permission.AUDIT_VERIFY, Permission.USER_MANAGE),
        (Role.CFO, Permission.CHANGEREQUEST_APPROVE, Permission.CUSTOMER_UPDATE),
        (Role.INTEGRATION, Permission.CUSTOMER_UPDATE, Permission.CHANGEREQUEST_APPROVE),
    ],
)
def test_matrix_grants_and_denies(role: Role, allowed: Permission, denied: Permission) -> None:
    p = principal(role)
    require(p, allowed)
    with pytest.raises(PermissionDenied) as caught:
        require(p, denied)
    assert caught.value.permission is denied
    assert denied.value in caught.value.detail


def test_permission_denied_is_the_domain_forbidden() -> None:
    with pytest.raises(Forbidden):
        require(principal(Role.VIEWER), Permission.USER_MANAGE)


def test_roles_union_their_permissions() -> None:
    p = principal(Role.SALES_REP, Role.CFO)
    assert p.permissions == permissions_of([Role.SALES_REP, Role.CFO])
    assert p.has(Permission.CUSTOMER_PROPOSE) and p.has(Permission.AUDIT_VERIFY)
    assert p.has_role(Role.CFO) and not p.has_role(Role.ADMIN)


def test_no_roles_no_permissions() -> None:
    assert principal().permissions == frozenset()


def test_require_any() -> None:
    p = principal(Role.SALES_REP)
    require_any(p, [Permission.CUSTOMER_UPDATE, Permission.CUSTOMER_PROPOSE])
    with pytest.raises(PermissionDenied, match=r"customer\.delete"):
        require_any(p, [Permission.CUSTOMER_DELETE])


def test_unscoped_principal_sees_every_entity() -> None:
    p = principal(Role.VIEWER)
    assert not p.is_scoped
    assert can_see_entity(p, "US01") and can_see_entities(p, ["US01", "DE01"])
    assert filter_entities(p, ["DE01", "US01"]) == ["DE01", "US01"]


def test_scoped_principal_sees_only_its_entities() -> None:
    p = principal(Role.VIEWER, entities=frozenset({"DE01", "FR01"}))
    assert p.is_scoped
    assert can_see_entity(p, "DE01") and not can_see_entity(p, "US01")
    assert filter_entities(p, ["US01", "FR01", "DE01", "UK01"]) == ["FR01", "DE01"]
    assert not can_see_entities(p, ["DE01", "US01"])
    require_entity(p, "FR01")
    with pytest.raises(PermissionDenied, match="US01"):
        require_entity(p, "US01")


def test_empty_scope_sees_nothing() -> None:
    p = principal(Role.VIEWER, entities=frozenset())
    assert filter_entities(p, ["US01"]) == []
    assert can_see_entities(p, [])


def test_matrix_table_has_a_row_per_permission_and_a_column_per_role() -> None:
    lines = render_matrix_markdown().splitlines()
    assert len(lines) == 2 + len(Permission)
    assert all(f"| {r.value} |" in lines[0] or f"| {r.value} " in lines[0] for r in Role)
    user_manage = next(line for line in lines if "`user.manage`" in line)
    assert user_manage.count("✓") == 1


def test_docs_permissions_md_is_up_to_date() -> None:
    text = DOC.read_text("utf-8")
    start = text.index("\n", text.index("<!-- BEGIN MATRIX")) + 1
    end = text.index("<!-- END MATRIX")
    assert text[start:end] == render_matrix_markdown(), (
        "docs/permissions.md is stale: paste `python -m custmaster.domain.permissions`"
        " between the MATRIX markers"
    )


def test_docs_operations_table_is_up_to_date() -> None:
    text = DOC.read_text("utf-8")
    start = text.index("\n", text.index("<!-- BEGIN OPERATIONS")) + 1
    end = text.index("<!-- END OPERATIONS")
    assert text[start:end] == render_operations_markdown(), (
        "docs/permissions.md is stale: paste `python -m custmaster.domain.approvals.submission`"
        " between the OPERATIONS markers"
    )
    for operation in Operation:
        assert f"| `{operation.value}` |" in text
