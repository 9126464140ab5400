"""Customer use cases: one module per group (create, read, update, lifecycle)."""
