"""A temporary on-disk SQLite store of source rows, for grouping and joining at scale.

Rows are serialised as JSON next to an indexed key. SQLite keeps only its page cache
(bounded by :data:`CACHE_KIB`) in memory and sorts on disk, so memory stays flat whatever
the number of rows; the database is a private temporary file deleted on :meth:`close`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from custmaster.services.imports.records import FieldIssue
from custmaster.services.imports.sources import SourceRow

#: SQLite page cache per store, in KiB.
CACHE_KIB = 8 * 1024
_BATCH = 1000


def _issues(items: Iterable[FieldIssue]) -> list[list[str]]:
    return [[i.field, i.code, i.message] for i in items]


def dump_row(row: SourceRow) -> str:
    return json.dumps(
        {
            "n": row.row_number,
            "v": row.values,
            "t": sorted(row.native),
            "p": _issues(row.problems),
            "o": _issues(row.notes),
        },
        ensure_ascii=False,
    )


def load_row(payload: str) -> SourceRow:
    data: dict[str, Any] = json.loads(payload)
    return SourceRow(
        row_number=int(data["n"]),
        values=dict(data["v"]),
        native=frozenset(data["t"]),
        problems=tuple(FieldIssue(*i) for i in data["p"]),
        notes=tuple(FieldIssue(*i) for i in data["o"]),
    )


class RowStore:
    """Rows keyed by a text key, kept in insertion order (``seq``)."""

    def __init__(self) -> None:
        # "" = a private temporary on-disk database, removed when the connection closes.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute("PRAGMA temp_store = FILE")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE rows (seq INTEGER PRIMARY KEY, key TEXT NOT NULL,"
            " used INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL)"
        )
        self._pending: list[tuple[str, str]] = []

    def add(self, key: str, row: SourceRow) -> None:
        self._pending.append((key, dump_row(row)))
        if len(self._pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO rows (key, payload) VALUES (?, ?)", self._pending)
            self._db.execute("COMMIT")
            self._pending.clear()

    def index(self) -> None:
        """Finish loading: write pending rows and index the key."""
        self.flush()
        self._db.execute("CREATE INDEX rows_key ON rows (key, seq)")

    def take(self, key: str) -> list[SourceRow]:
        """The rows stored under ``key`` (in file order), marked as used."""
        found = self._db.execute(
            "SELECT seq, payload FROM rows WHERE key = ? ORDER BY seq", (key,)
        ).fetchall()
        if found:
            self._db.executemany("UPDATE rows SET used = 1 WHERE seq = ?", [(s,) for s, _ in found])
        return [load_row(payload) for _, payload in found]

    def unused(self) -> Iterator[SourceRow]:
        """Rows never taken, in file order."""
        for (payload,) in self._db.execute("SELECT payload FROM rows WHERE used = 0 ORDER BY seq"):
            yield load_row(payload)

    def groups(self, *, max_rows: int = 0) -> Iterator[list[SourceRow]]:
        """All rows grouped by key, groups in the order of their first row (streamed);
        with ``max_rows``, a larger group comes out in chunks of that size."""
        query = (
            "SELECT r.key, r.payload FROM rows r"
            " JOIN (SELECT key, MIN(seq) AS first FROM rows GROUP BY key) g ON g.key = r.key"
            " ORDER BY g.first, r.seq"
        )
        current: str | None = None
        members: list[SourceRow] = []
        for key, payload in self._db.execute(query):
            if members and (key != current or len(members) == max_rows):
                yield members
                members = []
            current = key
            members.append(load_row(payload))
        if members:
            yield members

    def close(self) -> None:
        self._pending.clear()
        self._db.close()
