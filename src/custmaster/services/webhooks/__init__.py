"""Webhooks: subscriptions, fan-out from the outbox and signed delivery (Standard Webhooks)."""
