"""Customer exports through the HTTP API (CSV, XLSX, JSON Lines, Parquet), on SQLite and
PostgreSQL: streamed, filtered, effective views, formula injection neutralised."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.factories import acme, create, minimal

API = "/api/v1/exports/customers"


def _seed(client: TestClient) -> None:
    create(client, acme())
    create(
        client,
        minimal(
            '=HYPERLINK("http://evil")', "ap@evil.example", notes="@SUM(A1)", customer_type="retail"
        ),
    )
    create(client, minimal("Initech", "ap@initech.example", customer_type="retail"))


def test_csv_is_the_own_layout_with_formulas_neutralised(client: TestClient) -> None:
    _seed(client)
    response = client.get(API, params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["number"] for r in rows] == ["C000001", "C000002", "C000003"]
    evil = rows[1]
    assert evil["name"] == '\'=HYPERLINK("http://evil")' and evil["notes"] == "'@SUM(A1)"
    assert rows[0]["phone"] == "'+14155550100"  # a leading + is neutralised too
    assert rows[0]["billing_city"] == "San Francisco" and rows[0]["contact_first_name"] == "Dana"
    retail = list(
        csv.DictReader(io.StringIO(client.get(API, params={"customer_type": "retail"}).text))
    )
    assert [r["name"] for r in retail][1] == "Initech"


def test_entity_effective_view_and_jsonl(client: TestClient) -> None:
    _seed(client)
    lines = client.get(API, params={"format": "jsonl", "entity": "DE01"}).text.splitlines()
    acme_de = json.loads(lines[0])
    assert acme_de["entity"] == "DE01" and acme_de["credit_limit"] == "80000"
    assert acme_de["overridden_fields"] == ["credit_limit", "currency", "payment_terms"]
    rows = list(csv.DictReader(io.StringIO(client.get(API, params={"entity": "US01"}).text)))
    assert rows[0]["credit_limit"] == "100000" and rows[0]["entity"] == "US01"
    assert client.get(API, params={"entity": "XX99"}).status_code == 422


def test_parquet_and_xlsx(client: TestClient) -> None:
    _seed(client)
    parquet = client.get(API, params={"format": "parquet"})
    assert parquet.status_code == 200
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 3 and table.column("email").to_pylist()[2] == "ap@initech.example"
    xlsx = client.get(API, params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    assert values[2][header.index("name")] == '\'=HYPERLINK("http://evil")'
    assert len(values) == 4
