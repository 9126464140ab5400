"""A consumer of custmaster's change events on NATS JetStream (docs/integration.md).

    python examples/relay_consumer.py [--url nats://127.0.0.1:4222] [--stream CUSTMASTER]
        [--subjects 'custmaster.customer.>'] [--durable billing] [--count N] [--timeout S]

A durable pull consumer: it resumes where it left off after a restart, acknowledges each
event after handling it, and skips an event id it has already handled (delivery is at
least once). Prints one line per event: type, subject (the customer id), customer number
and the changed fields. Stops after --count events or --timeout seconds without one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


def describe(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    customer = data.get("customer") or {}
    number = customer.get("number") or data.get("number") or "-"
    fields = sorted({c["field"].split(".")[0].split("[")[0] for c in data.get("changes", [])})
    changed = f" changed: {', '.join(fields)}" if fields else ""
    return f"{event['type']} {event['subject']} {number}{changed}"


async def consume(url: str, stream: str, subjects: str, durable: str, count: int,
                  timeout: float) -> int:  # fmt: skip
    nc = await nats.connect(url, connect_timeout=5)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        subjects, durable=durable, stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL),
    )  # fmt: skip
    seen: set[str] = set()  # a real consumer keeps these with its own data
    handled = 0
    try:
        while handled < count:
            try:
                messages = await sub.fetch(min(100, count - handled), timeout=timeout)
            except (NatsTimeout, TimeoutError):  # nats-py raises either when nothing came
                break
            for msg in messages:
                event = json.loads(msg.data)
                if event["id"] not in seen:  # == msg.headers["Nats-Msg-Id"]
                    seen.add(event["id"])
                    print(describe(event), flush=True)
                    handled += 1
                await msg.ack()
    finally:
        await nc.close()
    return handled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="nats://127.0.0.1:4222")
    parser.add_argument("--stream", default="CUSTMASTER")
    parser.add_argument("--subjects", default="custmaster.customer.>")
    parser.add_argument("--durable", default="example-consumer")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(consume(args.url, args.stream, args.subjects, args.durable, args.count,
                        args.timeout))  # fmt: skip


if __name__ == "__main__":
    main()
