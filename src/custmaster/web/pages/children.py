"""Adding, changing and removing a customer's addresses and contacts (and a legal entity's
override addresses) from the console, through the same change the API's
``PATCH /customers/{id}`` makes: an action list (``addresses``/``contacts``) on the master,
or an ``overrides`` action that sets the entity's address list. ``update_customer`` decides
under the approval policy whether it applies at once or opens a change request, checks the
permissions and the entity scope, and validates; its messages are shown beside the fields.

Routes, for ``addresses`` and ``contacts`` alike (``?entity=`` for an override address):
``GET|POST .../new``, ``GET|POST .../{record_id}/edit``, ``GET|POST .../{record_id}/remove``
(the GET asks for confirmation; nothing changes without a POST and its CSRF token)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from custmaster.api.problems import field_path
from custmaster.api.schemas.customers import CustomerPatch
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError, NotFound, ValidationFailed
from custmaster.domain.model import Address, AddressType, Contact, Customer
from custmaster.domain.permissions import Principal
from custmaster.services.customers.read import get_customer
from custmaster.services.customers.update import update_customer
from custmaster.web.auth import actor
from custmaster.web.pages.customers import Code
from custmaster.web.rendering import render
from custmaster.web.routing import redirect, router


@dataclass(frozen=True)
class Kind:
    """One kind of child record the console edits."""

    name: str  #: the patch key and the path segment: addresses | contacts
    singular: str
    text_fields: tuple[str, ...]
    flags: tuple[str, ...]  #: check boxes
    overridable: bool  #: a legal entity may have its own (addresses)


ADDRESSES = Kind(
    "addresses",
    "address",
    ("type", "lines", "city", "region", "postal_code", "country"),
    ("is_primary",),
    overridable=True,
)
CONTACTS = Kind(
    "contacts",
    "contact",
    ("first_name", "last_name", "job_title", "role", "email", "phone"),
    ("is_primary", "sellable"),
    overridable=False,
)
LABELS = {
    "type": "Type",
    "lines": "Street lines (one per line)",
    "city": "City",
    "region": "Region (ISO 3166-2, e.g. US-CA)",
    "postal_code": "Postal code",
    "country": "Country (ISO 3166-1, e.g. DE)",
    "is_primary": "Primary",
    "first_name": "First name",
    "last_name": "Last name",
    "job_title": "Job title",
    "role": "Role",
    "email": "E-mail",
    "phone": "Phone",
    "sellable": "Sellable (took part in a quote or an order; stays sellable)",
}
_INDEX = re.compile(r"\[[^\]]*\]")


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _records(customer: Customer, kind: Kind, entity: str | None) -> list[Any]:
    """The records the form edits: the master's, or the entity's override addresses."""
    if entity is None:
        found: list[Any] = getattr(customer, kind.name)
        return found
    if not kind.overridable:
        raise NotFound(f"a legal entity has no {kind.name} of its own")
    override = customer.overrides.get(entity)
    return list(override.addresses) if override is not None else []


def _find(records: list[Any], record_id: UUID, kind: Kind) -> Any:
    for record in records:
        if record.id == record_id:
            return record
    raise NotFound(f"no {kind.singular} {record_id} on this customer")


def form_values(record: Address | Contact | None, kind: Kind) -> dict[str, str]:
    """A record as the form shows it (every value a string; a check box "on" or "")."""
    values = {name: "" for name in (*kind.text_fields, *kind.flags)}
    if record is None:
        return values
    for name in kind.text_fields:
        value = getattr(record, name)
        if isinstance(value, AddressType):
            values[name] = value.value
        elif isinstance(value, list):
            values[name] = "\n".join(value)
        else:
            values[name] = "" if value is None else str(value)
    for name in kind.flags:
        values[name] = "on" if getattr(record, name) else ""
    return values


def request_record(values: dict[str, str], kind: Kind) -> dict[str, Any]:
    """The form's values as the API's record body: an empty field is null (cleared), the
    street lines a list of the non-empty lines, a check box a boolean."""
    record: dict[str, Any] = {}
    for name in kind.text_fields:
        text = values.get(name, "").strip()
        if name == "lines":
            record[name] = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            record[name] = text or None
    for name in kind.flags:
        record[name] = values.get(name, "") == "on"
    return record


def _address_body(address: Address) -> dict[str, Any]:
    """An override address as the API's AddressIn (override addresses are set as a list)."""
    return request_record(form_values(address, ADDRESSES), ADDRESSES)


def change_patch(
    customer: Customer,
    kind: Kind,
    entity: str | None,
    action: str,
    record_id: UUID | None,
    record: dict[str, Any] | None,
) -> dict[str, Any]:
    """The API's PATCH body for one add, update or delete: an action on the master's list,
    or (``entity``) the entity's override address list with the one change made."""
    if entity is None:
        item: dict[str, Any] = {"action": action}
        if record_id is not None:
            item["id"] = str(record_id)
        if record is not None:  # on add, an empty field is simply not given
            item.update({k: v for k, v in record.items() if v is not None or action != "add"})
        return {kind.name: [item]}
    current = _records(customer, kind, entity)
    addresses = [
        record if a.id == record_id and action == "update" else _address_body(a)
        for a in current
        if not (a.id == record_id and action == "delete")
    ]
    if action == "add":
        addresses.append(record)
    verb = "update" if entity in customer.overrides else "add"
    return {"overrides": [{"action": verb, "entity": entity, "addresses": addresses}]}


def field_errors(
    errors: list[tuple[str, str]], kind: Kind
) -> tuple[dict[str, list[str]], list[str]]:
    """Messages by form field (the last part of the error's path, indexes dropped:
    ``addresses[0].country`` and ``overrides[0].addresses[1].lines[0]`` are the country and
    the lines); the rest (about the record as a whole) stay general."""
    known = {*kind.text_fields, *kind.flags}
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for path, message in errors:
        parts = [part for part in _INDEX.sub("", path).split(".") if part]
        last = parts[-1] if parts else ""
        if last in known:
            by_field.setdefault(last, []).append(message)
        else:
            general.append(message if not path else f"{path}: {message}")
    return by_field, general


def _page(
    request: Request,
    customer: Customer,
    kind: Kind,
    entity: str | None,
    record_id: UUID | None,
    values: dict[str, str],
    errors: dict[str, list[str]] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    adding = record_id is None
    what = kind.singular if entity is None else f"{entity} override {kind.singular}"
    context = {
        "title": f"{'Add' if adding else 'Change'} {what} of {customer.name}",
        "customer": customer,
        "kind": kind,
        "entity": entity,
        "record_id": record_id,
        "values": values,
        "errors": errors or {},
        "general": general or [],
        "labels": LABELS,
        "address_types": [t.value for t in AddressType],
    }
    return render(request, "child_edit.html", context, status)


def _save(
    request: Request,
    container: Container,
    me: Principal,
    customer_id: UUID,
    kind: Kind,
    entity: str | None,
    record_id: UUID | None,
    submitted: dict[str, str],
) -> Response:
    """Add (``record_id`` None) or change one record through ``update_customer``."""
    customer = get_customer(container.uow(), me, customer_id)
    existing = None
    if record_id is not None:
        existing = _find(_records(customer, kind, entity), record_id, kind)
    values = {name: submitted.get(name, "") for name in (*kind.text_fields, *kind.flags)}
    record = request_record(values, kind)
    if existing is not None and record == request_record(form_values(existing, kind), kind):
        return _page(
            request,
            customer,
            kind,
            entity,
            record_id,
            values,
            general=["Nothing changed."],
            status=422,
        )
    action = "add" if record_id is None else "update"
    patch = change_patch(customer, kind, entity, action, record_id, record)
    return _apply(
        request, container, me, customer, kind, entity, record_id, values, patch, submitted
    )


def _apply(
    request: Request,
    container: Container,
    me: Principal,
    customer: Customer,
    kind: Kind,
    entity: str | None,
    record_id: UUID | None,
    values: dict[str, str],
    patch: dict[str, Any],
    submitted: dict[str, str],
) -> Response:
    """Validate ``patch`` as the API does, hand it to ``update_customer``; on an error the
    form again with the messages beside the fields; else the change request or the page."""
    try:
        parsed = CustomerPatch.model_validate(patch).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        errors = [(field_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        by_field, general = field_errors(errors, kind)
        return _page(request, customer, kind, entity, record_id, values, by_field, general, 422)
    version = int(submitted["version"]) if submitted.get("version", "").isdigit() else None
    try:
        outcome = update_customer(
            container.uow(),
            me,
            container.policy,
            customer.id,
            parsed,
            container.service_settings,
            expected_version=version,
        )
    except ValidationFailed as exc:
        by_field, general = field_errors([(e.field, e.message) for e in exc.errors], kind)
        return _page(request, customer, kind, entity, record_id, values, by_field, general, 422)
    except DomainError as exc:
        return _page(request, customer, kind, entity, record_id, values, {}, [exc.detail], 409)
    if outcome.request is not None:
        return redirect(f"/console/change-requests/{outcome.request.id}?flash=submitted")
    target = f"/console/customers/{customer.id}?flash=applied"
    return redirect(target + (f"&entity={entity}" if entity else "") + f"#h-{kind.name}")


def _remove(
    request: Request,
    container: Container,
    me: Principal,
    customer_id: UUID,
    kind: Kind,
    entity: str | None,
    record_id: UUID,
    submitted: dict[str, str],
) -> Response:
    customer = get_customer(container.uow(), me, customer_id)
    existing = _find(_records(customer, kind, entity), record_id, kind)
    values = form_values(existing, kind)
    patch = change_patch(customer, kind, entity, "delete", record_id, None)
    return _apply(
        request, container, me, customer, kind, entity, record_id, values, patch, submitted
    )


def _confirm_page(
    request: Request, customer: Customer, kind: Kind, entity: str | None, record: Any
) -> Response:
    what = kind.singular if entity is None else f"{entity} override {kind.singular}"
    context = {
        "title": f"Remove {what} of {customer.name}",
        "customer": customer,
        "kind": kind,
        "entity": entity,
        "record": record,
        "values": form_values(record, kind),
        "labels": LABELS,
    }
    return render(request, "child_remove.html", context)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _routes(kind: Kind) -> None:
    """The six routes of one kind of child record."""
    base = f"/customers/{{customer_id}}/{kind.name}"

    @router.get(f"{base}/new")
    def new_form(request: Request, customer_id: UUID, entity: Code = None) -> Response:
        container, me = _container(request), actor(request)
        customer = get_customer(container.uow(), me, customer_id)
        _records(customer, kind, entity)  # an entity has override addresses, not contacts
        return _page(request, customer, kind, entity, None, form_values(None, kind))

    @router.post(f"{base}/new")
    async def add(request: Request, customer_id: UUID, entity: Code = None) -> Response:
        container, me, submitted = _container(request), actor(request), await _form(request)
        return await run_in_threadpool(
            _save, request, container, me, customer_id, kind, entity, None, submitted
        )

    @router.get(f"{base}/{{record_id}}/edit")
    def edit_form(
        request: Request, customer_id: UUID, record_id: UUID, entity: Code = None
    ) -> Response:
        container, me = _container(request), actor(request)
        customer = get_customer(container.uow(), me, customer_id)
        record = _find(_records(customer, kind, entity), record_id, kind)
        return _page(request, customer, kind, entity, record_id, form_values(record, kind))

    @router.post(f"{base}/{{record_id}}/edit")
    async def edit(
        request: Request, customer_id: UUID, record_id: UUID, entity: Code = None
    ) -> Response:
        container, me, submitted = _container(request), actor(request), await _form(request)
        return await run_in_threadpool(
            _save, request, container, me, customer_id, kind, entity, record_id, submitted
        )

    @router.get(f"{base}/{{record_id}}/remove")
    def remove_form(
        request: Request, customer_id: UUID, record_id: UUID, entity: Code = None
    ) -> Response:
        container, me = _container(request), actor(request)
        customer = get_customer(container.uow(), me, customer_id)
        record = _find(_records(customer, kind, entity), record_id, kind)
        return _confirm_page(request, customer, kind, entity, record)

    @router.post(f"{base}/{{record_id}}/remove")
    async def remove(
        request: Request, customer_id: UUID, record_id: UUID, entity: Code = None
    ) -> Response:
        container, me, submitted = _container(request), actor(request), await _form(request)
        return await run_in_threadpool(
            _remove, request, container, me, customer_id, kind, entity, record_id, submitted
        )


_routes(ADDRESSES)
_routes(CONTACTS)
