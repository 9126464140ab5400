"""Adapters reach a target. ``http_upsert``: one request per record to the target's
upsert-by-external-id endpoint (Salesforce ``PATCH .../sobjects/Account/<field>/<id>``,
Dynamics 365 ``PATCH .../CustomersV3(...)``, a generic ``PUT /customers/<id>``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from custmaster.services.sync.mapping import SyncMapping


@dataclass(frozen=True, slots=True)
class UpsertResult:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    #: a refusal that a retry will not change (4xx other than 408/409/429)
    permanent: bool = False


class TargetAdapter(Protocol):
    def upsert(self, external_id: str, record: dict[str, Any]) -> UpsertResult: ...
    def close(self) -> None: ...


class HttpUpsertAdapter:
    def __init__(self, mapping: SyncMapping, client: httpx.Client | None = None) -> None:
        self._mapping = mapping
        self._own = client is None
        self._client = client or httpx.Client(
            follow_redirects=False, timeout=mapping.adapter.timeout_seconds
        )

    def upsert(self, external_id: str, record: dict[str, Any]) -> UpsertResult:
        spec = self._mapping.adapter
        path = spec.path.format(object=self._mapping.object, external_id=quote(external_id, ""))
        try:
            answer = self._client.request(
                spec.method, spec.base_url + path, json=record, headers=spec.headers
            )
        except httpx.HTTPError as exc:
            return UpsertResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if answer.is_success:
            return UpsertResult(True, answer.status_code)
        code = answer.status_code
        permanent = 400 <= code < 500 and code not in (408, 409, 429)
        return UpsertResult(False, code, f"HTTP {code}: {answer.text[:300]}", permanent)

    def close(self) -> None:
        if self._own:
            self._client.close()
