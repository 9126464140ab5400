"""The daily certificate check: each certificate's expiry notices, once each.

``custmaster certificates check`` runs it, and so does every serving process once a day
(``api.background``). A notice is due as :func:`custmaster.domain.certificates.due_notice`
says; it is recorded with the certificate, its end date and the day it was sent, and its
CloudEvent (``custmaster.customer.tax_exemption.expiring`` / ``.expired``, subject = the
customer) goes to the outbox in the same transaction, so a notice is sent once even when
several processes check at once or the check runs twice a day.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

from custmaster.domain.certificates import EVENT_TYPES, EXPIRED_GRACE_DAYS, due_notice
from custmaster.domain.events import CloudEvent
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.certificates.ports import EndingCertificate, SentNotice
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow


def _event(cert: EndingCertificate, notice: str, today: date) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        type=f"custmaster.{EVENT_TYPES[notice]}",
        subject=str(cert.customer_id),
        time=utcnow(),
        data={
            "customer_id": str(cert.customer_id),
            "number": cert.number,
            "name": cert.name,
            "owning_entity": cert.owning_entity,
            "tax_profile_id": str(cert.tax_profile_id),
            "tax_code": cert.tax_code,
            "certificate_number": cert.certificate_number,
            "effective_from": cert.effective_from.isoformat() if cert.effective_from else None,
            "effective_to": cert.effective_to.isoformat(),
            "notice": notice,
            "days_left": (cert.effective_to - today).days,
            "checked_on": today.isoformat(),
        },
    )


def check_certificates(
    uow: UnitOfWork, actor: Principal, today: date | None = None
) -> list[SentNotice]:
    """Send the expiry notices due on ``today`` (default: the UTC date now) that were not
    sent yet; returns the notices sent by this run."""
    require(actor, Permission.CUSTOMER_READ)
    day = today or utcnow().date()
    sent: list[SentNotice] = []
    with uow:
        uow.certificates.lock()
        ending = uow.certificates.ending_between(
            day - timedelta(days=EXPIRED_GRACE_DAYS), day + timedelta(days=30)
        )
        done = uow.certificates.sent([c.tax_profile_id for c in ending])
        for cert in ending:
            notice = due_notice(cert.effective_to, day)
            if notice is None or (cert.tax_profile_id, cert.effective_to, notice) in done:
                continue
            event = _event(cert, notice, day)
            record = SentNotice(
                cert.tax_profile_id,
                cert.customer_id,
                cert.effective_to,
                notice,
                day,
                event.id,
                event.time,
            )
            uow.outbox.add(event)
            uow.certificates.add_sent(record)
            sent.append(record)
    return sent


def sent_notices(uow: UnitOfWork, actor: Principal) -> list[SentNotice]:
    """Every notice sent so far, oldest first."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return uow.certificates.all_sent()
