"""Where a reader of the change feed (the outbox in commit order) stands: a value shared
by the unit of work's outbox port (``services.ports``) and the cursors of the relay, the
webhooks and the sync targets (their own ports import it from here, not from
``services.ports``, so that no two modules import each other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeedPosition:
    """Where a change-feed reader stands: (transaction id, outbox id)."""

    txid: int = 0
    id: int = 0

    def encode(self) -> str:
        return f"{self.txid}-{self.id}"

    @classmethod
    def decode(cls, cursor: str) -> FeedPosition:
        """``"TXID-ID"`` (each plain digits within 64 bits), else ``ValueError``."""
        txid, _, outbox_id = cursor.partition("-")
        parts = (txid, outbox_id)
        if not all(p.isascii() and p.isdigit() and int(p) < 2**63 for p in parts):
            raise ValueError(f"not a feed position: {cursor!r}")
        return cls(int(txid), int(outbox_id))
