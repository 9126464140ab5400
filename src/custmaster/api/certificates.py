"""The ``certificate_expiring_within`` query parameter of customer lists and exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from custmaster.services.certificates.window import certificates_ending

__all__ = ["CertificateWindow", "certificates_ending"]

CertificateWindow = Annotated[
    str | None,
    Query(
        max_length=8,
        description="only customers with a tax-exemption certificate ending within this "
        "many days from today (inclusive), e.g. 30d",
    ),
]
