"""The bulk writers of the import path write exactly the rows of the plain ones
(COPY on PostgreSQL, a DB-API executemany on SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    create_engine,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from custmaster.bootstrap import Container
from custmaster.domain.events import customer_event
from custmaster.persistence import bulk
from custmaster.persistence.bulk import JsonText, insert_rows
from custmaster.persistence.imports import SqlImportRepository
from custmaster.persistence.matching import SqlMatchingRepository
from custmaster.persistence.members import BinaryArray, text_array
from custmaster.persistence.outbox import SqlOutbox
from custmaster.persistence.tables import outbox
from custmaster.persistence.tables_imports import import_jobs, import_rows
from custmaster.persistence.tables_matching import match_keys, match_records
from custmaster.services.dedup.ports import IndexEntry
from tests.conftest import clean


@pytest.fixture
def db(container: Container) -> Iterator[Container]:
    clean(container)
    yield container
    clean(container)


def _rows(container: Container, table: Table, *order: Any, drop: tuple[str, ...] = ()) -> list[Any]:
    with container.engine.connect() as connection:
        return [
            {k: v for k, v in row._mapping.items() if k not in drop}
            for row in connection.execute(select(table).order_by(*order))
        ]


def _events(n: int, offset: int) -> list[Any]:
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    return [
        customer_event(
            "created",
            UUID(int=offset + i),
            at,
            {
                "customer": {
                    "name": f"Müller {i}",
                    "credit_limit": "10.50",
                    "tags": [i, None, True],
                },
                "n": i,
            },
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("count", [3, 20])
def test_outbox_add_bulk_writes_the_rows_of_add_many(db: Container, count: int) -> None:
    plain, bulk = _events(count, 0), _events(count, 1000)
    with db.engine.begin() as connection:
        SqlOutbox(connection).add_many(plain)
    with db.engine.begin() as connection:
        SqlOutbox(connection).add_bulk(bulk)
    rows = _rows(db, outbox, outbox.c.id, drop=("id",))
    assert len(rows) == 2 * count
    for row, event in zip(rows, plain + bulk, strict=True):
        assert row["event_id"] == event.id
        assert (row["type"], row["subject"]) == (event.type, event.subject)
        assert row["time"] == event.time
        assert row["envelope"] == event.envelope()
        assert row["published_at"] is None
    assert {type(r["txid"]) for r in rows} == {int}
    assert len({r["txid"] for r in rows[:count]}) == len({r["txid"] for r in rows[count:]}) == 1
    with db.engine.connect() as connection:
        feed = SqlOutbox(connection).count()
    assert feed == 2 * count


def _entries(n: int, offset: int) -> list[IndexEntry]:
    return [
        IndexEntry(
            customer_id=UUID(int=offset + i),
            number=f"C{offset + i:06d}",
            name=f"Acme {i}",
            features={"id": str(UUID(int=offset + i)), "name": "acme", "tokens": ["a", i]},
            keys=[("name", f"acme{i}"), ("email", f"x{i}@acme.example"), ("tax", "DE1")],
        )
        for i in range(n)
    ]


def _expected(entries: list[IndexEntry]) -> tuple[list[Any], list[Any]]:
    records = [
        {"customer_id": e.customer_id, "number": e.number, "name": e.name, "features": e.features}
        for e in entries
    ]
    keys = sorted(
        (
            {"key_type": t, "key_value": v, "customer_id": e.customer_id}
            for e in entries
            for t, v in e.keys
        ),
        key=lambda k: (k["customer_id"], k["key_type"]),
    )
    return records, keys


def test_add_entries_writes_the_rows_of_replace_entries(db: Container) -> None:
    plain, bulk = _entries(12, 0), _entries(12, 100)
    with db.engine.begin() as connection:
        SqlMatchingRepository(connection).replace_entries(plain)
    with db.engine.begin() as connection:
        SqlMatchingRepository(connection).add_entries(bulk)
    records = _rows(db, match_records, match_records.c.customer_id)
    keys = _rows(db, match_keys, match_keys.c.customer_id, match_keys.c.key_type)
    assert (records, keys) == tuple(
        a + b for a, b in zip(_expected(plain), _expected(bulk), strict=True)
    )


def test_add_entries_of_a_few_keys_writes_them_by_insert(db: Container) -> None:
    """Fewer key rows than a COPY is worth go by one INSERT (the customer's id given as
    text on PostgreSQL, read back as the same UUID)."""
    entries = _entries(2, 300)  # six keys
    with db.engine.begin() as connection:
        SqlMatchingRepository(connection).add_entries(entries)
    records = _rows(db, match_records, match_records.c.customer_id)
    keys = _rows(db, match_keys, match_keys.c.customer_id, match_keys.c.key_type)
    assert (records, keys) == _expected(entries)


def _import_job(db: Container) -> UUID:
    """An import job for rows to belong to."""
    job = uuid4()
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with db.engine.begin() as connection:
        connection.execute(
            import_jobs.insert().values(
                id=job,
                status="validating",
                template="custmaster",
                files=[],
                options={},
                submitted_by="u",
                submitted_by_name="U",
                validated_records=0,
                last_committed_batch=-1,
                summary={},
                created_at=at,
                updated_at=at,
            )
        )
    return job


def test_insert_rows_matches_an_insert_statement(db: Container) -> None:
    job = _import_job(db)

    def rows(start: int) -> list[dict[str, Any]]:
        return [
            {
                "job_id": job,
                "seq": start + i,
                "row_numbers": [start + i, 7],
                "source_id": f"S{i}" if i % 2 else None,
                "outcome": "created",
                "customer_id": uuid4() if i % 3 else None,
                "errors": None,
                "warnings": [{"code": "x", "message": "ä"}] if i % 2 else None,
                "payload": {"customer": {"n": i, "limit": str(Decimal("1.50"))}},
            }
            for i in range(10)
        ]

    plain, bulk = rows(0), rows(100)
    with db.engine.begin() as connection:
        connection.execute(import_rows.insert(), plain)
        insert_rows(connection, import_rows, bulk)
    stored = _rows(db, import_rows, import_rows.c.seq)
    assert len(stored) == 20
    for a, b in zip(stored[:10], stored[10:], strict=True):
        assert {
            **b,
            "seq": b["seq"] - 100,
            "row_numbers": [b["row_numbers"][0] - 100, 7],
            "customer_id": a["customer_id"],
        } == a
    by_seq = {r["seq"]: r for r in stored}
    for row in plain + bulk:
        assert by_seq[row["seq"]]["customer_id"] == row["customer_id"]


def test_insert_rows_leaves_python_side_defaults_to_an_insert_statement() -> None:
    engine = create_engine("sqlite://")
    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("v", Integer, default=5)
    )
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        insert_rows(connection, table, [{"id": i} for i in range(10)])
        assert connection.execute(select(table.c.v).distinct()).scalars().all() == [5]


@pytest.mark.parametrize("count", [3, 10])  # a plain INSERT below the COPY threshold
def test_insert_rows_writes_json_text_as_the_document_it_holds(db: Container, count: int) -> None:
    """A ``JsonText`` value (a document serialised already) is stored as its document:
    read back equal to the value written as a plain JSON column value."""
    job = _import_job(db)
    documents = [
        {"customer": {"name": f"Müller {i}", "n": i, "x": [0.5, None, True]}} for i in range(count)
    ]

    def row(seq: int, payload: Any) -> dict[str, Any]:
        return {
            "job_id": job,
            "seq": seq,
            "row_numbers": [seq],
            "outcome": "created",
            "payload": payload,
        }

    with db.engine.begin() as connection:
        insert_rows(
            connection,
            import_rows,
            [
                row(i, JsonText(json.dumps(d, ensure_ascii=False, sort_keys=True)))
                for i, d in enumerate(documents)
            ],
        )
        insert_rows(connection, import_rows, [row(100 + i, d) for i, d in enumerate(documents)])
    stored = _rows(db, import_rows, import_rows.c.seq)
    assert [r["payload"] for r in stored] == documents + documents


def _every_type() -> Table:
    """A table of every column type the binary COPY writes (and one it does not)."""
    return Table(
        "bulk_every_type",
        MetaData(),
        Column("n", Integer, primary_key=True),
        Column("small", SmallInteger),
        Column("big", BigInteger),
        Column("ratio", Float),
        Column("amount", Numeric(asdecimal=True)),
        Column("flag", Boolean),
        Column("day", Date),
        Column("at", DateTime(timezone=True)),
        Column("ident", Uuid),
        Column("label", String(8)),
        Column("body", Text),
        Column("doc", JSON),
        Column("docb", JSON().with_variant(JSONB(), "postgresql")),
    )


def _typed_rows(start: int, **change: Any) -> list[dict[str, Any]]:
    at = datetime(2026, 11, 23, 12, 0, 0, 250, tzinfo=UTC)
    amounts = [Decimal("9.50"), Decimal("1E+2"), Decimal("-0.00"), Decimal("-1.5E-7")]
    return [
        {
            "n": start + i,
            "small": -i,
            "big": 2**40 + i,
            "ratio": 0.1 * i,
            "amount": amounts[i % 4],
            "flag": i % 2 == 0,
            "day": date(2026, 2, 28) + timedelta(days=i),
            "at": (at + timedelta(hours=i)).astimezone(timezone(timedelta(hours=-5))),
            "ident": UUID(int=i + 1),
            "label": ["", "ä ö", 'a"\\b', "x" * 8][i % 4],
            "body": "Müller\n\t\\N" if i % 2 else None,
            "doc": JsonText(json.dumps({"k": i, "s": "ä"})) if i % 3 else None,
            "docb": JsonText(json.dumps({"b": [1, None, "\\u00e4"]})),
            **change,
        }
        for i in range(12)
    ]


@pytest.mark.parametrize(
    "change",
    [
        {},  # every value one the binary COPY takes: binary
        {"amount": 5},  # an int for a numeric: the text COPY
        {"at": datetime(2026, 11, 23, 12, 0)},  # a naive timestamp: the text COPY
        {"amount": Decimal("NaN")},  # not a finite number: the text COPY
    ],
    ids=["binary", "int-numeric", "naive", "nan"],
)
def test_insert_rows_writes_the_values_an_insert_writes(
    db: Container, change: dict[str, Any]
) -> None:
    """Every column type, by COPY (binary or text, per the values) and by INSERT: the
    same values read back; and which COPY it was, on PostgreSQL."""
    table = _every_type()
    table.create(db.engine)
    try:
        plain = [{**r, "doc": _doc(r["doc"]), "docb": _doc(r["docb"])} for r in _typed_rows(0)]
        plain = [{**r, **change} for r in plain]
        with db.engine.begin() as connection:
            connection.execute(table.insert(), plain)
            insert_rows(connection, table, _typed_rows(100, **change))
            if connection.dialect.name == "postgresql":
                raw = connection.connection.driver_connection
                assert raw is not None
                with raw.cursor() as cursor:
                    names = [c.name for c in table.c]
                    types = bulk._column_types(cursor, '"bulk_every_type"', names)
                rows = [[r[name] for name in names] for r in _typed_rows(0, **change)]
                binary = bulk._binary_types(types, rows)
                assert (binary is not None) == (change == {})
        stored = _rows(db, table, table.c.n)
        assert len(stored) == 24
        for a, b in zip(stored[:12], stored[12:], strict=True):  # (repr: NaN is not NaN)
            assert repr({**b, "n": b["n"] - 100}) == repr(a)
    finally:
        table.drop(db.engine)


def _doc(value: Any) -> Any:
    return None if value is None else json.loads(value)


def test_insert_rows_refuses_an_over_long_text_in_binary_as_in_text(db: Container) -> None:
    """A value too long for its ``VARCHAR(n)`` fails the binary COPY as it fails the
    text one (and an INSERT): nothing is written."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite stores a VARCHAR(n) value of any length")
    table = _every_type()
    table.create(db.engine)
    try:
        for change in ({}, {"amount": 5}):  # binary, text
            with (
                pytest.raises(psycopg.errors.StringDataRightTruncation),
                db.engine.begin() as connection,
            ):
                insert_rows(connection, table, _typed_rows(0, label="x" * 9, **change))
            assert _rows(db, table, table.c.n) == []
    finally:
        table.drop(db.engine)


def test_seen_keys_finds_keys_of_any_text(db: Container) -> None:
    """The look-ups' array parameters (binary when every value is text): keys with
    quotes, backslashes, commas, braces, spaces and non-ASCII letters are found as they
    are, and only they."""
    job = _import_job(db)
    odd = ['e:a"b@x', "e:a\\b@x", "n:a,b {c}", "n: spaced ", "n:Müller", "n:", "s:x\x1fy"]
    with db.engine.begin() as connection:
        SqlImportRepository(connection).add_keys(job, {k: i for i, k in enumerate(odd)})
    with db.engine.connect() as connection:
        found = SqlImportRepository(connection).seen_keys(job, [*odd, "n:a", 'e:a"b', "n:a,b"])
    assert found == {k: i for i, k in enumerate(odd)}
    assert isinstance(text_array(odd), BinaryArray)
    assert not isinstance(text_array([*odd, 5]), BinaryArray)


def test_insert_rows_goes_on_by_text_copy_from_a_chunk_binary_does_not_take(
    db: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 5 rows: the first two by binary COPY, the third holds a naive timestamp
    (read in the session's time zone), so it and the rest go by the text COPY: every row
    read back as an INSERT writes it, in order."""
    monkeypatch.setattr(bulk, "_CHUNK_ROWS", 5)
    table = _every_type()
    table.create(db.engine)
    naive = {"at": datetime(2026, 11, 23, 12, 0)}
    try:
        bulk_rows = [{**r, **(naive if r["n"] == 111 else {})} for r in _typed_rows(100)]
        plain = [
            {**r, "doc": _doc(r["doc"]), "docb": _doc(r["docb"]), **(naive if i == 11 else {})}
            for i, r in enumerate(_typed_rows(0))
        ]
        statements: list[str] = []
        copy = psycopg.Cursor.copy

        def counted(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
            statements.append(str(statement))
            return copy(self, statement, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "copy", counted)
        with db.engine.begin() as connection:
            connection.execute(table.insert(), plain)
            insert_rows(connection, table, bulk_rows)
        stored = _rows(db, table, table.c.n)
        assert len(stored) == 24
        for a, b in zip(stored[:12], stored[12:], strict=True):
            assert repr({**b, "n": b["n"] - 100}) == repr(a)
        if db.engine.dialect.name == "postgresql":
            assert [s.endswith("(FORMAT binary)") for s in statements] == [True, False]
    finally:
        table.drop(db.engine)
