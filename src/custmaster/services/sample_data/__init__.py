"""Seeded generator of realistic, valid customer master data (demo and benchmarks).

Public API:

- :func:`reference_data` - legal entities, payment terms and methods, customer groups,
  tax codes, dimension types and industries, as reference-data create requests.
- :func:`generate_customers` - customer create requests (DESIGN.md §4) that only use
  those codes; ``profile="demo"`` (rich) or ``"lean"`` (fast, for benchmarks).
"""

from __future__ import annotations

from .generator import CUSTOMER_FIELDS, Customer, Profile, generate_customers
from .reference import ReferenceData, reference_data

__all__ = [
    "CUSTOMER_FIELDS",
    "Customer",
    "Profile",
    "ReferenceData",
    "generate_customers",
    "reference_data",
]
