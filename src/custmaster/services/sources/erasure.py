"""Erasing a person's data reaches the source records too.

An erasure (``POST /customers/{id}/erase``, or of one contact) anonymises the golden
record by a patch; the values its sources sent stay on its source records (as received,
normalised, as match features, in warnings that quote them) and in the fields'
provenance. Once the erasure is applied (at once, or when its approval completes) they
are scrubbed from there as well: what the patch replaced is removed from every source
record of the customer, the normalised form and match features go (they would hold
the same data), and the provenance of the erased fields is dropped (derived again from
the anonymised values). Lineage (system, id, job, file, rows, time) stays.
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
    and provenance (``before``: the customer's snapshot before the erasure). How many
    source records were scrubbed."""
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
    return len(records)
