"""``custmaster hierarchy``, ``custmaster org-units`` and ``custmaster reference``: the
account structure from the command line (the same use cases as the API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar, cast
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.approvals import Operation
from custmaster.domain.errors import DomainError, ValidationFailed
from custmaster.domain.snapshot import jsonable
from custmaster.services import reference
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.customers.read import search_customers
from custmaster.services.structure import hierarchies as h
from custmaster.services.structure import org_units as o
from custmaster.services.structure import reference_extras as x
from custmaster.services.structure import relationships as r
from custmaster.services.structure.governed import submit

T = TypeVar("T")
console = Console()
hierarchy_app = typer.Typer(help="Customer hierarchies (legal, sales).", no_args_is_help=True)
org_app = typer.Typer(help="Org units, assignments and account teams.", no_args_is_help=True)
reference_app = typer.Typer(
    help="Reference data: name-affixes, sales-organisations, relationship-types.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", show_default=False)]
HierarchyType = Annotated[str, typer.Option("--type", help="legal or sales")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")]
Customer = Annotated[str, typer.Argument(help="customer number (C000001) or id")]
RECORD_KINDS = {"name-affixes": "name_affixes", "sales-organisations": "sales_organisations"}
#: the customer master's own reference data (custmaster.services.reference)
CORE_KINDS = reference.KIND_BY_PATH


def register(app: typer.Typer) -> None:
    """Add the account-structure command groups to the ``custmaster`` application."""
    app.add_typer(hierarchy_app, name="hierarchy")
    app.add_typer(org_app, name="org-units")
    app.add_typer(reference_app, name="reference")


def _container(database_url: str | None) -> Container:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return build_container(settings)


def _run(database_url: str | None, action: Callable[[Container], T]) -> T:
    """Run ``action``; a domain error is printed (each field) and exits with status 1."""
    container = _container(database_url)
    try:
        return action(container)
    except DomainError as error:
        if isinstance(error, ValidationFailed):
            for e in error.errors:
                console.print(f"[red]{e.field}: {e.message} ({e.code})[/red]")
        else:
            console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(1) from None
    finally:
        container.engine.dispose()


def _day(value: str | None, option: str = "--as-of") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value} is not a date (YYYY-MM-DD)", param_hint=option) from None


def _customer(container: Container, ref: str) -> UUID:
    try:
        return UUID(ref)
    except ValueError:
        pass
    found = search_customers(
        container.uow(),
        container.system_principal(),
        CustomerQuery(text=ref, status=None, limit=5),
    )
    for customer in found:
        if customer.number == ref.upper():
            return customer.id
    raise typer.BadParameter(f"no customer numbered {ref}")


# --- hierarchy -------------------------------------------------------------------------


def _submit(c: Container, operation: Operation, action: dict[str, Any], done: str) -> Any:
    """Submit a structure change under the approval policy as the local principal; print
    ``done`` when it applied, or the change request (with its effect) it opened."""
    outcome = submit(c.uow(), c.system_principal(), c.policy, operation, action)
    if outcome.request is None:
        console.print(done, soft_wrap=True)
        return outcome.result
    request = outcome.request
    steps = ", ".join(s.role.value for s in request.steps)
    console.print(
        f"change request [bold]{request.id}[/bold] waits for approval "
        f"({request.lane.value}: {steps})",
        soft_wrap=True,
    )
    effect = request.change.payload.get("effect", {})
    for item in effect.get("inherited", []):
        who = item["customer"]["number"] or item["customer"]["id"]
        console.print(
            f"  {who} {item['field']}: {item['before']} -> {item['after']}", soft_wrap=True
        )
    for item in effect.get("rollup", {}).get("changes", []):
        who = item["customer"]["number"] or item["customer"]["id"]
        console.print(
            f"  {who} credit_limit roll-up: {item['before']} -> {item['after']}", soft_wrap=True
        )
    if effect.get("current_primary"):
        console.print(f"  current primary: {effect['current_primary']['related']['number']}")
    return None


@hierarchy_app.command("link")
def link(
    parent: Customer,
    child: Customer,
    valid_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    valid_to: Annotated[str | None, typer.Option("--to", help="exclusive end")] = None,
    hierarchy_type: HierarchyType = "legal",
    database_url: DatabaseUrl = None,
) -> None:
    """Put CHILD under PARENT for a period (under the approval policy)."""

    def act(c: Container) -> None:
        action = {
            "hierarchy_type": hierarchy_type,
            "parent_id": str(_customer(c, parent)),
            "child_id": str(_customer(c, child)),
            "valid_from": (_day(valid_from, "--from") or date.today()).isoformat(),
            "valid_to": _iso(_day(valid_to, "--to")),
        }
        _submit(c, Operation.HIERARCHY_LINK, action, "link created")

    _run(database_url, act)


@hierarchy_app.command("move")
def move(
    customer: Customer,
    on: Annotated[str, typer.Option("--on", help="effective date YYYY-MM-DD")],
    new_parent: Annotated[str | None, typer.Option("--to-parent", help="omit to detach")] = None,
    hierarchy_type: HierarchyType = "legal",
    database_url: DatabaseUrl = None,
) -> None:
    """Move CUSTOMER (and its subtree) under a new parent from a date (under the approval
    policy)."""

    def act(c: Container) -> None:
        action = {
            "hierarchy_type": hierarchy_type,
            "customer_id": str(_customer(c, customer)),
            "new_parent_id": str(_customer(c, new_parent)) if new_parent else None,
            "effective_date": (_day(on, "--on") or date.today()).isoformat(),
        }
        _submit(c, Operation.HIERARCHY_MOVE, action, f"moved on {on}")

    _run(database_url, act)


@hierarchy_app.command("end")
def end(
    link_id: str,
    on: Annotated[str, typer.Option("--on", help="end date YYYY-MM-DD (exclusive)")],
    hierarchy_type: HierarchyType = "legal",
    database_url: DatabaseUrl = None,
) -> None:
    """End a link on a date (under the approval policy)."""
    action = {
        "hierarchy_type": hierarchy_type,
        "link_id": link_id,
        "valid_to": _iso(_day(on, "--on")),
    }
    _run(database_url, lambda c: _submit(c, Operation.HIERARCHY_END, action, "link ended"))


@hierarchy_app.command("unlink")
def unlink(
    link_id: str, hierarchy_type: HierarchyType = "legal", database_url: DatabaseUrl = None
) -> None:
    """Remove a link entirely (a correction; under the approval policy)."""
    action = {"hierarchy_type": hierarchy_type, "link_id": link_id, "valid_to": None}
    _run(database_url, lambda c: _submit(c, Operation.HIERARCHY_END, action, "link removed"))


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@hierarchy_app.command("show")
def show(
    customer: Customer,
    hierarchy_type: HierarchyType = "legal",
    as_of: AsOf = None,
    view: Annotated[str, typer.Option(help="tree, subtree, ancestors, descendants")] = "tree",
    database_url: DatabaseUrl = None,
) -> None:
    """Print the customer's tree, subtree, ancestors or descendants as of a date."""
    if view not in ("tree", "subtree", "ancestors", "descendants"):
        raise typer.BadParameter("tree, subtree, ancestors or descendants", param_hint="--view")

    def act(c: Container) -> dict[str, Any]:
        return h.read_hierarchy(
            c.uow(),
            c.system_principal(),
            hierarchy_type,
            _customer(c, customer),
            view=cast(h.View, view),
            as_of=_day(as_of),
        )

    body = jsonable(_run(database_url, act))
    if "tree" in body:
        top = Tree(_label(body["tree"]))
        stack = [(body["tree"], top)]
        while stack:
            node, branch = stack.pop()
            for child in node["children"]:
                stack.append((child, branch.add(_label(child))))
        console.print(top)
    else:
        for item in body["items"]:
            console.print(_label(item))


def _label(node: dict[str, Any]) -> str:
    return f"{node['number']} {node['name']}"


@hierarchy_app.command("flat")
def flat(
    hierarchy_type: HierarchyType = "legal",
    as_of: AsOf = None,
    root: Annotated[str | None, typer.Option(help="only this customer's subtree")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the flattened hierarchy as of a date (level, customer, root)."""

    def act(c: Container) -> list[dict[str, Any]]:
        rows, _ = h.flatten(
            c.uow(),
            c.system_principal(),
            hierarchy_type,
            as_of=_day(as_of),
            root=_customer(c, root) if root else None,
            limit=1_000_000,
        )
        return rows

    table = Table("level", "number", "name", "root")
    for row in jsonable(_run(database_url, act)):
        table.add_row(str(row["level"]), row["number"], row["name"], row["root_id"])
    console.print(table)


# --- org units -------------------------------------------------------------------------


@org_app.command("list")
def list_units(database_url: DatabaseUrl = None) -> None:
    """Print every org unit with its path."""
    units = _run(
        database_url,
        lambda c: o.list_units(c.uow(), c.system_principal(), after=None, limit=1_000_000),
    )
    table = Table("code", "kind", "name", "path")
    for unit in units:
        table.add_row(unit["code"], unit["kind"], unit["name"], "/".join(unit["path"]))
    console.print(table)


@org_app.command("add")
def add_unit(
    code: str,
    kind: Annotated[str, typer.Option(help="sales_organisation, region, territory, branch")],
    name: Annotated[str, typer.Option()],
    parent: Annotated[str | None, typer.Option()] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an org unit."""
    _run(
        database_url,
        lambda c: o.create_unit(
            c.uow(),
            c.system_principal(),
            code=code,
            kind=kind,
            name=name,
            parent_code=parent,
        ),
    )
    console.print(f"org unit [bold]{code}[/bold] created")


@org_app.command("delete")
def delete_unit(code: str, database_url: DatabaseUrl = None) -> None:
    """Delete an org unit without children or assignments."""
    _run(database_url, lambda c: o.delete_unit(c.uow(), c.system_principal(), code))
    console.print(f"org unit [bold]{code}[/bold] deleted")


@org_app.command("assign-customer")
def assign_customer(
    code: str,
    customer: Customer,
    valid_from: Annotated[str, typer.Option("--from")],
    valid_to: Annotated[str | None, typer.Option("--to")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Assign CUSTOMER to org unit CODE for a period (under the approval policy)."""

    def act(c: Container) -> None:
        action = {
            "org_unit": code,
            "customer_id": str(_customer(c, customer)),
            "valid_from": (_day(valid_from, "--from") or date.today()).isoformat(),
            "valid_to": _iso(_day(valid_to, "--to")),
        }
        _submit(c, Operation.ORG_UNIT_ASSIGNMENT, action, "customer assigned")

    _run(database_url, act)


@org_app.command("assign-user")
def assign_user(
    user_id: str,
    role: Annotated[str, typer.Option(help="key_account_manager, account_manager, sales_rep")],
    valid_from: Annotated[str, typer.Option("--from")],
    unit: Annotated[str | None, typer.Option(help="an org unit code, or ...")] = None,
    customer: Annotated[str | None, typer.Option(help="... a customer (direct)")] = None,
    valid_to: Annotated[str | None, typer.Option("--to")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Assign a user in a role to an org unit or directly to a customer (under the approval
    policy)."""

    def act(c: Container) -> None:
        action = {
            "user_id": user_id,
            "role": role,
            "valid_from": (_day(valid_from, "--from") or date.today()).isoformat(),
            "valid_to": _iso(_day(valid_to, "--to")),
            "customer_id": str(_customer(c, customer)) if customer else None,
            "org_unit": unit,
        }
        _submit(c, Operation.TEAM_ASSIGNMENT, action, "user assigned")

    _run(database_url, act)


@org_app.command("team")
def team(customer: Customer, as_of: AsOf = None, database_url: DatabaseUrl = None) -> None:
    """Print the customer's effective account team as of a date."""
    body = _run(
        database_url,
        lambda c: o.account_team(
            c.uow(),
            c.system_principal(),
            _customer(c, customer),
            as_of=_day(as_of),
        ),
    )
    table = Table("role", "user", "from")
    for member in body["members"]:
        table.add_row(member["role"], member["user_id"], member["source"])
    console.print(table)


# --- reference data --------------------------------------------------------------------

Kind = Annotated[
    str,
    typer.Argument(
        help="legal-entities, payment-terms, payment-methods, customer-groups, tax-codes, "
        "industries, dimension-types, name-affixes, sales-organisations, relationship-types"
    ),
]
Field = Annotated[list[str] | None, typer.Option("--field", help="key=value; repeatable")]


def _fields(values: list[str] | None) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item} is not key=value", param_hint="--field")
        pairs[key] = int(value) if value.isdigit() and key.endswith("_days") else value
    return pairs


def _kind(kind: str) -> str:
    if kind not in (*CORE_KINDS, *RECORD_KINDS, "relationship-types"):
        raise typer.BadParameter(
            ", ".join([*CORE_KINDS, *RECORD_KINDS, "relationship-types"]), param_hint="KIND"
        )
    return kind


@reference_app.command("list")
def reference_list(kind: Kind, database_url: DatabaseUrl = None) -> None:
    """Print the records of a kind."""

    def act(c: Container) -> list[dict[str, Any]]:
        if _kind(kind) == "relationship-types":
            return [r.type_dict(t) for t in r.list_types(c.uow(), c.system_principal())]
        if kind in CORE_KINDS:
            return reference.list_reference(
                c.uow(), c.system_principal(), CORE_KINDS[kind], after=None, limit=1_000_000
            )
        return x.list_records(
            c.uow(), c.system_principal(), RECORD_KINDS[kind], after=None, limit=1_000_000
        )

    records = jsonable(_run(database_url, act))
    columns = [k for k in (records[0] if records else {"code": 1, "name": 1}) if k != "created_at"]
    table = Table(*columns)
    for record in records:
        table.add_row(*(str(record[k]) if record[k] is not None else "" for k in columns))
    console.print(table)


@reference_app.command("add")
def reference_add(
    kind: Kind, code: str, name: str, field: Field = None, database_url: DatabaseUrl = None
) -> None:
    """Create a record: e.g. ``reference add name-affixes DR "Dr." --field kind=title``."""

    def act(c: Container) -> None:
        if _kind(kind) == "relationship-types":
            r.create_type(c.uow(), c.system_principal(), code, name)
        elif kind in CORE_KINDS:
            data = {"code": code, "name": name, **_fields(field)}
            reference.create_reference(c.uow(), c.system_principal(), CORE_KINDS[kind], data)
        else:
            data = {"code": code, "name": name, **_fields(field)}
            x.create_record(c.uow(), c.system_principal(), RECORD_KINDS[kind], data)

    _run(database_url, act)
    console.print(f"{kind} [bold]{code}[/bold] created")


@reference_app.command("update")
def reference_update(
    kind: Kind,
    code: str,
    name: Annotated[str | None, typer.Option()] = None,
    field: Field = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change a record's name or fields (name-affixes, sales-organisations)."""
    if _kind(kind) == "relationship-types":
        raise typer.BadParameter("relationship types cannot be changed", param_hint="KIND")
    data: dict[str, Any] = {**_fields(field), **({"name": name} if name else {})}
    update = reference.update_reference if kind in CORE_KINDS else x.update_record
    kinds = CORE_KINDS if kind in CORE_KINDS else RECORD_KINDS
    _run(database_url, lambda c: update(c.uow(), c.system_principal(), kinds[kind], code, data))
    console.print(f"{kind} [bold]{code}[/bold] updated")


@reference_app.command("delete")
def reference_delete(kind: Kind, code: str, database_url: DatabaseUrl = None) -> None:
    """Delete a record that nothing uses."""

    def act(c: Container) -> None:
        if _kind(kind) == "relationship-types":
            r.delete_type(c.uow(), c.system_principal(), code)
        elif kind in CORE_KINDS:
            reference.delete_reference(c.uow(), c.system_principal(), CORE_KINDS[kind], code)
        else:
            x.delete_record(c.uow(), c.system_principal(), RECORD_KINDS[kind], code)

    _run(database_url, act)
    console.print(f"{kind} [bold]{code}[/bold] deleted")
