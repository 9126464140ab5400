"""The AsyncAPI 3 document of the change events (served at ``/asyncapi.json``): one
channel per event type (its NATS subject), the CloudEvents envelope and each type's data
schema from :mod:`custmaster.services.relay.catalogue`."""

from __future__ import annotations

from typing import Any

from custmaster.services.relay.catalogue import EVENT_TYPES, Schema
from custmaster.services.relay.runner import CONTENT_TYPE
from custmaster.services.relay.subjects import subject_for

_HEADERS: Schema = {
    "type": "object",
    "required": ["Nats-Msg-Id"],
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "format": "uuid",
            "description": "the CloudEvent id: JetStream drops a second copy within the "
            "stream's duplicate window; consumers deduplicate on it beyond",
        },
        "Content-Type": {"const": CONTENT_TYPE},
        "Custmaster-Position": {
            "type": "string",
            "description": "the event's position in the outbox (TXID-ID, as the "
            "/api/v1/events cursor): increases in commit order",
        },
    },
}


def envelope_schema(event_type: str, data: Schema) -> Schema:
    """The structured CloudEvent of ``event_type``."""
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid"},
            "source": {"type": "string"},
            "type": {"const": event_type},
            "subject": {
                "type": "string",
                "description": "what the event is about (customer id, code, request id); "
                "events of one subject arrive in commit order",
            },
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "data": data,
        },
    }


def asyncapi_document(version: str, subject_prefix: str = "custmaster") -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, (description, data) in sorted(EVENT_TYPES.items()):
        key = event_type.removeprefix("custmaster.")
        messages[key] = {
            "name": event_type,
            "title": event_type,
            "summary": description,
            "contentType": CONTENT_TYPE,
            "headers": _HEADERS,
            "payload": envelope_schema(event_type, data),
        }
        channels[key] = {
            "address": subject_for(event_type, subject_prefix),
            "description": description,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"receive.{key}"] = {
            "action": "receive",
            "summary": f"Consume {event_type}",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "custmaster change events",
            "version": version,
            "description": "Every change custmaster commits, as a CloudEvents 1.0 JSON "
            "message on NATS JetStream (stream CUSTMASTER by default) and on the pull feed "
            "GET /api/v1/events. Delivery is at least once; deduplicate on the event id. "
            "See docs/integration.md.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "nats": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "the NATS JetStream server the relay publishes to "
                "(CUSTMASTER_NATS_URL)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
