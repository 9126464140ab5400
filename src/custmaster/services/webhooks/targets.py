"""Which URLs a webhook may point at: http(s) only, no credentials in the URL, and no
private, loopback, link-local or otherwise non-public address unless the operator allows
them (``CUSTMASTER_WEBHOOKS_ALLOW_PRIVATE_TARGETS``). Checked when a subscription is made
and again before every attempt (a name may resolve elsewhere later)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """The URL is not a target webhooks may call."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_target(url: str, *, allow_private: bool) -> None:
    """Raise :class:`TargetRefused` unless ``url`` is a target webhooks may call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http or https URL")
    if not parts.hostname:
        raise TargetRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry credentials")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise TargetRefused(f"host does not resolve: {exc}") from None
    for _, _, _, _, sockaddr in found:
        if not _public(str(sockaddr[0])):
            raise TargetRefused(
                f"{parts.hostname} resolves to the non-public address {sockaddr[0]}; "
                "private and loopback targets need CUSTMASTER_WEBHOOKS_ALLOW_PRIVATE_TARGETS"
            )
