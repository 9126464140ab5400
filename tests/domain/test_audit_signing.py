"""Entry signatures and checkpoints (pure): what verify_signed_chain accepts and refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custmaster.domain.audit_chain import GENESIS_HASH, link
from custmaster.domain.audit_signing import (
    AuditKey,
    AuditKeyError,
    Checkpoint,
    SignedLink,
    verify_signed_chain,
)

KEY = AuditKey.generate()
WHEN = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _chain(count: int, key: AuditKey | None = KEY, unsigned_first: int = 0) -> list[SignedLink]:
    links: list[SignedLink] = []
    previous = GENESIS_HASH
    for n in range(1, count + 1):
        content: dict[str, Any] = {"n": n, "at": WHEN}
        made = link(n, content, previous)
        signature = None if key is None or n <= unsigned_first else key.sign_entry(content)
        links.append(SignedLink(made, n, signature))
        previous = made.hash
    return links


def test_a_signed_chain_with_its_checkpoint_verifies() -> None:
    links = _chain(4)
    checkpoint = KEY.checkpoint(3, links[2].link.hash, WHEN, 1)
    report = verify_signed_chain(links, KEY, [checkpoint])
    assert report.ok and report.result.checked == 4 and report.latest == checkpoint
    assert report.notes == (
        "1 entries sealed after the latest checkpoint are covered by their signatures only",
    )


def test_each_signature_is_unique_and_bound_to_the_content() -> None:
    content = {"n": 1}
    one, two = KEY.sign_entry(content), KEY.sign_entry(content)
    assert one != two and KEY.entry_problem(content, one) is None
    assert "does not match" in (KEY.entry_problem({"n": 2}, one) or "")
    assert "another key" in (AuditKey.generate().entry_problem(content, one) or "")


def test_unsigned_entries_count_only_before_the_first_signed_one() -> None:
    report = verify_signed_chain(_chain(3, unsigned_first=2), KEY, [])
    assert report.ok and report.unsigned_before_signing == 2
    late = _chain(3)
    late[2] = SignedLink(late[2].link, 3, None)
    report = verify_signed_chain(late, KEY, [])
    assert not report.ok and report.result.first_bad_id == "3"
    assert "is not signed" in (report.result.reason or "")


def test_truncation_and_forged_checkpoints_are_named() -> None:
    links = _chain(4)
    checkpoint = KEY.checkpoint(4, links[3].link.hash, WHEN, 1)
    report = verify_signed_chain(links[:2], KEY, [checkpoint])
    assert not report.ok and "ends at seq 2" in (report.result.reason or "")
    forged = Checkpoint(4, links[3].link.hash, checkpoint.time, KEY.key_id, "0" * 64, 1)
    report = verify_signed_chain(links, KEY, [forged])
    assert not report.ok and "signature that does not match" in (report.result.reason or "")


def test_a_key_file_holds_64_hex_digits() -> None:
    key = AuditKey.generate()
    assert AuditKey.from_text(key.to_text()) == key
    with pytest.raises(AuditKeyError):
        AuditKey.from_text("abc")
    assert key.secret.hex() not in repr(key)  # never logged by accident


def test_a_checkpoint_round_trips_and_refuses_junk() -> None:
    checkpoint = KEY.checkpoint(2, "a" * 64, WHEN, None)
    assert Checkpoint.from_dict(checkpoint.as_dict()) == checkpoint
    assert checkpoint.time == "2026-12-06T08:00:00.000000Z"
    for junk in ({}, {"seq": "1"}, [], {**checkpoint.as_dict(), "seq": -1}):
        with pytest.raises(ValueError):
            Checkpoint.from_dict(junk)  # type: ignore[arg-type]


def test_stripped_signatures_do_not_pass_for_entries_from_before_signing() -> None:
    """An attacker removes every signature so that a forged entry looks like one written
    before the key was in use: the checkpoint saw signing begin at seq 1."""
    links = _chain(3)
    checkpoint = KEY.checkpoint(3, links[2].link.hash, WHEN, 1)
    stripped = [SignedLink(s.link, s.seq, None) for s in links]
    assert verify_signed_chain(stripped, KEY, []).ok  # without a checkpoint: undetectable
    report = verify_signed_chain(stripped, KEY, [checkpoint])
    assert not report.ok and report.result.first_bad_id == "1"
    assert "is not signed" in (report.result.reason or "")
    legacy = _chain(3, unsigned_first=1)
    assert verify_signed_chain(legacy, KEY, [KEY.checkpoint(3, legacy[2].link.hash, WHEN, 2)]).ok
