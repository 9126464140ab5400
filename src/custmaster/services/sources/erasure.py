"""Erasing a person's data reaches the source records too.

An erasure (``POST /customers/{id}/erase``, or of one contact) anonymises the golden
record by a patch; the values its sources sent stay on its source records (as received,
normalised, as match features, in warnings that quote them) and in the fields'
provenance. Once the erasure is applied (at once, or when its approval completes) they
are scrubbed from there as well: what the patch replaced is removed from every source
record of the customer, the normalised form and match features go (they would hold
the same data), and the provenance of the erased fields is dropped (derived again from
the anonymised values). Lineage (system, id, job, file, rows, time) stays.

Merge records reach it too (:func:`scrub_merges`): the snapshots a merge keeps for
unmerge (the survivor before and after, every absorbed record) hold the same person's
data. In every merge the customer took part in, its snapshots and, where it is the
survivor, those of the records absorbed into it (the same person's duplicates) are
anonymised as the erasure anonymised the customer: names, e-mails, phones, website, tax
id, notes, street lines and postal codes (of overrides' addresses too), contacts (or the
one erased contact). An unmerge then restores anonymised records.

Not scrubbed: the audit trail. Its entries are hash-chained and checkpoints of the chain
are signed and published (``custmaster audit verify``): rewriting an entry's changes
breaks the chain from there on, by design. The entries before the erasure keep the
erased values (the create entry's snapshot, each update's before/after); the erasure's
own entry records the anonymisation. Nor the events already relayed to subscribers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from custmaster.domain.snapshot import snapshot
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.sources.consolidate import derive_provenance
from custmaster.services.sources.ports import SourceRecord

#: What a scrubbed address keeps (the erasure patch keeps them on the customer too).
ADDRESS_KEPT = ("type", "city", "country", "is_primary")
ERASED = "(erased)"


def _same_person(contact: Mapping[str, Any], erased: Mapping[str, Any]) -> bool:
    """Whether a source record's contact is the erased contact (its e-mail, or its name)."""
    email = str(contact.get("email") or "").casefold()
    if email and email == str(erased.get("email") or "").casefold():
        return True
    name = (contact.get("first_name"), contact.get("last_name"))
    return bool(name[1]) and name == (erased.get("first_name"), erased.get("last_name"))


def _scrub_customer(record: SourceRecord, patch: Mapping[str, Any]) -> None:
    received = {k: v for k, v in record.received.items() if k not in patch}
    if "addresses" in patch and isinstance(record.received.get("addresses"), list):
        received["addresses"] = [
            {k: a.get(k) for k in ADDRESS_KEPT if k in a}
            for a in record.received["addresses"]
            if isinstance(a, Mapping)
        ]
    record.received = received


def _without(values: dict[str, Any] | None, erased: Mapping[str, Any]) -> dict[str, Any] | None:
    """``values`` without the erased contact among its contacts."""
    contacts = None if values is None else values.get("contacts")
    if values is None or not isinstance(contacts, list):
        return values
    kept = [c for c in contacts if not (isinstance(c, Mapping) and _same_person(c, erased))]
    return {**values, "contacts": kept}


def _scrub_contact(record: SourceRecord, erased: Mapping[str, Any]) -> None:
    record.received = _without(record.received, erased) or {}
    record.normalised = _without(record.normalised, erased)


def scrub_sources(
    uow: UnitOfWork, customer_id: UUID, patch: Mapping[str, Any], before: Mapping[str, Any]
) -> int:
    """Scrub what an applied erasure ``patch`` replaced from the customer's source records
    and provenance, and from the merge records it took part in (:func:`scrub_merges`)
    (``before``: the customer's snapshot before the erasure). How many source records
    were scrubbed."""
    contact_ids = [str(c.get("id")) for c in patch.get("contacts") or () if isinstance(c, Mapping)]
    whole = set(patch) != {"contacts"}
    erased = [c for c in before.get("contacts") or () if str(c.get("id")) in contact_ids]
    records = uow.sources.for_golden([customer_id])
    current = uow.customers.get(customer_id)
    if current is not None:  # the erased fields' provenance: the steward's (anonymised) values
        stored = uow.sources.provenance([customer_id]).get(customer_id)
        fields = derive_provenance(snapshot(current), stored, records)
        uow.sources.save_provenance(customer_id, fields, utcnow())
    for record in records:
        if whole:
            _scrub_customer(record, patch)
            record.normalised = None  # the same data, parsed
            record.features = None  # and prepared for matching
        else:
            for contact in erased:
                _scrub_contact(record, contact)
        record.warnings = [
            {**w, "message": ERASED}
            if whole or str(w.get("field") or "").startswith("contacts")
            else w
            for w in record.warnings
        ]
        uow.sources.replace(record)
    scrub_merges(uow, customer_id, patch, before)
    return len(records)


#: the fields of a customer snapshot a whole erasure anonymises (besides name, e-mail,
#: addresses and contacts, which are rewritten per record)
_CLEARED = (
    "legal_name",
    "first_name",
    "last_name",
    "name_affix",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "notes",
)


def _erased_email(snap: Mapping[str, Any], suffix: str = "") -> str:
    key = str(snap.get("number") or snap.get("id") or "").lower()
    return f"erased-{key}{suffix}@anonymised.example"


def _anonymised_contact(contact: Mapping[str, Any], snap: Mapping[str, Any]) -> dict[str, Any]:
    suffix = f"-{str(contact.get('id') or '')[:8]}"
    return {
        **contact,
        "first_name": None,
        "last_name": ERASED,
        "job_title": None,
        "email": _erased_email(snap, suffix),
        "phone": None,
    }


def _anonymised_addresses(addresses: Any) -> Any:
    if not isinstance(addresses, list):
        return addresses
    return [
        {**a, "lines": [ERASED], "postal_code": None} if isinstance(a, Mapping) else a
        for a in addresses
    ]


def _anonymised(snap: Mapping[str, Any], patch: Mapping[str, Any], own: bool) -> dict[str, Any]:
    """A customer snapshot anonymised as ``patch`` anonymised the customer (``own``: the
    erased customer's own snapshot, which takes the patch's name and e-mail)."""
    data = dict(snap)
    for name in _CLEARED:
        if name in data:
            data[name] = None
    data["name"] = patch["name"] if own else f"Anonymised {data.get('number') or ''}".strip()
    data["email"] = patch["email"] if own else _erased_email(data)
    data["addresses"] = _anonymised_addresses(data.get("addresses"))
    overrides = data.get("overrides")
    if isinstance(overrides, Mapping):
        data["overrides"] = {
            entity: {**o, "addresses": _anonymised_addresses(o.get("addresses"))}
            if isinstance(o, Mapping) and "addresses" in o
            else o
            for entity, o in overrides.items()
        }
    contacts = data.get("contacts")
    if isinstance(contacts, list):
        data["contacts"] = [
            _anonymised_contact(c, data) if isinstance(c, Mapping) else c for c in contacts
        ]
    return data


def _without_contact(snap: Mapping[str, Any], erased: list[Mapping[str, Any]]) -> dict[str, Any]:
    """A snapshot whose contacts that are the erased contact(s) are anonymised."""
    contacts = snap.get("contacts")
    if not isinstance(contacts, list):
        return dict(snap)
    ids = {str(c.get("id")) for c in erased}

    def hit(contact: Mapping[str, Any]) -> bool:
        return str(contact.get("id")) in ids or any(_same_person(contact, e) for e in erased)

    return {
        **snap,
        "contacts": [
            _anonymised_contact(c, snap) if isinstance(c, Mapping) and hit(c) else c
            for c in contacts
        ],
    }


_CONTACT_PERSONAL = ("first_name", "last_name", "email", "phone", "job_title")


def _personal_values(
    snap: Mapping[str, Any], whole: bool, erased: list[Mapping[str, Any]]
) -> set[str]:
    """The personal values a snapshot holds that the erasure replaces (to find their
    copies elsewhere in the merge record: the provenance it keeps for unmerge)."""
    found: list[Any] = []
    contacts = [c for c in snap.get("contacts") or () if isinstance(c, Mapping)]
    if whole:
        found += [snap.get(name) for name in (*_CLEARED, "name", "email")]
        addresses = list(snap.get("addresses") or ())
        for override in (snap.get("overrides") or {}).values():
            if isinstance(override, Mapping):
                addresses += list(override.get("addresses") or ())
        for address in addresses:
            if isinstance(address, Mapping):
                found += [*(address.get("lines") or ()), address.get("postal_code")]
    else:
        ids = {str(c.get("id")) for c in erased}
        contacts = [
            c
            for c in contacts
            if str(c.get("id")) in ids or any(_same_person(c, e) for e in erased)
        ]
    for contact in contacts:
        found += [contact.get(name) for name in _CONTACT_PERSONAL]
    return {v for v in found if isinstance(v, str) and v and v != ERASED}


def _replace_values(value: Any, erased: set[str]) -> Any:
    """``value`` with every string that is one of ``erased`` replaced by ``(erased)``."""
    if isinstance(value, str):
        return ERASED if value in erased else value
    if isinstance(value, Mapping):
        return {k: _replace_values(v, erased) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_values(v, erased) for v in value]
    return value


def scrub_merges(
    uow: UnitOfWork, customer_id: UUID, patch: Mapping[str, Any], before: Mapping[str, Any]
) -> int:
    """Anonymise what an applied erasure ``patch`` replaced in the merge records the
    customer took part in (see the module docstring). How many merge records."""
    contact_ids = [str(c.get("id")) for c in patch.get("contacts") or () if isinstance(c, Mapping)]
    whole = set(patch) != {"contacts"}
    erased = [c for c in before.get("contacts") or () if str(c.get("id")) in contact_ids]
    mine = str(customer_id)
    merges = uow.matching.merges_involving(customer_id)
    for merge in merges:
        survivor = merge.survivor_id == customer_id

        def scrub(snap: dict[str, Any], *, survivor: bool = survivor) -> dict[str, Any]:
            own = str(snap.get("id")) == mine
            if not (own or survivor):
                return snap  # another customer that absorbed this one: its own data
            if whole:
                return _anonymised(snap, patch, own)
            return _without_contact(snap, erased)

        snapshots = [merge.survivor_before, merge.survivor_after, *merge.absorbed]
        personal: set[str] = set()
        for snap in snapshots:
            if survivor or str(snap.get("id")) == mine:
                personal |= _personal_values(snap, whole, erased)
        uow.matching.replace_merge_snapshots(
            merge.id,
            scrub(merge.survivor_before),
            scrub(merge.survivor_after),
            [scrub(a) for a in merge.absorbed],
            # the provenance the merge keeps for unmerge quotes the values
            _replace_values(merge.rules, personal),
            _replace_values(merge.choices, personal),
        )
    return len(merges)
