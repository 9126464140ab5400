from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmaster.domain.approvals import (
    STRUCTURE_OPERATIONS,
    ChangeRequest,
    FieldChange,
    InvalidTransition,
    Lane,
    Operation,
    Policy,
    PolicyError,
    ProposedChange,
    RebaseStatus,
    RequestStatus,
    SegregationOfDuties,
    StepState,
    Unapprovable,
    check_approvable,
    find_assignment,
    path_matches,
    rebase,
    require_submit,
    rule_path,
)
from custmaster.domain.errors import Conflict, Forbidden, ValidationFailed
from custmaster.domain.permissions import PermissionDenied, Principal, Role
from custmaster.services.approval_policy_loader import load_policy

R = Role
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

POLICY_DATA: dict[str, Any] = {
    "version": 1,
    "operations": {
        "create": {"lane": "yellow", "steps": ["ar_manager", "controller"]},
        "update": {"lane": "yellow", "steps": ["ar_manager", "controller"]},
        "deactivate": {"lane": "yellow", "steps": ["ar_manager", "controller"]},
        "reactivate": {"lane": "yellow", "steps": ["ar_manager"]},
        "hard_delete": {"lane": "red", "steps": ["ar_manager", "controller", "cfo"]},
        "bulk_import": {"lane": "yellow", "checks": ["validation"], "steps": ["ar_manager"]},
        "merge": {"lane": "yellow", "steps": ["data_steward"]},
        "unmerge": {"lane": "yellow", "steps": ["data_steward"]},
        "erase_personal_data": {"lane": "red", "steps": ["data_steward", "controller"]},
        **{op.value: {"lane": "green"} for op in STRUCTURE_OPERATIONS},
    },
    "proposals": {"steps": ["data_steward"]},
    "rules": [
        {
            "name": "low_risk",
            "operations": ["update"],
            "when": {"only_fields": ["notes", "phone", "website", "contacts"]},
            "lane": "green",
            "reason": "low-risk fields only",
        },
        {
            "name": "big_credit",
            "operations": ["create", "update"],
            "when": {"field": "credit_limit", "increase_above": 100000, "value_above": 250000},
            "lane": "red",
            "add_steps": ["cfo"],
            "reason": "large credit limit",
        },
    ],
}


def policy(data: dict[str, Any] | None = None) -> Policy:
    return Policy.from_dict(copy.deepcopy(data or POLICY_DATA))


def user(uid: str, *roles: Role, entities: frozenset[str] | None = None) -> Principal:
    return Principal(uid, uid.title(), frozenset(roles), entities)


def problems(data: Any) -> dict[str, str]:
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    return {p.field: p.message for p in caught.value.problems}


def broken(path: list[Any], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(POLICY_DATA)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()

# --- field paths ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reduced"),
    [
        ("credit_limit", "credit_limit"),
        ("overrides.DE01.credit_limit", "credit_limit"),
        ("overrides.DE01.addresses[0].city", "addresses.city"),
        ("contacts[3].email", "contacts.email"),
        ("dimensions.department", "dimensions.department"),
    ],
)
def test_rule_path(path: str, reduced: str) -> None:
    assert rule_path(path) == reduced


def test_path_matches_itself_and_below_only() -> None:
    assert path_matches("contacts", "contacts[0].email")
    assert path_matches("contacts", "contacts")
    assert not path_matches("contacts", "contacts_extra")
    assert not path_matches("contacts.email", "contacts[0].phone")


# --- policy evaluation ---------------------------------------------------------


def test_default_steps_per_operation() -> None:
    p = policy()
    cases = {
        Operation.CREATE: (Lane.YELLOW, (R.AR_MANAGER, R.CONTROLLER)),
        Operation.UPDATE: (Lane.YELLOW, (R.AR_MANAGER, R.CONTROLLER)),
        Operation.DEACTIVATE: (Lane.YELLOW, (R.AR_MANAGER, R.CONTROLLER)),
        Operation.HARD_DELETE: (Lane.RED, (R.AR_MANAGER, R.CONTROLLER, R.CFO)),
        Operation.BULK_IMPORT: (Lane.YELLOW, (R.AR_MANAGER,)),
    }
    for op, (lane, steps) in cases.items():
        d = p.evaluate(op, [FieldChange("name", "A", "B")])
        assert (d.lane, d.steps) == (lane, steps), op
    assert p.evaluate(Operation.BULK_IMPORT, []).checks == ("validation",)


def test_low_risk_fields_only_go_green() -> None:
    d = policy().evaluate(
        Operation.UPDATE,
        [FieldChange("notes", "a", "b"), FieldChange("contacts[0].phone", None, "+491234")],
    )
    assert d.lane is Lane.GREEN and d.steps == () and not d.needs_approval
    assert d.rules == ("low_risk",) and "low-risk fields only" in d.reasons


def test_a_low_risk_field_with_another_field_stays_yellow() -> None:
    d = policy().evaluate(
        Operation.UPDATE, [FieldChange("notes", "a", "b"), FieldChange("email", "a@x", "b@x")]
    )
    assert d.lane is Lane.YELLOW


def test_no_changes_is_not_low_risk() -> None:
    assert policy().evaluate(Operation.UPDATE, []).lane is Lane.YELLOW


def test_low_risk_rule_only_for_its_operations() -> None:
    assert policy().evaluate(Operation.CREATE, [FieldChange("notes", None, "x")]).lane is (
        Lane.YELLOW
    )


@pytest.mark.parametrize(
    ("before", "after", "lane"),
    [
        ("10000", "100000", Lane.YELLOW),  # +90,000, below 250,000
        ("10000", "110001", Lane.RED),  # +100,001
        (Decimal("200000"), Decimal("250001"), Lane.RED),  # above 250,000
        ("300000", "290000", Lane.RED),  # still above 250,000
        ("50000", None, Lane.YELLOW),  # cleared
        (None, "100000.01", Lane.RED),  # from nothing counts from 0
        ("abc", "5", Lane.YELLOW),
    ],
)
def test_credit_limit_thresholds(before: Any, after: Any, lane: Lane) -> None:
    d = policy().evaluate(Operation.UPDATE, [FieldChange("credit_limit", before, after)])
    assert d.lane is lane
    if lane is Lane.RED:
        assert d.steps == (R.AR_MANAGER, R.CONTROLLER, R.CFO)
        assert "large credit limit" in d.reasons


def test_credit_limit_rule_covers_entity_overrides() -> None:
    d = policy().evaluate(
        Operation.UPDATE, [FieldChange("overrides.DE01.credit_limit", "0", "500000")]
    )
    assert d.lane is Lane.RED and R.CFO in d.steps


def test_escalation_beats_green() -> None:
    data = copy.deepcopy(POLICY_DATA)
    data["rules"][0]["when"]["only_fields"].append("credit_limit")
    d = policy(data).evaluate(
        Operation.UPDATE, [FieldChange("notes", "a", "b"), FieldChange("credit_limit", 0, 10**6)]
    )
    assert d.lane is Lane.RED and d.rules == ("low_risk", "big_credit")


def ratio_policy(combine: str) -> Policy:
    data = copy.deepcopy(POLICY_DATA)
    data["rules"][1]["when"] = {
        "field": "credit_limit",
        "increase_ratio_above": "0.5",
        "increase_above": 10000,
        "combine": combine,
    }
    return policy(data)


@pytest.mark.parametrize(
    ("combine", "before", "after", "lane"),
    [
        ("any", 1000, 1600, Lane.RED),  # +60 %
        ("all", 1000, 1600, Lane.YELLOW),  # +60 % but only +600
        ("all", 20000, 40000, Lane.RED),  # +100 % and +20,000
        ("all", 100000, 120000, Lane.YELLOW),  # +20,000 but +20 %
        ("any", 0, 5000, Lane.YELLOW),  # the ratio needs a positive before
    ],
)
def test_relative_increase(combine: str, before: int, after: int, lane: Lane) -> None:
    changes = [FieldChange("credit_limit", before, after)]
    assert ratio_policy(combine).evaluate(Operation.UPDATE, changes).lane is lane


def test_record_condition_and_adding_a_role_once() -> None:
    data = copy.deepcopy(POLICY_DATA)
    data["rules"].append(
        {
            "name": "government",
            "operations": ["update"],
            "when": {"record": {"customer_type": ["government"]}},
            "lane": "red",
            "add_steps": ["cfo", "controller"],
        }
    )
    p = policy(data)
    changes = [FieldChange("credit_limit", 0, 10**6)]
    d = p.evaluate(Operation.UPDATE, changes, {"customer_type": "government"}, None)
    assert d.steps == (R.AR_MANAGER, R.CONTROLLER, R.CFO)
    assert d.rules == ("big_credit", "government")
    assert "government" in d.reasons  # the reason defaults to the rule name
    other = p.evaluate(Operation.UPDATE, [FieldChange("name", "a", "b")], {}, {"x": 1})
    assert other.rules == ()


def test_propose_only_submitter_gets_review_for_green_changes() -> None:
    changes = [FieldChange("website", None, "https://a.example")]
    d = policy().evaluate(Operation.UPDATE, changes, direct=False)
    assert d.lane is Lane.YELLOW and d.steps == (R.DATA_STEWARD,)
    yellow = policy().evaluate(Operation.UPDATE, [FieldChange("name", "a", "b")], direct=False)
    assert yellow.steps == (R.AR_MANAGER, R.CONTROLLER)


def test_a_yellow_rule_on_a_green_operation() -> None:
    data = copy.deepcopy(POLICY_DATA)
    data["operations"]["update"] = {"lane": "green"}
    data["rules"] = [
        {
            "name": "tax",
            "operations": ["update"],
            "when": {"any_field": ["tax_id"]},
            "lane": "yellow",
            "add_steps": ["controller"],
        }
    ]
    p = policy(data)
    assert p.evaluate(Operation.UPDATE, [FieldChange("name", "a", "b")]).lane is Lane.GREEN
    d = p.evaluate(Operation.UPDATE, [FieldChange("tax_id", "a", "b")])
    assert (d.lane, d.steps) == (Lane.YELLOW, (R.CONTROLLER,))


# --- policy validation ---------------------------------------------------------


def test_the_sample_policy_is_valid() -> None:
    p = policy()
    assert p.version == 1 and set(p.operations) == set(Operation)
    assert p.proposal_steps == (R.DATA_STEWARD,)


@pytest.mark.parametrize(
    ("path", "value", "bad_key", "words"),
    [
        (
            ["operations", "update", "steps", 1],
            "manager",
            "operations.update.steps[1]",
            "unknown role 'manager'",
        ),
        (
            ["operations", "update", "steps", 0],
            "viewer",
            "operations.update.steps[0]",
            "cannot approve",
        ),
        (["operations", "update", "steps"], [], "operations.update.steps", "needs steps"),
        (["operations", "update", "lane"], "amber", "operations.update.lane", "unknown lane"),
        (["operations", "create", "lane"], "green", "operations.create.steps", "no steps"),
        (["operations", "nuke"], {"lane": "red"}, "operations.nuke", "unknown key"),
        (["operations", "merge"], _DELETE, "operations.merge", "missing operation"),
        (
            ["operations", "bulk_import", "checks"],
            ["vibes"],
            "operations.bulk_import.checks[0]",
            "unknown check",
        ),
        (
            ["rules", 0, "operations", 0],
            "upsert",
            "rules[0].operations[0]",
            "unknown operation 'upsert'",
        ),
        (
            ["rules", 0, "when", "only_fields", 1],
            "fone",
            "rules[0].when.only_fields[1]",
            "unknown field 'fone'",
        ),
        (["rules", 0, "when", "only_fields"], [], "rules[0].when.only_fields", "at least one"),
        (["rules", 1, "when", "field"], "credit", "rules[1].when.field", "unknown field"),
        (
            ["rules", 1, "when", "increase_above"],
            -5,
            "rules[1].when.increase_above",
            "non-negative number",
        ),
        (
            ["rules", 1, "when", "value_above"],
            "lots",
            "rules[1].when.value_above",
            "non-negative number",
        ),
        (
            ["rules", 1, "when", "value_above"],
            True,
            "rules[1].when.value_above",
            "non-negative number",
        ),
        (["rules", 1, "when", "combine"], "some", "rules[1].when.combine", "unknown combine"),
        (["rules", 1, "add_steps", 0], "ceo", "rules[1].add_steps[0]", "unknown role"),
        (["rules", 0, "add_steps"], ["cfo"], "rules[0].add_steps", "adds no steps"),
        (["rules", 1, "name"], "low_risk", "rules[1].name", "duplicate"),
        (["rules", 1, "when", "colour"], "red", "rules[1].when.colour", "unknown key"),
        (["version"], 2, "version", "unsupported"),
        (["proposals"], _DELETE, "proposals", "missing"),
        (["proposals", "steps"], [], "proposals.steps", "at least one role"),
        (["rules"], {"a": 1}, "rules", "must be a list"),
    ],
)
def test_invalid_policy_names_the_bad_key(
    path: list[Any], value: Any, bad_key: str, words: str
) -> None:
    found = problems(broken(path, value))
    assert bad_key in found, found
    assert words in found[bad_key]


def test_suggestions_for_near_misses() -> None:
    found = problems(broken(["operations", "update", "steps", 0], "ar_manger"))
    assert "did you mean 'ar_manager'" in found["operations.update.steps[0]"]


def test_threshold_without_field_and_field_without_threshold() -> None:
    found = problems(broken(["rules", 1, "when"], {"increase_above": 5}))
    assert "rules[1].when.field" in found
    found = problems(broken(["rules", 1, "when"], {"field": "credit_limit"}))
    assert "rules[1].when" in found


def test_sub_fields_are_checked() -> None:
    ok = copy.deepcopy(POLICY_DATA)
    ok["rules"][0]["when"]["only_fields"] = ["contacts.email", "metadata.anything", "dimensions"]
    policy(ok)
    found = problems(broken(["rules", 0, "when", "only_fields"], ["contacts.shoe_size"]))
    assert "unknown field 'shoe_size' of 'contacts'" in found["rules[0].when.only_fields[0]"]
    found = problems(broken(["rules", 0, "when", "only_fields"], ["notes.x"]))
    assert "no sub-fields" in found["rules[0].when.only_fields[0]"]


def test_red_rule_on_an_operation_without_steps_must_add_some() -> None:
    data = broken(["operations", "update"], {"lane": "green"})
    data["rules"][1]["add_steps"] = []
    assert "rules[1].add_steps" in problems(data)


def test_all_problems_are_reported_at_once() -> None:
    data = broken(["operations", "update", "lane"], "amber")
    data["rules"][0]["operations"] = ["upsert"]
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    error = caught.value
    assert len(error.problems) == 2
    assert "operations.update.lane" in str(error) and "rules[0].operations[0]" in str(error)


@pytest.mark.parametrize("data", [None, [], "policy", 3])
def test_not_a_mapping(data: Any) -> None:
    assert "" in problems(data)


def test_known_fields_can_be_supplied() -> None:
    data = broken(["rules", 0, "when", "only_fields"], ["loyalty_points"])
    with pytest.raises(PolicyError):
        Policy.from_dict(data)
    Policy.from_dict(
        data, known_fields={"loyalty_points": frozenset(), "credit_limit": frozenset()}
    )


# --- submission --------------------------------------------------------------


def test_require_submit_tells_direct_from_propose_only() -> None:
    assert require_submit(user("s", R.DATA_STEWARD), Operation.UPDATE) is True
    assert require_submit(user("r", R.SALES_REP), Operation.UPDATE) is False
    assert require_submit(user("c", R.CONTROLLER), Operation.HARD_DELETE) is True
    with pytest.raises(PermissionDenied):
        require_submit(user("v", R.VIEWER), Operation.UPDATE)
    with pytest.raises(PermissionDenied):
        require_submit(user("r", R.SALES_REP), Operation.HARD_DELETE)


# --- change requests -----------------------------------------------------------

SUBMITTER = user("sam", R.DATA_STEWARD, R.AR_MANAGER, R.CONTROLLER)
ANNA = user("anna", R.AR_MANAGER)
CARL = user("carl", R.CONTROLLER)
CLARA = user("clara", R.CFO)
BOTH = user("bob", R.AR_MANAGER, R.CONTROLLER)
ADMIN = user("ada", R.ADMIN)


def request(
    steps: tuple[Role, ...] = (R.AR_MANAGER, R.CONTROLLER),
    entities: frozenset[str] = frozenset(),
    submitter: Principal = SUBMITTER,
) -> ChangeRequest:
    lane = Lane.RED if R.CFO in steps else Lane.YELLOW
    decision = policy().evaluate(Operation.UPDATE, [FieldChange("name", "a", "b")])
    decision = type(decision)(lane, steps, decision.reasons)
    return ChangeRequest.submit(
        operation=Operation.UPDATE,
        customer_id=uuid4(),
        submitter=submitter,
        decision=decision,
        change=ProposedChange({"name": "B"}, ("name",), 3, {"name": "A"}),
        entities=entities,
        at=T0,
    )


def status(cr: ChangeRequest) -> RequestStatus:
    return cr.status  # a call, so that mypy does not narrow the status between moves


def test_a_request_runs_its_steps_in_order() -> None:
    cr = request()
    assert cr.status is RequestStatus.PENDING and cr.current_step is cr.steps[0]
    assert cr.lane is Lane.YELLOW and cr.created_at == T0 and cr.reasons
    with pytest.raises(SegregationOfDuties, match="ar_manager"):
        cr.approve(CARL)  # the first step is the manager's
    step = cr.approve(ANNA, "fine", at=T0)
    assert (step.state, step.decided_by, step.comment, step.decided_at) == (
        StepState.APPROVED,
        "anna",
        "fine",
        T0,
    )
    assert status(cr) is RequestStatus.PENDING and cr.current_step is cr.steps[1]
    cr.approve(CARL)
    assert status(cr) is RequestStatus.APPROVED and cr.current_step is None
    cr.mark_applied()
    assert status(cr) is RequestStatus.APPLIED and cr.status.is_final


def test_as_dict_is_json_able() -> None:
    cr = request(entities=frozenset({"US01"}))
    cr.approve(ANNA, "ok", at=T0)
    snapshot = cr.as_dict()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["steps"][0] == {
        "role": "ar_manager",
        "state": "approved",
        "decided_by": "anna",
        "decided_at": T0.isoformat(),
        "comment": "ok",
    }
    assert snapshot["steps"][1]["state"] == "pending"
    assert snapshot["change"]["fields"] == ["name"] and snapshot["entities"] == ["US01"]


def test_the_submitter_never_decides() -> None:
    cr = request()
    with pytest.raises(SegregationOfDuties, match="submitter"):
        cr.approve(SUBMITTER)
    with pytest.raises(SegregationOfDuties, match="submitter"):
        cr.reject(SUBMITTER, "no")
    assert not cr.can_decide(SUBMITTER)


def test_one_person_decides_one_step() -> None:
    cr = request()
    cr.approve(BOTH)
    assert not cr.can_decide(BOTH)
    with pytest.raises(SegregationOfDuties, match="two steps"):
        cr.approve(BOTH)
    assert cr.can_decide(CARL)


def test_admin_is_no_wildcard_approver() -> None:
    cr = request()
    with pytest.raises(SegregationOfDuties):
        cr.approve(ADMIN)
    admin_manager = user("adam", R.ADMIN, R.AR_MANAGER)
    cr.approve(admin_manager)
    with pytest.raises(SegregationOfDuties):
        cr.approve(admin_manager)  # admin does not escape "one step per person"
    own = request(submitter=admin_manager)
    with pytest.raises(SegregationOfDuties):
        own.approve(admin_manager)


def test_viewer_lacks_the_approve_permission() -> None:
    with pytest.raises(PermissionDenied):
        request().approve(user("vic", R.VIEWER))


def test_scoped_approver_must_see_every_entity() -> None:
    cr = request(entities=frozenset({"DE01", "US01"}))
    de_only = user("dora", R.AR_MANAGER, entities=frozenset({"DE01"}))
    with pytest.raises(SegregationOfDuties, match="DE01, US01"):
        cr.approve(de_only)
    cr.approve(user("uwe", R.AR_MANAGER, entities=frozenset({"DE01", "US01", "FR01"})))


def test_reject_needs_a_reason_and_ends_the_request() -> None:
    cr = request()
    with pytest.raises(InvalidTransition):
        cr.reject(ANNA, "  ")
    cr.approve(ANNA)
    step = cr.reject(CARL, "credit history too thin")
    assert step.state is StepState.REJECTED and step.comment == "credit history too thin"
    assert cr.status is RequestStatus.REJECTED
    with pytest.raises(InvalidTransition):
        cr.approve(CLARA)


def test_withdraw_only_by_the_submitter_and_only_while_pending() -> None:
    cr = request()
    with pytest.raises(SegregationOfDuties):
        cr.withdraw(ANNA)
    cr.withdraw(SUBMITTER, at=T0)
    assert cr.status is RequestStatus.WITHDRAWN and cr.updated_at == T0
    with pytest.raises(InvalidTransition):
        cr.withdraw(SUBMITTER)
    done = request(steps=(R.AR_MANAGER,))
    done.approve(ANNA)
    with pytest.raises(InvalidTransition):
        done.withdraw(SUBMITTER)


def test_conflicted_and_applied_transitions() -> None:
    cr = request(steps=(R.AR_MANAGER,))
    with pytest.raises(InvalidTransition):
        cr.mark_applied()  # not approved yet
    cr.approve(ANNA)
    cr.mark_conflicted(["name"])
    assert cr.status is RequestStatus.CONFLICTED and cr.conflict_fields == ("name",)
    with pytest.raises(InvalidTransition):
        cr.mark_applied()
    with pytest.raises(InvalidTransition):
        cr.mark_conflicted(["name"])


def test_state_errors_map_to_domain_errors() -> None:
    assert issubclass(InvalidTransition, Conflict)
    assert issubclass(SegregationOfDuties, Forbidden)
    assert issubclass(Unapprovable, ValidationFailed)


def test_green_decisions_open_no_request() -> None:
    d = policy().evaluate(Operation.UPDATE, [FieldChange("notes", "a", "b")])
    with pytest.raises(InvalidTransition):
        ChangeRequest.submit(
            operation=Operation.UPDATE,
            customer_id=None,
            submitter=SUBMITTER,
            decision=d,
            change=ProposedChange({}),
        )


def test_submission_refuses_unapprovable_requests() -> None:
    d = policy().evaluate(Operation.UPDATE, [FieldChange("name", "a", "b")])

    def submit(users: list[Principal]) -> ChangeRequest:
        return ChangeRequest.submit(
            operation=Operation.UPDATE,
            customer_id=uuid4(),
            submitter=SUBMITTER,
            decision=d,
            change=ProposedChange({"name": "b"}, ("name",)),
            eligible_approvers=users,
        )

    with pytest.raises(Unapprovable) as caught:
        submit([SUBMITTER, BOTH])  # one person cannot take both steps
    assert caught.value.errors[0].field == "steps"
    assert submit([SUBMITTER, BOTH, CARL]).status is RequestStatus.PENDING


# --- approvability (bipartite matching) ----------------------------------------


def test_check_approvable_examples() -> None:
    steps = (R.AR_MANAGER, R.CONTROLLER, R.CFO)
    users = [BOTH, ANNA, CLARA]
    assignment = check_approvable(steps, users, submitter_id="sam")
    assert assignment == {0: "anna", 1: "bob", 2: "clara"}
    with pytest.raises(Unapprovable):
        check_approvable(steps, users, submitter_id="anna")
    with pytest.raises(Unapprovable):
        check_approvable(steps, [ADMIN, ANNA, CARL], submitter_id="sam")
    with pytest.raises(Unapprovable):
        check_approvable(
            (R.AR_MANAGER,),
            [user("d", R.AR_MANAGER, entities=frozenset({"DE01"}))],
            submitter_id="sam",
            entities={"US01"},
        )
    assert check_approvable((), [], submitter_id="sam") == {}


ROLES = [R.AR_MANAGER, R.CONTROLLER, R.CFO, R.DATA_STEWARD, R.ADMIN, R.VIEWER]
users_st = st.lists(st.frozensets(st.sampled_from(ROLES), max_size=3), min_size=0, max_size=6).map(
    lambda role_sets: [Principal(f"u{i}", f"U{i}", rs) for i, rs in enumerate(role_sets)]
)
steps_st = st.lists(st.sampled_from(ROLES[:4]), min_size=1, max_size=4).map(tuple)


def brute_force(steps: tuple[Role, ...], users: list[Principal], submitter: str) -> bool:
    pool = [u for u in users if u.user_id != submitter]
    return any(
        all(u.has_role(role) for u, role in zip(chosen, steps, strict=True))
        for chosen in itertools.permutations(pool, len(steps))
    )


@settings(max_examples=200, deadline=None)
@given(steps=steps_st, users=users_st, submitter=st.sampled_from(["u0", "u1", "nobody"]))
def test_matching_agrees_with_brute_force(
    steps: tuple[Role, ...], users: list[Principal], submitter: str
) -> None:
    assignment = find_assignment(steps, users, submitter_id=submitter)
    assert (assignment is not None) == brute_force(steps, users, submitter)
    if assignment is not None:
        by_id = {u.user_id: u for u in users}
        assert len(set(assignment.values())) == len(steps)
        assert submitter not in assignment.values()
        assert all(by_id[uid].has_role(steps[i]) for i, uid in assignment.items())


# --- random action sequences never break segregation of duties -----------------

people = [
    Principal(f"p{i}", f"P{i}", rs)
    for i, rs in enumerate(
        [
            frozenset({R.AR_MANAGER}),
            frozenset({R.AR_MANAGER, R.CONTROLLER}),
            frozenset({R.CONTROLLER, R.CFO}),
            frozenset({R.ADMIN}),
            frozenset({R.ADMIN, R.CFO, R.AR_MANAGER}),
            frozenset({R.AR_MANAGER, R.CONTROLLER, R.CFO}),
        ]
    )
]
actions_st = st.lists(
    st.tuples(
        st.sampled_from(["approve", "reject", "withdraw", "conflict", "apply"]),
        st.sampled_from(people),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    submitter=st.sampled_from(people),
    steps=st.lists(
        st.sampled_from([R.AR_MANAGER, R.CONTROLLER, R.CFO]), min_size=1, max_size=3
    ).map(tuple),
    actions=actions_st,
)
def test_random_actions_keep_the_invariants(
    submitter: Principal, steps: tuple[Role, ...], actions: list[tuple[str, Principal]]
) -> None:
    cr = request(steps=steps, submitter=submitter)
    for action, who in actions:
        before = cr.status
        try:
            if action == "approve":
                cr.approve(who, "ok")
            elif action == "reject":
                cr.reject(who, "no")
            elif action == "withdraw":
                cr.withdraw(who)
            elif action == "conflict":
                cr.mark_conflicted(["name"])
            else:
                cr.mark_applied()
        except (PermissionDenied, InvalidTransition):
            assert cr.status is before  # a refused move changes nothing
        if before.is_final:
            assert cr.status is before
    deciders = [s.decided_by for s in cr.steps if s.decided_by is not None]
    assert submitter.user_id not in deciders
    assert len(deciders) == len(set(deciders))
    by_id = {p.user_id: p for p in people}
    for s in cr.steps:
        if s.decided_by is not None:
            assert by_id[s.decided_by].has_role(s.role)
    states = [s.state for s in cr.steps]
    decided = [st_ for st_ in states if st_ is not StepState.PENDING]
    assert states[: len(decided)] == decided  # steps are decided in order
    assert decided.count(StepState.REJECTED) <= 1
    if cr.status in (RequestStatus.APPROVED, RequestStatus.APPLIED):
        assert all(st_ is StepState.APPROVED for st_ in states)
    if StepState.REJECTED in states:
        assert cr.status is RequestStatus.REJECTED


# --- rebase ----------------------------------------------------------------------


def test_rebase_keeps_other_changes_and_applies_ours() -> None:
    result = rebase(
        base={"credit_limit": Decimal("5000")},
        current={"credit_limit": "5000", "phone": "+4930123"},
        proposed={"credit_limit": Decimal("9000")},
        base_version=3,
        current_version=4,
    )
    assert result.status is RebaseStatus.REBASED and not result.conflicted
    assert result.values == {"credit_limit": Decimal("9000"), "phone": "+4930123"}


def test_rebase_conflicts_when_our_field_changed_meanwhile() -> None:
    result = rebase(
        base={"credit_limit": "5000", "name": "A"},
        current={"credit_limit": "7000", "name": "A"},
        proposed={"credit_limit": "9000", "name": "B"},
        base_version=3,
        current_version=4,
    )
    assert result.conflicted and result.conflicts == ("credit_limit",) and result.values == {}


def test_rebase_same_change_meanwhile_is_no_conflict() -> None:
    result = rebase({"name": "A"}, {"name": "B"}, {"name": "B"}, base_version=1, current_version=2)
    assert result.status is RebaseStatus.REBASED


def test_rebase_with_equal_versions_is_clean() -> None:
    result = rebase({"name": "A"}, {"name": "A"}, {"name": "B"}, base_version=2, current_version=2)
    assert result.status is RebaseStatus.CLEAN and result.values == {"name": "B"}


def test_rebase_sees_a_field_removed_meanwhile() -> None:
    assert rebase({"tax_id": "DE1"}, {}, {"tax_id": "DE2"}).conflicted


def test_rebase_sees_changes_below_a_touched_path() -> None:
    result = rebase(
        base={"dimensions": {"department": "SALES"}, "dimensions.department": "SALES"},
        current={"dimensions": {"department": "SALES"}, "dimensions.department": "OPS"},
        proposed={"dimensions": {"department": "HR"}},
    )
    assert result.conflicts == ("dimensions",)


def test_an_agent_acting_for_an_approver_decides_nothing() -> None:
    cr = request()
    agent = ANNA.through("mcp")
    assert (
        agent.via == "mcp"
        and agent.name == f"{ANNA.name} (via MCP agent)"
        and agent.roles == ANNA.roles
    )
    assert agent.through("mcp") is agent
    assert not cr.can_decide(agent) and cr.can_decide(ANNA)
    for decide in (lambda: cr.approve(agent), lambda: cr.reject(agent, "no")):
        with pytest.raises(SegregationOfDuties, match="agent"):
            decide()
    assert cr.current_step is cr.steps[0] and cr.current_step.state is StepState.PENDING
    # an agent never counts as one of the approvers a request needs
    assert find_assignment((R.AR_MANAGER,), [agent], submitter_id="sam") is None
    assert find_assignment((R.AR_MANAGER,), [ANNA], submitter_id="sam") == {0: "anna"}


# --- structure operations: rules by type ------------------------------------------


def _typed(operations: list[str], when: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(POLICY_DATA)
    data["rules"].append(
        {
            "name": "typed",
            "operations": operations,
            "when": when,
            "lane": "yellow",
            "add_steps": ["ar_manager", "controller"],
        }
    )
    return data


def test_structure_rules_choose_the_lane_by_type() -> None:
    p = policy(_typed(["hierarchy_move", "relationship_create"], {"types": ["legal", "payer"]}))
    change = [FieldChange("hierarchies.legal.x.parent_id", "a", "b")]
    legal = p.evaluate(Operation.HIERARCHY_MOVE, change, {"type": "legal"}, {"type": "legal"})
    assert (legal.lane, legal.steps) == (Lane.YELLOW, (R.AR_MANAGER, R.CONTROLLER))
    sales = p.evaluate(Operation.HIERARCHY_MOVE, change, {"type": "sales"}, {"type": "sales"})
    assert (sales.lane, sales.steps) == (Lane.GREEN, ())
    ship = p.evaluate(Operation.RELATIONSHIP_CREATE, change, None, {"type": "ship_to"})
    assert ship.lane is Lane.GREEN
    proposed = p.evaluate(Operation.HIERARCHY_MOVE, change, None, {"type": "sales"}, direct=False)
    assert (proposed.lane, proposed.steps) == (Lane.YELLOW, (R.DATA_STEWARD,))


def test_types_belong_to_structure_rules_and_fields_to_the_others() -> None:
    mixed = problems(_typed(["update", "hierarchy_link"], {"types": ["legal"]}))
    assert mixed["rules[2].when.types"] == "only structure changes have types, not update"
    found = problems(_typed(["hierarchy_link"], {"only_fields": ["notes"]}))
    assert "change no customer fields" in found["rules[2].when.only_fields"]
    assert (
        "must name at least one type"
        in problems(_typed(["hierarchy_end"], {"types": []}))["rules[2].when.types"]
    )


def test_the_shipped_policy_governs_every_structure_operation() -> None:
    shipped = load_policy(None)
    assert set(shipped.operations) >= STRUCTURE_OPERATIONS
    legal = shipped.evaluate(Operation.HIERARCHY_LINK, [], None, {"type": "legal"})
    assert legal.steps == (R.AR_MANAGER, R.CONTROLLER)
    for kind in ("payer", "bill_to", "sold_to"):
        assert shipped.evaluate(Operation.RELATIONSHIP_END, [], {"type": kind}, None).needs_approval
    for op, kind in (
        (Operation.TEAM_ASSIGNMENT, "account_manager"),
        (Operation.ORG_UNIT_ASSIGNMENT, "region"),
        (Operation.HIERARCHY_MOVE, "sales"),
    ):
        assert shipped.evaluate(op, [], None, {"type": kind}).lane is Lane.GREEN
