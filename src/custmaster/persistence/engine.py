"""Engine creation: SQLite in WAL mode for the embedded default, psycopg 3 for PostgreSQL."""

from __future__ import annotations

import json
import re
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring_ascii,
)
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from custmaster.domain.text import first_bad_text

#: Errors that mean "the database cannot be used now" (unreachable, refused, busy, pool
#: exhausted), not "this request is wrong": answered 503, logged in one line.
UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
    exc.DisconnectionError,
)


class BadDatabaseUrl(ValueError):
    """``CUSTMASTER_DATABASE_URL`` (or ``--database-url``) names no usable database."""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be used now (see :data:`UNAVAILABLE`)."""
    return isinstance(error, UNAVAILABLE)


def describe_unavailable(error: BaseException) -> str:
    """One line saying why the database cannot be used (never a traceback, never a
    password)."""
    original = getattr(error, "orig", None) or error
    text = " ".join(str(original).split()) or type(original).__name__
    return text[:300]


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 (not psycopg2, which is not a dependency)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


#: ``json.dumps``'s own C encoder with its default settings, made once: ``json.dumps``
#: builds one per call, which costs more than encoding the small documents most JSON
#: columns hold (same text; no circular-reference check: stored values are trees)
_C_ENCODER = (
    c_make_encoder(
        None,
        json.JSONEncoder().default,
        encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )
    if c_make_encoder is not None
    else None
)


def json_text(value: Any) -> str:
    """``json.dumps(value)`` (the same text), faster for small documents."""
    if _C_ENCODER is None:  # pragma: no cover - CPython has the C encoder
        return json.dumps(value)
    return "".join(_C_ENCODER(value, 0))


#: what ``storable_json`` looks closer at: ``\u0000`` or ``\ud`` in the text (one regex
#: scan, a third of the time of two substring scans of a document of a few kB)
_SUSPECT = re.compile(r"\\u(?:0000|d)")


def storable_json(value: Any) -> str:
    """``json.dumps(value)``, refusing a NUL or a lone surrogate in any string: PostgreSQL
    refuses them in JSONB, and SQLite would store them escaped and fail every later read
    (so the transaction that tries rolls back on both databases alike)."""
    text = json_text(value)
    if _SUSPECT.search(text) is not None:  # \u0000 or \ud...: escapes; \ud also for a valid pair
        found = first_bad_text(value)
        if found is not None:
            raise ValueError(f"cannot store {found[0]}: it {found[1]}")
    return text


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine for ``url``; :class:`BadDatabaseUrl` when it cannot name a database."""
    try:
        return _make_engine(url, pool_size=pool_size, echo=echo)
    except (exc.ArgumentError, exc.NoSuchModuleError, ValueError, ImportError) as error:
        shown = _hide_password(url)
        raise BadDatabaseUrl(f"cannot use the database URL {shown!r}: {error}") from None


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: show its scheme only
        return url.partition(":")[0] + ":..."


def _make_engine(url: str, *, pool_size: int, echo: bool) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": 30}, json_serializer=storable_json
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        json_serializer=storable_json,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Writers BEGIN IMMEDIATE: the write lock is taken up front, so two writers never
    # deadlock upgrading a read lock and writes (and outbox ids) commit in order.
    # Read-only units of work ask for a DEFERRED begin and run beside writers (WAL).
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")
