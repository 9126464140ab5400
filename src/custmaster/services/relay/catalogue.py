"""Every event type custmaster emits and the JSON Schema of its ``data``: the contract for
consumers, published as the AsyncAPI document (``services.relay.asyncapi``) and checked
against the events the services actually write (tests/api/test_asyncapi.py).

A new event type, or a new key in an event's data, belongs here first: the check fails
for an emitted event whose type is missing or whose data does not match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = dict[str, Any]

_ANY: Schema = {}
_TEXT: Schema = {"type": "string"}
_NTEXT: Schema = {"type": ["string", "null"]}
_UUID: Schema = {"type": "string", "format": "uuid"}
_CHANGES: Schema = {
    "type": "array",
    "description": "field-level changes; child records as addresses[<id>].city, overrides "
    "per entity (overrides.DE01.credit_limit)",
    "items": {
        "type": "object",
        "required": ["field", "before", "after"],
        "properties": {"field": _TEXT, "before": _ANY, "after": _ANY},
    },
}
_CUSTOMER: Schema = {
    "type": "object",
    "description": "the whole customer aggregate after the change (as in GET /customers/{id} "
    "with every legal entity's overrides under `overrides`)",
    "required": ["id", "number", "name", "status", "version", "overrides"],
    "properties": {
        "id": _UUID,
        "number": _TEXT,
        "name": _TEXT,
        "status": {"enum": ["active", "inactive"]},
        "owning_entity": _NTEXT,
        "version": {"type": "integer"},
        "overrides": {"type": "object"},
        "addresses": {"type": "array"},
        "contacts": {"type": "array"},
    },
}
_RECORD: Schema = {
    "type": "object",
    "description": "the record after the change",
    "required": ["code"],
    "properties": {"code": _TEXT},
}


def _data(required: Mapping[str, Schema], optional: Mapping[str, Schema] | None = None) -> Schema:
    """An object with exactly these keys (``optional`` may be absent)."""
    optional = optional or {}
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **optional},
        "additionalProperties": False,
    }


_CUSTOMER_CHANGE = _data({"changes": _CHANGES, "customer": _CUSTOMER})
_CERTIFICATE = _data(
    {
        "customer_id": _UUID,
        "number": _TEXT,
        "name": _TEXT,
        "owning_entity": _NTEXT,
        "tax_profile_id": _UUID,
        "tax_code": _NTEXT,
        "certificate_number": _NTEXT,
        "effective_from": {"type": ["string", "null"], "format": "date"},
        "effective_to": {"type": "string", "format": "date"},
        "notice": {"enum": ["expiring_30", "expiring_7", "expired"]},
        "days_left": {"type": "integer"},
        "checked_on": {"type": "string", "format": "date"},
    }
)

CUSTOMER_EVENTS: dict[str, tuple[str, Schema]] = {
    "customer.created": (
        "A customer was created (through the API, a template, an import or a source record).",
        _data({"customer": _CUSTOMER}, {"import_job": _UUID}),
    ),
    "customer.updated": (
        "A customer's master data, overrides or child records changed.",
        _data(
            {"changes": _CHANGES, "customer": _CUSTOMER},
            {"import_job": _UUID, "source_record": _UUID},
        ),
    ),
    "customer.deactivated": ("A customer was deactivated (soft delete).", _CUSTOMER_CHANGE),
    "customer.reactivated": ("A deactivated customer is active again.", _CUSTOMER_CHANGE),
    "customer.deleted": (
        "A customer was deleted for good (hard delete).",
        _data({"id": _UUID, "number": _TEXT}),
    ),
    "customer.merged": (
        "Duplicates were merged into this customer (the survivor).",
        _data(
            {
                "merge_id": _UUID,
                "absorbed_ids": {"type": "array", "items": _UUID},
                "changes": _CHANGES,
                "customer": _CUSTOMER,
            }
        ),
    ),
    "customer.absorbed": (
        "This customer was merged into the survivor and no longer exists on its own.",
        _data({"merge_id": _UUID, "survivor_id": _UUID, "number": _TEXT, "customer": _CUSTOMER}),
    ),
    "customer.unmerged": (
        "A merge was undone: the survivor (role survivor) and each restored customer "
        "(role restored) get one event.",
        _data(
            {"merge_id": _UUID, "role": {"enum": ["survivor", "restored"]}, "customer": _CUSTOMER},
            {
                "restored_ids": {"type": "array", "items": _UUID},
                "changes": _CHANGES,
                "survivor_id": _UUID,
            },
        ),
    ),
    "customer.tax_exemption.expiring": (
        "A tax-exemption certificate ends in 30 or 7 days.",
        _CERTIFICATE,
    ),
    "customer.tax_exemption.expired": ("A tax-exemption certificate has ended.", _CERTIFICATE),
}

#: keyed reference data: (event name, label)
REFERENCE_KINDS: tuple[tuple[str, str], ...] = (
    ("legal_entity", "legal entity"),
    ("payment_terms", "payment terms"),
    ("payment_method", "payment method"),
    ("customer_group", "customer group"),
    ("tax_code", "tax code"),
    ("industry", "industry"),
    ("dimension_type", "dimension type"),
    ("account_tier", "account tier"),
    ("revenue_account", "revenue account"),
)

#: structure and keyed records recorded with ``{"changes", <resource>}``
STRUCTURE_EVENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("hierarchy_link", "hierarchy link", ("created", "ended", "deleted")),
    ("hierarchy", "hierarchy move (a customer under a new parent)", ("moved",)),
    ("customer_relationship", "relationship between customers", ("created", "ended", "deleted")),
    ("relationship_type", "relationship type", ("created", "deleted")),
    ("org_unit", "organisation unit", ("created", "updated", "deleted")),
    ("org_unit_assignment", "customer's organisation-unit assignment", ("created", "deleted")),
    ("team_assignment", "account-team assignment", ("created", "deleted")),
    ("customer_template", "customer template", ("created", "updated", "deleted")),
    ("name_affix", "name affix", ("created", "updated", "deleted")),
    ("sales_organisation", "sales organisation", ("created", "updated", "deleted")),
    ("payment_schedule", "payment terms' instalment schedule", ("replaced",)),
)

_REQUEST: Schema = {
    "type": "object",
    "description": "the change request as GET /change-requests/{id} shows it",
    "required": ["id", "operation", "status", "lane", "steps", "submitted_by"],
    "properties": {
        "id": _UUID,
        "operation": _TEXT,
        "status": _TEXT,
        "lane": _TEXT,
        "customer_id": {"type": ["string", "null"]},
        "submitted_by": _TEXT,
        "steps": {"type": "array"},
    },
}
REQUEST_EVENTS: dict[str, str] = {
    "submitted": "A change waits for approval.",
    "approved_step": "An approval step was approved (more may follow).",
    "rejected": "A change request was rejected.",
    "withdrawn": "The submitter withdrew a change request.",
    "applied": "An approved change request was applied.",
    "conflicted": "An approved change request could not be applied (the record changed).",
}
_KEY = _data({"key_prefix": _TEXT})


def _catalogue() -> dict[str, tuple[str, Schema]]:
    events: dict[str, tuple[str, Schema]] = dict(CUSTOMER_EVENTS)
    for name, label in REFERENCE_KINDS:
        events[f"{name}.created"] = (f"A {label} was created.", _RECORD)
        events[f"{name}.updated"] = (f"A {label} was changed.", _RECORD)
        events[f"{name}.deleted"] = (f"A {label} was deleted.", _data({"code": _TEXT}))
    for name, label, operations in STRUCTURE_EVENTS:
        schema = _data({"changes": _CHANGES, name: {"type": "object"}})
        for operation in operations:
            events[f"{name}.{operation}"] = (f"A {label}: {operation}.", schema)
    for operation, text in REQUEST_EVENTS.items():
        events[f"change_request.{operation}"] = (text, _REQUEST)
    events["user.created"] = (
        "A user was created (with a first API key).",
        _data(
            {
                "id": _TEXT,
                "name": _TEXT,
                "roles": {"type": "array", "items": _TEXT},
                "entities": {"type": ["array", "null"], "items": _TEXT},
                "key_prefix": _TEXT,
            }
        ),
    )
    events["user.key_added"] = ("A user got another API key.", _KEY)
    events["user.key_revoked"] = ("An API key was revoked.", _KEY)
    events["webhook.disabled"] = (
        "A webhook subscription was disabled after repeated failed deliveries (or a 410).",
        _data({"id": _UUID, "url": _TEXT, "owner_id": _TEXT, "reason": _TEXT}),
    )
    outcome: Schema = {
        "type": "object",
        "description": "tier, health_band, churn_band, segments and actions of the row",
    }
    events["profile.scores_changed"] = (
        "A customer's profile row (one legal entity, or * for all) was re-scored and its tier, "
        "health band, churn band, segments or next-best actions changed (docs/profile-rules.md).",
        _data(
            {
                "customer_id": _UUID,
                "legal_entity": _TEXT,
                "changed": {"type": "array", "items": _TEXT},
                "before": {"anyOf": [outcome, {"type": "null"}]},
                "after": outcome,
                "health_score": {"type": ["integer", "null"]},
                "health_trend": {"type": ["integer", "null"]},
                "rules_version": {"type": "integer"},
            }
        ),
    )
    events["profile_rules.activated"] = (
        "An approved version of the profile rules became the active one.",
        {"type": "object"},
    )
    events["audit.checkpoint"] = (
        "A signed checkpoint of the audit chain's head (docs/audit.md).",
        _data(
            {
                "seq": {"type": "integer"},
                "hash": _TEXT,
                "time": _TEXT,
                "key_id": _TEXT,
                "signature": _TEXT,
                "signed_from": {"type": ["integer", "null"]},
            }
        ),
    )
    return {f"custmaster.{name}": entry for name, entry in events.items()}


#: CloudEvent type -> (what it means, the JSON Schema of its data)
EVENT_TYPES: dict[str, tuple[str, Schema]] = _catalogue()
#: the aggregates (second token of the types): the stream's subjects
AGGREGATES: frozenset[str] = frozenset(t.split(".")[1] for t in EVENT_TYPES)
