"""Related files joined to their parent rows (Salesforce contacts -> accounts by AccountId).

The related file is read once into a temporary SQLite file indexed by its join column
(:class:`~custmaster.services.imports.spill.RowStore`); each parent record then fetches
its children by key. Memory stays flat for any number of accounts and contacts and the
files need not be sorted. Children whose parent never appears are reported at the end as
``unknown_parent`` error records; malformed child rows as ``malformed_row`` records.
"""

from __future__ import annotations

from collections.abc import Iterator

from custmaster.services.imports.mapping import map_fields, missing_required, source_id_of
from custmaster.services.imports.records import FieldIssue, ImportRecord, SourceRef
from custmaster.services.imports.sources import SourceReader, SourceRow
from custmaster.services.imports.spill import RowStore
from custmaster.services.imports.templates import Related, Template

_NO_PARENT = "\x00"


class RelatedIndex:
    """The rows of one related file, indexed by the parent id they reference."""

    def __init__(self, related: Related, template: Template, reader: SourceReader) -> None:
        self.related = related
        self.template = template
        self._store = RowStore()
        try:
            for row in reader:
                parent = "" if row.problems else row.values.get(related.join_column, "").strip()
                self._store.add(parent or _NO_PARENT, row)
            self._store.index()
        except BaseException:
            self._store.close()
            raise

    def attach(self, record: ImportRecord, parent_values: dict[str, str]) -> None:
        """Add the children of the parent row ``parent_values`` to ``record``'s command."""
        parent_id = parent_values.get(self.related.references, "").strip()
        if not parent_id or (record.errors and not record.command):
            return
        rows = self._store.take(parent_id)
        if not rows:
            return
        ctx = self.template.context(self.related.format)
        contacts = record.command.setdefault("contacts", [])
        for row in rows:
            prefix = f"{self.related.target}[{len(contacts)}]."
            contact, errors = map_fields(
                row.values, self.related.fields, ctx, row.native, field_prefix=prefix
            )
            record.errors.extend(
                FieldIssue(
                    e.field, e.code, f"{self.related.role} row {row.row_number}: {e.message}"
                )
                for e in errors
            )
            record.warnings.extend(row.notes)
            record.related_rows.setdefault(self.related.role, []).append(row.row_number)
            if contact:
                contacts.append(contact)
        if not contacts:
            del record.command["contacts"]
            return
        self._primary(record, contacts)

    def _primary(self, record: ImportRecord, contacts: list[dict[str, object]]) -> None:
        if self.related.primary == "first" and not any(c.get("is_primary") for c in contacts):
            contacts[0]["is_primary"] = True
        primary = next((c for c in contacts if c.get("is_primary")), None)
        if self.related.email_to_master and primary and not record.command.get("email"):
            email = primary.get("email")
            if isinstance(email, str) and email:
                record.command["email"] = email
                record.warnings.append(
                    FieldIssue(
                        "email",
                        "email_from_contact",
                        "the source has no customer e-mail; the primary contact's was used",
                    )
                )
                record.missing_required = missing_required(record.command, self.template.required)

    def leftovers(self) -> Iterator[ImportRecord]:
        """Error records for child rows no parent claimed (or that could not be read)."""
        role = self.related.role
        for row in self._store.unused():
            yield self._leftover(row, role)

    def _leftover(self, row: SourceRow, role: str) -> ImportRecord:
        spec = self.related.source_id
        source_id = source_id_of(row.values, spec) if spec else None
        record = ImportRecord(
            row_numbers=[],
            source_system=self.template.source_system,
            source_id=source_id,
            related_rows={role: [row.row_number]},
            warnings=list(row.notes),
        )
        if source_id:
            record.source_refs.append(SourceRef(self.template.source_system, source_id))
        if row.problems:
            record.errors.extend(
                FieldIssue(p.field, p.code, f"{role} row {row.row_number}: {p.message}")
                for p in row.problems
            )
        else:
            parent = row.values.get(self.related.join_column, "").strip()
            record.errors.append(
                FieldIssue(
                    self.related.join_column,
                    "unknown_parent",
                    f"{role} row {row.row_number}: no record with "
                    f"{self.related.references} {parent!r}",
                )
            )
        return record

    def close(self) -> None:
        self._store.close()
