"""Clearing a required field of account-structure reference data is a 422, not a 500
(found by the security suite's fuzzing: ``PATCH /name-affixes/{code}`` with
``{"name": null}`` reached the database's NOT NULL constraint)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import errors_of

API = "/api/v1"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("name-affixes", {"code": "DR", "name": "Dr.", "kind": "title"}, "name"),
        ("name-affixes", {"code": "DR", "name": "Dr.", "kind": "title"}, "kind"),
        (
            "sales-organisations",
            {"code": "DE10", "name": "Sales Germany", "legal_entity": "DE01", "currency": "EUR"},
            "name",
        ),
    ],
)
def test_a_required_field_cannot_be_cleared(
    client: TestClient, path: str, body: dict[str, str], field: str
) -> None:
    assert client.post(f"{API}/{path}", json=body).status_code == 201
    url = f"{API}/{path}/{body['code']}"
    assert field in errors_of(client.patch(url, json={field: None}))
    assert client.get(url).json()[field] == body[field]
