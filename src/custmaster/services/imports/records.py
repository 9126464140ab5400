"""Result types of the source-reading half of bulk import.

An :class:`ImportRecord` is what the import job receives for every source row (or for
every group of rows that make up one customer, for grouped/joined formats). Its
``command`` is a plain dict in exactly the shape of the create request of DESIGN.md §4
(decimals as strings, dates ISO 8601, countries ISO 3166-1 alpha-2); it only carries the
fields the source really has, plus the defaults the template's author configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """A mapping-level problem or warning, in the ``{field, code, message}`` shape of §4.

    ``field`` is the target path in the command (``credit_limit``,
    ``addresses[billing].country``, ``overrides[DE01].currency``) or, for problems with a
    row itself, the source column / ``"row"``.
    """

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source cross-reference: the customer is known as ``source_id`` in ``source_system``."""

    source_system: str
    source_id: str


@dataclass(slots=True)
class ImportRecord:
    """One customer create-command read from a source, with what went wrong on the way.

    Attributes:
        row_numbers: 1-based data rows (header excluded) of the primary source file that
            produced this record; several for a grouped customer (D365).
        source_system: e.g. ``"salesforce"``, ``"hubspot"``, ``"d365"``, ``"legacy_erp"``,
            ``"custmaster"``.
        source_id: the customer's id in the source (the first one for a grouped customer);
            ``None`` when the row has none.
        command: the create request body (may be incomplete: see ``missing_required``).
        missing_required: model-required fields the source does not provide (e.g.
            ``["email"]`` for HubSpot companies). Never filled in by guessing: the job may
            keep such a record as an incomplete draft for a steward to finish.
        errors: mapping-level problems (unparsable number or date, unknown value-map code,
            malformed row). A record with errors must not be created as is.
        warnings: non-blocking observations (conflicting values inside a group, a text
            repaired by the decoder, a value derived from a contact ...).
        source_refs: every (source_system, source_id) that knows this customer; several
            for a grouped customer (one per D365 legal-entity row). Also in the command
            as ``source_refs`` (the create request's cross-reference list).
        related_rows: 1-based data rows of related files, by file role
            (``{"contacts": [3, 4]}`` for a Salesforce account with two contacts).
    """

    row_numbers: list[int]
    source_system: str
    source_id: str | None
    command: JSONDict = field(default_factory=dict)
    missing_required: list[str] = field(default_factory=list)
    errors: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)
    source_refs: list[SourceRef] = field(default_factory=list)
    related_rows: dict[str, list[int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the command is complete and carries no mapping error."""
        return not self.errors and not self.missing_required

    @property
    def is_incomplete(self) -> bool:
        """True when only required fields are missing (candidate for an incomplete draft)."""
        return not self.errors and bool(self.missing_required)
