"""What receiving a system's changes needs: its import template and the sync targets
that are that system."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from custmaster.domain.errors import NotFound
from custmaster.services.imports.templates import Template, TemplateNameError, load_template
from custmaster.services.sync.mapping import SyncMapping, load_targets


@dataclass(frozen=True, slots=True)
class SystemContext:
    system: str
    template: Template
    mappings: tuple[SyncMapping, ...]


def system_context(
    system: str, *, template_dir: Path | None, sync_dir: Path | None
) -> SystemContext:
    """The template named after ``system`` (``NotFound`` when there is none)."""
    try:
        template = load_template(system, template_dir)
    except (TemplateNameError, FileNotFoundError):
        raise NotFound(f"no import template maps the system {system!r}") from None
    mappings = tuple(
        m for m in (load_targets(sync_dir).values() if sync_dir else ()) if m.system == system
    )
    return SystemContext(system, template, mappings)
