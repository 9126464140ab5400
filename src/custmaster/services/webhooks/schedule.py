"""The retry schedule of a webhook delivery.

A delivery is attempted at once, then again after each delay of :data:`SCHEDULE`
(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27 hours), each
delay spread by a random jitter of +-20 % so that endpoints coming back are not hit by
every waiting delivery at once. An answer with ``Retry-After`` (seconds or an HTTP date,
on 429 or 503 and any other failure) replaces the scheduled delay (capped at 24 hours,
no jitter). After the last attempt the delivery is ``failed``; it can be redelivered by
hand.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2
MAX_RETRY_AFTER = timedelta(hours=24)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The delay a ``Retry-After`` header asks for (``None``: absent or unreadable)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        delay = timedelta(seconds=int(text))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        delay = when - now
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def next_delay(
    attempts: int, rng: random.Random, asked: timedelta | None = None
) -> timedelta | None:
    """The wait after the ``attempts``-th failed attempt (1-based); ``None`` when the
    schedule is exhausted."""
    if attempts >= MAX_ATTEMPTS:
        return None
    if asked is not None:
        return asked
    base = SCHEDULE[attempts - 1]
    return base * (1 + rng.uniform(-JITTER, JITTER))
