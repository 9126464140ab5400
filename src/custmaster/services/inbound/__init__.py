"""Inbound changes from source systems (NATS ``custmaster.inbound.<system>`` or POST)."""
