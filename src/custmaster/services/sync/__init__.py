"""Outbound sync: declarative mappings per target, driven by the outbox events."""
