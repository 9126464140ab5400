"""Tests of custmaster.domain.org_units: org unit tree, assignments, account teams."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmaster.domain.errors import NotFound, ValidationFailed
from custmaster.domain.org_units import (
    CustomerAssignment,
    OrgStructure,
    OrgUnit,
    TeamAssignment,
    TeamMember,
)

D0 = date(2026, 1, 1)


def d(days: int) -> date:
    return D0 + timedelta(days=days)


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def structure() -> OrgStructure:
    org = OrgStructure()
    org.add_units(
        [
            OrgUnit("MUC", "territory", "Munich", "DACH"),
            OrgUnit("EU", "sales_organisation", "Europe"),
            OrgUnit("DACH", "region", "DACH", "EU"),
            OrgUnit("BER", "territory", "Berlin", "DACH"),
            OrgUnit("MUC-1", "branch", "Munich centre", "MUC"),
        ]
    )
    return org


def test_tree_reads() -> None:
    org = structure()
    assert org.path("MUC-1") == ("EU", "DACH", "MUC", "MUC-1")
    assert org.ancestors("MUC") == ["DACH", "EU"]
    assert org.children("DACH") == ["MUC", "BER"]
    assert org.subtree("DACH") == ["DACH", "MUC", "BER", "MUC-1"]
    with pytest.raises(NotFound):
        org.unit("XX")


def test_unit_validation_names_the_field() -> None:
    org = structure()
    with pytest.raises(ValidationFailed) as exc:
        org.add_unit(OrgUnit("MUC", "district", " ", "NOPE"))
    assert codes(exc) == [
        ("id", "duplicate"),
        ("kind", "unknown_org_unit_kind"),
        ("name", "required"),
        ("parent_id", "unknown_org_unit"),
    ]
    with pytest.raises(ValidationFailed) as exc:
        org.add_unit(OrgUnit("X", "branch", "X", "X"))
    assert codes(exc) == [("parent_id", "cycle")]


def test_batch_load_reports_cycles_and_unknown_parents() -> None:
    with pytest.raises(ValidationFailed) as exc:
        OrgStructure().add_units(
            [OrgUnit("A", "region", "A", "B"), OrgUnit("B", "region", "B", "A")]
        )
    assert codes(exc) == [("parent_id", "cycle")]
    with pytest.raises(ValidationFailed) as exc:
        OrgStructure().add_units(
            [OrgUnit("A", "region", "A", "B"), OrgUnit("B", "region", "B", "Z")]
        )
    assert codes(exc) == [("parent_id", "unknown_org_unit")]


def test_move_unit_refuses_cycles() -> None:
    org = structure()
    with pytest.raises(ValidationFailed) as exc:
        org.move_unit("DACH", "MUC-1")
    assert codes(exc) == [("parent_id", "cycle")]
    with pytest.raises(ValidationFailed) as exc:
        org.move_unit("DACH", "NOPE")
    assert codes(exc) == [("parent_id", "unknown_org_unit")]
    org.add_unit(OrgUnit("NORTH", "region", "North", "EU"))
    org.move_unit("BER", "NORTH")
    assert org.path("BER") == ("EU", "NORTH", "BER")
    assert org.children("DACH") == ["MUC"]
    assert org.move_unit("NORTH", None).parent_id is None


def test_assignment_validation() -> None:
    org = structure()
    with pytest.raises(ValidationFailed) as exc:
        org.assign_customer(CustomerAssignment("c1", "NOPE", d(5), d(1)))
    assert codes(exc) == [("valid_to", "invalid_period"), ("org_unit_id", "unknown_org_unit")]
    org.assign_customer(CustomerAssignment("c1", "MUC", d(0), d(10)))
    with pytest.raises(ValidationFailed) as exc:
        org.assign_customer(CustomerAssignment("c1", "MUC", d(9)))
    assert codes(exc) == [("valid_from", "duplicate_assignment")]
    with pytest.raises(ValidationFailed) as exc:
        org.assign_user(TeamAssignment("u", "boss", d(0)))
    assert codes(exc) == [("role", "unknown_role"), ("org_unit_id", "target_required")]
    with pytest.raises(ValidationFailed) as exc:
        org.assign_user(TeamAssignment("u", "sales_rep", d(0), customer_id="c1", org_unit_id="MUC"))
    assert codes(exc) == [("customer_id", "ambiguous_target")]
    with pytest.raises(ValidationFailed) as exc:
        org.assign_user(TeamAssignment("u", "sales_rep", d(0), org_unit_id="NOPE"))
    assert codes(exc) == [("org_unit_id", "unknown_org_unit")]
    org.assign_user(TeamAssignment("u", "sales_rep", d(0), customer_id="c1"))
    with pytest.raises(ValidationFailed) as exc:
        org.assign_user(TeamAssignment("u", "sales_rep", d(3), customer_id="c1"))
    assert codes(exc) == [("valid_from", "duplicate_assignment")]


def test_customers_of_a_unit() -> None:
    org = structure()
    org.assign_customer(CustomerAssignment("c1", "MUC-1", d(0)))
    org.assign_customer(CustomerAssignment("c2", "BER", d(5)))
    assert org.customers_of("DACH", d(6)) == []
    assert org.customers_of("DACH", d(6), include_subtree=True) == ["c2", "c1"]  # breadth-first
    assert org.customers_of("DACH", d(4), include_subtree=True) == ["c1"]
    assert org.units_of("c2", d(5)) == ["BER"]


def test_effective_team_direct_wins_then_nearest_unit() -> None:
    org = structure()
    org.assign_customer(CustomerAssignment("c1", "MUC", d(0)))
    org.assign_user(TeamAssignment("eu-kam", "key_account_manager", d(0), org_unit_id="EU"))
    org.assign_user(TeamAssignment("dach-rep", "sales_rep", d(0), org_unit_id="DACH"))
    org.assign_user(TeamAssignment("muc-rep", "sales_rep", d(0), d(30), org_unit_id="MUC"))
    org.assign_user(TeamAssignment("dach-am", "account_manager", d(0), org_unit_id="DACH"))
    org.assign_user(TeamAssignment("own-am", "account_manager", d(10), customer_id="c1"))

    assert org.effective_account_team("c1", d(5)) == [
        TeamMember("eu-kam", "key_account_manager", "EU", ("EU",)),
        TeamMember("dach-am", "account_manager", "EU/DACH", ("EU", "DACH")),
        TeamMember("muc-rep", "sales_rep", "EU/DACH/MUC", ("EU", "DACH", "MUC")),
    ]
    team = {(m.user_id, m.role, m.source) for m in org.effective_account_team("c1", d(30))}
    assert team == {
        ("eu-kam", "key_account_manager", "EU"),
        ("own-am", "account_manager", "direct"),
        ("dach-rep", "sales_rep", "EU/DACH"),
    }
    assert org.effective_account_team("c1", d(-1)) == []
    assert org.effective_account_team("unknown", d(5)) == []


def test_effective_team_over_several_units_lists_a_user_once() -> None:
    org = structure()
    org.assign_customer(CustomerAssignment("c1", "MUC", d(0)))
    org.assign_customer(CustomerAssignment("c1", "BER", d(0)))
    org.assign_user(TeamAssignment("rep", "sales_rep", d(0), org_unit_id="DACH"))
    org.assign_user(TeamAssignment("ber-rep", "sales_rep", d(0), org_unit_id="BER"))
    team = org.effective_account_team("c1", d(1))
    assert [(m.user_id, m.source) for m in team] == [("rep", "EU/DACH"), ("ber-rep", "EU/DACH/BER")]


def test_custom_kinds_and_roles() -> None:
    org = OrgStructure(kinds={"district"}, roles=["field_engineer"])
    org.add_unit(OrgUnit(1, "district", "One"))
    org.assign_customer(CustomerAssignment("c", 1, d(0)))
    org.assign_user(TeamAssignment("u", "field_engineer", d(0), org_unit_id=1))
    assert org.effective_account_team("c", d(0)) == [TeamMember("u", "field_engineer", "1", (1,))]


ROLES = ["account_manager", "sales_rep"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["direct", "EU", "DACH", "MUC"]),
            st.sampled_from(ROLES),
            st.sampled_from(["u1", "u2", "u3"]),
            st.integers(0, 5),
        ),
        max_size=10,
    ),
    st.integers(0, 6),
)
def test_each_role_comes_from_one_level_only(
    assignments: list[tuple[str, str, str, int]], day: int
) -> None:
    org = structure()
    org.assign_customer(CustomerAssignment("c", "MUC", d(0)))
    accepted: list[tuple[str, str, int]] = []
    for target, role, user_id, start in assignments:
        where = {"customer_id": "c"} if target == "direct" else {"org_unit_id": target}
        try:
            org.assign_user(TeamAssignment(user_id, role, d(start), **where))  # type: ignore[arg-type]
        except ValidationFailed:
            continue
        accepted.append((target, role, start))
    team = org.effective_account_team("c", d(day))
    levels = ["direct", "EU/DACH/MUC", "EU/DACH", "EU"]
    for role in ROLES:
        sources = {m.source for m in team if m.role == role}
        assert len(sources) <= 1
        active = {
            ("direct" if t == "direct" else "/".join(str(u) for u in org.path(t)))
            for t, r, s in accepted
            if r == role and s <= day
        }
        expected = next((lvl for lvl in levels if lvl in active), None)
        assert sources == ({expected} if expected else set())
