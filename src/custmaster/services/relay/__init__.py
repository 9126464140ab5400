"""The outbox relay: publishes every outbox event to NATS JetStream, in commit order per
partition, at least once and with the event's id as the broker's deduplication id."""
