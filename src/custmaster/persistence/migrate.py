"""Apply the Alembic migrations programmatically (``custmaster db upgrade``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (the same migrations for both databases;
    the tree has one head, see migrations/README.md)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        return ", ".join(sorted(str(row[0]) for row in rows)) or None


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The revision the migrations lead to; the tree must have exactly one head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migration tree has {len(heads)} heads: {', '.join(heads)}")
    return str(heads[0])


class SchemaNotCurrent(RuntimeError):
    """The database schema is not at the revision this code needs (one-line message)."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def ok(self) -> bool:
        return self.current == self.head

    def problem(self) -> str:
        """One line: where the schema is and the command that fixes it."""
        where = f"at revision {self.current}" if self.current else "empty (no migrations)"
        return f"the database schema is {where}, not {self.head}: run `custmaster db upgrade`"


def schema_state(engine: Engine) -> SchemaState:
    """The schema's revision beside the one this code needs (connects once)."""
    return SchemaState(current_revision(engine), head_revision())


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the schema is at the head revision."""
    state = schema_state(engine)
    if not state.ok:
        raise SchemaNotCurrent(state.problem())
