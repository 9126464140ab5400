"""custmaster: the customer master data hub."""

__version__ = "0.1.0"
