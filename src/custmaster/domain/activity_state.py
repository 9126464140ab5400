"""The mergeable activity state of one customer and how an event contributes to it.

Every part of :class:`ActivityState` is a mapping from a key to a value that merges
commutatively and associatively: integer sums, maxima and minima of dates, and registers
that keep the value of the latest event by (event time, event id). So the state of a set
of events is the same whatever their order (:func:`fold`), a duplicate is harmless once
its id is recorded, and the incremental state equals a rebuild from the stored events.

Keys start with the legal entity; amounts are integer units (``domain.activity``) in the
document's currency, which is part of the key where amounts are summed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from custmaster.domain import activity as a

#: (event time ISO, event id): the order of last-writer-wins registers
Stamp = tuple[str, str]

# keys
SalesKey = tuple[str, date, str, str]  # entity, month, product group, currency
CountKey = tuple[str, date]  # entity, month
DocKey = tuple[str, str]  # entity, document id
PaymentKey = tuple[str, str, str]  # entity, payment id, document id
CaseKey = tuple[str, str]  # entity, case id
ContractKey = tuple[str, str]  # entity, contract id
TouchKey = tuple[str, date, str]  # entity, day, kind


@dataclass(frozen=True, slots=True)
class Sales:
    amount: int = 0
    quantity: int = 0
    return_amount: int = 0
    return_quantity: int = 0

    def merge(self, other: Sales) -> Sales:
        return Sales(
            self.amount + other.amount,
            self.quantity + other.quantity,
            self.return_amount + other.return_amount,
            self.return_quantity + other.return_quantity,
        )


@dataclass(frozen=True, slots=True)
class Counts:
    orders: int = 0
    returns: int = 0
    last_order: date | None = None

    def merge(self, other: Counts) -> Counts:
        last = max((d for d in (self.last_order, other.last_order) if d), default=None)
        return Counts(self.orders + other.orders, self.returns + other.returns, last)


def _min_date(x: date | None, y: date | None) -> date | None:
    return min((d for d in (x, y) if d), default=None)


@dataclass(frozen=True, slots=True)
class Document:
    """An invoice, credit note or debit note: its amount (credit notes negative) is the sum
    of the issuing event and its corrections; the attributes come from the issuing event."""

    amount: int = 0
    currency: str = ""
    kind: str | None = None
    document_date: date | None = None
    due_date: date | None = None

    def merge(self, other: Document) -> Document:
        if self.kind is None:
            first, second = other, self
        elif other.kind is None:
            first, second = self, other
        else:  # two issuing events for one document: keep a deterministic one
            keys = (self.kind, str(self.document_date), str(self.due_date), self.currency)
            other_keys = (other.kind, str(other.document_date), str(other.due_date), other.currency)
            first, second = (self, other) if keys <= other_keys else (other, self)
        return Document(
            first.amount + second.amount,
            first.currency or second.currency,
            first.kind,
            first.document_date,
            first.due_date,
        )


@dataclass(frozen=True, slots=True)
class Payment:
    amount: int = 0
    paid_on: date | None = None

    def merge(self, other: Payment) -> Payment:
        return Payment(self.amount + other.amount, _min_date(self.paid_on, other.paid_on))


@dataclass(frozen=True, slots=True)
class Register:
    """A last-writer-wins value: the one of the latest stamp."""

    stamp: Stamp = ("", "")
    value: tuple[Any, ...] = ()

    def merge(self, other: Register) -> Register:
        return self if self.stamp >= other.stamp else other


@dataclass(frozen=True, slots=True)
class Case:
    kind: str = ""
    first_on: date | None = None  # earliest event of the case
    opened_on: date | None = None  # earliest "opened" event
    status: Register = Register()  # ("open" | "closed", closed_on)
    detail: Register = Register()  # (severity, subject)

    def merge(self, other: Case) -> Case:
        # one case id reported under two families: the same family whatever the order
        return Case(
            min((k for k in (self.kind, other.kind) if k), default=""),
            _min_date(self.first_on, other.first_on),
            _min_date(self.opened_on, other.opened_on),
            self.status.merge(other.status),
            self.detail.merge(other.detail),
        )

    @property
    def is_open(self) -> bool:
        return not self.status.value or self.status.value[0] == "open"

    @property
    def since(self) -> date | None:
        return self.opened_on or self.first_on


@dataclass(frozen=True, slots=True)
class Touches:
    count: int = 0

    def merge(self, other: Touches) -> Touches:
        return Touches(self.count + other.count)


V = TypeVar("V", Sales, Counts, Document, Payment, Case, Register, Touches)


def _merge_into(target: MutableMapping[Any, V], source: Iterable[tuple[Any, V]]) -> None:
    for key, value in source:
        old = target.get(key)
        target[key] = value if old is None else old.merge(value)


@dataclass
class ActivityState:
    """Everything the profile of one customer is computed from."""

    sales: dict[SalesKey, Sales] = field(default_factory=dict)
    counts: dict[CountKey, Counts] = field(default_factory=dict)
    documents: dict[DocKey, Document] = field(default_factory=dict)
    payments: dict[PaymentKey, Payment] = field(default_factory=dict)
    cases: dict[CaseKey, Case] = field(default_factory=dict)
    contracts: dict[ContractKey, Register] = field(default_factory=dict)
    touches: dict[TouchKey, Touches] = field(default_factory=dict)

    PARTS = ("sales", "counts", "documents", "payments", "cases", "contracts", "touches")

    def merge(self, other: ActivityState) -> ActivityState:
        """Merge ``other`` into this state (in place); returns self."""
        for part in self.PARTS:
            theirs = getattr(other, part)
            if theirs:  # an event's contribution fills one or two parts
                _merge_into(getattr(self, part), theirs.items())
        return self

    def entities(self) -> set[str]:
        return {key[0] for part in self.PARTS for key in getattr(self, part)}

    def is_empty(self) -> bool:
        return not any(getattr(self, part) for part in self.PARTS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActivityState):
            return NotImplemented
        return all(getattr(self, p) == getattr(other, p) for p in self.PARTS)


def _stamp(event: a.ActivityEvent) -> Stamp:
    return (event.time.isoformat(), event.id)


def state_of(event: a.ActivityEvent) -> ActivityState:
    """The contribution of one event to its customer's state."""
    state = ActivityState()
    entity, data, kind = event.legal_entity, event.data, event.kind
    month = a.month_of(event.occurred_on)
    if kind in a.ORDER_KINDS:
        for line in data["lines"]:
            key: SalesKey = (entity, month, line["product_group"], data["currency"])
            _merge_into(state.sales, [(key, Sales(line["amount"], line["quantity"]))])
        if kind == a.ORDER_PLACED:
            state.counts[(entity, month)] = Counts(orders=1, last_order=event.occurred_on)
        elif data["cancelled"]:
            state.counts[(entity, month)] = Counts(orders=-1)
    elif kind in a.DOCUMENT_KINDS:
        amount = data["amount"]
        if kind == a.CREDIT_NOTE_ISSUED:
            amount = -amount
        issued = kind != a.INVOICE_CORRECTED
        due = data["due_date"] or (event.occurred_on if issued else None)
        state.documents[(entity, data["document_id"])] = Document(
            amount,
            data["currency"],
            kind if issued else None,
            event.occurred_on if issued else None,
            due if issued else None,
        )
    elif kind in a.PAYMENT_KINDS:
        sign = 1 if kind == a.PAYMENT_RECEIVED else -1
        for item in data["applications"]:
            pkey: PaymentKey = (entity, data["payment_id"], item["document_id"])
            paid_on = event.occurred_on if sign > 0 else None
            _merge_into(state.payments, [(pkey, Payment(sign * item["amount"], paid_on))])
    elif kind == a.RETURN_RECEIVED:
        key = (entity, month, data["product_group"], data["currency"])
        state.sales[key] = Sales(return_amount=data["amount"], return_quantity=data["quantity"])
        state.counts[(entity, month)] = Counts(returns=1)
    elif kind in a.CASE_EVENT_KINDS:
        case_kind, step = a.CASE_EVENT_KINDS[kind]
        stamp = _stamp(event)
        status = Register()
        if step == "opened":
            status = Register(stamp, ("open", None))
        elif step == "closed":
            status = Register(stamp, ("closed", event.occurred_on))
        detail = Register()
        if data["severity"] is not None or data["subject"] is not None:
            detail = Register(stamp, (data["severity"], data["subject"]))
        state.cases[(entity, data["case_id"])] = Case(
            case_kind,
            event.occurred_on,
            event.occurred_on if step == "opened" else None,
            status,
            detail,
        )
    elif kind in a.TOUCH_KINDS:
        state.touches[(entity, event.occurred_on, kind.split(".")[0])] = Touches(1)
    elif kind == a.CONTRACT_RECORDED:
        value = (
            data["start_date"],
            data["end_date"],
            data["renewal_date"],
            data["committed_volume"],
            data["sla"],
        )
        state.contracts[(entity, data["contract_id"])] = Register(_stamp(event), value)
    return state


def fold(events: Iterable[a.ActivityEvent], into: ActivityState | None = None) -> ActivityState:
    """The state of ``events`` (merged into ``into`` when given)."""
    state = into if into is not None else ActivityState()
    for event in events:
        state.merge(state_of(event))
    return state


def fold_by_customer(
    events: Iterable[tuple[Any, a.ActivityEvent]],
    new: Callable[[], ActivityState] = ActivityState,
) -> dict[Any, ActivityState]:
    """(customer, event) pairs folded per customer."""
    states: dict[Any, ActivityState] = {}
    for customer, event in events:
        state = states.get(customer)
        if state is None:
            state = states[customer] = new()
        state.merge(state_of(event))
    return states
