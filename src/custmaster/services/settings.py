"""Business settings the services need (filled from ``custmaster.config`` at start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


class ConfigurationError(Exception):
    """A setting that cannot work; the server refuses to start and says which one."""


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    credit_limit_warning: Decimal = Decimal("1000000")
    customer_number_prefix: str = "C"
    customer_number_width: int = 6
    #: the operator's import templates, chosen by name beside the shipped ones
    import_template_dir: Path | None = None

    def customer_number(self, value: int) -> str:
        return f"{self.customer_number_prefix}{value:0{self.customer_number_width}d}"
