"""Activity events: the operational facts (orders, invoices, payments, cases, visits,
contracts) that keep a customer's living profile current.

Each activity arrives as a CloudEvents 1.0 envelope (structured JSON) with its own ``id``;
its ``type`` is ``custmaster.activity.<kind>`` (one of :data:`KINDS`) and its ``data``
names the customer (``customer_id``, or ``source_system`` and ``source_id``), the legal
entity (``legal_entity``) and the kind's own fields. :func:`parse_envelope` validates an
envelope into an :class:`ActivityEvent` or raises ``ValidationFailed``.

Amounts and quantities become integers of :data:`AMOUNT_SCALE` / :data:`QUANTITY_SCALE`
units, so that every aggregate is an exact integer sum: folding the same events in any
order gives the same state, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from custmaster.domain.errors import FieldError, ValidationFailed

TYPE_PREFIX = "custmaster.activity."
#: NATS subjects of activity events: ``custmaster.activity.<kind>``
SUBJECT_PREFIX = "custmaster.activity."

#: amounts are stored as integers of 1/10,000 of the currency unit
AMOUNT_SCALE = 10_000
#: quantities as integers of 1/1,000
QUANTITY_SCALE = 1_000
MAX_LINES = 500
MAX_AMOUNT = Decimal("1e13")

# kinds -------------------------------------------------------------------------------
ORDER_PLACED = "order.placed"
ORDER_CORRECTED = "order.corrected"  # compensating: signed delta lines; cancelled: -1 order
INVOICE_ISSUED = "invoice.issued"
INVOICE_CORRECTED = "invoice.corrected"  # compensating: signed amount delta
CREDIT_NOTE_ISSUED = "credit_note.issued"
DEBIT_NOTE_ISSUED = "debit_note.issued"
PAYMENT_RECEIVED = "payment.received"
PAYMENT_REVERSED = "payment.reversed"  # compensating: the applications taken back
RETURN_RECEIVED = "return.received"
WARRANTY_CLAIM_OPENED = "warranty_claim.opened"
WARRANTY_CLAIM_UPDATED = "warranty_claim.updated"
WARRANTY_CLAIM_CLOSED = "warranty_claim.closed"
SERVICE_CASE_OPENED = "service_case.opened"
SERVICE_CASE_UPDATED = "service_case.updated"
SERVICE_CASE_CLOSED = "service_case.closed"
COMPLAINT_OPENED = "complaint.opened"
COMPLAINT_UPDATED = "complaint.updated"
COMPLAINT_CLOSED = "complaint.closed"
VISIT_LOGGED = "visit.logged"
CALL_LOGGED = "call.logged"
CONTRACT_RECORDED = "contract.recorded"

ORDER_KINDS = frozenset({ORDER_PLACED, ORDER_CORRECTED})
DOCUMENT_KINDS = frozenset(
    {INVOICE_ISSUED, INVOICE_CORRECTED, CREDIT_NOTE_ISSUED, DEBIT_NOTE_ISSUED}
)
PAYMENT_KINDS = frozenset({PAYMENT_RECEIVED, PAYMENT_REVERSED})
#: case kind -> (opened, updated, closed) event kinds
CASE_KINDS: Mapping[str, tuple[str, str, str]] = {
    "service": (SERVICE_CASE_OPENED, SERVICE_CASE_UPDATED, SERVICE_CASE_CLOSED),
    "complaint": (COMPLAINT_OPENED, COMPLAINT_UPDATED, COMPLAINT_CLOSED),
    "warranty": (WARRANTY_CLAIM_OPENED, WARRANTY_CLAIM_UPDATED, WARRANTY_CLAIM_CLOSED),
}
CASE_EVENT_KINDS: Mapping[str, tuple[str, str]] = {
    event: (case_kind, event.rsplit(".", 1)[1])
    for case_kind, events in CASE_KINDS.items()
    for event in events
}
TOUCH_KINDS = frozenset({VISIT_LOGGED, CALL_LOGGED})
SEVERITIES = ("low", "medium", "high", "critical")

KINDS: frozenset[str] = frozenset(
    {
        *ORDER_KINDS,
        *DOCUMENT_KINDS,
        *PAYMENT_KINDS,
        RETURN_RECEIVED,
        *CASE_EVENT_KINDS,
        *TOUCH_KINDS,
        CONTRACT_RECORDED,
    }
)


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """How an event names its customer: by id, or by a source system's id."""

    customer_id: UUID | None = None
    source_system: str | None = None
    source_id: str | None = None

    def describe(self) -> str:
        if self.customer_id is not None:
            return str(self.customer_id)
        return f"{self.source_system}/{self.source_id}"


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """A validated activity event. ``occurred_on`` is the business date that decides its
    month (an order's order date, an invoice's date, ...), whenever it arrives."""

    id: str
    kind: str
    source: str
    time: datetime
    customer: CustomerRef
    legal_entity: str
    occurred_on: date
    data: Mapping[str, Any]
    envelope: Mapping[str, Any]


def to_units(value: Decimal, scale: int) -> int:
    return int((value * scale).to_integral_value())


def from_units(units: int, scale: int = AMOUNT_SCALE) -> float:
    return units / scale


class _Reader:
    """Reads the fields of one envelope, collecting every error with its path."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def fail(self, path: str, code: str, message: str) -> None:
        self.errors.append(FieldError(f"{self.prefix}{path}", code, message))

    def text(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        max_length: int = 128,
    ) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "required", "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "invalid", "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.fail(path, "too_long", f"must be at most {max_length} characters")
            return None
        return value

    def day(
        self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> date | None:
        value = self.text(obj, key, path, required=required, max_length=32)
        if value is None:
            return None
        try:
            return date.fromisoformat(value[:10]) if len(value) >= 10 else date.fromisoformat(value)
        except ValueError:
            self.fail(path, "invalid_date", "must be an ISO date (YYYY-MM-DD)")
            return None

    def decimal(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        signed: bool = False,
    ) -> Decimal | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(path, "required", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(path, "invalid_number", "must be a number")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(path, "invalid_number", "must be a number")
            return None
        if not number.is_finite() or abs(number) >= MAX_AMOUNT:
            self.fail(path, "out_of_range", "is out of range")
            return None
        if number < 0 and not signed:
            self.fail(path, "negative", "must not be negative (corrections are their own events)")
            return None
        return number

    def currency(self, obj: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.text(obj, key, path, max_length=3)
        if value is not None and not (len(value) == 3 and value.isascii() and value.isupper()):
            self.fail(path, "invalid_currency", "must be an ISO 4217 code")
            return None
        return value


def _time(reader: _Reader, envelope: Mapping[str, Any]) -> datetime:
    raw = envelope.get("time")
    if not isinstance(raw, str):
        reader.fail("time", "required", "is required (RFC 3339)")
        return datetime(1970, 1, 1, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        reader.fail("time", "invalid", "must be an RFC 3339 timestamp")
        return datetime(1970, 1, 1, tzinfo=UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _customer(reader: _Reader, data: Mapping[str, Any]) -> CustomerRef:
    raw = data.get("customer_id")
    if raw is not None:
        try:
            return CustomerRef(customer_id=UUID(str(raw)))
        except ValueError:
            reader.fail("data.customer_id", "invalid", "must be a UUID")
            return CustomerRef()
    system = reader.text(data, "source_system", "data.source_system", required=False, max_length=64)
    source_id = reader.text(data, "source_id", "data.source_id", required=False, max_length=255)
    if system is None or source_id is None:
        reader.fail(
            "data.customer_id",
            "required",
            "name the customer by customer_id or by source_system and source_id",
        )
        return CustomerRef()
    return CustomerRef(source_system=system, source_id=source_id)


def _lines(reader: _Reader, data: Mapping[str, Any], *, signed: bool) -> list[dict[str, Any]]:
    raw = data.get("lines")
    if not isinstance(raw, list) or not (signed or raw) or len(raw) > MAX_LINES:
        reader.fail("data.lines", "invalid", f"must be a list of 1 to {MAX_LINES} lines")
        return []
    lines: list[dict[str, Any]] = []
    for i, line in enumerate(raw):
        path = f"data.lines[{i}]"
        if not isinstance(line, dict):
            reader.fail(path, "invalid", "must be an object")
            continue
        product = reader.text(line, "product", f"{path}.product")
        group = reader.text(line, "product_group", f"{path}.product_group")
        quantity = reader.decimal(line, "quantity", f"{path}.quantity", signed=signed)
        amount = reader.decimal(line, "amount", f"{path}.amount", signed=signed)
        if product and group and quantity is not None and amount is not None:
            lines.append(
                {
                    "product": product,
                    "product_group": group,
                    "quantity": to_units(quantity, QUANTITY_SCALE),
                    "amount": to_units(amount, AMOUNT_SCALE),
                }
            )
    return lines


def _kind_fields(
    reader: _Reader, kind: str, data: Mapping[str, Any]
) -> tuple[date | None, dict[str, Any]]:
    """The business date and the normalised fields of one kind's ``data``."""
    r, d = reader, data
    if kind in ORDER_KINDS:
        signed = kind == ORDER_CORRECTED
        fields: dict[str, Any] = {
            "order_id": r.text(d, "order_id", "data.order_id"),
            "currency": r.currency(d, "currency", "data.currency"),
            "requested_date": r.day(d, "requested_date", "data.requested_date", required=False),
            "lines": _lines(r, d, signed=signed),
            "cancelled": bool(d.get("cancelled")) if signed else False,
        }
        return r.day(d, "order_date", "data.order_date"), fields
    if kind in DOCUMENT_KINDS:
        signed = kind == INVOICE_CORRECTED
        fields = {
            "document_id": r.text(d, "document_id", "data.document_id"),
            "currency": r.currency(d, "currency", "data.currency"),
            "amount": r.decimal(d, "amount", "data.amount", signed=signed),
            "due_date": r.day(
                d,
                "due_date",
                "data.due_date",
                required=kind != CREDIT_NOTE_ISSUED and kind != INVOICE_CORRECTED,
            ),
            "invoice_id": r.text(d, "invoice_id", "data.invoice_id", required=False),
        }
        if fields["amount"] is not None:
            fields["amount"] = to_units(fields["amount"], AMOUNT_SCALE)
        return r.day(d, "document_date", "data.document_date"), fields
    if kind in PAYMENT_KINDS:
        raw = d.get("applications")
        applications: list[dict[str, Any]] = []
        if not isinstance(raw, list) or not raw or len(raw) > MAX_LINES:
            r.fail("data.applications", "invalid", f"must be a list of 1 to {MAX_LINES} items")
        else:
            for i, item in enumerate(raw):
                path = f"data.applications[{i}]"
                if not isinstance(item, dict):
                    r.fail(path, "invalid", "must be an object")
                    continue
                document = r.text(item, "document_id", f"{path}.document_id")
                amount = r.decimal(item, "amount", f"{path}.amount")
                if document and amount is not None:
                    applications.append(
                        {"document_id": document, "amount": to_units(amount, AMOUNT_SCALE)}
                    )
        fields = {
            "payment_id": r.text(d, "payment_id", "data.payment_id"),
            "currency": r.currency(d, "currency", "data.currency"),
            "applications": applications,
        }
        return r.day(d, "payment_date", "data.payment_date"), fields
    if kind == RETURN_RECEIVED:
        quantity = r.decimal(d, "quantity", "data.quantity")
        amount = r.decimal(d, "amount", "data.amount")
        fields = {
            "return_id": r.text(d, "return_id", "data.return_id"),
            "order_id": r.text(d, "order_id", "data.order_id", required=False),
            "product": r.text(d, "product", "data.product"),
            "product_group": r.text(d, "product_group", "data.product_group"),
            "currency": r.currency(d, "currency", "data.currency"),
            "quantity": None if quantity is None else to_units(quantity, QUANTITY_SCALE),
            "amount": None if amount is None else to_units(amount, AMOUNT_SCALE),
        }
        return r.day(d, "return_date", "data.return_date"), fields
    if kind in CASE_EVENT_KINDS:
        severity = r.text(d, "severity", "data.severity", required=False, max_length=16)
        if severity is not None and severity not in SEVERITIES:
            r.fail("data.severity", "invalid", f"one of {', '.join(SEVERITIES)}")
        fields = {
            "case_id": r.text(d, "case_id", "data.case_id"),
            "severity": severity,
            "subject": r.text(d, "subject", "data.subject", required=False, max_length=255),
        }
        return r.day(d, "date", "data.date"), fields
    if kind in TOUCH_KINDS:
        fields = {"subject": r.text(d, "subject", "data.subject", required=False, max_length=255)}
        return r.day(d, "date", "data.date"), fields
    # contract.recorded
    volume = r.decimal(d, "committed_volume", "data.committed_volume", required=False)
    fields = {
        "contract_id": r.text(d, "contract_id", "data.contract_id"),
        "start_date": r.day(d, "start_date", "data.start_date"),
        "end_date": r.day(d, "end_date", "data.end_date", required=False),
        "renewal_date": r.day(d, "renewal_date", "data.renewal_date", required=False),
        "committed_volume": None if volume is None else str(volume),
        "sla": r.text(d, "sla", "data.sla", required=False, max_length=64),
    }
    return fields["start_date"], fields


def parse_envelope(envelope: Any, prefix: str = "") -> ActivityEvent:
    """Validate one CloudEvents 1.0 activity envelope; ``ValidationFailed`` lists every
    problem (field paths prefixed with ``prefix``, e.g. ``events[3].``)."""
    reader = _Reader(prefix)
    if not isinstance(envelope, dict):
        raise ValidationFailed(
            [FieldError(prefix.rstrip(".") or "event", "invalid", "must be a CloudEvents object")]
        )
    if envelope.get("specversion") != "1.0":
        reader.fail("specversion", "invalid", 'must be "1.0"')
    event_id = reader.text(envelope, "id", "id") or ""
    source = reader.text(envelope, "source", "source", max_length=255) or ""
    event_type = reader.text(envelope, "type", "type") or ""
    kind = event_type.removeprefix(TYPE_PREFIX)
    if event_type and (not event_type.startswith(TYPE_PREFIX) or kind not in KINDS):
        reader.fail(
            "type",
            "unknown_type",
            f"must be {TYPE_PREFIX}<kind>, kind one of {', '.join(sorted(KINDS))}",
        )
    time = _time(reader, envelope)
    data = envelope.get("data")
    if not isinstance(data, dict):
        reader.fail("data", "invalid", "must be an object")
        raise ValidationFailed(reader.errors)
    customer = _customer(reader, data)
    entity = reader.text(data, "legal_entity", "data.legal_entity", max_length=64) or ""
    occurred: date | None = None
    fields: dict[str, Any] = {}
    if kind in KINDS:
        occurred, fields = _kind_fields(reader, kind, data)
    if reader.errors:
        raise ValidationFailed(reader.errors)
    assert occurred is not None
    return ActivityEvent(event_id, kind, source, time, customer, entity, occurred, fields, envelope)


def month_of(day: date) -> date:
    return day.replace(day=1)
